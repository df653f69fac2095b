"""A simulated PC that is a real QEMU process: SeaBIOS or OVMF (and whatever it boots) behind the device.

:class:`QemuHost` is the SeaBIOS PC described below; :class:`UefiQemuHost` the UEFI one (Debian's OVMF
on a q35 machine, with One Click Recovery HTTPS boot; see its docstring and :mod:`amtterm.sim.uefi`).

QEMU's first serial port is the SOL stream. With ``-nographic`` SeaBIOS mirrors its text screen
there as ANSI and reads keys from it, as an AMT PC's BIOS does over SOL. The serial port is a
unix socket that QEMU serves and waits on (``wait=on``), so no screen is lost before this host
connects; power and reset go to the process and to QMP (``quit``, ``system_reset``).

The :class:`amtterm.sim.host.Host` interface is pure, QEMU is not: :class:`QemuHost` keeps the
same methods, but ``feed`` writes the keys to the serial socket (queued until it is connected),
``read_output`` returns bytes that an asyncio reader task it owns has buffered, and
``on_output`` (set by :class:`amtterm.sim.device.SimDevice`) is called whenever serial bytes
arrive or QEMU exits, so the device's driver wakes up. ``power_on`` must run inside an event
loop (the simulator always has one). :meth:`QemuHost.aclose` stops QEMU and waits for it.

Boot overrides (:meth:`QemuHost.set_next_boot`) become QEMU's one-time boot order
(``-boot once=...``) on the next start; a reset with an override pending restarts the process so
that it takes effect. ``pxe`` is ``n`` (QEMU's NIC ROM; there is no network behind it here),
``disk`` ``c``, ``cd`` and ``ider-cd`` ``d``, ``ider-floppy`` ``a``. SeaBIOS has no setup screen:
``bios`` and ``bios-pause`` keep the normal order and only lengthen the boot menu prompt, so the
console has time to press Esc. :meth:`show_message` cannot draw on a real screen and only logs.

Its VGA screen (``-vga std``) is served by QEMU's VNC server on a unix socket in the machine's
work directory (:meth:`QemuHost.vnc_socket`): the real framebuffer behind the device's KVM
(:mod:`amtterm.sim.kvm.qemu_screen`), while the serial port stays the SOL console.

The machine has one CD-ROM drive (secondary IDE master), the IDE-R drive: empty unless a console
serves a CD over IDE-R, then backed by the device's NBD export (:mod:`amtterm.sim.ider_export`),
so SeaBIOS and whatever it boots read the console's image. :meth:`QemuHost.set_ider_cd` changes
it: "immediately" puts the medium in the running machine over QMP, "on reset" at the next reset
(which then restarts QEMU, as a boot override does); a console leaving ejects it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeAlias

from amtterm.sim import uefi
from amtterm.sim.firmware_watch import FirmwareWatcher
from amtterm.sim.host import BootTarget, HttpsBoot

#: The firmware a QEMU machine can run: SeaBIOS (``pc``) or OVMF, UEFI (``q35``).
Firmware: TypeAlias = Literal["bios", "uefi"]
FIRMWARES: tuple[Firmware, ...] = ("bios", "uefi")
#: The QEMU binary this host runs.
QEMU_BINARY = "qemu-system-x86_64"
#: How to get it on Debian (for error messages).
QEMU_PACKAGE_HINT = "install the Debian package qemu-system-x86"
#: QEMU's one-time boot drive letter for each boot override (None: normal order).
BOOT_ORDER: dict[BootTarget, str | None] = {
    "bios": None,
    "bios-pause": None,
    "pxe": "n",
    "disk": "c",
    "cd": "d",
    "ider-cd": "d",
    "ider-floppy": "a",
}
#: How long SeaBIOS shows "Press ESC for boot menu." (ms); longer when the console asked for the BIOS.
BOOT_MENU_MS = 5000
BOOT_MENU_BIOS_MS = 30000
#: Seconds to wait for QEMU's serial socket, for QMP answers and for QEMU to quit.
CONNECT_TIMEOUT = 20.0
QMP_TIMEOUT = 5.0
QUIT_TIMEOUT = 5.0


def find_qemu() -> str | None:
    """The path of qemu-system-x86_64, or None when it is not installed."""
    return shutil.which(QEMU_BINARY)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: QEMU gets SIGKILL if the simulator dies without stopping it.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


#: The block backend name of the IDE-R CD-ROM drive (for QMP).
CD_DRIVE_ID = "idercd"


def cd_drive_option(url: str | None) -> str:
    """``-drive`` for the IDE-R CD-ROM: empty, or read-only from an NBD export."""
    drive = f"if=ide,index=2,media=cdrom,id={CD_DRIVE_ID}"
    if url:
        drive += f",file={url},format=raw,readonly=on"
    return drive


#: The UEFI machine's NIC: fixed slot and MAC so that its device paths are the same on every start.
UEFI_NIC = f"virtio-net-pci,netdev=n0,romfile=,addr={uefi.NIC_SLOT:#x},mac={uefi.NIC_MAC.hex(':')}"
#: The UEFI boot overrides done with QEMU's ``bootindex`` (OVMF follows QEMU's boot order list).
UEFI_BOOTINDEX: dict[BootTarget, str] = {"pxe": "nic", "cd": "cd", "ider-cd": "cd"}


def uefi_argv(
    binary: str,
    serial_path: Path,
    qmp_path: Path,
    *,
    memory_mb: int,
    code: Path,
    nvram: Path,
    menu_ms: int,
    first: str | None = None,
    cd_url: str | None = None,
    cacerts: Path | None = None,
    open_network: bool = False,
    vnc_path: Path | None = None,
) -> list[str]:
    """The QEMU command line of one power-on of the UEFI machine (q35, OVMF; with ``vnc_path``, its
    screen on a VNC socket there).

    Args:
        first: ``cd`` or ``nic``: the device OVMF boots first (QEMU's bootindex), None: OVMF's order.
        cacerts: an EFI signature list OVMF trusts for HTTPS boot (fw_cfg etc/edk2/https/cacerts).
        open_network: let the PC reach this machine's loopback as 10.0.2.2 (HTTPS boot); otherwise
            its user network reaches nothing (restrict=on).
    """
    cd = f"if=none,id={CD_DRIVE_ID},media=cdrom"
    if cd_url:
        cd += f",file={cd_url},format=raw,readonly=on"
    argv = [
        binary,
        "-machine",
        "q35",
        "-m",
        str(memory_mb),
        "-nographic",
        "-monitor",
        "none",
        "-drive",
        f"if=pflash,format=raw,readonly=on,file={code}",
        "-drive",
        f"if=pflash,format=raw,file={nvram}",
        # OVMF takes the boot menu wait as its boot timeout: Esc (or F2) in it enters setup.
        "-boot",
        f"menu=on,splash-time={menu_ms}",
        "-drive",
        cd,
        "-device",
        f"ide-cd,drive={CD_DRIVE_ID},bus=ide.2" + (",bootindex=0" if first == "cd" else ""),
        "-netdev",
        f"user,id=n0,ipv6=off,restrict={'off' if open_network else 'on'}",
        "-device",
        UEFI_NIC + (",bootindex=0" if first == "nic" else ""),
        "-chardev",
        f"socket,id=s0,path={serial_path},server=on,wait=on",
        "-serial",
        "chardev:s0",
        "-qmp",
        f"unix:{qmp_path},server=on,wait=off",
    ]
    if cacerts is not None:
        argv += ["-fw_cfg", f"name=etc/edk2/https/cacerts,file={cacerts}"]
    if vnc_path is not None:
        argv += ["-vga", "std", "-vnc", f"unix:{vnc_path}"]
    return argv


def qemu_argv(
    binary: str,
    serial_path: Path,
    qmp_path: Path,
    *,
    memory_mb: int,
    boot_once: str | None,
    menu_ms: int,
    cd_url: str | None = None,
    vnc_path: Path | None = None,
) -> list[str]:
    """The QEMU command line of one power-on of the SeaBIOS machine (with ``vnc_path``, its screen on a
    VNC socket there)."""
    boot = f"menu=on,splash-time={menu_ms}"
    if boot_once:
        boot = f"once={boot_once},{boot}"
    return [
        binary,
        "-machine",
        "pc",
        "-m",
        str(memory_mb),
        "-nographic",
        "-monitor",
        "none",
        "-boot",
        boot,
        "-drive",
        cd_drive_option(cd_url),
        # The NIC (and its PXE ROM) on QEMU's user network, cut off from the host and the
        # outside (restrict=on): a PXE or iPXE boot finds DHCP but reaches nothing.
        "-nic",
        "user,restrict=on",
        "-chardev",
        f"socket,id=s0,path={serial_path},server=on,wait=on",
        "-serial",
        "chardev:s0",
        "-qmp",
        f"unix:{qmp_path},server=on,wait=off",
        *(["-vga", "std", "-vnc", f"unix:{vnc_path}"] if vnc_path is not None else []),
    ]


async def qmp_command(
    path: Path, command: str, timeout: float = QMP_TIMEOUT, arguments: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run one QMP command (with ``arguments``) on the socket at ``path``; return its answer.

    Raises:
        OSError: the socket cannot be reached or closed early.
        TimeoutError: no answer in time.
    """

    async def run() -> dict[str, Any]:
        reader, writer = await asyncio.open_unix_connection(str(path))
        try:

            async def answer() -> dict[str, Any]:
                while True:
                    line = await reader.readline()
                    if not line:
                        raise ConnectionError("QMP closed the connection")
                    message = json.loads(line)
                    if isinstance(message, dict) and ("return" in message or "error" in message):
                        return message

            greeting = await reader.readline()
            if not greeting:
                raise ConnectionError("QMP closed the connection")
            writer.write(b'{"execute": "qmp_capabilities"}\n')
            await answer()
            request: dict[str, Any] = {"execute": command}
            if arguments:
                request["arguments"] = arguments
            writer.write(json.dumps(request).encode() + b"\n")
            try:
                return await answer()
            except ConnectionError:
                if command == "quit":  # QEMU may exit before its answer is read
                    return {"return": {}}
                raise
        finally:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    return await asyncio.wait_for(run(), timeout)


class _Machine:
    """One running QEMU process: its sockets, its serial connection and its reader task."""

    def __init__(self, proc: subprocess.Popen[bytes], workdir: Path) -> None:
        self.proc = proc
        self.workdir = workdir
        self.serial = workdir / "serial.sock"
        self.qmp = workdir / "qmp.sock"
        self.vnc = workdir / "vnc.sock"
        self.writer: asyncio.StreamWriter | None = None
        self.reader_task: asyncio.Task[None] | None = None
        #: The NBD export in its CD-ROM drive (None: empty).
        self.cd_url: str | None = None
        #: Started with a boot order that outlives a reset (QEMU bootindex, UEFI): the next reset
        #: starts a fresh QEMU so that a one-time override stays one-time.
        self.sticky_order = False
        #: Boot progress read from its serial output.
        self.watcher = uefi.BootWatcher()
        #: The boot events of the device's event log (SeaBIOS and OVMF lines; the CD is IDE-R's).
        self.events = FirmwareWatcher(cd="ider-cd")
        #: The HTTPS boot this start attempts: (the request, the URL given to the firmware).
        self.https: tuple[HttpsBoot, str] | None = None
        #: The size of the image the firmware's network boot announced last.
        self.download_size: int | None = None

    @property
    def stderr_path(self) -> Path:
        return self.workdir / "qemu.log"

    def running(self) -> bool:
        return self.proc.poll() is None


class QemuHost:
    """The PC behind the device is a QEMU x86 machine (see the module docstring).

    Args:
        binary: the QEMU binary (default: qemu-system-x86_64 from PATH).
        memory_mb: the machine's memory.
        log: where one-line diagnostics go.
    """

    columns = 80
    rows = 25
    #: The firmware this machine runs.
    firmware: Firmware = "bios"

    def __init__(
        self,
        *,
        binary: str | None = None,
        memory_mb: int = 1024,
        log: Callable[[str], None] | None = None,
    ) -> None:
        found = binary or find_qemu()
        if found is None:
            raise FileNotFoundError(f"{QEMU_BINARY} is not installed: {QEMU_PACKAGE_HINT}.")
        self.binary = found
        self.memory_mb = memory_mb
        #: Called (no arguments) when serial bytes arrive or QEMU exits; set by the device.
        self.on_output: Callable[[], None] | None = None
        #: Called with ``(kind, text)`` for what the firmware says about booting, as the device's
        #: event log takes them (:mod:`amtterm.sim.wsman.eventlog`): ``post``, ``boot-device``,
        #: ``boot-failed``, ``os-boot`` read off SeaBIOS's and OVMF's serial lines
        #: (:class:`~amtterm.sim.firmware_watch.FirmwareWatcher`), and ``https-boot-ok`` /
        #: ``https-boot-failed`` with the sentence of a One Click Recovery HTTPS boot. Runs in the
        #: event loop.
        self.on_boot_event: Callable[[str, str], None] | None = None
        self._log = log or (lambda line: None)
        self._machine: _Machine | None = None
        self._output = bytearray()
        self._keys = bytearray()  # typed before the serial socket is connected
        self._next_boot: BootTarget | None = None
        self._cd_url: str | None = None  # what the IDE-R CD-ROM should hold
        self._message: str | None = None
        self._now = 0.0
        self._stopping: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[Any]] = set()

    # -- Host interface -----------------------------------------------------------------------

    @property
    def powered(self) -> bool:
        """Whether the QEMU process is running."""
        return self._machine is not None and self._machine.running()

    def power_on(self, now: float) -> None:
        """Start QEMU (consumes the boot override). Must run inside an event loop."""
        self._tick(now)
        if self.powered:
            return
        if self._machine is not None:  # QEMU exited by itself (guest power off)
            self._retire(self._machine)
        target, self._next_boot = self._next_boot, None
        workdir = Path(tempfile.mkdtemp(prefix="amtterm-qemu-"))
        serial = workdir / "serial.sock"
        qmp = workdir / "qmp.sock"
        https: tuple[HttpsBoot, str] | None = None
        if self.firmware == "uefi":
            argv, https = self._uefi_start(workdir, target)
        else:
            argv = qemu_argv(
                self.binary,
                serial,
                qmp,
                memory_mb=self.memory_mb,
                boot_once=BOOT_ORDER[target] if target else None,
                menu_ms=BOOT_MENU_BIOS_MS if target in ("bios", "bios-pause") else BOOT_MENU_MS,
                cd_url=self._cd_url,
                vnc_path=workdir / "vnc.sock",
            )
        with open(workdir / "qemu.log", "wb") as errors:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=errors,
                stderr=errors,
                preexec_fn=_die_with_parent,
                start_new_session=True,
            )
        machine = _Machine(proc, workdir)
        machine.cd_url = self._cd_url
        machine.sticky_order = self.firmware == "uefi" and target in UEFI_BOOTINDEX
        machine.https = https
        self._machine = machine
        self._output.clear()
        cd = ", IDE-R CD from " + self._cd_url if self._cd_url else ""
        self._log(f"QEMU started (pid {proc.pid}, boot {target or 'normal'}{cd}, work directory {workdir})")
        machine.reader_task = asyncio.get_running_loop().create_task(self._read_serial(machine))

    def power_off(self, now: float) -> None:
        """Stop QEMU (QMP ``quit``, then SIGKILL); pending output is dropped."""
        self._tick(now)
        self._output.clear()
        self._keys.clear()
        if self._machine is not None:
            self._retire(self._machine)

    def reset(self, now: float) -> None:
        """QMP ``system_reset``; a fresh QEMU instead when a boot override, an HTTPS boot or an
        IDE-R CD is pending (they take effect at a reset), or when this start's override would
        outlive the reset; off: power on."""
        self._tick(now)
        machine = self._machine
        pending = (
            self._next_boot is not None
            or self._start_pending()
            or (machine is not None and (machine.cd_url != self._cd_url or machine.sticky_order))
        )
        if machine is None or not machine.running() or pending:
            self.power_off(now)
            self.power_on(now)
            return
        self._spawn(self._qmp(machine, "system_reset"))

    def set_next_boot(self, target: BootTarget | None) -> None:
        """One-time boot override for the next power on or reset (see the module docstring)."""
        self._next_boot = target

    def set_ider_cd(self, url: str | None, *, now: bool) -> None:
        """The IDE-R CD-ROM's medium: an NBD URL, or None (see the module docstring).

        Args:
            url: the export to read, or None when no console serves a CD any more.
            now: put it in the running machine at once (IDE-R "immediately"); else at the next reset.
        """
        self._cd_url = url
        machine = self._machine
        if machine is None or not machine.running() or machine.cd_url == url:
            return
        if url is None:
            machine.cd_url = None
            self._spawn(self._qmp(machine, "eject", {"device": CD_DRIVE_ID, "force": True}))
        elif now:
            machine.cd_url = url
            arguments = {
                "device": CD_DRIVE_ID,
                "filename": url,
                "format": "raw",
                "read-only-mode": "read-only",
            }
            self._spawn(self._qmp(machine, "blockdev-change-medium", arguments))

    def vnc_socket(self) -> Path | None:
        """The running machine's VNC socket (its screen), or None while off."""
        machine = self._machine
        return machine.vnc if machine is not None and machine.running() else None

    def show_message(self, text: str | None) -> None:
        """A real screen cannot be drawn on from outside: the message is only logged."""
        self._message = text
        if text:
            self._log(f"QEMU host message (not shown on its screen): {text}")

    def feed(self, keys: bytes, now: float) -> None:
        """Send typed bytes to QEMU's serial port; ignored while off."""
        self._tick(now)
        machine = self._machine
        if not keys or machine is None or not machine.running():
            return
        if machine.writer is None:
            self._keys += keys
        else:
            machine.writer.write(keys)

    def read_output(self, now: float, max_bytes: int | None = None) -> bytes:
        """Serial bytes QEMU wrote since the last call (b"" while off)."""
        self._tick(now)
        if not self.powered and self._machine is None:
            self._output.clear()
            return b""
        size = len(self._output) if max_bytes is None else min(max_bytes, len(self._output))
        data = bytes(self._output[:size])
        del self._output[:size]
        return data

    def next_deadline(self) -> float | None:
        """At once while output is queued; otherwise None (``on_output`` wakes the device)."""
        return self._now if self._output else None

    # -- lifetime -----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop QEMU if it runs and wait until every process this host started has exited."""
        if self._machine is not None:
            self._retire(self._machine)
        for task in list(self._background):
            task.cancel()
        self._forget_nvram()
        for task in list(self._stopping):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- internals ----------------------------------------------------------------------------

    def _start_pending(self) -> bool:
        """Whether something only a fresh start of QEMU can do is waiting (UEFI: an HTTPS boot)."""
        return False

    def _uefi_start(
        self, workdir: Path, target: BootTarget | None
    ) -> tuple[list[str], tuple[HttpsBoot, str] | None]:
        raise NotImplementedError  # UefiQemuHost

    def _boot_event(self, kind: str, text: str) -> None:
        """A boot event for the device's event log (the kinds of :mod:`amtterm.sim.wsman.eventlog`)."""
        self._log(f"QEMU boot: {kind}: {text}")
        if self.on_boot_event is not None:
            self.on_boot_event(kind, text)

    def _serial_events(self, machine: _Machine, data: bytes) -> None:
        for kind, text in machine.events.feed(data):
            if not kind.startswith("https-boot"):  # an HTTPS boot's outcome is judged below
                self._boot_event(kind, text)
        for kind, option, _text in machine.watcher.feed(data):
            self._https_progress(machine, kind, option)

    def _https_progress(self, machine: _Machine, kind: str, option: str) -> None:
        """A boot event of ``machine``, seen by the HTTPS boot it may be attempting (UefiQemuHost)."""

    def _tick(self, now: float) -> None:
        self._now = max(self._now, now)

    def _wake(self) -> None:
        if self.on_output is not None:
            self.on_output()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _qmp(self, machine: _Machine, command: str, arguments: dict[str, Any] | None = None) -> None:
        try:
            answer = await qmp_command(machine.qmp, command, arguments=arguments)
        except (OSError, TimeoutError, ValueError) as exc:
            self._log(f"QEMU: QMP {command} failed: {exc}")
            return
        if "error" in answer:
            self._log(f"QEMU: QMP {command} refused: {answer['error'].get('desc', answer['error'])}")

    def _retire(self, machine: _Machine) -> None:
        """Forget ``machine`` now and stop it in the background."""
        if self._machine is machine:
            self._machine = None
        if machine.reader_task is not None:
            machine.reader_task.cancel()
        if machine.writer is not None:
            machine.writer.close()
            machine.writer = None
        task = asyncio.get_running_loop().create_task(self._stop(machine))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _stop(self, machine: _Machine) -> None:
        proc = machine.proc
        try:
            if proc.poll() is None:
                with contextlib.suppress(OSError, TimeoutError, ValueError):
                    await qmp_command(machine.qmp, "quit", timeout=QUIT_TIMEOUT)
                await self._wait_exit(proc, QUIT_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                await self._wait_exit(proc, QUIT_TIMEOUT)
            shutil.rmtree(machine.workdir, ignore_errors=True)
            self._log(f"QEMU stopped (pid {proc.pid}, status {proc.returncode})")

    @staticmethod
    async def _wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while proc.poll() is None and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if proc.poll() is None:  # last resort: a blocking reap of a process just SIGKILLed
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.5)

    async def _read_serial(self, machine: _Machine) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_TIMEOUT
        reader: asyncio.StreamReader | None = None
        while reader is None:
            if not machine.running():
                self._log(f"QEMU exited at start: {self._stderr_tail(machine)}")
                self._wake()
                return
            try:
                reader, writer = await asyncio.open_unix_connection(str(machine.serial))
            except OSError:
                if loop.time() > deadline:
                    self._log("QEMU: its serial socket never appeared; stopping it")
                    self._retire(machine)
                    self._wake()
                    return
                await asyncio.sleep(0.05)
        machine.writer = writer
        if self._machine is machine and self._keys:
            writer.write(bytes(self._keys))
            self._keys.clear()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if self._machine is machine:
                    self._output += data
                    self._serial_events(machine, data)
                    self._wake()
        except (OSError, ConnectionError):
            pass
        # QEMU closed the serial port: it is exiting (guest power off or killed).
        await self._wait_exit(machine.proc, QUIT_TIMEOUT)
        self._wake()

    def _forget_nvram(self) -> None:
        """Remove the machine's NVRAM (UefiQemuHost)."""

    @staticmethod
    def _stderr_tail(machine: _Machine) -> str:
        try:
            text = machine.stderr_path.read_text(errors="replace").strip()
        except OSError:
            return "no messages"
        return text[-500:] or "no messages"


class UefiQemuHost(QemuHost):
    """The PC behind the device is a QEMU q35 machine with UEFI firmware (Debian's OVMF).

    Its NVRAM is a copy of ``OVMF_VARS_4M.fd`` kept for the life of this host (setup changes survive
    power cycles). Boot overrides: ``bios`` enters OVMF's setup (UEFI OsIndications), ``bios-pause``
    lengthens the boot timeout so the console can press Esc; ``pxe`` boots the NIC first (OVMF's own
    PXE and HTTP boot), ``cd`` / ``ider-cd`` the CD-ROM (QEMU bootindex); ``disk`` and ``ider-floppy``
    do nothing (no disk, and OVMF cannot boot a floppy). One Click Recovery HTTPS boot: see
    :meth:`set_https_boot` and :mod:`amtterm.sim.uefi`.

    Raises:
        FileNotFoundError: QEMU or OVMF is not installed (the message says which package to install).
    """

    firmware: Firmware = "uefi"

    def __init__(
        self,
        *,
        binary: str | None = None,
        memory_mb: int = 1024,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(binary=binary, memory_mb=memory_mb, log=log)
        found = uefi.find_ovmf()
        if found is None:
            raise FileNotFoundError(f"UEFI firmware (OVMF) is not installed: {uefi.OVMF_PACKAGE_HINT}.")
        self.code, self.template = found
        self._nvram_dir: Path | None = None
        self._https_boot: HttpsBoot | None = None
        #: OVMF's BootOrder before a one-time ``bootindex`` override, to restore at the next start.
        self._saved_order: tuple[bytes | None] | None = None
        #: What became of the last HTTPS boot (None before the first one has an outcome).
        self.last_https_boot: uefi.HttpsBootOutcome | None = None

    @property
    def nvram(self) -> Path:
        """This machine's NVRAM file (created from OVMF's template on first use)."""
        if self._nvram_dir is None:
            self._nvram_dir = Path(tempfile.mkdtemp(prefix="amtterm-ovmf-"))
            uefi.new_nvram(self._nvram_dir / "OVMF_VARS.fd", self.template)
        return self._nvram_dir / "OVMF_VARS.fd"

    def set_https_boot(self, boot: HttpsBoot | None) -> None:
        """Boot ``boot.url`` once at the next power on or reset (a reset restarts QEMU), or cancel.

        The firmware gets the URL as the PC reaches it (:func:`amtterm.sim.uefi.firmware_url`) and
        ``boot.trusted_roots`` as its TLS CA list; it judges the server's chain itself. The outcome
        lands in :attr:`last_https_boot` and goes to ``on_boot_event`` as ``https-boot-ok`` or
        ``https-boot-failed``. OVMF has no
        setting for a request timeout: ``boot.timeout`` is not used.
        """
        self._https_boot = boot

    def _start_pending(self) -> bool:
        return self._https_boot is not None

    def _forget_nvram(self) -> None:
        if self._nvram_dir is not None:
            shutil.rmtree(self._nvram_dir, ignore_errors=True)
            self._nvram_dir = None

    def _uefi_start(
        self, workdir: Path, target: BootTarget | None
    ) -> tuple[list[str], tuple[HttpsBoot, str] | None]:
        nvram = self.nvram
        boot, self._https_boot = self._https_boot, None
        https: tuple[HttpsBoot, str] | None = None
        cacerts: Path | None = None
        if target == "bios":
            try:
                uefi.request_setup(nvram)
            except (OSError, ValueError) as exc:
                self._log(f"QEMU: cannot ask OVMF for its setup: {exc}")
        elif target in ("disk", "ider-floppy"):
            self._log(f"QEMU: boot override {target} does nothing on this UEFI machine")
        try:
            if self._saved_order is not None:  # the start after a bootindex override: the order before it
                uefi.restore_boot_order(nvram, self._saved_order[0])
                self._saved_order = None
            if target in UEFI_BOOTINDEX:
                self._saved_order = (uefi.boot_order(nvram),)
        except (OSError, ValueError) as exc:
            self._log(f"QEMU: cannot keep OVMF's boot order around the {target or 'normal'} boot: {exc}")
        if boot is not None:
            url, why = uefi.firmware_url(boot.url)
            if url is not None:
                try:
                    uefi.request_https_boot(nvram, url)
                except (OSError, ValueError) as exc:
                    url, why = None, f"the firmware's NVRAM could not take the boot option ({exc})"
            if url is None:
                self._https_outcome(uefi.HttpsBootOutcome(boot.url, False, f"HTTPS boot failed: {why}"))
            else:
                https = (boot, url)
                if boot.trusted_roots:
                    cacerts = workdir / "cacerts.esl"
                    cacerts.write_bytes(uefi.signature_list(boot.trusted_roots))
                self._log(f"QEMU: HTTPS boot of {url} ({len(boot.trusted_roots)} trusted roots)")
        argv = uefi_argv(
            self.binary,
            workdir / "serial.sock",
            workdir / "qmp.sock",
            memory_mb=self.memory_mb,
            code=self.code,
            nvram=nvram,
            menu_ms=BOOT_MENU_BIOS_MS if target == "bios-pause" else BOOT_MENU_MS,
            first=UEFI_BOOTINDEX.get(target) if target else None,
            cd_url=self._cd_url,
            cacerts=cacerts,
            open_network=https is not None,
            vnc_path=workdir / "vnc.sock",
        )
        return argv, https

    def _https_progress(self, machine: _Machine, kind: str, option: str) -> None:
        if kind == "download":
            machine.download_size = int(option)
        if machine.https is None or option != f"Boot{uefi.HTTPS_BOOT_OPTION:04X}":
            return
        boot, url = machine.https
        if kind == "starting":
            machine.https = None
            sentence = f"HTTPS boot started: the firmware loaded {boot.url} and started it"
            outcome = uefi.HttpsBootOutcome(boot.url, True, sentence, url, machine.download_size)
            self._https_outcome(outcome)
        elif kind == "failed":
            machine.https = None
            self._spawn(self._judge(boot, url))

    async def _judge(self, boot: HttpsBoot, url: str) -> None:
        sentence = await uefi.judge_failure(boot.url, url, boot.trusted_roots)
        self._https_outcome(uefi.HttpsBootOutcome(boot.url, False, sentence, url))

    def _https_outcome(self, outcome: uefi.HttpsBootOutcome) -> None:
        self.last_https_boot = outcome
        self._boot_event("https-boot-ok" if outcome.ok else "https-boot-failed", outcome.sentence)


def make_qemu_host(
    firmware: Firmware = "bios", *, memory_mb: int = 1024, log: Callable[[str], None] | None = None
) -> QemuHost:
    """A QEMU host with SeaBIOS (``bios``) or OVMF (``uefi``); FileNotFoundError names a missing package."""
    if firmware == "uefi":
        return UefiQemuHost(memory_mb=memory_mb, log=log)
    return QemuHost(memory_mb=memory_mb, log=log)

"""A simulated PC that is a real QEMU process: SeaBIOS (and whatever it boots) behind the device.

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
from typing import Any

from amtterm.sim.host import BootTarget

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
    """The QEMU command line of one power-on (with ``vnc_path``, its screen on a VNC socket there)."""
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
        """QMP ``system_reset``; a fresh QEMU instead when a boot override or an IDE-R CD is
        pending (both take effect at a reset); off: power on."""
        self._tick(now)
        machine = self._machine
        pending = self._next_boot is not None or (machine is not None and machine.cd_url != self._cd_url)
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
        for task in list(self._stopping):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- internals ----------------------------------------------------------------------------

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
                    self._wake()
        except (OSError, ConnectionError):
            pass
        # QEMU closed the serial port: it is exiting (guest power off or killed).
        await self._wait_exit(machine.proc, QUIT_TIMEOUT)
        self._wake()

    @staticmethod
    def _stderr_tail(machine: _Machine) -> str:
        try:
            text = machine.stderr_path.read_text(errors="replace").strip()
        except OSError:
            return "no messages"
        return text[-500:] or "no messages"

"""Record what real firmware writes to a PC's serial port: the golden screens of the terminal tests.

    python -m tests.support.capture_firmware OUTDIR            # all three captures
    python -m tests.support.capture_firmware OUTDIR seabios    # one of seabios, ipxe, installer

Each capture starts ``qemu-system-x86_64`` itself (``-nographic``, the first serial port on a Unix
socket this tool reads, no network or a restricted user network, nothing but loopback), records
the raw bytes that arrive, cuts them once the screen of interest is complete (the firmware waits
for a key and the port went quiet, or the last line of interest came), stops QEMU and writes
``OUTDIR/<name>.bin``:

* ``seabios_boot_menu.bin``: SeaBIOS's boot messages, ESC sent after "Press ESC for boot menu",
  its "Select boot device" menu (a CD-ROM holding Debian's ``ipxe.iso`` and a NIC with iPXE's
  option ROM, which also prints its own line during POST, add entries to it);
* ``ipxe_banner.bin``: SeaBIOS booting Debian's ``/usr/lib/ipxe/ipxe.iso`` (ISOLINUX, then
  iPXE's coloured banner and its "Press Ctrl-B" prompt, erased with backspaces), with no NIC;
* ``debian_installer_language.bin``: the installer ISO of :mod:`tests.support.installer_iso`
  booting to its ``[!!] Select a language`` dialog (60-90 s under TCG; 1 GB of memory, since
  with 512 MB it shows a "Low memory mode" dialog first). It runs inside GNU screen, whose
  caption shows the date and time of the capture.

Nothing is typed into the captured screens except that one ESC. No part of amtterm takes part:
the bytes are what QEMU's serial port gave, so the terminal tests judge amtterm's screen models
against firmware no one here wrote (``tests/ui/test_firmware_screens.py``). The expected screens
beside the captures (``*.screen.txt``, ``*.cells.txt``) were written down by hand from the bytes
and checked with pyte alone and with tmux; re-capturing may change timings and versions, so
check them again after a re-capture (``tests/data/firmware/README.md`` says how).
"""

from __future__ import annotations

import contextlib
import ctypes
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import installer_iso

QEMU = "qemu-system-x86_64"
IPXE_ISO = Path("/usr/lib/ipxe/ipxe.iso")
ESC = b"\x1b"


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: QEMU gets SIGKILL if this tool dies without stopping it.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


class Machine:
    """One QEMU process whose first serial port is a Unix socket this object reads."""

    def __init__(self, args: list[str], workdir: Path, *, deadline: float, tee: Path) -> None:
        self.deadline = deadline
        self.output = bytearray()
        self.tee = tee.open("wb")
        path = workdir / "serial.sock"
        argv = [QEMU, "-m", "1024", "-nographic", "-monitor", "none", "-parallel", "none"]
        argv += ["-chardev", f"socket,id=s0,path={path},server=on,wait=on", "-serial", "chardev:s0", *args]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=_die_with_parent)  # fmt: skip
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:  # QEMU waits for this connection before the machine starts
            try:
                self.sock.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self._check_alive()
                time.sleep(0.05)

    def _check_alive(self) -> None:
        if self.proc.poll() is not None:
            assert self.proc.stderr is not None
            raise RuntimeError(f"QEMU quit ({self.proc.returncode}): {self.proc.stderr.read().decode()}")
        if time.monotonic() > self.deadline:
            raise TimeoutError("the capture took too long")

    def _read(self, wait: float) -> bool:
        """Read what is there within ``wait`` seconds; whether anything came."""
        ready, _, _ = select.select([self.sock], [], [], wait)
        if not ready:
            return False
        chunk = self.sock.recv(65536)
        if not chunk:
            raise RuntimeError("QEMU closed the serial port")
        self.output += chunk
        self.tee.write(chunk)
        self.tee.flush()
        return True

    def until(self, marker: bytes, since: int = 0) -> int:
        """Read until ``marker`` arrived after offset ``since``; return the offset just past it."""
        while True:
            found = self.output.find(marker, since)
            if found >= 0:
                return found + len(marker)
            self._check_alive()
            self._read(0.2)

    def quiet(self, seconds: float) -> None:
        """Read until nothing came for ``seconds``."""
        last = time.monotonic()
        while time.monotonic() - last < seconds:
            self._check_alive()
            if self._read(0.1):
                last = time.monotonic()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def stop(self) -> None:
        self.tee.close()
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


@contextlib.contextmanager
def machine(args: list[str], *, limit: float, partial: Path) -> Iterator[Machine]:
    """A running QEMU (stopped on the way out, whatever happens), for at most ``limit`` seconds.

    What comes is also written to ``partial`` as it comes (to watch a capture, or see why it
    failed); that file is removed when the capture succeeds.
    """
    with tempfile.TemporaryDirectory(prefix="amtterm-capture-") as tmp:
        started = Machine(args, Path(tmp), deadline=time.monotonic() + limit, tee=partial)
        try:
            yield started
        finally:
            started.stop()
        partial.unlink()


def seabios(workdir: Path, partial: Path) -> bytes:
    """SeaBIOS's boot messages and its boot menu (ESC typed after its prompt)."""
    args = ["-machine", "pc", "-boot", "menu=on,splash-time=5000", "-cdrom", str(IPXE_ISO)]
    args += ["-nic", "user,restrict=on"]  # iPXE's option ROM: a second menu entry; DHCP reaches nothing
    with machine(args, limit=120, partial=partial) as pc:
        prompt = pc.until(b"Press ESC for boot menu")
        pc.send(ESC)
        pc.until(b"Select boot device", since=prompt)
        pc.quiet(3.0)  # the menu waits for a key: the screen is complete once the port goes quiet
        return bytes(pc.output)


def ipxe(workdir: Path, partial: Path) -> bytes:
    """Debian's ipxe.iso booted from CD: ISOLINUX, then iPXE's banner and its Ctrl-B prompt."""
    args = ["-machine", "pc", "-boot", "d", "-cdrom", str(IPXE_ISO), "-nic", "none"]
    with machine(args, limit=120, partial=partial) as pc:
        banner = pc.until(b"Open Source Network Boot Firmware")
        # The prompt waits ~2 s for Ctrl-B, is erased with BS-space-BS, and with no NIC
        # "No more network devices" takes its place: the end of the capture.
        end = pc.until(b"Press Ctrl-B", since=banner)
        end = pc.until(b"No more network devices\r\n", since=end)
        return bytes(pc.output[:end])


def installer(workdir: Path, partial: Path) -> bytes:
    """The Debian installer's first dialog, "[!!] Select a language", drawn completely."""
    gone = installer_iso.missing()
    if gone:
        raise FileNotFoundError(f"missing {', '.join(gone)}: apt-get install {installer_iso.PACKAGES}")
    iso = installer_iso.build(workdir / "installer.iso")
    args = ["-machine", "pc", "-boot", "d", "-cdrom", str(iso), "-nic", "none"]
    with machine(args, limit=400, partial=partial) as pc:
        title = pc.until(b"Select a language")
        pc.until(b"English", since=title)
        pc.quiet(5.0)  # the dialog waits for a key
        return bytes(pc.output)


@dataclass(frozen=True)
class Capture:
    name: str
    record: Callable[[Path, Path], bytes]


CAPTURES = {
    "seabios": Capture("seabios_boot_menu", seabios),
    "ipxe": Capture("ipxe_banner", ipxe),
    "installer": Capture("debian_installer_language", installer),
}


def main(argv: list[str]) -> int:
    if not argv or any(name not in CAPTURES for name in argv[1:]):
        print(f"usage: python -m tests.support.capture_firmware OUTDIR [{'|'.join(CAPTURES)} ...]",
              file=sys.stderr)  # fmt: skip
        return 2
    if shutil.which(QEMU) is None:
        print(f"{QEMU} is missing: apt-get install qemu-system-x86", file=sys.stderr)
        return 1
    if not IPXE_ISO.is_file():
        print(f"{IPXE_ISO} is missing: apt-get install ipxe", file=sys.stderr)
        return 1
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for key in argv[1:] or list(CAPTURES):
        capture = CAPTURES[key]
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="amtterm-capture-") as tmp:
            data = capture.record(Path(tmp), out / f"{capture.name}.partial")
        path = out / f"{capture.name}.bin"
        path.write_bytes(data)
        print(f"{path}: {len(data)} bytes in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

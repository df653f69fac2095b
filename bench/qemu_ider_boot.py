"""Benchmark: QEMU's time to the iPXE banner booting ipxe.iso over IDE-R, against booting it from a file.

Both runs start the same QEMU command line (``amtterm.sim.qemu_host.qemu_argv``: SeaBIOS with
its 5 s boot-menu prompt, serial on a socket, the CD-ROM on the secondary IDE master); only the
CD-ROM's backing differs:

* **IDE-R**: ``amtterm sim --qemu`` (the CD-ROM is the device's NBD export), ``amtterm sol``
  watching, and ``amtterm ider --cd ipxe.iso --boot`` started at t = 0: IDE-R session, WS-Man
  boot override and reset, QEMU start, every sector over IDE-R, up to the banner on SOL;
* **local file**: the same ISO as the drive's file, QEMU started at t = 0, banner on its serial.

Printed: seconds to the banner for each (median of ``--runs``), the ratio IDE-R / local, and the
bytes and READ(10)s the IDE-R run served. With ``--installer`` the installer ISO of
``tests/support/installer_iso.py`` is timed too, to "Select a language" (about a minute each).

    .venv/bin/python bench/qemu_ider_boot.py [--runs 3] [--installer]

Loopback only; every run is bounded (``RUN_TIMEOUT``) and stops its processes.
"""

from __future__ import annotations

import argparse
import os
import re
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtterm.sim.qemu_host import BOOT_MENU_MS, find_qemu, qemu_argv  # noqa: E402
from tests.support import installer_iso  # noqa: E402
from tests.support.simproc import amtterm_argv, isolated_env, start_sim  # noqa: E402

IPXE_ISO = Path("/usr/lib/ipxe/ipxe.iso")
IPXE_BANNER = b"Open Source Network Boot Firmware"
INSTALLER_SCREEN = b"Select a language"
RUN_TIMEOUT = 240.0
MEMORY_MB = 1024


def wait_for(read_fd: int, marker: bytes, deadline: float) -> tuple[float, bytes]:
    """Read ``read_fd`` until ``marker`` appears; (time seen, everything read)."""
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([read_fd], [], [], 0.2)
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        seen += chunk
        if marker in seen[-len(chunk) - len(marker) :]:
            return time.monotonic(), seen
    raise RuntimeError(f"{marker!r} did not appear; last output: {seen[-400:]!r}")


def time_to_marker(argv: list[str], serial: Path, marker: bytes, timeout: float = RUN_TIMEOUT) -> float:
    """Start QEMU with ``argv`` and time it to ``marker`` on its serial socket ``serial``."""
    start = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        sock = socket.socket(socket.AF_UNIX)
        deadline = start + timeout
        while True:
            try:
                sock.connect(str(serial))
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("QEMU's serial socket never appeared") from None
                time.sleep(0.02)
        seen_at, _ = wait_for(sock.fileno(), marker, deadline)
        sock.close()
        return seen_at - start
    finally:
        proc.kill()
        proc.wait(10)


def boot_local(iso: Path, marker: bytes) -> float:
    """Seconds from QEMU's start to ``marker`` on its serial port, the ISO as a local file."""
    binary = find_qemu()
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="amtterm-bench-") as tmp:
        serial, qmp = Path(tmp) / "serial.sock", Path(tmp) / "qmp.sock"
        argv = qemu_argv(binary, serial, qmp, memory_mb=MEMORY_MB, boot_once="d", menu_ms=BOOT_MENU_MS,
                         cd_url=str(iso))  # fmt: skip
        return time_to_marker(argv, serial, marker)


def boot_over_ider(iso: Path, marker: bytes) -> tuple[float, int]:
    """Seconds from `amtterm ider --boot` to ``marker`` on `amtterm sol`; MB served (from its progress)."""
    with tempfile.TemporaryDirectory(prefix="amtterm-bench-") as tmp:
        env = isolated_env(Path(tmp))
        sim = start_sim(
            env, "--qemu", "--power-on", "off", "--qemu-memory", str(MEMORY_MB), tls=False, wsman=True
        )
        run_env = dict(env, AMT_PASSWORD=sim.password)
        assert sim.plain_port and sim.wsman_port
        sol = subprocess.Popen(
            [*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port), "--timeout", str(RUN_TIMEOUT)],
            env=run_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        ider = None
        try:
            assert sol.stdout is not None and sol.stderr is not None
            deadline = time.monotonic() + RUN_TIMEOUT
            wait_for(sol.stderr.fileno(), b"powered off", deadline)  # attached: nothing will be missed
            ports = ["--redir-port", str(sim.plain_port), "--wsman-port", str(sim.wsman_port)]
            start = time.monotonic()
            ider = subprocess.Popen(
                [*amtterm_argv(), "ider", "127.0.0.1", "-P", *ports, "--cd", str(iso), "--boot"],
                env=run_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            seen_at, _ = wait_for(sol.stdout.fileno(), marker, deadline)
            ider.terminate()
            _, err = ider.communicate(timeout=15)
            served = re.findall(rb"([0-9.]+) MB served", err)
            return seen_at - start, int(float(served[-1]) * 1e6) if served else 0
        finally:
            for proc in (ider, sol):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
            sim.stop()


def compare(name: str, iso: Path, marker: bytes, runs: int) -> None:
    local = [boot_local(iso, marker) for _ in range(runs)]
    over = [boot_over_ider(iso, marker) for _ in range(runs)]
    ider_s = statistics.median(seconds for seconds, _ in over)
    local_s = statistics.median(local)
    served = over[-1][1]
    print(f"{name}: to {marker.decode()!r}")
    print(f"  local file  {local_s:6.2f} s   (runs: {', '.join(f'{s:.2f}' for s in local)})")
    print(f"  over IDE-R  {ider_s:6.2f} s   (runs: {', '.join(f'{s:.2f}' for s, _ in over)}; "
          f"{served / 1e6:.1f} MB served, incl. session, WS-Man boot and reset)")  # fmt: skip
    print(f"  ratio IDE-R / local: {ider_s / local_s:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="boots of each kind (median reported)")
    parser.add_argument("--installer", action="store_true", help="also time the installer ISO")
    args = parser.parse_args()
    if find_qemu() is None or not IPXE_ISO.is_file():
        sys.exit("needs qemu-system-x86 and ipxe (apt-get install qemu-system-x86 ipxe)")
    compare("ipxe.iso", IPXE_ISO, IPXE_BANNER, args.runs)
    if args.installer:
        with tempfile.TemporaryDirectory(prefix="amtterm-iso-") as tmp:
            iso = installer_iso.build(Path(tmp) / "installer.iso")
            compare("installer ISO", iso, INSTALLER_SCREEN, max(1, args.runs // 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the Debian installer to "Select a language" over One Click Recovery HTTPS boot, over
IDE-R and from a local file, one ISO, same run.

The ISO is :mod:`tests.support.uefi_installer_iso`'s (Debian's netboot installer with ISOLINUX for
the BIOS and GRUB on an El Torito EFI image; about 58 MB), so the same file boots every way:

* **OCR HTTPS**: ``amtterm sim --qemu --firmware uefi --amt-version 16.1`` (OVMF, q35) and
  ``amtterm reinstall --image installer.iso`` started at t = 0: TLS WS-Man, amtterm's CA into the
  trusted roots, the HTTPS boot setting and the reset, QEMU's start, OVMF's TLS fetch of the whole
  ISO into a RAM disk, GRUB, the kernel, up to the dialog on the SOL output the command shows;
* **local UEFI**: the same OVMF command line (``amtterm.sim.qemu_host.uefi_argv``, a fresh NVRAM)
  with the ISO as the CD-ROM's file, QEMU started at t = 0, dialog on its serial port;
* **IDE-R**: ``amtterm ider --cd installer.iso --boot`` against ``amtterm sim --qemu`` (SeaBIOS),
  as ``bench/qemu_ider_boot.py`` times it (ISOLINUX, every sector over IDE-R);
* **local BIOS**: the SeaBIOS command line with the ISO as the CD-ROM's file.

Printed: seconds to the dialog for each (median of ``--runs``) and the ratios OCR HTTPS / local UEFI
and IDE-R / local BIOS (each against the local boot on the same firmware).

    .venv/bin/python bench/qemu_ocr_boot.py [--runs 1]

Loopback only (the PC reaches the HTTPS server as 10.0.2.2 on QEMU's user network); every run is
bounded (``RUN_TIMEOUT``) and stops its processes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from qemu_ider_boot import boot_local, boot_over_ider, time_to_marker, wait_for  # noqa: E402

from amtterm.sim import uefi  # noqa: E402
from amtterm.sim.qemu_host import BOOT_MENU_MS, find_qemu, uefi_argv  # noqa: E402
from tests.support import uefi_installer_iso  # noqa: E402
from tests.support.simproc import amtterm_argv, isolated_env, start_sim  # noqa: E402

MARKER = b"Select a language"
RUN_TIMEOUT = 400.0
MEMORY_MB = 1024


def boot_local_uefi(iso: Path) -> float:
    """Seconds from QEMU's start to the dialog on its serial port: OVMF, the ISO as a local CD."""
    binary = find_qemu()
    found = uefi.find_ovmf()
    assert binary is not None and found is not None
    code, template = found
    with tempfile.TemporaryDirectory(prefix="amtterm-bench-") as tmp:
        serial, qmp, nvram = Path(tmp) / "serial.sock", Path(tmp) / "qmp.sock", Path(tmp) / "vars.fd"
        uefi.new_nvram(nvram, template)
        argv = uefi_argv(binary, serial, qmp, memory_mb=MEMORY_MB, code=code, nvram=nvram,
                         menu_ms=BOOT_MENU_MS, first="cd", cd_url=str(iso))  # fmt: skip
        return time_to_marker(argv, serial, MARKER, RUN_TIMEOUT)


def boot_over_ocr(iso: Path) -> float:
    """Seconds from `amtterm reinstall` (One Click Recovery HTTPS boot) to the dialog on its SOL output."""
    with tempfile.TemporaryDirectory(prefix="amtterm-bench-") as tmp:
        env = isolated_env(Path(tmp))
        sim = start_sim(env, "--qemu", "--firmware", "uefi", "--amt-version", "16.1", "--qemu-memory",
                        str(MEMORY_MB), plain=False, wsman=True)  # fmt: skip
        job = None
        try:
            assert sim.tls_port is not None and sim.wsman_tls_port is not None
            ports = ["--wsman-port", str(sim.wsman_tls_port), "--redir-port", str(sim.tls_port)]
            serve = ["--serve-on", "127.0.0.1:0", "--url-host", "10.0.2.2"]
            start = time.monotonic()
            job = subprocess.Popen(
                [*amtterm_argv(), "reinstall", "127.0.0.1", "--image", str(iso), "--accept-new", *ports,
                 *serve, "--settle", str(RUN_TIMEOUT), "--timeout", str(RUN_TIMEOUT)],
                env=dict(env, AMT_PASSWORD=sim.password), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            assert job.stdout is not None
            seen_at, _ = wait_for(job.stdout.fileno(), MARKER, start + RUN_TIMEOUT)
            return seen_at - start
        finally:
            if job is not None and job.poll() is None:
                job.terminate()
                try:
                    job.wait(20)
                except subprocess.TimeoutExpired:
                    job.kill()
                    job.wait(10)
            sim.stop()


def line(name: str, runs: list[float], note: str = "") -> float:
    median = statistics.median(runs)
    print(f"  {name:<11} {median:6.1f} s   (runs: {', '.join(f'{s:.1f}' for s in runs)}){note}")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="boots of each kind (median reported)")
    args = parser.parse_args()
    gone = uefi_installer_iso.missing()
    if find_qemu() is None or uefi.find_ovmf() is None or gone:
        needed = f"qemu-system-x86, ovmf and {uefi_installer_iso.PACKAGES}"
        sys.exit(f"needs {needed} (missing: {', '.join(gone) or 'qemu or ovmf'})")
    with tempfile.TemporaryDirectory(prefix="amtterm-iso-") as tmp:
        iso = uefi_installer_iso.build(Path(tmp) / "installer.iso")
        print(f"installer ISO ({iso.stat().st_size / 1e6:.1f} MB): to {MARKER.decode()!r}")
        local_uefi = line("local UEFI", [boot_local_uefi(iso) for _ in range(args.runs)])
        ocr = line("OCR HTTPS", [boot_over_ocr(iso) for _ in range(args.runs)],
                   "   incl. WS-Man, CA upload, reset, TLS fetch into a RAM disk")  # fmt: skip
        local_bios = line("local BIOS", [boot_local(iso, MARKER) for _ in range(args.runs)])
        over = [boot_over_ider(iso, MARKER) for _ in range(args.runs)]
        served = f"   {over[-1][1] / 1e6:.1f} MB served, incl. session and reset"
        ider = line("IDE-R", [seconds for seconds, _ in over], served)
    print(f"  ratio OCR HTTPS / local UEFI: {ocr / local_uefi:.2f}x")
    print(f"  ratio IDE-R / local BIOS:     {ider / local_bios:.2f}x")
    print(f"  OCR HTTPS / IDE-R:            {ocr / ider:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build a small Debian installer ISO that talks on the serial port, from Debian's own packages.

    python -m tests.support.installer_iso /tmp/installer.iso

The kernel and initrd are the text netboot installer of ``debian-installer-12-netboot-amd64``;
ISOLINUX (``isolinux``, ``syslinux-common``) boots them at once with ``console=ttyS0,115200n8``,
and ``xorriso`` writes an El Torito (no emulation) ISO of about 50 MB. ISOLINUX itself writes
through the BIOS, whose text screen SeaBIOS mirrors to the serial port. This is the image the
"remote OS reinstall" tests serve over IDE-R (``shared/TESTBED.md``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

INSTALLER = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64")
ISOLINUX_BIN = Path("/usr/lib/ISOLINUX/isolinux.bin")
LDLINUX = Path("/usr/lib/syslinux/modules/bios/ldlinux.c32")
PACKAGES = "xorriso isolinux syslinux-common debian-installer-12-netboot-amd64"

ISOLINUX_CFG = """\
DEFAULT install
PROMPT 0
TIMEOUT 0
LABEL install
  KERNEL /install/linux
  APPEND initrd=/install/initrd.gz console=ttyS0,115200n8 ---
"""


def missing() -> list[str]:
    """What is not installed of what the build needs."""
    needed = [INSTALLER / "linux", INSTALLER / "initrd.gz", ISOLINUX_BIN, LDLINUX]
    gone = [str(path) for path in needed if not path.is_file()]
    if shutil.which("xorriso") is None:
        gone.append("xorriso")
    return gone


def build(out: Path, *, volume: str = "DEBIAN_INSTALLER") -> Path:
    """Write the ISO to ``out``; return it.

    Raises:
        FileNotFoundError: a package is missing (the message names them all).
        subprocess.CalledProcessError: xorriso failed.
    """
    gone = missing()
    if gone:
        raise FileNotFoundError(f"missing {', '.join(gone)}: apt-get install {PACKAGES}")
    with tempfile.TemporaryDirectory(prefix="amtterm-iso-") as tmp:
        tree = Path(tmp)
        (tree / "isolinux").mkdir()
        (tree / "install").mkdir()
        shutil.copy(ISOLINUX_BIN, tree / "isolinux" / "isolinux.bin")
        shutil.copy(LDLINUX, tree / "isolinux" / "ldlinux.c32")
        (tree / "isolinux" / "isolinux.cfg").write_text(ISOLINUX_CFG)
        for name in ("linux", "initrd.gz"):
            shutil.copy(INSTALLER / name, tree / "install" / name)
        argv = ["xorriso", "-as", "mkisofs", "-quiet", "-V", volume, "-o", str(out)]
        argv += ["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot"]
        argv += ["-boot-load-size", "4", "-boot-info-table", str(tree)]
        subprocess.run(
            argv,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.support.installer_iso OUT.iso")
    try:
        print(build(Path(sys.argv[1])))
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        sys.exit(f"installer_iso: {exc}")

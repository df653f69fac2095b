"""Build a Debian installer ISO that boots on UEFI (and on a BIOS) and talks on the serial port.

    python -m tests.support.uefi_installer_iso /tmp/installer-uefi.iso

Everything comes from Debian's packages. The kernel and initrd are the text netboot installer of
``debian-installer-12-netboot-amd64``; its ``grubx64.efi`` (a self-contained GRUB) is the UEFI
loader. The ISO carries two El Torito entries:

* UEFI: a small FAT image (the EFI system partition, made with ``mkfs.vfat`` and ``mcopy``) holding
  ``EFI/BOOT/BOOTX64.EFI`` = ``grubx64.efi``; at the prefix built into that GRUB
  (``/debian-installer/amd64/grub``, on the disc: GRUB started from a CD reads the ISO 9660
  file system, and in the FAT image too) a ``grub.cfg`` starts ``/install/linux`` at once with
  ``console=ttyS0,115200n8``;
* BIOS: ISOLINUX, as :mod:`tests.support.installer_iso` builds it, with the same kernel line.

So one file boots both ways: as a CD on SeaBIOS (over IDE-R or local) and on OVMF, including One
Click Recovery HTTPS boot, where OVMF's HTTP boot loads a URL ending in ``.iso`` into a RAM disk
and boots it as a CD. About 50 MB.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.installer_iso import INSTALLER, ISOLINUX_BIN, ISOLINUX_CFG, LDLINUX

GRUB_EFI = INSTALLER / "grubx64.efi"
#: GRUB's prefix built into Debian's netboot grubx64.efi: it reads ``grub.cfg`` there on its own device.
GRUB_PREFIX = "debian-installer/amd64/grub"
PACKAGES = "xorriso isolinux syslinux-common debian-installer-12-netboot-amd64 dosfstools mtools"

GRUB_CFG = """\
set timeout=0
set default=0
search --no-floppy --file --set=root /install/linux
menuentry 'Install' {
    linux /install/linux console=ttyS0,115200n8 ---
    initrd /install/initrd.gz
}
"""

ESP_KB = 8192


def missing() -> list[str]:
    """What is not installed of what the build needs."""
    needed = [INSTALLER / "linux", INSTALLER / "initrd.gz", GRUB_EFI, ISOLINUX_BIN, LDLINUX]
    gone = [str(path) for path in needed if not path.is_file()]
    gone += [tool for tool in ("xorriso", "mkfs.vfat", "mcopy", "mmd") if shutil.which(tool) is None]
    return gone


def _esp(image: Path, grub_cfg: Path) -> None:
    """The EFI system partition image: GRUB as the removable-media loader and its grub.cfg."""

    def run(*argv: str) -> None:
        subprocess.run(argv, check=True, capture_output=True, timeout=60)

    run("mkfs.vfat", "-C", "-n", "INSTALLESP", str(image), str(ESP_KB))
    dirs = ["::/EFI", "::/EFI/BOOT", "::/debian-installer", "::/debian-installer/amd64", f"::/{GRUB_PREFIX}"]
    run("mmd", "-i", str(image), *dirs)
    run("mcopy", "-i", str(image), str(GRUB_EFI), "::/EFI/BOOT/BOOTX64.EFI")
    run("mcopy", "-i", str(image), str(grub_cfg), f"::/{GRUB_PREFIX}/grub.cfg")


def build(out: Path, *, volume: str = "DEBIAN_INSTALLER") -> Path:
    """Write the ISO to ``out``; return it.

    Raises:
        FileNotFoundError: a package is missing (the message names them all).
        subprocess.CalledProcessError: a build tool failed.
    """
    gone = missing()
    if gone:
        raise FileNotFoundError(f"missing {', '.join(gone)}: apt-get install {PACKAGES}")
    with tempfile.TemporaryDirectory(prefix="amtterm-iso-") as tmp:
        work = Path(tmp)
        tree = work / "tree"
        for folder in ("isolinux", "install", "efi"):
            (tree / folder).mkdir(parents=True)
        shutil.copy(ISOLINUX_BIN, tree / "isolinux" / "isolinux.bin")
        shutil.copy(LDLINUX, tree / "isolinux" / "ldlinux.c32")
        (tree / "isolinux" / "isolinux.cfg").write_text(ISOLINUX_CFG)
        for name in ("linux", "initrd.gz"):
            shutil.copy(INSTALLER / name, tree / "install" / name)
        grub_cfg = work / "grub.cfg"
        grub_cfg.write_text(GRUB_CFG)
        _esp(tree / "efi" / "esp.img", grub_cfg)
        # GRUB started from a CD takes the whole disc (ISO 9660) as its device, not the FAT image.
        (tree / GRUB_PREFIX).mkdir(parents=True)
        shutil.copy(grub_cfg, tree / GRUB_PREFIX / "grub.cfg")
        argv = ["xorriso", "-as", "mkisofs", "-quiet", "-V", volume, "-o", str(out)]
        argv += ["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot"]
        argv += ["-boot-load-size", "4", "-boot-info-table"]
        argv += ["-eltorito-alt-boot", "-e", "efi/esp.img", "-no-emul-boot", str(tree)]
        subprocess.run(argv, check=True, capture_output=True, timeout=120)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.support.uefi_installer_iso OUT.iso")
    try:
        print(build(Path(sys.argv[1])))
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        sys.exit(f"uefi_installer_iso: {exc}")

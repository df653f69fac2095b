"""After POST: try the boot devices in order, as the firmware prints it on a plain text screen.

* ``network``: the Intel Boot Agent banner, MAC and GUID, ``DHCP.`` gaining a dot every half
  second for four seconds, then ``PXE-E51`` (no offers) and ``PXE-M0F`` (exiting).
* ``cd`` / ``ider-cd`` / ``ider-floppy``: ``Booting from CD-ROM...`` (``Floppy...``), then a
  no-medium message after 1.5 s. With an IDE-R session attached (``ctx.ider_media``), ``ider-cd``
  waits for the BIOS's reads over IDE-R and shows ``Booting from IDE-R CD-ROM: <volume id>``
  and the El Torito image it loaded; the synthetic PC cannot run that image, so it goes on to
  the next device. The QEMU-backed host can run it.
* ``disk``: ``Booting from Hard Disk...`` and the boot loader.

Each failed device falls through to the next; the AMT overrides end with the hard disk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

from amtterm.sim.host import BootTarget, IderMedia
from amtterm.sim.synthetic.keys import Key
from amtterm.sim.synthetic.loader import GrubStage
from amtterm.sim.synthetic.settings import BiosSettings
from amtterm.sim.synthetic.stage import Context, ScriptStage, ScriptStep

#: Boot devices in the order an AMT override tries them (the hard disk is the fallback).
_OVERRIDES: Final[dict[str, tuple[str, ...]]] = {
    "pxe": ("network", "disk"),
    "cd": ("cd", "disk"),
    "ider-cd": ("ider-cd", "disk"),
    "ider-floppy": ("ider-floppy", "disk"),
    "disk": ("disk",),
}

#: How long the Boot Agent waits for a DHCP offer.
DHCP_TIMEOUT: Final = 4.0
#: How long the BIOS waits for the IDE-R drive's boot reads, and how often it looks.
IDER_WAIT: Final = 10.0
IDER_POLL: Final = 0.1


def boot_devices(target: BootTarget | None, settings: BiosSettings) -> list[str]:
    """The devices a boot tries: the override's, or the saved boot order."""
    if target is not None and target in _OVERRIDES:
        return list(_OVERRIDES[target])
    return list(settings.boot_order)


class BootSequence(ScriptStage):
    """Tries ``devices`` in turn until one boots (the hard disk always does).

    Args:
        ctx: the machine.
        devices: ``network``, ``cd``, ``ider-cd``, ``ider-floppy`` or ``disk``, in order.
    """

    def __init__(self, ctx: Context, devices: Sequence[str]) -> None:
        super().__init__(ctx)
        self.devices = list(devices)
        self._booted = False
        self._stuck = False

    def enter(self, now: float) -> None:
        self.ctx.clear_screen()
        super().enter(now)

    def steps(self) -> Iterator[ScriptStep]:
        for device in self.devices:
            if device == "disk":
                self.ctx.boot_event("boot-device", "disk")
                self.ctx.boot_event("os-boot", "boot loader")
                yield "Booting from Hard Disk...\r\n"
                yield 0.5
                self._booted = True
                return
            if device == "network":
                yield from self._pxe()
            else:
                yield from self._removable(device)
        yield "No bootable device -- insert boot disk and press any key\r\n"

    def _pxe(self) -> Iterator[ScriptStep]:
        hw = self.ctx.hardware
        mac = hw.mac.replace(":", " ")
        yield "\r\nIntel(R) Boot Agent GE v1.5.88\r\n"
        yield "Copyright (C) 1997-2024, Intel Corporation\r\n\r\n"
        yield 0.5
        yield f"CLIENT MAC ADDR: {mac}  GUID: {hw.guid}\r\n"
        yield "DHCP."
        for _ in range(int(DHCP_TIMEOUT * 2)):
            yield 0.5
            yield "."
        self.ctx.boot_event("boot-failed", "pxe")
        yield "\r\nPXE-E51: No DHCP or proxy DHCP offers were received.\r\n\r\n"
        yield 0.5
        yield "PXE-M0F: Exiting Intel Boot Agent.\r\n\r\n"
        yield 0.5

    def _removable(self, device: str) -> Iterator[ScriptStep]:
        if device == "ider-floppy":
            yield "Booting from Floppy... (Intel(R) AMT IDE-R)\r\n"
            where = "IDE-R floppy"
            media = getattr(self.ctx, "ider_media", None)
            if isinstance(media, IderMedia) and media.attached:
                yield from self._ider_floppy(media)
                return
        elif device == "ider-cd":
            yield "Booting from CD-ROM... (Intel(R) AMT IDE-R)\r\n"
            where = "IDE-R CD-ROM"
            media = getattr(self.ctx, "ider_media", None)
            if isinstance(media, IderMedia) and media.attached:
                yield from self._ider_cd(media)
                return
        else:
            yield "Booting from CD-ROM...\r\n"
            where = "CD-ROM"
        yield 1.5
        self.ctx.boot_event("boot-failed", device)
        yield f"{where}: No bootable medium found.\r\n\r\n"
        yield 0.5

    def _ider_reads(self, media: IderMedia) -> Iterator[ScriptStep]:
        """Wait (bounded) for the BIOS's reads over IDE-R since the reset."""
        waited = 0.0
        while media.attached and not media.ready and waited < IDER_WAIT:
            yield IDER_POLL
            waited += IDER_POLL

    def _ider_floppy(self, media: IderMedia) -> Iterator[ScriptStep]:
        yield from self._ider_reads(media)
        if media.ready and media.drive == "floppy" and media.bootable:
            self.ctx.boot_event("boot-device", "ider-floppy")
            yield "Booting from IDE-R floppy: boot sector loaded over IDE-R (512 bytes).\r\n"
            yield 0.5
            yield "This simulated PC cannot run the boot sector; trying the next device.\r\n\r\n"
        else:
            self.ctx.boot_event("boot-failed", "ider-floppy")
            yield f"IDE-R floppy: {media.error or 'No bootable medium found.'}\r\n\r\n"
        yield 0.5

    def _ider_cd(self, media: IderMedia) -> Iterator[ScriptStep]:
        yield from self._ider_reads(media)
        if media.bootable:
            self.ctx.boot_event("boot-device", "ider-cd")
            yield f"Booting from IDE-R CD-ROM: {media.volume_id or '(no volume id)'}\r\n"
            yield f"El Torito boot image loaded over IDE-R ({media.boot_sectors} sectors).\r\n"
            yield 0.5
            yield "This simulated PC cannot run the boot image; trying the next device.\r\n\r\n"
        else:
            self.ctx.boot_event("boot-failed", "ider-cd")
            yield f"IDE-R CD-ROM: {media.error or 'No bootable medium found.'}\r\n\r\n"
        yield 0.5

    def finished(self, now: float) -> None:
        if self._booted:
            self.ctx.go(GrubStage(self.ctx), now)
        else:
            self._stuck = True

    def on_key(self, key: Key, now: float) -> None:
        if self._stuck:
            self.ctx.reboot(now)

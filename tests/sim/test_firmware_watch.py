"""Boot events read off real firmware text: SeaBIOS and OVMF lines as they come out on serial.

The lines are the ones QEMU 7.2's SeaBIOS 1.16.2 and Debian 12's OVMF printed on this kind of
machine (no disk, an empty CD drive, user networking); the events they give are read back
through the event log's decoder as the sentences a user sees.
"""

from __future__ import annotations

from amtterm.sim.firmware_watch import FirmwareWatcher
from amtterm.sim.wsman.eventlog import boot_event_record
from amtterm.wsman.eventlog import describe

SEABIOS = (
    b"\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n"
    b"iPXE (http://ipxe.org) 00:03.0 CA00 PCI2.10 PnP PMM+0EFCF090+0EF0F090 CA00\r\n"
    b"Press ESC for boot menu.\r\n\r\n"
    b"Booting from Hard Disk...\r\nBoot failed: could not read the boot disk\r\n\r\n"
    b"Booting from DVD/CD...\r\nBoot failed: Could not read from CDROM (code 0003)\r\n"
    b"Booting from ROM...\r\niPXE (PCI 00:03.0) starting execution...ok\r\n"
    b"Nothing to boot: No such file or directory (http://ipxe.org/2d03e13b)\r\n"
    b"No bootable device.\r\n"
)
OVMF = (
    b'\x1b[=3hBdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM QM00005 " from PciRoot(0x0)/Pci(0x1F,0x2)'
    b"/Sata(0x2,0xFFFF,0x0): Not Found\r\n"
    b">>Start HTTP Boot over IPv4.....\r\n"
    b"  Error: Could not retrieve NBP file size from HTTP server.\r\n"
    b'BdsDxe: starting Boot0004 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0)\r\n'
)


def sentences(events: list[tuple[str, str]]) -> list[str]:
    return [describe(boot_event_record(kind, text, 1_800_000_000)).text for kind, text in events]


def test_seabios_lines_in_random_pieces_give_the_same_events() -> None:
    whole = FirmwareWatcher(cd="ider-cd").feed(SEABIOS)
    assert sentences(whole) == [
        "BIOS: primary processor initialization",
        "boot failed: no bootable medium",
        "boot failed: IDE-R CD: no bootable medium",
        "boot device selected: network (PXE)",
        "BIOS: starting OS boot",
        "boot failed: no bootable medium",  # "No bootable device." after iPXE gave up
    ]
    watcher = FirmwareWatcher(cd="ider-cd")
    pieces = [SEABIOS[i : i + 7] for i in range(0, len(SEABIOS), 7)]
    assert [event for piece in pieces for event in watcher.feed(piece)] == whole


def test_ovmf_lines_give_the_failed_dvd_the_https_error_and_the_boot() -> None:
    events = FirmwareWatcher().feed(OVMF)
    assert sentences(events) == [
        "boot failed: no bootable medium",
        "HTTPS boot failed: the server did not send the image",
        "boot device selected: hard disk",
        "BIOS: starting OS boot",
    ]


def test_a_line_without_an_end_is_bounded() -> None:
    watcher = FirmwareWatcher()
    for _ in range(100):
        assert watcher.feed(b"x" * 10_000) == []
    assert len(watcher._partial) <= 512

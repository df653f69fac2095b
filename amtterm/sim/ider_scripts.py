"""What a BIOS sends over IDE-R to boot, as generator scripts (pure).

A script yields :class:`Command` (or :class:`Wait`), receives the
:class:`CommandResult`, and returns a :class:`BootReport`. The command lists are
those of ``shared/protocol/redirection.md`` 6.12 (standard ATAPI / El Torito
behaviour, not taken from the redirection sources):

* CD: TEST UNIT READY until ready (06/xx: again at once; 02/04/xx: again after a
  pause; 02/3A/00: no medium), optionally the probes an OS makes (INQUIRY, GET
  CONFIGURATION, MODE SENSE(10) page 0x2A, READ TOC, GET EVENT STATUS, PREVENT/ALLOW),
  READ CAPACITY(10), READ(10) LBA 16 ("CD001"), LBA 17 (El Torito boot record,
  catalog pointer at byte 0x47), the catalog (validation entry, then the default
  entry: 0x88, sector count in 512-byte units at +6, load RBA at +8), the boot image.
* Floppy: TEST UNIT READY, READ FORMAT CAPACITIES, READ CAPACITY(10), MODE SENSE(10)
  page 0x05, READ(10) of LBA 0 (boot sector, 0x55 0xAA at byte 510).
"""

from __future__ import annotations

import struct
from collections.abc import Generator
from dataclasses import dataclass, field

from amtterm.redir import IderDrive, Sense

#: How often TEST UNIT READY is tried before the drive is declared not ready.
READY_ATTEMPTS = 20
#: Pause after "becoming ready" (02/04/xx) before the next try.
NOT_READY_PAUSE = 0.5

TEST_UNIT_READY = bytes(6)
READ_CAPACITY = bytes((0x25,)) + bytes(9)


@dataclass(frozen=True)
class Command:
    """An ATAPI command a script wants sent; ``data_out`` is the data of a write."""

    cdb: bytes
    drive: IderDrive = IderDrive.CD
    data_out: bytes = b""


@dataclass(frozen=True)
class Wait:
    """A script pause (a BIOS waiting before it retries)."""

    seconds: float


@dataclass(frozen=True)
class CommandResult:
    """How the console answered one command."""

    cdb: bytes
    drive: IderDrive
    data: bytes
    sense: Sense
    status: int

    @property
    def ok(self) -> bool:
        """GOOD status."""
        return self.sense[0] == 0 and not self.status & 0x01


@dataclass
class BootReport:
    """What the BIOS found on the redirected drive."""

    drive: IderDrive
    block_count: int = 0
    block_size: int = 0
    volume_id: str = ""
    catalog_lba: int = 0
    boot_lba: int = 0
    #: El Torito sector count (512-byte units) and boot media type (0 = no emulation).
    boot_sectors: int = 0
    media_type: int = 0
    boot_image: bytes = b""
    #: Opcode -> sense of the optional probe commands.
    probes: dict[int, Sense] = field(default_factory=dict)
    #: Why the drive is not bootable, or None.
    error: str | None = None

    @property
    def bootable(self) -> bool:
        """A boot image was found and read."""
        return self.error is None and bool(self.boot_image)

    def failed(self, why: str) -> BootReport:
        """Record ``why`` and return self (for ``return report.failed(...)``)."""
        self.error = why
        return self


Script = Generator[Command | Wait, CommandResult | None, BootReport]


def read10(lba: int, count: int) -> bytes:
    """The CDB of READ(10)."""
    return struct.pack(">BBIBHB", 0x28, 0, lba, 0, count, 0)


def _sense_text(result: CommandResult) -> str:
    key, asc, ascq = result.sense
    return f"{key:02x}/{asc:02x}/{ascq:02x}"


def wait_until_ready(
    drive: IderDrive, report: BootReport
) -> Generator[Command | Wait, CommandResult | None, bool]:
    """TEST UNIT READY until GOOD; False (with ``report.error`` set) when it never gets there."""
    for _ in range(READY_ATTEMPTS):
        result = yield Command(TEST_UNIT_READY, drive)
        assert result is not None
        key, asc, _ = result.sense
        if result.ok:
            return True
        if key == 0x06:
            continue  # unit attention after the reset: ask again
        if key == 0x02 and asc == 0x3A:
            report.failed("there is no medium in the drive")
            return False
        if key == 0x02:
            yield Wait(NOT_READY_PAUSE)
            continue
        report.failed(f"TEST UNIT READY failed with sense {_sense_text(result)}")
        return False
    report.failed(f"the drive was not ready after {READY_ATTEMPTS} tries")
    return False


def _read_capacity(
    drive: IderDrive, report: BootReport
) -> Generator[Command | Wait, CommandResult | None, bool]:
    result = yield Command(READ_CAPACITY, drive)
    assert result is not None
    if not result.ok or len(result.data) < 8:
        report.failed(f"READ CAPACITY failed (sense {_sense_text(result)}, {len(result.data)} bytes)")
        return False
    last, report.block_size = struct.unpack(">II", result.data[:8])
    report.block_count = last + 1
    return True


CD_PROBES = (
    bytes((0x12, 0, 0, 0, 36, 0)),  # INQUIRY
    struct.pack(">BBHBBBHB", 0x46, 0, 0, 0, 0, 0, 0x100, 0),  # GET CONFIGURATION, all features
    struct.pack(">BBBBBBBHB", 0x5A, 0, 0x2A, 0, 0, 0, 0, 0xFF, 0),  # MODE SENSE(10), capabilities
    struct.pack(">BBBBBBBHB", 0x43, 0, 0, 0, 0, 0, 1, 0x20, 0),  # READ TOC, format 0
    struct.pack(">BBBBBBBHB", 0x4A, 1, 0, 0, 0x10, 0, 0, 8, 0),  # GET EVENT STATUS, media
    bytes((0x1E, 0, 0, 0, 1, 0)),  # PREVENT MEDIUM REMOVAL
)


def cd_boot_script(*, probe: bool = True) -> Script:
    """Boot from the redirected CD-ROM the El Torito way (6.12)."""
    report = BootReport(IderDrive.CD)
    drive = IderDrive.CD
    if not (yield from wait_until_ready(drive, report)):
        return report
    if probe:
        for cdb in CD_PROBES:
            result = yield Command(cdb, drive)
            assert result is not None
            report.probes[cdb[0]] = result.sense
    if not (yield from _read_capacity(drive, report)):
        return report
    if report.block_size != 2048:
        return report.failed(f"the CD reports {report.block_size}-byte blocks, not 2048")
    pvd = yield Command(read10(16, 1), drive)
    assert pvd is not None
    if not pvd.ok or pvd.data[:6] != b"\x01CD001":
        return report.failed("no ISO 9660 primary volume descriptor at LBA 16")
    report.volume_id = pvd.data[40:72].decode("ascii", "replace").strip()
    record = yield Command(read10(17, 1), drive)
    assert record is not None
    if (
        not record.ok
        or record.data[:6] != b"\x00CD001"
        or not record.data[7:].startswith(b"EL TORITO SPECIFICATION")
    ):
        return report.failed("not bootable: no El Torito boot record at LBA 17")
    report.catalog_lba = struct.unpack_from("<I", record.data, 0x47)[0]
    catalog = yield Command(read10(report.catalog_lba, 1), drive)
    assert catalog is not None
    if not catalog.ok or len(catalog.data) < 64:
        return report.failed(f"the boot catalog at LBA {report.catalog_lba} cannot be read")
    validation = catalog.data[:32]
    checksum = sum(struct.unpack("<16H", validation)) & 0xFFFF
    if validation[0] != 0x01 or validation[30:32] != b"\x55\xaa" or checksum:
        return report.failed("the El Torito validation entry is damaged")
    entry = catalog.data[32:64]
    if entry[0] != 0x88:
        return report.failed("the El Torito default entry is not bootable")
    report.media_type = entry[1]
    report.boot_sectors = struct.unpack_from("<H", entry, 6)[0] or 1
    report.boot_lba = struct.unpack_from("<I", entry, 8)[0]
    # No emulation: load sector count x 512 bytes. Floppy / hard-disk emulation: the
    # BIOS starts with the image's first sector; the rest is read on demand.
    size = report.boot_sectors * 512 if report.media_type == 0 else 512
    blocks = -(-size // 2048)
    image = yield Command(read10(report.boot_lba, blocks), drive)
    assert image is not None
    if not image.ok or len(image.data) < size:
        return report.failed(
            f"the boot image at LBA {report.boot_lba} cannot be read (sense {_sense_text(image)})"
        )
    report.boot_image = image.data[:size]
    return report


def floppy_boot_script() -> Script:
    """Boot from the redirected floppy: its first sector must end in 0x55 0xAA (6.12)."""
    report = BootReport(IderDrive.FLOPPY)
    drive = IderDrive.FLOPPY
    if not (yield from wait_until_ready(drive, report)):
        return report
    formats = yield Command(struct.pack(">BBBBBBBHB", 0x23, 0, 0, 0, 0, 0, 0, 12, 0), drive)
    assert formats is not None
    report.probes[0x23] = formats.sense
    if not (yield from _read_capacity(drive, report)):
        return report
    mode = yield Command(struct.pack(">BBBBBBBHB", 0x5A, 0, 0x05, 0, 0, 0, 0, 0x28, 0), drive)
    assert mode is not None
    report.probes[0x5A] = mode.sense
    sector = yield Command(read10(0, 1), drive)
    assert sector is not None
    if not sector.ok or len(sector.data) < 512:
        return report.failed(f"the boot sector cannot be read (sense {_sense_text(sector)})")
    if sector.data[510:512] != b"\x55\xaa":
        return report.failed("the floppy's first sector has no boot signature (0x55 0xAA)")
    report.boot_image = sector.data[:512]
    return report

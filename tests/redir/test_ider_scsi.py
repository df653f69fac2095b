"""The virtual drives' SCSI answers, one opcode at a time (redirection.md 6.11, 6.11b)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from amtterm.errors import ConfigError
from amtterm.redir import scsi
from amtterm.redir.scsi import DriveKind, MemoryDevice, ScsiState, handle
from amtterm.session.images import ImageDevice
from tests.redir.eltorito import build_iso, filler, floppy_image

ISO = MemoryDevice(build_iso(total_blocks=100))
FLOPPY = MemoryDevice(floppy_image(), 512)
LS120 = MemoryDevice(bytes(512 * 3000), 512)


def ready(kind: DriveKind = DriveKind.CD) -> ScsiState:
    """A drive whose unit attention has been reported already."""
    return ScsiState(kind, unit_attention=False)


def cdb10(op: int, *, byte1: int = 0, byte2: int = 0, lba: int = 0, count: int = 0, byte9: int = 0) -> bytes:
    return (
        struct.pack(">BBIBHB", op, byte1, lba, 0, count, byte9)
        if not byte2
        else bytes((op, byte1, byte2, 0, 0, 0, lba, count >> 8, count & 0xFF, byte9))
    )


def test_test_unit_ready_reports_the_reset_once_then_good() -> None:
    state = ScsiState(DriveKind.CD)
    assert handle(bytes(6), ISO, state).sense == scsi.MEDIUM_CHANGED
    assert handle(bytes(6), ISO, state).sense == scsi.GOOD


def test_no_medium() -> None:
    state = ScsiState(DriveKind.FLOPPY)
    for cdb in (bytes(6), cdb10(0x28, count=1), cdb10(0x25), cdb10(0x23, count=12), cdb10(0x2A, count=1)):
        assert handle(cdb, None, state).sense == scsi.NO_MEDIUM
    # REQUEST SENSE then tells the same, INQUIRY still works.
    assert handle(bytes((0x03, 0, 0, 0, 18, 0)), None, state).data[12:14] == b"\x3a\x00"
    assert handle(bytes((0x12, 0, 0, 0, 36, 0)), None, state).data[0] == 0x00


def test_request_sense_carries_the_last_error_then_clears_it() -> None:
    state = ready()
    handle(cdb10(0x28, lba=100, count=1), ISO, state)
    sense = handle(bytes((0x03, 0, 0, 0, 252, 0)), ISO, state)
    assert sense.data == bytes((0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0, 0, 0, 0, 0))
    assert handle(bytes((0x03, 0, 0, 0, 8, 0)), ISO, state).data == bytes((0x70, 0, 0, 0, 0, 0, 0, 10))


def test_request_sense_reports_a_pending_unit_attention() -> None:
    state = ScsiState(DriveKind.CD)
    assert handle(bytes((0x03, 0, 0, 0, 18, 0)), ISO, state).data[2:14:10] == b"\x06\x28"
    assert handle(bytes(6), ISO, state).sense == scsi.GOOD


@pytest.mark.parametrize(
    ("kind", "device_type", "product"),
    [(DriveKind.CD, 5, b"Virtual CD-ROM"), (DriveKind.FLOPPY, 0, b"Virtual Floppy")],
)
def test_inquiry(kind: DriveKind, device_type: int, product: bytes) -> None:
    state = ScsiState(kind)
    data = handle(bytes((0x12, 0, 0, 0, 96, 0)), None, state).data
    assert len(data) == 36 and data[0] == device_type and data[1] == 0x80 and data[4] == 31
    assert data[8:16] == b"AMTTERM " and data[16:32] == product.ljust(16)
    assert handle(bytes((0x12, 0, 0, 0, 5, 0)), None, state).data == data[:5]
    assert state.unit_attention  # INQUIRY leaves the unit attention pending


def test_read10_read12_read6() -> None:
    state = ready()
    assert handle(cdb10(0x28, lba=30, count=3), ISO, state).data == filler(30) + filler(31) + filler(32)
    assert handle(struct.pack(">BBIIBB", 0xA8, 0, 50, 2, 0, 0), ISO, state).data == filler(50) + filler(51)
    assert handle(bytes((0x08, 0, 0, 40, 1, 0)), ISO, state).data == filler(40)
    assert handle(cdb10(0x28, lba=99, count=0), ISO, state) == scsi.ScsiResult()


@pytest.mark.parametrize(
    "cdb",
    [
        cdb10(0x28, lba=100, count=1),
        cdb10(0x28, lba=99, count=2),
        cdb10(0x28, lba=101, count=0),
        struct.pack(">BBIIBB", 0xA8, 0, 0, 101, 0, 0),
        bytes((0x08, 0, 0, 99, 0, 0)),  # count 0 means 256
        cdb10(0x2B, lba=100),  # SEEK
    ],
)
def test_out_of_range(cdb: bytes) -> None:
    assert handle(cdb, ISO, ready()).sense == scsi.LBA_OUT_OF_RANGE


@pytest.mark.parametrize(
    ("cdb", "block"),
    [(cdb10(0x2A, lba=0, count=4), 2048), (bytes((0x0A, 0, 0, 0, 2, 0)), 2048), (cdb10(0x2E, count=1), 2048)],
)
def test_writes_are_refused_as_write_protected_after_taking_the_data(cdb: bytes, block: int) -> None:
    result = handle(cdb, ISO, ready())
    count = cdb[4] if cdb[0] == 0x0A else int.from_bytes(cdb[7:9], "big")
    assert result.sense == scsi.WRITE_PROTECTED and result.write_bytes == count * block and result.data == b""


def test_read_capacity_10_and_16() -> None:
    assert handle(cdb10(0x25), ISO, ready()).data == struct.pack(">II", 99, 2048)
    assert handle(cdb10(0x25), FLOPPY, ready(DriveKind.FLOPPY)).data == struct.pack(">II", 2879, 512)
    cdb16 = struct.pack(">BBQIBB", 0x9E, 0x10, 0, 32, 0, 0)
    data = handle(cdb16, ISO, ready()).data
    assert data == struct.pack(">QI", 99, 2048) + bytes(20)
    assert handle(cdb16[:13] + b"\x0c" + cdb16[14:], ISO, ready()).data == data[:12]
    assert handle(bytes((0x9E, 0x11)) + bytes(14), ISO, ready()).sense == scsi.INVALID_FIELD


def test_read_format_capacities_reports_the_real_size() -> None:
    data = handle(cdb10(0x23, count=12), FLOPPY, ready(DriveKind.FLOPPY)).data
    assert data == bytes((0, 0, 0, 8)) + struct.pack(">IB", 2880, 2) + (512).to_bytes(3, "big")
    assert handle(cdb10(0x23, count=4), ISO, ready()).data == bytes((0, 0, 0, 8))


def test_mode_sense_10_pages() -> None:
    state = ready()
    capabilities = handle(bytes((0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 0xFF, 0)), ISO, state).data
    assert capabilities[:8] == struct.pack(">HBBHH", 6 + 26, 0x01, 0x80, 0, 0)
    assert capabilities[8:10] == b"\x2a\x18" and len(capabilities) == 34
    everything = handle(bytes((0x5A, 0, 0x3F, 0, 0, 0, 0, 0, 0xFF, 0)), ISO, state).data
    assert everything[8:] == b"\x01\x06\x00\xff\x00\x00\x00\x00" + capabilities[8:]
    for page in (0x01, 0x1A, 0x1D):
        assert handle(bytes((0x5A, 0, page, 0, 0, 0, 0, 0, 0xFF, 0)), ISO, state).data[8] == page
    assert handle(bytes((0x5A, 0, 0x05, 0, 0, 0, 0, 0, 0xFF, 0)), ISO, state).sense == scsi.INVALID_FIELD
    assert (
        handle(bytes((0x5A, 0, 0xEA, 0, 0, 0, 0, 0, 0xFF, 0)), ISO, state).sense == scsi.SAVING_NOT_SUPPORTED
    )
    changeable = handle(bytes((0x5A, 0, 0x6A, 0, 0, 0, 0, 0, 0xFF, 0)), ISO, state).data
    assert changeable[8:10] == b"\x2a\x18" and changeable[10:] == bytes(24)
    assert len(handle(bytes((0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 4, 0)), ISO, state).data) == 4


@pytest.mark.parametrize(
    ("device", "medium", "heads", "sectors", "cylinders"),
    [(FLOPPY, 0x24, 2, 18, 80), (LS120, 0x31, 8, 32, 963)],
)
def test_mode_sense_flexible_disk_page(
    device: MemoryDevice, medium: int, heads: int, sectors: int, cylinders: int
) -> None:
    state = ready(DriveKind.FLOPPY)
    data = handle(bytes((0x5A, 0, 0x05, 0, 0, 0, 0, 0, 0xFF, 0)), device, state).data
    assert data[2] == medium and data[3] == 0x80
    page = data[8:]
    assert page[:2] == b"\x05\x1e"
    assert struct.unpack(">BBHH", page[4:10]) == (heads, sectors, 512, cylinders)
    everything = handle(bytes((0x5A, 0, 0x3F, 0, 0, 0, 0, 0, 0xFF, 0)), device, state).data
    assert struct.unpack(">H", everything[:2])[0] == 0x5C
    assert [everything[8 + off] for off in (0, 12, 36, 68, 80)] == [0x01, 0x03, 0x05, 0x08, 0x0B]


def test_mode_sense_6() -> None:
    data = handle(bytes((0x1A, 0, 0x3F, 0, 255, 0)), ISO, ready()).data
    assert data[:4] == bytes((3 + 8 + 26, 0x01, 0x80, 0)) and data[4] == 0x01
    assert handle(bytes((0x1A, 0, 0x3F, 0, 4, 0)), ISO, ready()).data == data[:4]


def test_read_toc_format_0_lba_and_msf_and_format_1() -> None:
    state = ready()
    toc = handle(bytes((0x43, 0, 0, 0, 0, 0, 0, 0, 0x20, 0)), ISO, state).data
    assert toc == struct.pack(">HBB", 18, 1, 1) + bytes(
        (0, 0x14, 1, 0, 0, 0, 0, 0, 0, 0x14, 0xAA, 0)
    ) + struct.pack(">I", 100)
    msf = handle(bytes((0x43, 2, 0, 0, 0, 0, 0, 0, 0x20, 0)), ISO, state).data
    assert msf[8:12] == bytes((0, 0, 2, 0)) and msf[16:20] == bytes((0, 0, 3, 25))  # 250 frames
    assert handle(bytes((0x43, 0, 0, 0, 0, 0, 0xAA, 0, 0x20, 0)), ISO, state).data[2:] == toc[2:4] + toc[12:]
    assert handle(bytes((0x43, 0, 0, 0, 0, 0, 2, 0, 0x20, 0)), ISO, state).sense == scsi.INVALID_FIELD
    session = handle(bytes((0x43, 0, 1, 0, 0, 0, 0, 0, 0x20, 0)), ISO, state).data
    assert session == struct.pack(">HBB", 10, 1, 1) + bytes((0, 0x14, 1, 0, 0, 0, 0, 0))
    assert (
        handle(bytes((0x43, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x40)), ISO, state).data == session
    )  # old-style byte 9
    assert handle(bytes((0x43, 0, 0, 0, 0, 0, 0, 0, 0x04, 0)), ISO, state).data == toc[:4]
    assert (
        handle(bytes((0x43, 0, 0, 0, 0, 0, 0, 0, 0x20, 0)), FLOPPY, ready(DriveKind.FLOPPY)).sense
        == scsi.INVALID_OPCODE
    )


def _features(data: bytes) -> list[int]:
    pos, codes = 8, []
    while pos < len(data):
        codes.append(struct.unpack_from(">H", data, pos)[0])
        pos += 4 + data[pos + 3]
    return codes


def test_get_configuration() -> None:
    state = ScsiState(DriveKind.CD)
    data = handle(bytes((0x46, 0, 0, 0, 0, 0, 0, 0x01, 0, 0)), ISO, state).data
    assert struct.unpack(">IHH", data[:8]) == (len(data) - 4, 0, 0x0008)
    assert _features(data) == [0x0000, 0x0001, 0x0002, 0x0003, 0x0010, 0x001E, 0x0100, 0x0105]
    assert data[8:16] == bytes((0, 0, 0x03, 4, 0, 0x08, 0x01, 0))
    assert state.unit_attention  # allowed while a unit attention is pending
    empty = handle(bytes((0x46, 1, 0, 0, 0, 0, 0, 0x01, 0, 0)), None, state).data
    assert struct.unpack(">H", empty[6:8])[0] == 0 and 0x0010 not in _features(empty)
    one = handle(bytes((0x46, 2, 0, 0x10, 0, 0, 0, 0x01, 0, 0)), ISO, state).data
    assert _features(one) == [0x0010] and one[12:16] == struct.pack(">I", 2048)
    assert handle(bytes((0x46, 3, 0, 0, 0, 0, 0, 0x01, 0, 0)), ISO, state).sense == scsi.INVALID_FIELD
    assert len(handle(bytes((0x46, 0, 0, 0, 0, 0, 0, 0, 8, 0)), ISO, state).data) == 8


def test_get_event_status_notification() -> None:
    state = ScsiState(DriveKind.CD)
    state.medium_changed()
    media = handle(bytes((0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0)), ISO, state).data
    assert media == bytes((0, 6, 0x04, 0x10, 0x02, 0x02, 0, 0))
    assert handle(bytes((0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0)), ISO, state).data[4] == 0  # reported once
    assert handle(bytes((0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0)), None, state).data[5] == 0  # no medium
    assert handle(bytes((0x4A, 1, 0, 0, 0x02, 0, 0, 0, 8, 0)), ISO, state).data == bytes((0, 2, 0x80, 0x10))
    assert handle(bytes((0x4A, 0, 0, 0, 0x10, 0, 0, 0, 8, 0)), ISO, state).sense == scsi.INVALID_FIELD


@pytest.mark.parametrize("op", [0x1B, 0x1E])
def test_start_stop_and_prevent_allow_are_good(op: int) -> None:
    assert handle(bytes((op, 0, 0, 0, 1, 0)), None, ready()).sense == scsi.GOOD


def test_get_performance_and_seek() -> None:
    assert handle(bytes((0xAC,)) + bytes(11), ISO, ready()).data == struct.pack(">IBBH", 4, 0, 0, 0)
    assert handle(cdb10(0x2B, lba=5), ISO, ready()).sense == scsi.GOOD


@pytest.mark.parametrize("op", [0x15, 0x55, 0x4C, 0x4D, 0x51, 0x52, 0xBE, 0xFF])
def test_unsupported_opcodes(op: int) -> None:
    state = ScsiState(DriveKind.CD)
    assert handle(bytes((op,)) + bytes(11), ISO, state).sense == scsi.INVALID_OPCODE
    assert state.unit_attention  # not consumed by a command we refuse anyway


def test_a_read_error_is_a_medium_error() -> None:
    class Broken:
        block_size = 2048
        block_count = 10

        def read(self, lba: int, count: int) -> bytes:
            raise OSError(5, "Input/output error")

    assert handle(cdb10(0x28, count=1), Broken(), ready()).sense == scsi.READ_ERROR
    assert handle(cdb10(0x28, count=1), Short(), ready()).sense == scsi.READ_ERROR


class Short:
    """A device whose file shrank: reads come back short."""

    block_size = 2048
    block_count = 10

    def read(self, lba: int, count: int) -> bytes:
        return b"x" * 100


# --- images -------------------------------------------------------------------------------------


def test_image_device_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "boot.iso"
    path.write_bytes(build_iso(total_blocks=40))
    image = ImageDevice.open(path, DriveKind.CD)
    assert (image.block_size, image.block_count) == (2048, 40)
    assert image.read(30, 2) == filler(30) + filler(31)
    image.close()
    image.close()


@pytest.mark.parametrize(
    ("make", "kind", "match"),
    [
        (lambda p: None, DriveKind.CD, r"^The ISO image .*missing.iso does not exist; check the path\.$"),
        (
            lambda p: p.mkdir(),
            DriveKind.CD,
            r"^.*missing.iso is a directory, not an ISO image; give the image file\.$",
        ),
        (lambda p: p.write_bytes(b""), DriveKind.CD, r"^The ISO image .* is empty\.$"),
        (
            lambda p: p.write_bytes(bytes(2048 * 3 + 100)),
            DriveKind.CD,
            r"^The ISO image .* is 6244 bytes, not a whole number of 2048-byte sectors, "
            r"so it is not an ISO\.$",
        ),
        (
            lambda p: p.write_bytes(bytes(1000)),
            DriveKind.FLOPPY,
            r"^The floppy image .* is 1000 bytes, not a whole number of 512-byte sectors, "
            r"so it is not a floppy image\.$",
        ),
    ],
    ids=["missing", "directory", "empty", "iso-size", "floppy-size"],
)
def test_bad_images_are_one_sentence(tmp_path: Path, make: object, kind: DriveKind, match: str) -> None:
    path = tmp_path / "missing.iso"
    make(path)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=match):
        ImageDevice.open(path, kind)


def test_unreadable_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.iso"
    path.write_bytes(bytes(2048))
    path.chmod(0)
    if os.geteuid() == 0:  # root may read anything: make the open fail the way it would for a user

        def refuse(*args: object, **kwargs: object) -> int:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("amtterm.session.images.os.open", refuse)
    with pytest.raises(
        ConfigError, match=r"^The ISO image .*secret.iso cannot be read \(permission denied\); make it"
    ):
        ImageDevice.open(path, DriveKind.CD)

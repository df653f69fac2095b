"""Fixed reply data of the virtual drives: INQUIRY, mode pages, TOC, feature list.

Built from the field values in ``shared/protocol/redirection.md`` 6.11 / 6.11b and
the MMC / SBC layouts; every multi-byte field in SCSI data is big-endian.
"""

from __future__ import annotations

import enum
import struct

#: Largest floppy image reported as a 1.44 MB disk; larger ones are LS-120 (6.11).
FLOPPY_144_BLOCKS = 2880


class DriveKind(enum.Enum):
    """What the drive emulates: a CD-ROM (2048-byte blocks) or a floppy (512) (6.11)."""

    CD = "cd"
    FLOPPY = "floppy"

    @property
    def block_size(self) -> int:
        """Bytes per logical block."""
        return 2048 if self is DriveKind.CD else 512

    @property
    def label(self) -> str:
        """How a user calls the image, for messages."""
        return "ISO image" if self is DriveKind.CD else "floppy image"


def inquiry_data(kind: DriveKind) -> bytes:
    """36-byte standard INQUIRY data: CD 0x05 / direct access 0x00, removable (6.11b)."""
    device_type = 0x05 if kind is DriveKind.CD else 0x00
    product = b"Virtual CD-ROM" if kind is DriveKind.CD else b"Virtual Floppy"
    # type, RMB, version, ATAPI 2 + response format 1, additional length 31, 3 flag bytes.
    head = bytes((device_type, 0x80, 0x00, 0x21, 31, 0, 0, 0))
    return head + b"AMTTERM".ljust(8) + product.ljust(16) + b"1.0".ljust(4)


def request_sense_data(sense: tuple[int, int, int]) -> bytes:
    """18-byte fixed-format sense data (6.11b)."""
    key, asc, ascq = sense
    return bytes((0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0))


# --- mode pages (6.11) --------------------------------------------------------------------------


def is_ls120(block_count: int | None) -> bool:
    """Whether a floppy of ``block_count`` blocks is reported as an LS-120 (6.11)."""
    return block_count is not None and block_count > FLOPPY_144_BLOCKS


def medium_type(kind: DriveKind, block_count: int | None) -> int:
    """Mode parameter header medium type: CD 0x01; floppy 0x24 (1.44 MB) or 0x31 (LS-120)."""
    if kind is DriveKind.CD:
        return 0x01
    return 0x31 if is_ls120(block_count) else 0x24


def _page(code: int, body: bytes) -> bytes:
    return bytes((code, len(body))) + body


def _error_recovery(kind: DriveKind) -> bytes:
    # Page 0x01: floppy length 0x0A with read (and write) retry count 1; CD length 0x06, retries 0xFF.
    if kind is DriveKind.CD:
        return _page(0x01, bytes((0, 0xFF, 0, 0, 0, 0)))
    return _page(0x01, bytes((0, 1, 0, 0, 0, 0, 1, 0, 0, 0)))


def _flexible_disk(block_count: int | None) -> bytes:
    # Page 0x05, length 0x1E: transfer rate, heads, sectors/track, bytes/sector, cylinders,
    # then the same motor on / off delays and rotation rate for both kinds.
    if is_ls120(block_count):
        rate, heads, sectors, cylinders = 0x10A9, 8, 32, 963
    else:
        rate, heads, sectors, cylinders = 0x04B0, 2, 18, 80
    body = bytearray(0x1E)
    struct.pack_into(">HBBHH", body, 0, rate, heads, sectors, 512, cylinders)
    body[17] = 0x05  # motor on delay (tenths of a second)
    body[18] = 0x1E  # motor off delay
    struct.pack_into(">H", body, 26, 300)  # medium rotation rate, rpm
    return _page(0x05, bytes(body))


def _format_device(block_count: int | None) -> bytes:
    # Page 0x03, length 0x16: sectors per track and bytes per physical sector.
    body = bytearray(0x16)
    struct.pack_into(">HH", body, 8, 32 if is_ls120(block_count) else 18, 512)
    body[18] = 0x20  # removable medium
    return _page(0x03, bytes(body))


def _capabilities() -> bytes:
    # Page 0x2A, length 0x18: reads CD-ROM only; tray loading, eject and lock supported.
    body = bytearray(0x18)
    body[4] = 0x29  # tray (0x20) | eject (0x08) | lock (0x01)
    struct.pack_into(">H", body, 6, 1412 * 8)  # maximum read speed, kB/s (8x)
    struct.pack_into(">H", body, 12, 1412 * 8)  # current read speed
    return _page(0x2A, bytes(body))


def mode_pages(kind: DriveKind, block_count: int | None) -> dict[int, bytes]:
    """Page code -> page bytes for MODE SENSE; 0x3F is every page the kind has (6.11)."""
    if kind is DriveKind.CD:
        pages = {
            0x01: _error_recovery(kind),
            0x1A: _page(0x1A, bytes(10)),
            0x1D: _page(0x1D, bytes(10)),
            0x2A: _capabilities(),
        }
        pages[0x3F] = pages[0x01] + pages[0x2A]
        return pages
    pages = {
        0x01: _error_recovery(kind),
        0x03: _format_device(block_count),
        0x05: _flexible_disk(block_count),
        0x08: _page(0x08, bytes(10)),
        0x0B: _page(0x0B, bytes(4)),  # header mode data length 0x5C in all (6.11)
    }
    pages[0x3F] = b"".join(pages[code] for code in (0x01, 0x03, 0x05, 0x08, 0x0B))
    return pages


def blank_page_bodies(data: bytes) -> bytes:
    """The same pages with every parameter zero: the "changeable values" page control (1)."""
    out = bytearray()
    pos = 0
    while pos + 2 <= len(data):
        length = data[pos + 1]
        out += data[pos : pos + 2] + bytes(length)
        pos += 2 + length
    return bytes(out)


# --- CD: READ TOC and GET CONFIGURATION (6.11) ------------------------------------------------


def _address(lba: int, msf: bool) -> bytes:
    if not msf:
        return struct.pack(">I", lba)
    frames = lba + 150
    return bytes((0, frames // (75 * 60), (frames // 75) % 60, frames % 75))


def toc_format0(block_count: int, start_track: int, msf: bool) -> bytes | None:
    """READ TOC format 0: the one data track and the lead-out at the real end; None = bad track."""
    descriptors = b""
    if start_track <= 1:
        descriptors += bytes((0, 0x14, 1, 0)) + _address(0, msf)
    elif start_track != 0xAA:
        return None
    descriptors += bytes((0, 0x14, 0xAA, 0)) + _address(block_count, msf)
    return struct.pack(">HBB", 2 + len(descriptors), 1, 1) + descriptors


def toc_format1(msf: bool) -> bytes:
    """READ TOC format 1 (session info): one session starting at track 1, address 0."""
    return struct.pack(">HBB", 10, 1, 1) + bytes((0, 0x14, 1, 0)) + _address(0, msf)


def _feature(code: int, current: bool, data: bytes = b"") -> tuple[int, bool, bytes]:
    flags = 0x02 | (0x01 if current else 0)  # persistent | current (version 0)
    return code, current, struct.pack(">HBB", code, flags, len(data)) + data


def cd_features(has_medium: bool) -> list[tuple[int, bool, bytes]]:
    """(code, current, descriptor) of every feature the CD-ROM reports (6.11)."""
    return [
        _feature(0x0000, True, struct.pack(">HBB", 0x0008, 0x01 if has_medium else 0, 0)),
        _feature(0x0001, True, struct.pack(">IBBBB", 2, 0x01, 0, 0, 0)),  # core: ATAPI interface
        _feature(0x0002, True, bytes((0x02, 0, 0, 0))),  # morphing: OCEvent
        _feature(0x0003, True, bytes((0x29, 0, 0, 0))),  # removable: tray, eject, lock
        _feature(0x0010, has_medium, struct.pack(">IHBB", 2048, 1, 0, 0)),  # random readable
        _feature(0x001E, has_medium, bytes(4)),  # CD read
        _feature(0x0100, True),  # power management
        _feature(0x0105, True, bytes(4)),  # timeout
    ]


def configuration(has_medium: bool, rt: int, start: int) -> bytes:
    """GET CONFIGURATION data for request type ``rt`` (0 all, 1 current, 2 one) from ``start``."""
    chosen = []
    for code, current, descriptor in cd_features(has_medium):
        if (
            (rt == 2 and code == start)
            or (rt == 0 and code >= start)
            or (rt == 1 and code >= start and current)
        ):
            chosen.append(descriptor)
    body = b"".join(chosen)
    profile = 0x0008 if has_medium else 0
    return struct.pack(">IHH", 4 + len(body), 0, profile) + body

"""Build small bootable El Torito ISO images by hand, for IDE-R tests (no xorriso needed).

Layout (2048-byte blocks): 0-15 system area, 16 primary volume descriptor
("CD001"), 17 El Torito boot record (catalog LBA at byte 0x47), 18 terminator,
19 boot catalog (validation entry + default entry), 20.. the boot image, then
filler blocks whose every 4 bytes hold the block number (big-endian), so any
read can be checked.
"""

from __future__ import annotations

import struct

BLOCK = 2048
CATALOG_LBA = 19
BOOT_LBA = 20


def boot_image(size: int = BLOCK) -> bytes:
    """A recognisable boot image of ``size`` bytes (a 512-byte boot sector signature included)."""
    sector = b"AMTTERM TEST BOOT IMAGE".ljust(510, b"\x90") + b"\x55\xaa"
    body = bytes((i * 7 + 3) & 0xFF for i in range(max(0, size - 512)))
    return (sector + body)[:size]


def filler(lba: int) -> bytes:
    """The content of filler block ``lba``."""
    return struct.pack(">I", lba) * (BLOCK // 4)


def _both16(value: int) -> bytes:
    return struct.pack("<H", value) + struct.pack(">H", value)


def _both32(value: int) -> bytes:
    return struct.pack("<I", value) + struct.pack(">I", value)


def validation_entry(platform: int = 0) -> bytes:
    """The catalog's first 32 bytes, with a checksum that makes its 16-bit words sum to 0."""
    entry = bytearray(32)
    entry[0] = 0x01
    entry[1] = platform
    entry[4:28] = b"AMTTERM TESTS".ljust(24, b"\x00")
    entry[30:32] = b"\x55\xaa"
    total = sum(struct.unpack("<16H", bytes(entry))) & 0xFFFF
    struct.pack_into("<H", entry, 28, (-total) & 0xFFFF)
    return bytes(entry)


def build_iso(
    image: bytes | None = None,
    *,
    volume_id: str = "AMTTERM_TEST",
    total_blocks: int = 64,
    bootable: bool = True,
    media_type: int = 0,
    sector_count: int | None = None,
) -> bytes:
    """A whole ISO image as bytes; ``image`` defaults to a 2048-byte :func:`boot_image`."""
    image = boot_image() if image is None else image
    image_blocks = -(-len(image) // BLOCK)
    total_blocks = max(total_blocks, BOOT_LBA + image_blocks + 1)
    blocks = [filler(lba) for lba in range(total_blocks)]
    for lba in range(16):
        blocks[lba] = bytes(BLOCK)
    pvd = bytearray(BLOCK)
    pvd[0:7] = b"\x01CD001\x01"
    pvd[40:72] = volume_id.encode().ljust(32)
    pvd[80:88] = _both32(total_blocks)
    pvd[120:124] = _both16(1)
    pvd[124:128] = _both16(1)
    pvd[128:132] = _both16(BLOCK)
    blocks[16] = bytes(pvd)
    record = bytearray(BLOCK)
    if bootable:
        record[0:7] = b"\x00CD001\x01"
        record[7:39] = b"EL TORITO SPECIFICATION".ljust(32, b"\x00")
        struct.pack_into("<I", record, 0x47, CATALOG_LBA)
    else:
        record[0:7] = b"\xffCD001\x01"
    blocks[17] = bytes(record)
    blocks[18] = b"\xffCD001\x01".ljust(BLOCK, b"\x00")
    entry = bytearray(32)
    entry[0] = 0x88
    entry[1] = media_type
    count = -(-len(image) // 512) if sector_count is None else sector_count
    struct.pack_into("<HBBHI", entry, 2, 0, 0, 0, count, BOOT_LBA)
    blocks[CATALOG_LBA] = (validation_entry() + bytes(entry)).ljust(BLOCK, b"\x00")
    padded = image.ljust(image_blocks * BLOCK, b"\x00")
    for i in range(image_blocks):
        blocks[BOOT_LBA + i] = padded[i * BLOCK : (i + 1) * BLOCK]
    return b"".join(blocks)


def floppy_image(blocks: int = 2880, *, signature: bool = True) -> bytes:
    """A floppy image whose first sector is a boot sector (with or without 0x55 0xAA)."""
    first = b"AMTTERM FLOPPY".ljust(510, b"\x00") + (b"\x55\xaa" if signature else b"\x00\x00")
    return first + bytes(i & 0xFF for i in range(512 * (blocks - 1)))

"""ZRLE (encoding 16, RFC 6143 7.7.6): tiles of at most 64x64, one zlib stream per connection.

After the rectangle header comes a u32 length and that many bytes of one zlib stream
that lives as long as the connection (each rectangle's data is sync-flushed). Inflated,
the rectangle is a sequence of tiles, left to right, top to bottom, each starting with a
subencoding byte:

    0         raw: width x height CPIXELs
    1         solid: one CPIXEL
    2..16     packed palette: that many CPIXELs, then indices of 1 (2 colours), 2 (3-4) or
              4 (5-16) bits, most significant first, each row padded to a whole byte
    128       plain RLE: runs of (CPIXEL, run length) in raster order across rows
    130..255  palette RLE: (subencoding - 128) CPIXELs, then runs: an index byte; with its
              top bit set, a run length follows, else the run is one pixel
    17..127, 129   unused: the stream is broken

A run length is the sum of bytes up to and including the first byte that is not 255,
plus one. AMT's stream starts ``78 9C`` (a zlib header); a stream without a zlib header
is read as raw deflate (``shared/protocol/modern-amt.md`` 2.1). With AMT's compression
switched off each rectangle is a stored deflate block of the same stream, which the
inflater reads without help.

Decoding works per tile and per run, never per pixel: packed indices are unpacked with
``bytes.translate`` and strided slices, palettes are applied with ``translate``, runs
are ``bytes`` multiplications.
"""

from __future__ import annotations

import itertools
import operator
import sys
import zlib
from array import array
from collections.abc import Iterator

from amtterm.errors import RemoteProtocolError

TILE = 64


def tiles(width: int, height: int) -> Iterator[tuple[int, int, int, int]]:
    """(x, y, w, h) of each tile of a width x height rectangle, in ZRLE order."""
    for y in range(0, height, TILE):
        th = min(TILE, height - y)
        for x in range(0, width, TILE):
            yield x, y, min(TILE, width - x), th


def _unpack_tables(bits: int) -> list[bytes]:
    per_byte = 8 // bits
    mask = (1 << bits) - 1
    return [
        bytes((value >> (8 - bits * (slot + 1))) & mask for value in range(256)) for slot in range(per_byte)
    ]


_UNPACK = {bits: _unpack_tables(bits) for bits in (1, 2, 4)}
#: The valid index bytes of a palette of n colours.
_INDEX_BYTES = [bytes(range(count)) for count in range(257)]


def palette_bits(size: int) -> int:
    """Bits per packed index for a palette of ``size`` colours (2..16)."""
    return 1 if size == 2 else 2 if size <= 4 else 4


def unpack_indices(packed: bytes, width: int, height: int, bits: int) -> bytes:
    """Packed palette indices (rows padded to bytes) -> one index byte per pixel."""
    per_byte = 8 // bits
    out = bytearray(len(packed) * per_byte)
    for slot, table in enumerate(_UNPACK[bits]):
        out[slot::per_byte] = packed.translate(table)
    row_bytes = (width * bits + 7) // 8
    stride = row_bytes * per_byte
    if stride == width:
        return bytes(out)
    return b"".join(out[row * stride : row * stride + width] for row in range(height))


def apply_palette(indices: bytes, palette: list[bytes], size: int) -> bytes:
    """Index bytes -> CPIXELs of ``size`` bytes; every index must be < len(palette)."""
    if indices.translate(None, _INDEX_BYTES[len(palette)]):  # something is left: an index too big
        raise RemoteProtocolError(
            f"the VNC server sent a ZRLE palette index beyond its {len(palette)}-colour palette"
        )
    if size == 1:
        return indices.translate(b"".join(palette).ljust(256, b"\0"))
    out = bytearray(len(indices) * size)
    for position in range(size):
        table = bytes(entry[position] for entry in palette).ljust(256, b"\0")
        out[position::size] = indices.translate(table)
    return bytes(out)


class ZrleStream:
    """The inflating side of one connection's ZRLE zlib stream."""

    def __init__(self) -> None:
        self._inflater: zlib._Decompress | None = None

    def inflate(self, data: bytes, limit: int) -> bytes:
        """Inflate one rectangle's bytes; more than ``limit`` bytes out is an error."""
        if self._inflater is None:
            zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0
            self._inflater = zlib.decompressobj() if zlib_header else zlib.decompressobj(-15)
        try:
            out = self._inflater.decompress(data, limit)
        except zlib.error as error:
            raise RemoteProtocolError(f"the VNC server's ZRLE data does not inflate ({error})") from None
        if self._inflater.unconsumed_tail:
            raise RemoteProtocolError("the VNC server's ZRLE rectangle inflates to more than it can hold")
        return out


def inflate_limit(width: int, height: int, cpixel: int) -> int:
    """The most bytes a width x height ZRLE rectangle can honestly inflate to."""
    count = ((width + TILE - 1) // TILE) * ((height + TILE - 1) // TILE)
    return count * (1 + 127 * cpixel) + width * height * (cpixel + 2) + 1024


def decode_tiles(
    data: bytes, width: int, height: int, cpixel: int
) -> Iterator[tuple[int, int, int, int, bytes]]:
    """Each tile of an inflated rectangle as (x, y, w, h, CPIXELs); a solid tile gives one CPIXEL.

    Raises:
        RemoteProtocolError: an unused subencoding, a short tile, a run beyond the tile,
            a palette index beyond the palette.
    """
    pos = 0
    end = len(data)
    for x, y, tw, th in tiles(width, height):
        if pos >= end:
            raise RemoteProtocolError("the VNC server's ZRLE rectangle ends before its last tile")
        kind = data[pos]
        pos += 1
        count = tw * th
        if kind == 0:
            size = count * cpixel
            pixels = data[pos : pos + size]
            pos += size
        elif kind == 1:
            pixels = data[pos : pos + cpixel]
            pos += cpixel
        elif 2 <= kind <= 16:
            palette = [data[pos + i * cpixel : pos + (i + 1) * cpixel] for i in range(kind)]
            pos += kind * cpixel
            bits = palette_bits(kind)
            size = (tw * bits + 7) // 8 * th
            packed = data[pos : pos + size]
            pos += size
            if pos > end:
                break
            pixels = apply_palette(unpack_indices(packed, tw, th, bits), palette, cpixel)
        elif kind == 128:
            pixels, pos = _plain_rle(data, pos, count, cpixel)
        elif kind >= 130:
            palette = [data[pos + i * cpixel : pos + (i + 1) * cpixel] for i in range(kind - 128)]
            pos += (kind - 128) * cpixel
            pixels, pos = _palette_rle(data, pos, count, palette)
        else:
            raise RemoteProtocolError(f"the VNC server sent ZRLE subencoding {kind}, which does not exist")
        if pos > end:
            break
        yield x, y, tw, th, pixels
    if pos > end:
        raise RemoteProtocolError("the VNC server's ZRLE tile is shorter than its header promises")


def _plain_rle(data: bytes, pos: int, count: int, cpixel: int) -> tuple[bytes, int]:
    pieces: list[bytes] = []
    append = pieces.append
    done = 0
    try:
        while done < count:
            pixel = data[pos : pos + cpixel]
            byte = data[pos + cpixel]
            pos += cpixel + 1
            run = 1 + byte
            while byte == 255:  # a run length goes on while its bytes are 255
                byte = data[pos]
                pos += 1
                run += byte
            append(pixel * run)
            done += run
    except IndexError:
        raise RemoteProtocolError("the VNC server's ZRLE run-length tile is cut short") from None
    if done != count or pos > len(data):
        raise RemoteProtocolError("the VNC server's ZRLE runs do not add up to the tile's size")
    return b"".join(pieces), pos


def _palette_rle(data: bytes, pos: int, count: int, palette: list[bytes]) -> tuple[bytes, int]:
    pieces: list[bytes] = []
    append = pieces.append
    done = 0
    size = len(palette)
    try:
        while done < count:
            index = data[pos]
            pos += 1
            if index < 0x80:
                run = 1
            else:
                index &= 0x7F
                byte = data[pos]
                pos += 1
                run = 1 + byte
                while byte == 255:
                    byte = data[pos]
                    pos += 1
                    run += byte
            if index >= size:
                raise RemoteProtocolError(
                    f"the VNC server sent a ZRLE palette index beyond its {size}-colour palette"
                )
            append(palette[index] * run)
            done += run
    except IndexError:
        raise RemoteProtocolError("the VNC server's ZRLE palette run-length tile is cut short") from None
    if done != count:
        raise RemoteProtocolError("the VNC server's ZRLE runs do not add up to the tile's size")
    return b"".join(pieces), pos


# --- encoding (the server side) ------------------------------------------------------------------


def _values(pixels: bytes, cpixel: int) -> list[int]:
    """CPIXELs as integers (native byte order; only used as keys)."""
    if cpixel == 1:
        return list(pixels)
    if cpixel == 3:
        count = len(pixels) // 3
        wide = bytearray(4 * count)
        for position in range(3):
            wide[position::4] = pixels[position::3]
        pixels = bytes(wide)
    return array("H" if cpixel == 2 else "I", pixels).tolist()


def _run_bytes(run: int) -> bytes:
    full, rest = divmod(run - 1, 255)
    return b"\xff" * full + bytes((rest,))


def _runs(values: list[int]) -> tuple[list[int], list[int]]:
    """Run values and run lengths of ``values``, found by C-level maps (no Python loop per pixel)."""
    count = len(values)
    changes = list(itertools.compress(range(1, count), map(operator.ne, values, values[1:])))
    starts = [0, *changes]
    lengths = list(map(operator.sub, [*changes, count], starts))
    return list(map(values.__getitem__, starts)), lengths


def encode_tile(pixels: bytes, width: int, height: int, cpixel: int) -> bytes:
    """One tile of ``width * height`` CPIXELs in the smallest of ZRLE's subencodings."""
    values = _values(pixels, cpixel)
    palette = list(dict.fromkeys(values))

    def as_bytes(value: int) -> bytes:
        return value.to_bytes(4, sys.byteorder)[:cpixel]

    if len(palette) == 1:
        return b"\x01" + as_bytes(palette[0])
    run_values, lengths = _runs(values)
    runs = len(lengths)
    # Bytes of run-length continuation (255s) beyond each run's first length byte.
    extra = sum(
        map(operator.floordiv, map(operator.sub, lengths, itertools.repeat(1)), itertools.repeat(255))
    )
    sizes = {0: len(values) * cpixel, 128: runs * (cpixel + 1) + extra}
    if len(palette) <= 127:
        singles = lengths.count(1)
        sizes[130] = len(palette) * cpixel + singles + 2 * (runs - singles) + extra
    bits = palette_bits(len(palette)) if len(palette) <= 16 else 0
    if bits and width * bits % 8 == 0:
        # Packed palette only where rows need no padding: MeshCommander's decoder ignores the
        # padding RFC 6143 puts at the end of each row, and garbles such tiles (seen with its
        # amt-desktop-0.0.2.js under node on a 9-pixel-wide edge tile). Without padding both
        # readings agree; other tiles get palette RLE, which is never much bigger.
        sizes[2] = len(palette) * cpixel + width * bits // 8 * height
    kind = min(sizes, key=lambda key: (sizes[key], key))
    if kind == 0:
        return b"\x00" + pixels
    if kind == 128:
        return b"\x80" + b"".join(
            as_bytes(value) + _run_bytes(run) for value, run in zip(run_values, lengths, strict=True)
        )
    index = {value: number for number, value in enumerate(palette)}
    head = b"".join(map(as_bytes, palette))
    if kind == 130:
        body = b"".join(
            bytes((index[value],)) if run == 1 else bytes((index[value] | 0x80,)) + _run_bytes(run)
            for value, run in zip(run_values, lengths, strict=True)
        )
        return bytes((128 + len(palette),)) + head + body
    indices = bytes(map(index.__getitem__, values))
    return bytes((len(palette),)) + head + pack_indices(indices, width, height, palette_bits(len(palette)))


#: value -> (value << shift) & 0xFF, for packing palette indices.
_SHIFT_LEFT = [bytes(((value << shift) & 0xFF) for value in range(256)) for shift in range(8)]


def pack_indices(indices: bytes, width: int, height: int, bits: int) -> bytes:
    """One index byte per pixel -> packed rows of ``bits``-bit indices, each row padded to a byte."""
    per_byte = 8 // bits
    padded_width = (width + per_byte - 1) // per_byte * per_byte
    if padded_width != width:
        pad = bytes(padded_width - width)
        indices = b"".join(indices[row * width : (row + 1) * width] + pad for row in range(height))
    parts = []
    for slot in range(per_byte):
        shift = 8 - bits * (slot + 1)
        parts.append(indices[slot::per_byte].translate(_SHIFT_LEFT[shift]))
    total = 0
    for part in parts:
        total |= int.from_bytes(part, "little")
    return total.to_bytes(len(parts[0]), "little")


class ZrleEncoder:
    """The deflating side: one zlib stream per connection, sync-flushed per rectangle (``78 9C`` first).

    With ``compress`` False (AMT's KvmExtCmd 4 with 0) each rectangle becomes stored deflate
    blocks written by hand, which MeshCommander recognises and copies. The deflater's history
    then no longer matches the stream, so once switched off, compression stays off
    (:attr:`compress` tells the truth).
    """

    def __init__(self, level: int = 6) -> None:
        self._deflater = zlib.compressobj(level)
        self._stored_only = False
        self.compress = True

    def set_compression(self, on: bool) -> bool:
        """Ask for compression on or off; returns the state in effect."""
        if not on:
            self._stored_only = True
        self.compress = on and not self._stored_only
        return self.compress

    def _stored(self, data: bytes) -> bytes:
        blocks = []
        for start in range(0, max(len(data), 1), 0xFFFF):
            chunk = data[start : start + 0xFFFF]
            blocks.append(
                b"\x00" + len(chunk).to_bytes(2, "little") + (len(chunk) ^ 0xFFFF).to_bytes(2, "little")
            )
            blocks.append(chunk)
        return b"".join(blocks)

    def encode(self, pixels: bytes, width: int, height: int, cpixel: int) -> bytes:
        """The u32 length and zlib bytes of one rectangle of ``width * height`` CPIXELs (row-major)."""
        parts = []
        stride = width * cpixel
        for x, y, tw, th in tiles(width, height):
            span = tw * cpixel
            if tw == width:
                tile = pixels[y * stride : (y + th) * stride]
            else:
                start = y * stride + x * cpixel
                tile = b"".join(pixels[start + r * stride : start + r * stride + span] for r in range(th))
            parts.append(encode_tile(tile, tw, th, cpixel))
        if self.compress:
            body = self._deflater.compress(b"".join(parts)) + self._deflater.flush(zlib.Z_SYNC_FLUSH)
        else:
            body = self._stored(b"".join(parts))
        return len(body).to_bytes(4, "big") + body

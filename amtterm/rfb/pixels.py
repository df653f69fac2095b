"""RFB pixel formats and fast bulk conversion between them and 24-bit RGB.

A PIXEL_FORMAT (RFC 6143 7.4) is 16 bytes: bits-per-pixel, depth, big-endian flag,
true-colour flag, red/green/blue max (u16 each), red/green/blue shift, 3 bytes padding.
A pixel is an unsigned integer of bits-per-pixel bits in the stated byte order; a
channel is ``(pixel >> shift) & max``.

Conversion never loops over pixels in Python. Each byte of a pixel contributes to a
channel through a 256-entry table (``((byte << weight) >> shift) & max``, where weight
is the byte's significance in bits); the contributions of different bytes occupy
disjoint bits, so a channel is the OR of ``bytes.translate`` results, OR-ed as big
integers. A last table scales the channel to 0..255. Strided slices pick the bytes
and interleave the channels. This needs every channel max <= 255, which holds for
every format a console asks for (AMT's RGB565, RGB332, 32-bit 888).

Going the other way (the server encoding an RGB framebuffer into a client's format)
uses the same idea: each output byte is the OR of one table per channel.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from amtterm.errors import LocalProtocolError, RemoteProtocolError

_FORMAT = struct.Struct(">BBBBHHHBBB3x")


@dataclass(frozen=True)
class PixelFormat:
    """One RFB PIXEL_FORMAT (RFC 6143 7.4)."""

    bits_per_pixel: int
    depth: int
    big_endian: bool
    true_colour: bool
    red_max: int
    green_max: int
    blue_max: int
    red_shift: int
    green_shift: int
    blue_shift: int

    @property
    def bytes_per_pixel(self) -> int:
        """1, 2 or 4."""
        return self.bits_per_pixel // 8

    def encode(self) -> bytes:
        """The 16 bytes on the wire."""
        return _FORMAT.pack(
            self.bits_per_pixel,
            self.depth,
            int(self.big_endian),
            int(self.true_colour),
            self.red_max,
            self.green_max,
            self.blue_max,
            self.red_shift,
            self.green_shift,
            self.blue_shift,
        )

    @classmethod
    def decode(cls, data: bytes) -> PixelFormat:
        """Parse 16 bytes (no checks; see :meth:`problem`)."""
        bpp, depth, big, true, rmax, gmax, bmax, rsh, gsh, bsh = _FORMAT.unpack(bytes(data[:16]))
        return cls(bpp, depth, bool(big), bool(true), rmax, gmax, bmax, rsh, gsh, bsh)

    def problem(self) -> str | None:
        """Why amtterm cannot convert this format, or None when it can."""
        if self.bits_per_pixel not in (8, 16, 32):
            return f"{self.bits_per_pixel} bits per pixel (only 8, 16 and 32 exist)"
        if not self.true_colour:
            return "a colour-map pixel format (amtterm asks for true colour)"
        for name, top, shift in self._channels():
            if not 1 <= top <= 255:
                return f"a {name} maximum of {top} (1 to 255 are supported)"
            if (top << shift) >= 1 << self.bits_per_pixel:
                return f"a {name} channel that does not fit into {self.bits_per_pixel} bits"
        return None

    def _channels(self) -> tuple[tuple[str, int, int], ...]:
        return (
            ("red", self.red_max, self.red_shift),
            ("green", self.green_max, self.green_shift),
            ("blue", self.blue_max, self.blue_shift),
        )

    @property
    def cpixel_size(self) -> int:
        """Bytes per ZRLE CPIXEL: 3 for 32-bit true colour that fits into 3 bytes (RFC 6143 7.7.6)."""
        return len(self.cpixel_weights())

    def cpixel_weights(self) -> tuple[int, ...]:
        """Significance in bits of each byte of a ZRLE CPIXEL, in wire order."""
        size = self.bytes_per_pixel
        weights = tuple(range(0, 8 * size, 8))
        pixel_weights = tuple(reversed(weights)) if self.big_endian else weights
        if size == 4 and self.true_colour and self.depth <= 24:
            mask = 0
            for _, top, shift in self._channels():
                mask |= top << shift
            if mask < 1 << 24:  # fits into the least significant three bytes
                return tuple(w for w in pixel_weights if w != 24)
            if mask & 0xFF == 0:  # fits into the most significant three bytes
                return tuple(w for w in pixel_weights if w != 0)
        return pixel_weights

    def pixel_weights(self) -> tuple[int, ...]:
        """Significance in bits of each byte of a whole pixel, in wire order."""
        weights = tuple(range(0, self.bits_per_pixel, 8))
        return tuple(reversed(weights)) if self.big_endian else weights


#: AMT's own format (ServerInit ``10 10 00 01 001F 003F 001F 0B 05 00``) and amtterm's default.
RGB565 = PixelFormat(16, 16, False, True, 31, 63, 31, 11, 5, 0)
#: 8 bpp, the format MeshCommander asks for on large screens (``08 08 00 01 0007 0007 0003 05 02 00``).
RGB332 = PixelFormat(8, 8, False, True, 7, 7, 3, 5, 2, 0)
#: 32 bpp little-endian 8:8:8 (QEMU's default).
RGB888 = PixelFormat(32, 24, False, True, 255, 255, 255, 16, 8, 0)

#: The formats a console may ask for by bits per pixel.
BY_DEPTH = {8: RGB332, 16: RGB565, 32: RGB888}


def _or_bytes(parts: list[bytes], length: int) -> bytes:
    """Bitwise OR of equally long byte strings (as big integers: linear time, in C)."""
    if len(parts) == 1:
        return parts[0]
    total = 0
    for part in parts:
        total |= int.from_bytes(part, "little")
    return total.to_bytes(length, "little")


def _scale_table(top: int) -> bytes:
    """0..top -> 0..255, rounded; values above top cannot occur (they are masked)."""
    return bytes(((value * 255 + top // 2) // top) if value <= top else 255 for value in range(256))


class ToRgb:
    """Converts packed pixels (or CPIXELs) of one format into RGB bytes, 3 per pixel."""

    def __init__(self, pixel_format: PixelFormat, weights: tuple[int, ...]) -> None:
        problem = pixel_format.problem()
        if problem:
            raise RemoteProtocolError(f"the VNC server's pixel format has {problem}")
        self.size = len(weights)
        self._channels: list[tuple[list[tuple[int, bytes]], bytes | None]] = []
        for _, top, shift in pixel_format._channels():
            tables = []
            for position, weight in enumerate(weights):
                table = bytes((((value << weight) >> shift) & top) for value in range(256))
                if any(table):
                    tables.append((position, table))
            scale = None if top == 255 else _scale_table(top)
            self._channels.append((tables, scale))

    def convert(self, data: bytes | bytearray | memoryview) -> bytes:
        """``data`` (a whole number of pixels) as RGB bytes."""
        size = self.size
        count = len(data) // size
        data = bytes(data[: count * size])
        out = bytearray(3 * count)
        for index, (tables, scale) in enumerate(self._channels):
            if not tables:
                channel = bytes(count)
            else:
                parts = [
                    (data if size == 1 else data[position::size]).translate(table)
                    for position, table in tables
                ]
                channel = _or_bytes(parts, count)
                if scale is not None:
                    channel = channel.translate(scale)
            out[index::3] = channel
        return bytes(out)


class FromRgb:
    """Converts RGB bytes into packed pixels (or CPIXELs) of one format."""

    def __init__(self, pixel_format: PixelFormat, weights: tuple[int, ...]) -> None:
        problem = pixel_format.problem()
        if problem:
            raise LocalProtocolError(f"the client's pixel format has {problem}")
        self.size = len(weights)
        self._bytes: list[list[tuple[int, bytes]]] = []
        for weight in weights:
            tables = []
            for channel, (_, top, shift) in enumerate(pixel_format._channels()):
                table = bytes(
                    ((((value * top + 127) // 255) << shift) >> weight) & 0xFF for value in range(256)
                )
                if any(table):
                    tables.append((channel, table))
            self._bytes.append(tables)

    def convert(self, rgb: bytes | bytearray | memoryview) -> bytes:
        """``rgb`` (3 bytes a pixel) in the target format."""
        count = len(rgb) // 3
        rgb = bytes(rgb[: 3 * count])
        channels = [rgb[0::3], rgb[1::3], rgb[2::3]]
        if self.size == 1:
            tables = self._bytes[0]
            return _or_bytes([channels[c].translate(t) for c, t in tables], count) if tables else bytes(count)
        out = bytearray(self.size * count)
        for position, tables in enumerate(self._bytes):
            if tables:
                out[position :: self.size] = _or_bytes([channels[c].translate(t) for c, t in tables], count)
        return bytes(out)

"""The simulated PC's screen as pixels, cut into AMT's 64x64 tiles that remember when they changed.

Pixels are 24-bit RGB, three bytes a pixel, rows top to bottom (the layout of the RFB codec's own
framebuffer, so the RFB encoder converts from it to whatever the console asked for).

AMT sends its screen as 64x64 tiles, one per rectangle (modern-amt.md §2.1), so damage is kept per
tile: every tile has a version number that grows when any of its pixels is written, and each
viewer remembers the versions it has sent. Any number of viewers can follow one framebuffer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

TILE: Final = 64
BYTES_PER_PIXEL: Final = 3

Rect = tuple[int, int, int, int]  # x, y, width, height


class Framebuffer:
    """Width x height pixels with per-tile versions.

    Args:
        width: pixels.
        height: pixels.
    """

    def __init__(self, width: int, height: int) -> None:
        self.width = 0
        self.height = 0
        self.rgb = bytearray()
        self._versions: list[int] = []
        self._columns = 0
        self._clock = 0
        #: Bumped on every resize (a viewer then starts over with the whole screen).
        self.geometry = 0
        #: Called (no arguments) after every change: pixels written or size changed.
        self.listeners: list[Callable[[], None]] = []
        self.resize(width, height)

    # -- geometry ----------------------------------------------------------------------------

    def resize(self, width: int, height: int) -> None:
        """New size; the screen is black and every tile changed."""
        if width <= 0 or height <= 0:
            raise ValueError(f"a {width}x{height} screen is not possible")
        self.width, self.height = width, height
        self.rgb = bytearray(width * height * BYTES_PER_PIXEL)
        self._columns = -(-width // TILE)
        rows = -(-height // TILE)
        self._clock += 1
        self._versions = [self._clock] * (self._columns * rows)
        self.geometry += 1
        self._notify()

    def tiles(self) -> list[Rect]:
        """Every tile, row by row: 64x64, smaller at the right and bottom edges."""
        return [self.tile_rect(i) for i in range(len(self._versions))]

    def tile_rect(self, index: int) -> Rect:
        """The rectangle of tile ``index`` (row-major)."""
        tx, ty = index % self._columns, index // self._columns
        x, y = tx * TILE, ty * TILE
        return (x, y, min(TILE, self.width - x), min(TILE, self.height - y))

    # -- versions ----------------------------------------------------------------------------

    def versions(self) -> list[int]:
        """A copy of every tile's version (what a viewer remembers after sending)."""
        return list(self._versions)

    def changed_since(self, seen: list[int] | None) -> list[int]:
        """Indexes of tiles whose version differs from ``seen`` (all of them for None)."""
        if seen is None or len(seen) != len(self._versions):
            return list(range(len(self._versions)))
        return [i for i, (now, then) in enumerate(zip(self._versions, seen, strict=True)) if now != then]

    def damage(self, x: int, y: int, width: int, height: int) -> None:
        """Mark the tiles under a rectangle changed (and tell the listeners)."""
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + width), min(self.height, y + height)
        if x0 >= x1 or y0 >= y1:
            return
        self._clock += 1
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1):
            base = ty * self._columns
            for tx in range(x0 // TILE, (x1 - 1) // TILE + 1):
                self._versions[base + tx] = self._clock
        self._notify()

    def _notify(self) -> None:
        for listener in list(self.listeners):
            listener()

    # -- pixels ------------------------------------------------------------------------------

    def put(self, x: int, y: int, width: int, height: int, data: bytes | bytearray | memoryview) -> None:
        """Write a rectangle of RGB pixels (row-major, ``width * 3`` bytes a row); clipped."""
        stride = width * BYTES_PER_PIXEL
        if len(data) < stride * height:
            raise ValueError("too few pixel bytes for the rectangle")
        x0, x1 = max(0, x), min(self.width, x + width)
        if x0 >= x1:
            return
        skip = (x0 - x) * BYTES_PER_PIXEL
        span = (x1 - x0) * BYTES_PER_PIXEL
        row_bytes = self.width * BYTES_PER_PIXEL
        for row in range(max(0, -y), min(height, self.height - y)):
            at = (y + row) * row_bytes + x0 * BYTES_PER_PIXEL
            source = row * stride + skip
            self.rgb[at : at + span] = data[source : source + span]
        self.damage(x, y, width, height)

    def read(self, x: int, y: int, width: int, height: int) -> bytes:
        """A rectangle's pixels, row-major (it must lie inside the screen)."""
        row_bytes = self.width * BYTES_PER_PIXEL
        span = width * BYTES_PER_PIXEL
        out = bytearray()
        for row in range(y, y + height):
            at = row * row_bytes + x * BYTES_PER_PIXEL
            out += self.rgb[at : at + span]
        return bytes(out)

    def pixel(self, x: int, y: int) -> int:
        """One pixel as ``0xRRGGBB``."""
        at = (y * self.width + x) * BYTES_PER_PIXEL
        return int.from_bytes(self.rgb[at : at + 3], "big")

"""The remote screen as 24-bit RGB, three bytes a pixel, rows top to bottom.

``bytes(framebuffer.rgb)`` is what ``PIL.Image.frombytes("RGB", (width, height), ...)``
takes, and :meth:`Framebuffer.pixel` / :meth:`Framebuffer.row` serve a half-block renderer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rect:
    """A rectangle of the screen in pixels."""

    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        """Pixels covered."""
        return self.width * self.height


class Framebuffer:
    """Width x height RGB pixels, black at first.

    Attributes:
        width, height: the size in pixels.
        rgb: ``width * height * 3`` bytes, row-major, R G B per pixel.
    """

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.rgb = bytearray(width * height * 3)

    def resize(self, width: int, height: int) -> None:
        """Change the size; the content becomes black (the server sends it again)."""
        self.width = width
        self.height = height
        self.rgb = bytearray(width * height * 3)

    def contains(self, rect: Rect) -> bool:
        """Whether ``rect`` lies wholly inside the screen."""
        return rect.x + rect.width <= self.width and rect.y + rect.height <= self.height

    def blit(self, rect: Rect, rgb: bytes | bytearray | memoryview) -> None:
        """Write ``rect.area`` RGB pixels (row-major) at ``rect``, which must lie inside the screen."""
        stride = self.width * 3
        span = rect.width * 3
        if rect.x == 0 and rect.width == self.width:
            start = rect.y * stride
            self.rgb[start : start + span * rect.height] = rgb[: span * rect.height]
            return
        target = rect.y * stride + rect.x * 3
        source = 0
        fb = self.rgb
        for _ in range(rect.height):
            fb[target : target + span] = rgb[source : source + span]
            target += stride
            source += span

    def fill(self, rect: Rect, colour: bytes) -> None:
        """Paint ``rect`` with one RGB colour (3 bytes)."""
        line = colour * rect.width
        stride = self.width * 3
        target = rect.y * stride + rect.x * 3
        span = rect.width * 3
        for _ in range(rect.height):
            self.rgb[target : target + span] = line
            target += stride

    def crop(self, rect: Rect) -> bytes:
        """The RGB bytes of ``rect``, row-major."""
        stride = self.width * 3
        span = rect.width * 3
        if rect.x == 0 and rect.width == self.width:
            start = rect.y * stride
            return bytes(self.rgb[start : start + span * rect.height])
        start = rect.y * stride + rect.x * 3
        return b"".join(
            self.rgb[start + row * stride : start + row * stride + span] for row in range(rect.height)
        )

    def row(self, y: int) -> bytes:
        """Row ``y`` as RGB bytes."""
        stride = self.width * 3
        return bytes(self.rgb[y * stride : (y + 1) * stride])

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The (r, g, b) at ``x``, ``y``."""
        at = (y * self.width + x) * 3
        r, g, b = self.rgb[at : at + 3]
        return r, g, b

    def to_ppm(self) -> bytes:
        """The screen as a binary PPM (P6) image."""
        return f"P6\n{self.width} {self.height}\n255\n".encode() + bytes(self.rgb)

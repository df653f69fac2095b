"""How the KVM view draws the PC's screen: Unicode half-blocks, or real pixels with Sixel.

:func:`choose` is called before the app starts (``--kvm-graphics auto|sixel|halfblock``): once
Textual runs, its input thread reads the terminal's replies, so the questions are asked first.
``auto`` asks the terminal for its device attributes (Sixel is attribute 4, as xterm ``-ti vt340``
answers) and its cell size in pixels; a terminal that does not
say Sixel, a pipe, or tmux unconfigured (no Sixel in tmux 3.3) gets half-blocks, which every
terminal with 24-bit colour shows. The questions are textual-image's; the encoder is
:func:`encode_sixel`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from PIL.Image import Image

GraphicsMode = Literal["halfblock", "sixel"]
CHOICES = ("auto", "sixel", "halfblock")
#: A cell's size in pixels when the terminal does not say (a VT340's).
DEFAULT_CELL = (10, 20)


@dataclass(frozen=True)
class KvmGraphics:
    """How to draw: ``mode``, and for Sixel the terminal's ``cell`` size in pixels (width, height)."""

    mode: GraphicsMode = "halfblock"
    cell: tuple[int, int] = DEFAULT_CELL

    @property
    def label(self) -> str:
        """The mode as the status line says it."""
        return "sixel" if self.mode == "sixel" else "half-blocks"


HALF_BLOCKS = KvmGraphics()


def choose(choice: str = "auto") -> KvmGraphics:
    """The drawing for ``choice`` (auto: what the terminal says it can; before the app starts)."""
    if choice == "halfblock":
        return HALF_BLOCKS
    tty = sys.__stdout__ is not None and sys.__stdout__.isatty()
    if choice == "auto" and not tty:
        return HALF_BLOCKS
    # Importing textual_image.renderable asks the terminal (device attributes) when on a tty.
    from textual_image import renderable
    from textual_image._terminal import get_cell_size

    if choice == "auto" and renderable.Image is not renderable.SixelImage:
        return HALF_BLOCKS
    cell = get_cell_size() if tty else DEFAULT_CELL
    return KvmGraphics("sixel", (max(1, cell[0]), max(1, cell[1])))


#: Sixel data bytes: the six pixels' bits plus 63 (``?`` is none set).
_SIXEL_BYTES = bytes(range(63, 127)) + bytes(192)
#: Four or more equal sixels in a row, written as ``!count`` and the sixel.
_RUN = re.compile(rb"(.)\1{3,}")


def _run_length(match: re.Match[bytes]) -> bytes:
    run = match.group(0)
    return b"!%d%c" % (len(run), run[0])


def encode_sixel(image: Image) -> str:
    """A Pillow RGB image as one Sixel string (DCS ... ST) of at most 256 colours.

    The colours (Pillow's fast octree, no dithering: text stays crisp) are all defined in the
    header, before any pixels; then each band of six pixel rows is written colour by colour, with
    ``$`` back to the band's start between colours and ``-`` to the next band. (textual-image's
    encoder defines colours as it goes, which xterm 379 as a VT340 draws in wrong colours.)
    """
    from PIL import Image as PilImage

    paletted = image.quantize(256, PilImage.Quantize.FASTOCTREE, dither=PilImage.Dither.NONE)
    width, height = paletted.size
    data = paletted.tobytes()
    palette = paletted.getpalette() or []
    out = [b'\x1bP0;1;0q"1;1;%d;%d' % (width, height)]
    for index in sorted(set(data)):
        r, g, b = palette[3 * index : 3 * index + 3]
        out.append(b"#%d;2;%d;%d;%d" % (index, r * 100 // 255, g * 100 // 255, b * 100 // 255))
    for top in range(0, height, 6):
        rows = [data[y * width : (y + 1) * width] for y in range(top, min(top + 6, height))]
        colours: set[int] = set()
        for row in rows:
            colours.update(row)
        for n, colour in enumerate(sorted(colours)):
            bits = 0
            for k, row in enumerate(rows):
                table = bytearray(256)
                table[colour] = 1 << k
                bits |= int.from_bytes(row.translate(table), "big")
            sixels = bits.to_bytes(width, "big").translate(_SIXEL_BYTES)
            out.append(b"%s#%d%s" % (b"$" if n else b"", colour, _RUN.sub(_run_length, sixels)))
        if top + 6 < height:
            out.append(b"-")
    out.append(b"\x1b\\")
    return b"".join(out).decode("ascii")

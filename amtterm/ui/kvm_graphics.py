"""How the KVM view draws the PC's screen: Unicode half-blocks, or real pixels with Sixel.

:func:`choose` is called before the app starts (``--kvm-graphics auto|sixel|halfblock``): once
Textual runs, its input thread reads the terminal's replies, so the questions are asked first.
``auto`` asks the terminal for its device attributes (Sixel is attribute 4, as xterm ``-ti vt340``,
mlterm, foot, WezTerm and Konsole answer) and its cell size in pixels; a terminal that does not
say Sixel, a pipe, or tmux unconfigured (no Sixel in tmux 3.3) gets half-blocks, which every
terminal with 24-bit colour shows. The questions and the Sixel encoder are textual-image's.
"""

from __future__ import annotations

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


def encode_sixel(image: Image) -> str:
    """A Pillow RGB image as one Sixel string (DCS ... ST), at most 256 colours."""
    from textual_image._sixel import image_to_sixels

    return image_to_sixels(image)

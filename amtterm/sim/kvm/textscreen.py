"""The synthetic PC's KVM screen: its text console drawn as VGA text mode pixels.

The synthetic PC writes its screen as a serial console would (ANSI, CP437). That stream is fed
to the one screen model of amtterm (:class:`amtterm.terminal.screen.RemoteScreen`, CP437), and
the cells are drawn into a :class:`~amtterm.sim.kvm.framebuffer.Framebuffer` as VGA text mode
shows them: 9x16 (720x400 for 80x25) or 8x16 cells from the VGA font, the 16 CGA colours,
bold as the bright half, a blinking-free underline cursor. Only the cells that changed are
redrawn, so only their tiles are sent again.
"""

from __future__ import annotations

from typing import Any, Final

from amtterm.sim.kvm.font import VgaFont
from amtterm.sim.kvm.framebuffer import BYTES_PER_PIXEL, Framebuffer
from amtterm.terminal.screen import RemoteScreen

#: The 16 colours of CGA/VGA text mode as 0xRRGGBB (index = the attribute's colour number).
VGA_PALETTE: Final = (
    0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA, 0xAA5500, 0xAAAAAA,
    0x555555, 0x5555FF, 0x55FF55, 0x55FFFF, 0xFF5555, 0xFF55FF, 0xFFFF55, 0xFFFFFF,
)  # fmt: skip
#: pyte's colour names -> VGA colour numbers (ANSI red is VGA 4, ANSI blue VGA 1...).
_ANSI_TO_VGA: Final = {
    "black": 0, "red": 4, "green": 2, "brown": 6, "yellow": 6,
    "blue": 1, "magenta": 5, "cyan": 3, "white": 7,
}  # fmt: skip
DEFAULT_FG: Final = 7
DEFAULT_BG: Final = 0
#: Cursor: the two bottom pixel rows of its cell, as the VGA BIOS sets it (scan lines 14-15).
CURSOR_ROWS: Final = (14, 15)

Cell = tuple[str, int, int, bool]  # character, foreground, background, cursor here


def vga_colour(name: str, default: int) -> int:
    """A pyte colour name (``red``, ``brightred``, ``default``, 6-digit hex) as a VGA colour number."""
    if name == "default":
        return default
    bright = name.startswith("bright")
    base = _ANSI_TO_VGA.get(name.removeprefix("bright"))
    if base is not None:
        return base + 8 if bright else base
    if len(name) == 6:  # 256/true colour: the nearest of the 16
        try:
            rgb = int(name, 16)
        except ValueError:
            return default
        return min(range(16), key=lambda i: _distance(VGA_PALETTE[i], rgb))
    return default


def _distance(a: int, b: int) -> int:
    return sum(((a >> s & 0xFF) - (b >> s & 0xFF)) ** 2 for s in (0, 8, 16))


def _pixel(rgb: int) -> bytes:
    return rgb.to_bytes(3, "big")


class TextScreen:
    """A text console shown as VGA text mode pixels.

    Args:
        font: the VGA font (its cell width picks 720 or 640 pixels for 80 columns).
        columns: text columns.
        rows: text rows.
    """

    def __init__(self, font: VgaFont, columns: int = 80, rows: int = 25) -> None:
        self.font = font
        self.columns = columns
        self.rows = rows
        self.cell_width = font.cell_width
        self.cell_height = font.cell_height
        self.framebuffer = Framebuffer(columns * self.cell_width, rows * self.cell_height)
        self.screen = RemoteScreen(columns, rows, encoding="cp437", scrollback=0)
        self._shown: list[list[Cell | None]] = [[None] * columns for _ in range(rows)]
        self._rows_cache: dict[tuple[str, int, int, bool], list[bytes]] = {}
        self._cursor: tuple[int, int] | None = None
        self.redraw(everything=True)

    # -- input -------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Serial output of the PC: update the text screen and redraw the cells that changed."""
        if data and self.screen.feed(data):
            self.redraw()

    def blank(self) -> None:
        """The PC lost power: an empty black screen (and no cursor)."""
        self.screen = RemoteScreen(self.columns, self.rows, encoding="cp437", scrollback=0)
        self.screen.screen.cursor.hidden = True
        self.redraw(everything=True)

    # -- drawing -----------------------------------------------------------------------------

    def cell(self, row: int, column: int) -> Cell:
        """What a cell shows: character, foreground and background colour numbers, cursor."""
        pyte_screen = self.screen.screen
        line = pyte_screen.buffer[row]
        char: Any = line[column]
        fg = vga_colour(char.fg, DEFAULT_FG)
        bg = vga_colour(char.bg, DEFAULT_BG)
        if char.bold and fg < 8:
            fg += 8
        if char.reverse:
            fg, bg = bg, fg
        cursor = pyte_screen.cursor
        here = not cursor.hidden and cursor.y == row and cursor.x == column
        return (char.data or " ", fg, bg, here)

    def redraw(self, *, everything: bool = False) -> None:
        """Draw every cell whose character, colours or cursor differ from what is shown.

        Only the rows pyte marked dirty and the rows the cursor left or entered are looked at
        (every row with ``everything``).
        """
        dirty = self.screen.take_dirty()
        cursor = self.screen.screen.cursor
        here = None if cursor.hidden else (cursor.y, cursor.x)
        rows = set(range(self.rows)) if everything else set(dirty)
        rows |= {position[0] for position in (self._cursor, here) if position is not None}
        for row in sorted(r for r in rows if 0 <= r < self.rows):
            shown = self._shown[row]
            for column in range(self.columns):
                cell = self.cell(row, column)
                if shown[column] != cell:
                    self._draw(row, column, cell)
                    shown[column] = cell
        self._cursor = here

    def _glyph_rows(self, cell: Cell) -> list[bytes]:
        key = cell
        rows = self._rows_cache.get(key)
        if rows is not None:
            return rows
        char, fg, bg, cursor = cell
        on, off = _pixel(VGA_PALETTE[fg]), _pixel(VGA_PALETTE[bg])
        width = self.cell_width
        bits = self.font.rows(char)
        rows = []
        for y, row in enumerate(bits):
            if cursor and y in CURSOR_ROWS:
                row = (1 << width) - 1
            rows.append(b"".join(on if row >> (width - 1 - x) & 1 else off for x in range(width)))
        if len(self._rows_cache) > 4096:
            self._rows_cache.clear()
        self._rows_cache[key] = rows
        return rows

    def _draw(self, row: int, column: int, cell: Cell) -> None:
        fb = self.framebuffer
        x, y = column * self.cell_width, row * self.cell_height
        stride = fb.width * BYTES_PER_PIXEL
        span = self.cell_width * BYTES_PER_PIXEL
        pixels = fb.rgb
        for dy, data in enumerate(self._glyph_rows(cell)):
            at = (y + dy) * stride + x * BYTES_PER_PIXEL
            pixels[at : at + span] = data
        fb.damage(x, y, self.cell_width, self.cell_height)

    def text(self) -> str:
        """The screen's text (for logs and tests)."""
        return self.screen.text()

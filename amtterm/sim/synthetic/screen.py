"""A text screen like VGA text memory, and the painter that mirrors it onto a serial terminal.

Firmware with serial console redirection works this way: it draws into an 80x25 character
buffer (a character and a colour attribute per cell) and a redirection layer sends the cells that
changed as ANSI: cursor positioning ``ESC [ row ; col H``, colours ``ESC [ 0 ; 1 ; 3x ; 4x m``
(bold for the bright half of the 16-colour palette), characters as single CP437 bytes.

:class:`Grid` is the buffer (every write is clipped to it, so nothing can land outside the
screen); :class:`Painter` remembers what the terminal shows and emits the difference.

Rules the painter keeps, because terminals differ:

* the first paint (and the first after :meth:`Painter.invalidate`) clears with ``ESC [ 0 m``
  ``ESC [ 2 J`` and then draws every cell that is not blank-on-black, so terminals without
  background-colour erase still get the colours;
* the bottom-right cell is never written as a character (on some terminals that scrolls the
  screen); it is set with ``ESC [ K`` in its colour instead, so it always shows a blank;
* glyphs whose CP437 code is a control byte (arrows 0x18-0x1B, for one) and glyphs CP437 lacks
  are sent as ``?``: a raw 0x1B would start an escape sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final


class Color(IntEnum):
    """The eight ANSI colours (SGR 30-37 foreground, 40-47 background)."""

    BLACK = 0
    RED = 1
    GREEN = 2
    YELLOW = 3
    BLUE = 4
    MAGENTA = 5
    CYAN = 6
    WHITE = 7


@dataclass(frozen=True, slots=True)
class Attr:
    """A cell's colours: foreground, background, and bold (the bright foreground)."""

    fg: Color = Color.WHITE
    bg: Color = Color.BLACK
    bold: bool = False

    def sgr(self) -> bytes:
        """The SGR sequence that selects exactly these colours from any previous state."""
        bold = "1;" if self.bold else ""
        return f"\x1b[0;{bold}{30 + self.fg};{40 + self.bg}m".encode("ascii")


DEFAULT_ATTR: Final = Attr()
Cell = tuple[str, Attr]

# Box drawing glyphs by style: corners tl tr bl br, horizontal, vertical.
_BOX: Final[dict[str, tuple[str, ...]]] = {
    "double": tuple("╔╗╚╝═║"),
    "single": tuple("┌┐└┘─│"),
    "ascii": tuple("++++-|"),
}

_cp437_cache: dict[str, bytes] = {}


def cp437_byte(char: str) -> bytes:
    """The single byte a BIOS sends for ``char``: CP437, with control bytes and unknowns as ``?``."""
    byte = _cp437_cache.get(char)
    if byte is None:
        try:
            byte = char.encode("cp437")
        except UnicodeEncodeError:
            byte = b"?"
        if len(byte) != 1 or byte[0] < 0x20 or byte[0] == 0x7F:
            byte = b"?"
        _cp437_cache[char] = byte
    return byte


class Grid:
    """A rows x columns buffer of (character, attribute) cells; every write is clipped.

    Args:
        columns: width in cells.
        rows: height in cells.
        attr: the attribute every cell starts with (blank).
    """

    def __init__(self, columns: int, rows: int, attr: Attr = DEFAULT_ATTR) -> None:
        self.columns = columns
        self.rows = rows
        self.cells: list[list[Cell]] = [[(" ", attr)] * columns for _ in range(rows)]

    def copy(self) -> Grid:
        """An independent copy."""
        other = Grid.__new__(Grid)
        other.columns, other.rows = self.columns, self.rows
        other.cells = [list(line) for line in self.cells]
        return other

    def text(self, row: int, col: int, text: str, attr: Attr, width: int | None = None) -> None:
        """Write ``text`` from (row, col), cut at ``width`` cells and at the screen edge.

        With ``width`` the text is padded with blanks to that width.
        """
        if not 0 <= row < self.rows:
            return
        if width is not None:
            text = text[:width].ljust(width)
        line = self.cells[row]
        for offset, char in enumerate(text):
            x = col + offset
            if 0 <= x < self.columns:
                line[x] = (char, attr)

    def center(self, row: int, text: str, attr: Attr, left: int = 0, width: int | None = None) -> None:
        """Write ``text`` centred in the span of ``width`` cells starting at ``left``."""
        span = self.columns - left if width is None else width
        text = text[:span]
        self.text(row, left + (span - len(text)) // 2, text, attr)

    def fill(self, row: int, col: int, height: int, width: int, attr: Attr, char: str = " ") -> None:
        """Fill a rectangle with ``char`` in ``attr``."""
        for y in range(row, row + height):
            self.text(y, col, char * width, attr)

    def box(
        self,
        row: int,
        col: int,
        height: int,
        width: int,
        attr: Attr,
        *,
        style: str = "double",
        fill: bool = True,
        title: str | None = None,
    ) -> None:
        """Draw a frame (``double``, ``single`` or ``ascii``) with an optional centred title."""
        if height < 2 or width < 2:
            return
        tl, tr, bl, br, horizontal, vertical = _BOX[style]
        inner = width - 2
        self.text(row, col, tl + horizontal * inner + tr, attr)
        for y in range(row + 1, row + height - 1):
            self.text(y, col, vertical, attr)
            if fill:
                self.text(y, col + 1, " " * inner, attr)
            self.text(y, col + width - 1, vertical, attr)
        self.text(row + height - 1, col, bl + horizontal * inner + br, attr)
        if title:
            label = f" {title[: max(0, inner - 2)]} "
            self.text(row, col + (width - len(label)) // 2, label, attr)

    def row_text(self, row: int) -> str:
        """The characters of one row (for tests and logs)."""
        return "".join(char for char, _ in self.cells[row])


def message_box(
    grid: Grid, lines: list[str], attr: Attr, *, title: str | None = None
) -> tuple[int, int, int, int]:
    """Draw a centred double-framed box holding ``lines`` (used for notices and popups).

    Returns:
        The box as (top row, left column, height, width).
    """
    inner = max([len(line) for line in lines] + [len(title or "") + 2])
    width = min(grid.columns, inner + 4)
    height = min(grid.rows, len(lines) + 2)
    row = (grid.rows - height) // 2
    col = (grid.columns - width) // 2
    grid.box(row, col, height, width, attr, title=title)
    for n, line in enumerate(lines[: height - 2]):
        grid.center(row + 1 + n, line, attr, left=col + 1, width=width - 2)
    return row, col, height, width


def render_region(grid: Grid, top: int, left: int, height: int, width: int) -> bytes:
    """Absolute-positioned bytes that draw one rectangle of ``grid`` over whatever is shown.

    Used on scrolling screens, where there is no record of what the terminal shows. The cursor
    and colours are saved before (``ESC 7``) and restored after (``ESC 8``). The bottom-right
    cell of the screen is skipped.
    """
    out = bytearray(b"\x1b7")
    attr: Attr | None = None
    for y in range(max(0, top), min(grid.rows, top + height)):
        end = min(grid.columns, left + width)
        if y == grid.rows - 1:
            end = min(end, grid.columns - 1)
        start = max(0, left)
        if start >= end:
            continue
        out += f"\x1b[{y + 1};{start + 1}H".encode("ascii")
        for x in range(start, end):
            char, cell_attr = grid.cells[y][x]
            if cell_attr != attr:
                out += cell_attr.sgr()
                attr = cell_attr
            out += cp437_byte(char)
    out += b"\x1b8"
    return bytes(out)


class Painter:
    """Sends a :class:`Grid` to a terminal as the difference from what it showed before.

    Args:
        columns: terminal width.
        rows: terminal height.
    """

    #: Unchanged cells up to this many between two changed runs are re-sent instead of moving.
    GAP: Final = 5

    def __init__(self, columns: int, rows: int) -> None:
        self.columns = columns
        self.rows = rows
        self._shown: list[list[Cell]] | None = None
        self._attr: Attr | None = None
        self._cursor: tuple[int, int] | None = None

    def invalidate(self) -> None:
        """Forget what the terminal shows (something else wrote to it); the next paint is full."""
        self._shown = None
        self._attr = None
        self._cursor = None

    def paint(self, grid: Grid, cursor: tuple[int, int] | None = None) -> bytes:
        """The bytes that make the terminal show ``grid``.

        Args:
            grid: the wanted screen (same size as the painter).
            cursor: where to leave the cursor (row, column), or None for wherever it ends.
        """
        out = bytearray()
        if self._shown is None:
            out += b"\x1b[0m\x1b[2J"
            self._shown = [[(" ", DEFAULT_ATTR)] * self.columns for _ in range(self.rows)]
            self._attr = DEFAULT_ATTR
            self._cursor = None
        shown = self._shown
        last_row = self.rows - 1
        for y in range(self.rows):
            want_line, have_line = grid.cells[y], shown[y]
            if want_line == have_line:
                continue
            limit = self.columns - 1 if y == last_row else self.columns
            x = 0
            while x < limit:
                if want_line[x] == have_line[x]:
                    x += 1
                    continue
                end = x + 1  # find the end of this run, bridging short unchanged gaps
                scan = end
                while scan < limit and scan - end <= self.GAP:
                    if want_line[scan] != have_line[scan]:
                        end = scan + 1
                    scan += 1
                self._move(out, y, x)
                for cx in range(x, end):
                    char, attr = want_line[cx]
                    self._set_attr(out, attr)
                    out += cp437_byte(char)
                    have_line[cx] = (char, attr)
                self._cursor = (y, end) if end < self.columns else None
                x = end
            if y == last_row and want_line[limit] != have_line[limit]:
                attr = want_line[limit][1]
                self._move(out, y, limit)
                self._set_attr(out, attr)
                out += b"\x1b[K"
                have_line[limit] = (" ", attr)
        if cursor is not None:
            self._move(out, min(max(cursor[0], 0), last_row), min(max(cursor[1], 0), self.columns - 1))
        return bytes(out)

    def _move(self, out: bytearray, row: int, col: int) -> None:
        if self._cursor != (row, col):
            out += f"\x1b[{row + 1};{col + 1}H".encode("ascii")
            self._cursor = (row, col)

    def _set_attr(self, out: bytearray, attr: Attr) -> None:
        if attr != self._attr:
            out += attr.sgr()
            self._attr = attr

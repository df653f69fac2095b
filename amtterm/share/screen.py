"""What viewers of a shared console see: one screen model, drawn into each viewer's terminal.

    screen = ShareScreen(80, 25, encoding="auto")
    screen.feed(chunk)                        # every chunk the console showed, in order
    canvas = Canvas(screen, width=120, height=40)
    data = canvas.frame(status="...")         # bytes for that viewer: only what changed since
    canvas.resize(100, 30)                    # the next frame redraws everything

The remote screen has a fixed size (80x25 by default) that no viewer's window changes, so
bytes are not passed through: a pyte screen is kept fed from the hub, and each viewer gets
rows drawn from it. That gives three things at once: a viewer who attaches late sees the
current screen at once; the screen is centred in a larger window and clipped (following the
cursor) in a smaller one; and a slow viewer skips intermediate screens instead of slowing
the console down, since each frame is the difference between what it was last sent and now.

The last row of the viewer's window is a status line (who types, who watches), drawn in
reverse video. Text is sent as UTF-8. The screen model is the console's own
(:class:`~amtterm.terminal.screen.RemoteScreen`: the one decoder, its auto guess, DEC line
drawing), so viewers see the text the owner sees.
"""

from __future__ import annotations

from typing import Any, Final

from amtterm.errors import ConfigError
from amtterm.terminal.screen import RemoteScreen

__all__ = ["Canvas", "ShareScreen"]

_COLORS: Final = ("black", "red", "green", "brown", "blue", "magenta", "cyan", "white")
_FG: Final = {name: str(30 + i) for i, name in enumerate(_COLORS)} | {
    "bright" + name: str(90 + i) for i, name in enumerate(_COLORS)
}
_BG: Final = {name: str(40 + i) for i, name in enumerate(_COLORS)} | {
    "bright" + name: str(100 + i) for i, name in enumerate(_COLORS)
}
_FG["yellow"], _BG["yellow"] = "33", "43"
_FG["bfightmagenta"], _BG["bfightmagenta"] = "95", "105"  # pyte's spelling of SGR 95/105

RESET: Final = "\x1b[0m"
CLEAR: Final = "\x1b[0m\x1b[H\x1b[2J"
HIDE_CURSOR: Final = "\x1b[?25l"
SHOW_CURSOR: Final = "\x1b[?25h"
#: Entering and leaving a viewer's alternate screen, so their shell comes back as it was.
ENTER: Final = "\x1b[?1049h\x1b[H\x1b[2J"
LEAVE: Final = "\x1b[0m\x1b[?25h\x1b[?1049l"


def _color(value: str, table: dict[str, str], truecolor: str) -> str | None:
    if value == "default":
        return None
    code = table.get(value)
    if code is not None:
        return code
    if len(value) == 6:
        try:
            red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
        except ValueError:
            return None
        return f"{truecolor};2;{red};{green};{blue}"
    return None


def sgr(char: Any) -> str:
    """The SGR sequence that draws a pyte character's attributes (from a reset state)."""
    codes = ["0"]
    if char.bold:
        codes.append("1")
    if char.italics:
        codes.append("3")
    if char.underscore:
        codes.append("4")
    if char.blink:
        codes.append("5")
    if char.reverse:
        codes.append("7")
    if char.strikethrough:
        codes.append("9")
    fg = _color(char.fg, _FG, "38")
    bg = _color(char.bg, _BG, "48")
    if fg:
        codes.append(fg)
    if bg:
        codes.append(bg)
    return f"\x1b[{';'.join(codes)}m"


class ShareScreen:
    """The console's screen as a colleague should see it, kept from the bytes it showed.

    Args:
        columns: remote screen width.
        rows: remote screen height.
        encoding: ``auto`` (guessed as the console guesses), ``cp437`` or ``utf-8``.

    Raises:
        ConfigError: an unknown encoding or a size out of range, in one sentence.
    """

    def __init__(self, columns: int = 80, rows: int = 25, *, encoding: str = "auto") -> None:
        try:
            #: The screen model (viewers never scroll back, so it keeps no scrollback).
            self.model = RemoteScreen(columns, rows, encoding=encoding, scrollback=0)
        except ValueError as exc:
            raise ConfigError(f"Cannot share this console: {exc}.") from None
        #: Rendered rows (full width), dropped when pyte marks them dirty.
        self._rows: dict[tuple[int, int, int], str] = {}
        #: Counts changes, so viewers know when to draw.
        self.version = 0

    @property
    def screen(self) -> Any:
        """The pyte screen (cursor, buffer)."""
        return self.model.screen

    @property
    def columns(self) -> int:
        """Remote screen width."""
        return self.model.columns

    @property
    def rows(self) -> int:
        """Remote screen height."""
        return self.model.rows

    def feed(self, data: bytes) -> None:
        """Run console output through the screen model."""
        if not self.model.feed(data):
            return
        dirty = self.model.take_dirty()
        if dirty:
            self._rows = {key: row for key, row in self._rows.items() if key[0] not in dirty}
        self.version += 1

    def text(self) -> str:
        """The screen as plain text, one line per row (tests, logs)."""
        return self.model.text()

    @property
    def cursor(self) -> tuple[int, int, bool]:
        """(column, row, visible) of the remote cursor."""
        cursor = self.model.screen.cursor
        return int(cursor.x), int(cursor.y), not cursor.hidden

    def row(self, y: int, start: int = 0, width: int | None = None) -> str:
        """Row ``y``, columns ``start`` .. ``start + width``, as text with SGR sequences."""
        width = self.columns - start if width is None else width
        key = (y, start, width)
        cached = self._rows.get(key)
        if cached is None:
            cached = self._rows[key] = render_row(self.model.screen, y, start, width)
        return cached

    def seed(self, other: Any) -> None:
        """Start from what another pyte screen shows (sharing a console that already runs).

        Args:
            other: a ``pyte.Screen`` (e.g. the TUI's), of any size: what fits is copied.
        """
        columns, rows = min(int(other.columns), self.columns), min(int(other.lines), self.rows)
        parts = [CLEAR]
        for y in range(rows):
            parts.append(f"\x1b[{y + 1};1H{render_row(other, y, 0, columns)}")
        cursor = other.cursor
        parts.append(f"\x1b[{min(cursor.y, rows - 1) + 1};{min(cursor.x, columns - 1) + 1}H")
        self.model.feed_text("".join(parts))
        self.model.take_dirty()
        self._rows.clear()
        self.version += 1


def render_row(screen: Any, y: int, start: int, width: int) -> str:
    """Row ``y`` of a pyte screen, ``width`` cells from ``start``, as text with SGR sequences."""
    line = screen.buffer[y]
    out: list[str] = []
    last: str | None = None
    for x in range(start, start + width):
        char = line[x]
        if char.data == "":  # the right half of a wide character
            continue
        attrs = sgr(char)
        if attrs != last:
            out.append(attrs)
            last = attrs
        out.append(char.data if char.data.isprintable() else " ")
    out.append(RESET)
    return "".join(out)


class Canvas:
    """One viewer's window: where the remote screen sits in it, and what it was last sent.

    Args:
        screen: the shared screen.
        width: the viewer's terminal columns.
        height: the viewer's terminal rows (the last one is the status line).
    """

    def __init__(self, screen: ShareScreen, width: int, height: int) -> None:
        self.screen = screen
        self.width = width
        self.height = height
        self._sent: dict[int, str] = {}
        self._status: str | None = None
        self._origin = (0, 0)  # first remote column and row shown (clipping)
        self._cursor: tuple[int, int, bool] | None = None
        self._full = True

    def resize(self, width: int, height: int) -> None:
        """The viewer's window changed size: redraw everything next time."""
        self.width, self.height = max(1, width), max(1, height)
        self._full = True

    def redraw(self) -> None:
        """Forget what was sent; the next frame draws the whole window."""
        self._full = True

    def _layout(self) -> tuple[int, int, int, int, int, int]:
        """(left, top, first column, first row, columns shown, rows shown)."""
        screen = self.screen
        room = self.height - 1 if self.height > 1 else self.height
        shown_cols, shown_rows = min(screen.columns, self.width), min(screen.rows, room)
        left = (self.width - shown_cols) // 2
        top = (room - shown_rows) // 2
        col0, row0 = self._origin
        x, y, _ = screen.cursor
        # Clipped: keep the cursor in view, moving the window only when it leaves it.
        col0 = min(max(col0, x - shown_cols + 1), x, screen.columns - shown_cols)
        row0 = min(max(row0, y - shown_rows + 1), y, screen.rows - shown_rows)
        col0, row0 = max(col0, 0), max(row0, 0)
        if (col0, row0) != self._origin:
            self._origin = (col0, row0)
            self._full = True
        return left, top, col0, row0, shown_cols, shown_rows

    def frame(self, status: str = "") -> bytes:
        """The bytes that bring the viewer's window up to date (b"" when nothing changed)."""
        left, top, col0, row0, shown_cols, shown_rows = self._layout()
        out: list[str] = []
        if self._full:
            out.append(HIDE_CURSOR + CLEAR)
            self._sent.clear()
            self._status = None
            self._full = False
        for i in range(shown_rows):
            text = self.screen.row(row0 + i, col0, shown_cols)
            if self._sent.get(i) != text:
                self._sent[i] = text
                out.append(f"\x1b[{top + i + 1};{left + 1}H{text}")
        if self.height > 1:
            line = _fit(status, self.width)
            if line != self._status:
                self._status = line
                out.append(f"\x1b[{self.height};1H\x1b[0;7m{line}{RESET}")
        cursor = self.screen.cursor
        if not out and cursor == self._cursor:
            return b""
        self._cursor = cursor
        x, y, visible = cursor
        inside = col0 <= x < col0 + shown_cols and row0 <= y < row0 + shown_rows
        if visible and inside:
            out.append(f"\x1b[{top + y - row0 + 1};{left + x - col0 + 1}H{SHOW_CURSOR}")
        else:
            out.append(HIDE_CURSOR)
        return "".join(out).encode("utf-8")


def _fit(text: str, width: int) -> str:
    """``text`` cut or padded to exactly ``width`` cells (status lines are ASCII-ish)."""
    clean = "".join(char if char.isprintable() else " " for char in text)
    if len(clean) > width:
        return clean[: max(0, width - 1)] + "…" if width > 1 else clean[:width]
    return clean.ljust(width)

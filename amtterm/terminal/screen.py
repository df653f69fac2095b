"""The one screen model of a remote console: bytes in, a fixed-size pyte screen and its text out.

Every view of a console is built on :class:`RemoteScreen`: the console's
:class:`~amtterm.ui.widgets.emulator.TerminalEmulator` (which adds colours and rendering), the
share viewers' :class:`~amtterm.share.screen.ShareScreen`, and expect's
:class:`~amtterm.expect.scripted.Console`. Fed the same chunks in the same encoding, they show
the same text.

Bytes go one way: :class:`~amtterm.terminal.decoder.StreamDecoder` (UTF-8, CP437 or auto) -> a
``pyte.Stream`` in non-UTF-8 mode (so ``ESC ( 0`` / ``ESC ( B`` and SO/SI switch to and from
DEC special graphics: pyte ignores charset switching while its ``use_utf8`` is set) -> a pyte
screen of a FIXED size (what the remote draws for; a local window never resizes it) that keeps a
bounded scrollback. Rows pyte marks dirty are collected in :attr:`RemoteScreen.dirty`.

Scrollback: lines that scroll off the top of the screen (scroll region starting at the top row)
go into a bounded deque. ``pyte.HistoryScreen`` is not used: its paging rewrites the live buffer
and it wraps every screen method in a Python-level hook, which makes pyte about three times
slower on the simulator's ANSI flood (measured: 0.68 s vs 2.0 s per MB).

256-colour indices 0-15 (``38;5;n``, ``48;5;n``) are rewritten to SGR 30-37/90-97 before pyte
sees them, so they are the palette's colours wherever the screen is shown.

Line numbers count from the top row of the screen: 0..rows-1 are the screen, -1 is the last
line that scrolled off, -len(history) the oldest one kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, Final

import pyte

from amtterm.terminal.decoder import Encoding, StreamDecoder

Line = Mapping[int, Any]  # a pyte row: column -> pyte.screens.Char

#: Remote screen sizes a host can pick from (columns, rows); others within limits work too.
SCREEN_SIZES: Final = ((80, 25), (80, 24), (100, 30))
MIN_SIZE: Final = (20, 5)
MAX_SIZE: Final = (300, 120)

#: What :meth:`RemoteScreen.cells_text` puts in the stub cell after a wide character.
STUB: Final = "\x00"


class ScrollbackScreen(pyte.Screen):
    """A pyte screen that keeps the lines scrolling off its top in a bounded deque.

    Args:
        columns: width.
        lines: height.
        scrollback: how many lines to keep (0: none).
    """

    def __init__(self, columns: int, lines: int, scrollback: int = 2000) -> None:
        self.history: deque[Line] = deque(maxlen=max(0, scrollback))
        #: Lines that ever scrolled off the top (kept or not).
        self.scrolled = 0
        super().__init__(columns, lines)

    def index(self) -> None:
        """Line feed; at the bottom margin, the top line goes to the scrollback."""
        margins = self.margins
        top = margins.top if margins else 0
        bottom = margins.bottom if margins else self.lines - 1
        if top == 0 and self.cursor.y == bottom:
            if self.history.maxlen:
                self.history.append(self.buffer[0])
            self.scrolled += 1
        super().index()

    def select_graphic_rendition(self, *attrs: int, **kwargs: Any) -> None:
        """SGR; 256-colour indices 0-15 (``38;5;n``, ``48;5;n``) become palette colours."""
        if 38 in attrs or 48 in attrs:
            attrs = _palette_sgr(attrs)
        super().select_graphic_rendition(*attrs, **kwargs)

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        """Erase; ``ESC [ 3 J`` also drops the scrollback."""
        super().erase_in_display(how, *args, **kwargs)
        if how == 3:
            self.history.clear()


def _palette_sgr(attrs: tuple[int, ...]) -> tuple[int, ...]:
    """Rewrite ``38;5;n`` / ``48;5;n`` with n < 16 as SGR 30-37/90-97 (40-47/100-107)."""
    out: list[int] = []
    i = 0
    while i < len(attrs):
        code = attrs[i]
        if code in (38, 48) and i + 1 < len(attrs):
            kind = attrs[i + 1]
            if kind == 5 and i + 2 < len(attrs):
                n = attrs[i + 2]
                if 0 <= n < 16:
                    base = (30 if code == 38 else 40) + (60 if n >= 8 else 0)
                    out.append(base + n % 8)
                else:
                    out += attrs[i : i + 3]
                i += 3
                continue
            if kind == 2:
                out += attrs[i : i + 5]
                i += 5
                continue
        out.append(code)
        i += 1
    return tuple(out)


class RemoteScreen:
    """Decoder + pyte + scrollback for one fixed-size remote screen, and its text.

    Args:
        columns: remote screen width.
        rows: remote screen height.
        encoding: ``utf-8``, ``cp437`` or ``auto``.
        scrollback: lines kept above the screen (0: none).

    Raises:
        ValueError: a size out of range or an unknown encoding.
    """

    def __init__(
        self, columns: int = 80, rows: int = 25, *, encoding: str = "auto", scrollback: int = 2000
    ) -> None:
        check_size(columns, rows)
        #: The one decoder (its ``active`` encoding is what keys should be sent in).
        self.decoder = StreamDecoder(encoding)
        #: The pyte screen (cursor, buffer, scrollback).
        self.screen = ScrollbackScreen(columns, rows, scrollback)
        self.stream = pyte.Stream(self.screen)
        self.stream.use_utf8 = False  # text arrives decoded; keep ESC ( 0 and SO/SI working
        #: Screen rows changed since :meth:`take_dirty` (pyte's dirty set, accumulated).
        self.dirty: set[int] = set(range(rows))

    # -- input ------------------------------------------------------------------------------

    def feed(self, data: bytes) -> bool:
        """Decode ``data`` and run it through pyte; changed rows are added to :attr:`dirty`.

        Returns:
            Whether any text reached the screen (not if all bytes were held by the decoder).
        """
        return self.feed_text(self.decoder.decode(data))

    def feed_text(self, text: str) -> bool:
        """Run already decoded text through pyte.

        Returns:
            Whether there was any text.
        """
        if not text:
            return False
        screen = self.screen
        self.stream.feed(text)
        if screen.dirty:
            self.dirty |= screen.dirty
            screen.dirty.clear()
        return True

    def flush_decoder(self) -> bool:
        """Show bytes the decoder held back (an incomplete UTF-8 sequence) as they are.

        Returns:
            Whether there were any.
        """
        return self.feed_text(self.decoder.flush())

    def take_dirty(self) -> set[int]:
        """The rows changed since the last call."""
        dirty, self.dirty = self.dirty, set()
        return dirty

    @property
    def encoding(self) -> Encoding:
        """``utf-8``, ``cp437`` or ``auto``; setting it switches between two reads."""
        return self.decoder.encoding

    @encoding.setter
    def encoding(self, value: str) -> None:
        self.feed_text(self.decoder.set_encoding(value))

    # -- geometry ---------------------------------------------------------------------------

    @property
    def columns(self) -> int:
        """Remote screen width."""
        return int(self.screen.columns)

    @property
    def rows(self) -> int:
        """Remote screen height."""
        return int(self.screen.lines)

    def resize(self, columns: int, rows: int) -> None:
        """Change the remote screen size (what the remote draws for, not the local window).

        Raises:
            ValueError: a size out of range.
        """
        check_size(columns, rows)
        self.screen.resize(rows, columns)
        self.dirty = set(range(rows))

    @property
    def history(self) -> deque[Line]:
        """The scrollback, oldest first."""
        return self.screen.history

    def line(self, number: int) -> Line | None:
        """The row at a line number (negative: scrollback), or None outside."""
        if 0 <= number < self.rows:
            line: Line = self.screen.buffer[number]
            return line
        history = self.screen.history
        if -len(history) <= number < 0:
            return history[number]
        return None

    # -- text -------------------------------------------------------------------------------

    def row_text(self, line: Line) -> str:
        """The row's characters (a wide character's stub cell adds nothing)."""
        return self.cells_text(line).replace(STUB, "")

    def blank(self, line: Line) -> Any:
        """The pyte character a row shows where nothing was written."""
        default = getattr(line, "default", None)
        return default if default is not None else self.screen.default_char

    def cells_text(self, line: Line) -> str:
        """One character per column: index = column (a wide character's stub cell is :data:`STUB`)."""
        default = self.blank(line)
        get = line.get
        return "".join(get(x, default).data or STUB for x in range(self.columns))

    def lines(self) -> list[str]:
        """The screen rows as text, full width."""
        return [self.row_text(self.screen.buffer[y]) for y in range(self.rows)]

    def text(self) -> str:
        """The screen as text, trailing blanks of each row removed."""
        return "\n".join(line.rstrip() for line in self.lines())

    def history_lines(self) -> list[str]:
        """The scrollback as text, oldest first, trailing blanks removed."""
        return [self.row_text(line).rstrip() for line in self.screen.history]

    def search(self, needle: str, *, case_sensitive: bool = False) -> list[tuple[int, int]]:
        """Where ``needle`` occurs in the scrollback and on the screen (one line at a time).

        Returns:
            (line, column) pairs, oldest first; line numbers as in :meth:`line`.
        """
        if not needle:
            return []
        if not case_sensitive:
            needle = needle.lower()
        found: list[tuple[int, int]] = []
        for number in range(-len(self.screen.history), self.rows):
            line = self.line(number)
            assert line is not None
            found += [(number, x) for x in find_all(self.cells_text(line), needle, case_sensitive)]
        return found


def find_all(haystack: str, needle: str, case_sensitive: bool = False) -> Iterable[int]:
    """Start columns of non-overlapping occurrences (``needle`` already lower case if not
    ``case_sensitive``)."""
    if not case_sensitive:
        haystack = haystack.lower()
    start = haystack.find(needle)
    while start >= 0:
        yield start
        start = haystack.find(needle, start + len(needle))


def check_size(columns: int, rows: int) -> None:
    """Refuse a remote screen size out of range.

    Raises:
        ValueError: with the allowed range.
    """
    if not (MIN_SIZE[0] <= columns <= MAX_SIZE[0] and MIN_SIZE[1] <= rows <= MAX_SIZE[1]):
        raise ValueError(
            f"screen size {columns}x{rows} not supported: use {MIN_SIZE[0]}-{MAX_SIZE[0]} columns "
            f"and {MIN_SIZE[1]}-{MAX_SIZE[1]} rows"
        )

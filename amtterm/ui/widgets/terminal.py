"""TerminalView: the remote console as a Textual widget (Line API over a pyte screen).

What it shows is a FIXED remote screen (80x25 unless the host says 80x24 or 100x30): the remote
draws for that size, so it is never reflowed. When the widget is larger the screen is centred
(the widget's own background around it); when it is shorter, the view follows the remote cursor
so the line being typed on is always shown, and Shift-PgUp / Shift-PgDn scroll it (and, at the
top, the scrollback) from the keyboard. No scroll bars: they would cost the screen a column.

A stale screen (the session dropped, the PC is off) is dimmed and its reason is drawn over its
top row (:attr:`TerminalView.stale`), so an old screen is never taken for a live one.

Repainting: :meth:`TerminalView.feed` runs the bytes through the emulator
(:mod:`amtterm.ui.widgets.emulator`) and refreshes only the rows pyte marked dirty, plus the
rows the cursor left and entered. Rows are rendered to strips once and cached; a flood of
output costs one strip per changed row per frame, not per byte.

Keys: while the view has focus every key goes to the remote (:class:`TerminalView.Send`),
including Tab, Esc and Ctrl-C; only Textual's priority bindings (Ctrl-Q by default) come first.
The app's own commands sit behind :attr:`TerminalView.prefix_key`: the key after it is posted as
:class:`TerminalView.Command`, and the prefix pressed twice sends the prefix itself.

Mouse: dragging selects text (the live screen and the scrollback) and copies it to the
clipboard through ``App.copy_to_clipboard`` when the button is released, box drawing kept;
the wheel scrolls back through the scrollback. Paste is posted as :class:`TerminalView.Paste`:
the app types it at a safe pace (:func:`amtterm.terminal.keymap.paste_chunks`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from amtterm.terminal.keymap import ENTER_BYTES, Backspace, Enter, KeyMode, check_mode, key_to_bytes
from amtterm.ui.widgets.emulator import (
    CURSOR,
    MATCH,
    SELECTION,
    STUB,
    TerminalEmulator,
    TerminalPalette,
    find_all,
)

#: The key that introduces an app command (Ctrl-], telnet's escape key).
DEFAULT_PREFIX = "ctrl+right_square_bracket"
#: Seconds of silence after which bytes of an incomplete UTF-8 sequence are shown as they are.
DECODER_FLUSH_DELAY = 0.15
#: How the reason of a stale screen is drawn over its top row.
STALE_STYLE = Style(color="black", bgcolor="yellow", bold=True)
#: Lines the mouse wheel scrolls back per notch.
WHEEL_LINES = 3

Position = tuple[int, int]  # (absolute line, column); absolute = scrolled-off count + line number


class TerminalMessage(Message):
    """A message from a :class:`TerminalView` (``terminal``, also ``control`` for ``@on``)."""

    def __init__(self, terminal: TerminalView) -> None:
        super().__init__()
        self.terminal = terminal

    @property
    def control(self) -> TerminalView:
        """The terminal that posted it."""
        return self.terminal


class TerminalView(ScrollView, can_focus=True):
    """A fixed-size remote screen with colours, cursor, scrollback, search and selection.

    Args:
        columns: remote screen width.
        rows: remote screen height.
        encoding: ``utf-8``, ``cp437`` or ``auto``.
        palette: the 16 colours and defaults (VGA when None; themes supply their own).
        scrollback: lines kept above the screen.
        key_mode: F-key convention (``intel``, ``alternate``, ``vt100+``, ``xterm``).
        enter: ``cr`` or ``crlf``.
        backspace: ``bs`` or ``del``.
        prefix_key: the key before an app command (None: no commands, every key to the remote).
        bold_is_bright: bold picks the bright colour for the 8 base colours.
        name: widget name.
        id: widget id.
        classes: CSS classes.
        disabled: start disabled.
    """

    ALLOW_SELECT: ClassVar[bool] = False  # selection is done here, in remote-screen cells
    DEFAULT_CSS = """
    TerminalView {
        width: 1fr;
        height: 1fr;
        scrollbar-size: 0 0;
        background: $background;
    }
    TerminalView.-stale {
        tint: $background 45%;
    }
    """

    class Send(TerminalMessage):
        """Bytes for the remote (a key press): ``data``."""

        def __init__(self, terminal: TerminalView, data: bytes) -> None:
            super().__init__(terminal)
            self.data = data

    class Paste(TerminalMessage):
        """Text pasted into the terminal (``text``); the app types it at a safe pace."""

        def __init__(self, terminal: TerminalView, text: str) -> None:
            super().__init__(terminal)
            self.text = text

    class Prefix(TerminalMessage):
        """The prefix key was pressed; the next key is a :class:`Command`."""

    class Command(TerminalMessage):
        """The key pressed after the prefix: ``key``, Textual's key name."""

        def __init__(self, terminal: TerminalView, key: str) -> None:
            super().__init__(terminal)
            self.key = key

    class EncodingGuessed(TerminalMessage):
        """In auto mode, the guess changed: ``encoding`` is ``utf-8`` or ``cp437``."""

        def __init__(self, terminal: TerminalView, encoding: str) -> None:
            super().__init__(terminal)
            self.encoding = encoding

    class Copied(TerminalMessage):
        """A mouse selection (``text``) was copied to the clipboard."""

        def __init__(self, terminal: TerminalView, text: str) -> None:
            super().__init__(terminal)
            self.text = text

    def __init__(
        self,
        *,
        columns: int = 80,
        rows: int = 25,
        encoding: str = "auto",
        palette: TerminalPalette | None = None,
        scrollback: int = 2000,
        key_mode: str = "intel",
        enter: Enter = "cr",
        backspace: Backspace = "bs",
        prefix_key: str | None = DEFAULT_PREFIX,
        bold_is_bright: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.emulator = TerminalEmulator(
            columns,
            rows,
            encoding=encoding,
            palette=palette,
            scrollback=scrollback,
            bold_is_bright=bold_is_bright,
        )
        self._key_mode: KeyMode = check_mode(key_mode)
        if enter not in ENTER_BYTES:
            raise ValueError(f"enter must be 'cr' or 'crlf', not {enter!r}")
        if backspace not in ("bs", "del"):
            raise ValueError(f"backspace must be 'bs' or 'del', not {backspace!r}")
        self.enter: Enter = enter
        self.backspace: Backspace = backspace
        self.prefix_key = prefix_key
        #: Show the remote's cursor (when the remote shows it).
        self.show_cursor = True
        self._prefix_pending = False
        self._history_offset = 0
        self._cursor_drawn: tuple[int, int] | None = None
        self._anchor: Position | None = None
        self._selection: tuple[Position, Position] | None = None
        self._search: tuple[str, bool] | None = None
        self._flush_timer: Timer | None = None
        self._stale: str | None = None
        #: Rows scrolled away from the cursor by Shift-PgUp (the view stops following it).
        self._held = False
        self.virtual_size = Size(columns, rows)

    def on_mount(self) -> None:
        """Show the cursor where the (blank) remote screen has it."""
        self._cursor_drawn = self._cursor_row_col()

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, data: bytes) -> set[int]:
        """Show bytes from the remote; only the rows they change are repainted.

        Works before the widget is mounted too (nothing is posted or repainted then).

        Returns:
            The remote screen rows marked for repainting (changed rows, and the rows the cursor
            left and entered).
        """
        emulator = self.emulator
        guess = emulator.decoder.active
        scrolled = emulator.screen.scrolled
        emulator.feed(data)
        pushed = emulator.screen.scrolled - scrolled
        if pushed and self._history_offset:
            self._history_offset = min(len(emulator.history), self._history_offset + pushed)
        if self.is_mounted:
            if emulator.encoding == "auto" and emulator.decoder.active != guess:
                self.post_message(self.EncodingGuessed(self, emulator.decoder.active))
            if emulator.decoder.pending:
                if self._flush_timer is not None:
                    self._flush_timer.stop()
                self._flush_timer = self.set_timer(DECODER_FLUSH_DELAY, self._flush_decoder)
        dirty = self._refresh_dirty(full=bool(pushed and self._history_offset))
        self.follow_cursor()
        return dirty

    def _flush_decoder(self) -> None:
        self._flush_timer = None
        self.emulator.flush_decoder()
        self._refresh_dirty()

    def _refresh_dirty(self, full: bool = False) -> set[int]:
        emulator = self.emulator
        dirty = emulator.take_dirty()
        cursor = self._cursor_row_col()
        if cursor != self._cursor_drawn:
            for place in (cursor, self._cursor_drawn):
                if place is not None:
                    dirty.add(place[0])
            self._cursor_drawn = cursor
        if not dirty or not self.is_mounted:
            return dirty
        if full or self._history_offset >= emulator.rows:
            if full:
                self.refresh()
            return dirty
        width = max(self.size.width, self.virtual_size.width)
        top = self._pad_top() - round(self.scroll_y) + self._history_offset
        start = previous = -2
        for y in sorted(dirty):
            if y != previous + 1:
                if start >= 0:
                    self.refresh(Region(0, top + start, width, previous - start + 1))
                start = y
            previous = y
        if start >= 0:
            self.refresh(Region(0, top + start, width, previous - start + 1))
        return dirty

    def _cursor_row_col(self) -> tuple[int, int] | None:
        screen = self.emulator.screen
        if not self.show_cursor or screen.cursor.hidden:
            return None
        return int(screen.cursor.y), min(int(screen.cursor.x), self.emulator.columns - 1)

    def follow_cursor(self) -> None:
        """Scroll so the remote cursor's row is on view (when the widget is shorter than the screen)."""
        if not self.is_mounted or self._held or self._history_offset:
            return
        height = self.size.height
        if not height or height >= self.emulator.rows:
            return
        row = int(self.emulator.screen.cursor.y)
        top = round(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def page(self, pages: int) -> None:
        """Scroll by ``pages`` heights (negative: up): the remote screen first, then the scrollback."""
        step = max(1, self.size.height - 1)
        top = round(self.scroll_y)
        if pages < 0:
            if top > 0:
                self._held = True
                self.scroll_to(y=max(0, top - step), animate=False, immediate=True)
            else:
                self.scroll_history(step)
        elif self._history_offset:
            self.scroll_history(-step)
        else:
            bottom = max(0, self.emulator.rows - self.size.height)
            self.scroll_to(y=min(bottom, top + step), animate=False, immediate=True)
            if self.emulator.screen.cursor.y < round(self.scroll_y) + self.size.height:
                self._held = False

    @property
    def stale(self) -> str | None:
        """Why the screen shown is not live (None: live); the screen is dimmed with the reason on top."""
        return self._stale

    @stale.setter
    def stale(self, reason: str | None) -> None:
        if reason != self._stale:
            self._stale = reason
            self.set_class(reason is not None, "-stale")
            self.refresh()

    # -- settings -----------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        """``utf-8``, ``cp437`` or ``auto``; switchable live (bytes held so far are shown first)."""
        return self.emulator.encoding

    @encoding.setter
    def encoding(self, value: str) -> None:
        self.emulator.encoding = value
        self._refresh_dirty()

    @property
    def active_encoding(self) -> str:
        """What the next bytes are decoded as (in auto mode: the current guess)."""
        return self.emulator.decoder.active

    @property
    def screen_size(self) -> tuple[int, int]:
        """The remote screen as (columns, rows); settable (80x25, 80x24, 100x30 ...)."""
        return self.emulator.columns, self.emulator.rows

    @screen_size.setter
    def screen_size(self, size: tuple[int, int]) -> None:
        columns, rows = size
        self.emulator.resize(columns, rows)
        self._history_offset = 0
        self._selection = None
        self._cursor_drawn = None
        self.virtual_size = Size(columns, rows)
        self.refresh()

    @property
    def palette(self) -> TerminalPalette:
        """The remote screen's colours; setting it repaints."""
        return self.emulator.palette

    @palette.setter
    def palette(self, value: TerminalPalette) -> None:
        self.emulator.palette = value
        self.refresh()

    @property
    def key_mode(self) -> KeyMode:
        """The F-key convention; switchable live."""
        return self._key_mode

    @key_mode.setter
    def key_mode(self, value: str) -> None:
        self._key_mode = check_mode(value)

    # -- reading (tests, expect-style automation) ---------------------------------------------

    def lines(self) -> list[str]:
        """The screen rows as text, full width."""
        return self.emulator.lines()

    def text(self) -> str:
        """The screen as text (rows joined with newlines, trailing blanks removed)."""
        return self.emulator.text()

    @property
    def scrollback(self) -> list[str]:
        """The lines above the screen, oldest first (bounded)."""
        return self.emulator.history_lines()

    @property
    def cursor(self) -> tuple[int, int]:
        """The remote cursor as (row, column)."""
        screen = self.emulator.screen
        return int(screen.cursor.y), int(screen.cursor.x)

    @property
    def strips_built(self) -> int:
        """How many rows were rendered so far (cache misses)."""
        return self.emulator.strips_built

    # -- scrollback and search ----------------------------------------------------------------

    @property
    def history_offset(self) -> int:
        """How many lines the view is scrolled back into the scrollback (0: live screen)."""
        return self._history_offset

    def scroll_history(self, lines: int) -> None:
        """Scroll back (positive) or forward (negative) through the scrollback."""
        offset = max(0, min(len(self.emulator.history), self._history_offset + lines))
        if offset != self._history_offset:
            self._history_offset = offset
            self.refresh()

    def scroll_history_end(self) -> None:
        """Back to the live screen."""
        self.scroll_history(-self._history_offset)

    def show_line(self, line: int) -> None:
        """Scroll the scrollback so that ``line`` (negative: scrollback) is on view."""
        rows = self.emulator.rows
        if line >= 0:
            self.scroll_history_end()
        elif not -self._history_offset <= line < rows - self._history_offset:
            self.scroll_history(-line - self._history_offset)

    def search(
        self, text: str, *, case_sensitive: bool = False, highlight: bool = True
    ) -> list[tuple[int, int]]:
        """Find ``text`` in the scrollback and on the screen, and highlight it.

        Returns:
            (line, column) pairs, oldest first: lines 0..rows-1 are the screen, -1 the last line
            above it. Valid until more output arrives (then lines move up).
        """
        matches = self.emulator.search(text, case_sensitive=case_sensitive)
        needle = text if case_sensitive else text.lower()
        self._search = (needle, case_sensitive) if highlight and text else None
        self.refresh()
        return matches

    def clear_search(self) -> None:
        """Remove the search highlight."""
        if self._search is not None:
            self._search = None
            self.refresh()

    # -- selection ----------------------------------------------------------------------------

    @property
    def selection(self) -> tuple[Position, Position] | None:
        """The selected span as ((line, column), (line, column)) in reading order, or None."""
        if self._selection is None:
            return None
        scrolled = self.emulator.screen.scrolled
        (a_line, a_col), (b_line, b_col) = sorted(self._selection)
        return (a_line - scrolled, a_col), (b_line - scrolled, b_col)

    def select(self, start: tuple[int, int], end: tuple[int, int]) -> None:
        """Select from ``start`` to ``end`` inclusive, as (line, column) (for keyboard use, tests)."""
        scrolled = self.emulator.screen.scrolled
        self._selection = ((start[0] + scrolled, start[1]), (end[0] + scrolled, end[1]))
        self.refresh()

    def clear_selection(self) -> None:
        """Remove the selection."""
        if self._selection is not None:
            self._selection = None
            self.refresh()

    def selected_text(self) -> str:
        """The selected text: rows joined with newlines, trailing blanks removed, glyphs kept."""
        if self._selection is None:
            return ""
        emulator = self.emulator
        scrolled = emulator.screen.scrolled
        (a_line, a_col), (b_line, b_col) = sorted(self._selection)
        out: list[str] = []
        for absolute in range(a_line, b_line + 1):
            line = emulator.line(absolute - scrolled)
            if line is None:
                continue
            cells = emulator.cells_text(line)
            start = a_col if absolute == a_line else 0
            end = b_col + 1 if absolute == b_line else len(cells)
            out.append(cells[start:end].replace(STUB, "").rstrip())
        return "\n".join(out)

    def copy_selection(self) -> str:
        """Copy the selection to the clipboard (and post :class:`Copied`); returns the text."""
        text = self.selected_text()
        if text:
            self.app.copy_to_clipboard(text)
            self.post_message(self.Copied(self, text))
        return text

    # -- geometry -----------------------------------------------------------------------------

    def _pad_top(self) -> int:
        return max(0, (self.size.height - self.emulator.rows) // 2)

    def _pad_left(self) -> int:
        return max(0, (self.size.width - self.emulator.columns) // 2)

    def cell_at(self, x: int, y: int) -> tuple[int, int]:
        """The remote cell (line, column) under widget content coordinates, clamped to the screen."""
        emulator = self.emulator
        column = x + round(self.scroll_x) - self._pad_left()
        row = y + round(self.scroll_y) - self._pad_top()
        column = max(0, min(emulator.columns - 1, column))
        row = max(0, min(emulator.rows - 1, row))
        return row - self._history_offset, column

    # -- rendering ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """One line of the widget: a row of the remote screen (centred or scrolled), or blank."""
        emulator = self.emulator
        width = self.size.width
        columns = emulator.columns
        style = self.rich_style
        if y == 0 and self._stale is not None:
            return self._stale_strip(width)
        row = y + round(self.scroll_y) - self._pad_top()
        if not 0 <= row < emulator.rows:
            return Strip.blank(width, style)
        strip = self.row_strip(row)
        pad_left = self._pad_left()
        if pad_left:
            right = max(0, width - columns - pad_left)
            return Strip.join([Strip.blank(pad_left, style), strip, Strip.blank(right, style)])
        scroll_x = round(self.scroll_x)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def _stale_strip(self, width: int) -> Strip:
        text = f" Not live: {self._stale} "[:width]
        left = max(0, (width - len(text)) // 2)
        right = max(0, width - left - len(text))
        style = self.rich_style
        return Strip(
            [Segment(" " * left, style), Segment(text, STALE_STYLE), Segment(" " * right, style)], width
        )

    def row_strip(self, row: int) -> Strip:
        """The strip of view row ``row`` (0 = top of the shown screen), overlays included."""
        emulator = self.emulator
        number = row - self._history_offset
        line = emulator.line(number)
        if line is None:
            return Strip.blank(emulator.columns)
        spans: list[tuple[int, int, int]] = []
        if self._search is not None:
            needle, case_sensitive = self._search
            for x in find_all(emulator.cells_text(line), needle, case_sensitive):
                spans.append((x, x + len(needle), MATCH))
        selected = self._selection_span(number + emulator.screen.scrolled)
        if selected is not None:
            spans.append((*selected, SELECTION))
        cursor = self._cursor_drawn
        cursor_x = -1
        if cursor is not None and cursor[0] == number:
            cursor_x = cursor[1]
            spans.append((cursor_x, cursor_x + 1, CURSOR))
        if not spans:
            return emulator.strip(line)
        key = (cursor_x, selected, self._search)
        return emulator.strip(line, spans, key)

    def _selection_span(self, absolute: int) -> tuple[int, int] | None:
        if self._selection is None:
            return None
        (a_line, a_col), (b_line, b_col) = sorted(self._selection)
        if not a_line <= absolute <= b_line:
            return None
        start = a_col if absolute == a_line else 0
        end = b_col + 1 if absolute == b_line else self.emulator.columns
        return start, end

    def notify_style_update(self) -> None:
        """The widget's CSS changed (theme): repaint everything."""
        super().notify_style_update()
        self.refresh()

    # -- keys, paste, mouse -------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """Every key goes to the remote; the prefix key starts an app command."""
        key = event.key
        if not self._prefix_pending and key in ("shift+pageup", "shift+pagedown"):
            self._stop(event)
            self.page(-1 if key == "shift+pageup" else 1)
            return
        if self._prefix_pending:
            self._prefix_pending = False
            self._stop(event)
            if key != self.prefix_key:
                self.post_message(self.Command(self, key))
                return
        elif self.prefix_key is not None and key == self.prefix_key:
            self._prefix_pending = True
            self._stop(event)
            self.post_message(self.Prefix(self))
            return
        data = key_to_bytes(
            key,
            self._key_mode,
            self.enter,
            self.backspace,
            character=event.character,
            encoding=self.emulator.decoder.active,
        )
        if data is None:
            return  # not a key the remote knows; app bindings may use it
        self._stop(event)
        self.scroll_history_end()
        self._held = False
        self.follow_cursor()
        self.post_message(self.Send(self, data))

    def arm_prefix(self) -> None:
        """Take the next key as a command, as if the prefix had been typed here."""
        self._prefix_pending = True
        self.post_message(self.Prefix(self))

    @staticmethod
    def _stop(event: events.Event) -> None:
        event.stop()
        event.prevent_default()

    def send_keys(self, *keys: str) -> None:
        """Post the bytes of Textual key names as if they were typed (key bar, scripts)."""
        for key in keys:
            data = key_to_bytes(key, self._key_mode, self.enter, self.backspace)
            if data is not None:
                self.post_message(self.Send(self, data))

    def on_paste(self, event: events.Paste) -> None:
        """Hand pasted text to the app, which types it slowly."""
        self._stop(event)
        if event.text:
            self.post_message(self.Paste(self, event.text))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Start a selection."""
        if event.button != 1:
            return
        offset = event.get_content_offset(self)
        if offset is None:
            return
        self._anchor = self._absolute(self.cell_at(offset.x, offset.y))
        self.clear_selection()
        self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """Extend the selection while the button is held."""
        if self._anchor is None:
            return
        offset = event.get_content_offset_capture(self)
        here = self._absolute(self.cell_at(offset.x, offset.y))
        selection = (self._anchor, here)
        if selection != self._selection:
            self._selection = selection
            self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        """End the selection and copy it."""
        if self._anchor is None:
            return
        self._anchor = None
        self.release_mouse()
        if self._selection is not None:
            self.copy_selection()

    def _absolute(self, cell: tuple[int, int]) -> Position:
        return cell[0] + self.emulator.screen.scrolled, cell[1]

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if round(self.scroll_y) > 0 or event.ctrl or event.shift:
            return  # the widget's own scrolling first (Widget's handler runs next)
        if self._history_offset < len(self.emulator.history):
            self.scroll_history(WHEEL_LINES)
            self._stop(event)

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if self._history_offset and not (event.ctrl or event.shift):
            self.scroll_history(-WHEEL_LINES)
            self._stop(event)

    def on_resize(self, event: events.Resize) -> None:
        """A new local size moves the centred screen: repaint, keep the cursor on view."""
        self.refresh()
        self.call_after_refresh(self.follow_cursor)

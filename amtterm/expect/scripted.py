"""Console: a live SOL console to script, with the console's screen model, waits and keys.

The screen is the one the TUI shows (:class:`~amtterm.terminal.screen.RemoteScreen`: the same
decoder and auto guess, DEC line drawing), and the stream text is read as the plain-text log
reads it (:class:`~amtterm.terminal.plaintext.PlainText`), so a script matches what a person
watching the console sees. The matching rules are in the package docstring (:mod:`amtterm.expect`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from amtterm.errors import AmtError, ConfigError, ExpectTimeout, SessionClosed
from amtterm.session import Recorder, SolClient
from amtterm.terminal.decoder import StreamDecoder
from amtterm.terminal.keymap import Backspace, Enter, KeyMode, check_mode, key_to_bytes, send_text_chunks
from amtterm.terminal.plaintext import PlainText
from amtterm.terminal.screen import MAX_SIZE, MIN_SIZE, RemoteScreen

#: Stream text kept since the last send (the oldest goes first).
STREAM_LIMIT = 65536
#: Pause between keys and typed pieces (BIOS fields drop input that comes faster).
KEY_GAP = 0.05
#: Seconds :meth:`Console.expect` waits by default.
DEFAULT_TIMEOUT = 30.0

Where = Literal["any", "screen", "stream"]
Pattern = str | re.Pattern[str]

# Friendlier key names -> the keymap's (Textual's) names.
_KEY_ALIASES = {
    "esc": "escape", "return": "enter", "cr": "enter", "ret": "enter", "bs": "backspace",
    "del": "delete", "ins": "insert", "pgup": "pageup", "pgdn": "pagedown", "page_up": "pageup",
    "page_down": "pagedown", "ctrl+alt+del": "ctrl+alt+delete", "cad": "ctrl+alt+delete",
}  # fmt: skip


def key_bytes(
    name: str,
    mode: KeyMode = "intel",
    enter: Enter = "cr",
    backspace: Backspace = "bs",
    *,
    encoding: str = "utf-8",
) -> bytes:
    """The bytes of one key named the way people write them: ``F2``, ``Enter``, ``Esc``, ``Down``,
    ``Ctrl-C``, ``Ctrl-Alt-Del``, ``PgDn``, or one character (``y``).

    Raises:
        ConfigError: a name that is no key, in one sentence.
    """
    key = name.strip()
    if len(key) > 1:
        key = key.lower().replace("-", "+").replace(" ", "")
        key = _KEY_ALIASES.get(key, key)
    data = key_to_bytes(key, mode, enter, backspace, encoding=encoding) if key else None
    if data is None:
        raise ConfigError(
            f"{name!r} is not a key: use F1-F12, Enter, Esc, Tab, Space, Backspace, Up, Down, Left, "
            "Right, Home, End, PgUp, PgDn, Ins, Del, Ctrl-X, Alt-X, Ctrl-Alt-Del or one character."
        )
    return data


def _describe(pattern: Pattern) -> str:
    if isinstance(pattern, re.Pattern):
        return f"/{pattern.pattern}/"
    return f'"{pattern}"'


@dataclass(frozen=True)
class ExpectMatch:
    """What :meth:`Console.expect` found.

    Attributes:
        pattern: the pattern that matched (as given).
        index: its position in the list of patterns (0 for a single one).
        where: ``screen`` or ``stream``.
        text: the matched text.
        match: the regex match (on the joined screen rows or on the stream text).
        row: the screen row where the match starts (None for a stream match).
        column: the column where it starts (None for a stream match).
    """

    pattern: Pattern
    index: int
    where: Literal["screen", "stream"]
    text: str
    match: re.Match[str]
    row: int | None = None
    column: int | None = None


class Console:
    """A live SOL console to script: a screen model, waits and keys.

    Args:
        client: a started :class:`~amtterm.session.sol.SolClient` (the console closes it).
        columns: the remote screen width.
        rows: the remote screen height.
        encoding: ``auto``, ``cp437`` or ``utf-8``.
        key_mode: the BIOS F-key convention (``intel``, ``alternate``, ``vt100+``, ``xterm``).
        enter: what Enter sends, ``cr`` or ``crlf``.
        backspace: what Backspace sends, ``bs`` or ``del``.
        recorder: gets the output, the keys sent (it decides whether to keep them) and power
            markers; closed with the console.
        name: the host's name in messages (default: the client's ``host:port``).

    Raises:
        ConfigError: a screen size out of range, an unknown encoding or key mode.
    """

    def __init__(
        self,
        client: SolClient,
        *,
        columns: int = 80,
        rows: int = 25,
        encoding: str = "auto",
        key_mode: str = "intel",
        enter: Enter = "cr",
        backspace: Backspace = "bs",
        recorder: Recorder | None = None,
        name: str | None = None,
    ) -> None:
        if not (MIN_SIZE[0] <= columns <= MAX_SIZE[0] and MIN_SIZE[1] <= rows <= MAX_SIZE[1]):
            raise ConfigError(
                f"A {columns}x{rows} screen is not supported: use {MIN_SIZE[0]}-{MAX_SIZE[0]} columns, "
                f"{MIN_SIZE[1]}-{MAX_SIZE[1]} rows."
            )
        try:
            #: The screen model (expect never scrolls back, so it keeps no scrollback).
            self.model = RemoteScreen(columns, rows, encoding=encoding, scrollback=0)
            self.key_mode: KeyMode = check_mode(key_mode)
        except ValueError as exc:
            raise ConfigError(f"{str(exc).capitalize()}.") from None
        self.client = client
        self.name = name or client.target
        self.enter: Enter = enter
        self.backspace: Backspace = backspace
        self.recorder = recorder
        self._plain = PlainText()
        self._stream_text = ""
        self._baseline = self._joined()
        self._changed = asyncio.Event()
        self._ended = False
        self._error: AmtError | None = None
        self._closed = False
        if recorder is not None:
            client.power_listeners.append(recorder.power)
        self._reader = asyncio.create_task(self._read(), name=f"expect-{self.name}")

    # -- output -----------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            while True:
                chunk = await self.client.read()
                if not chunk:
                    break
                self.feed(chunk)
        except AmtError as exc:
            self._error = exc
        finally:
            self._ended = True
            self._changed.set()

    def feed(self, data: bytes) -> None:
        """Take host output (the reader does this; tests may feed bytes directly)."""
        if self.recorder is not None:
            self.recorder.output(data)
        text = self.model.decoder.decode(data)
        if self.model.feed_text(text):
            plain = self._plain.text(text)
            if plain:
                self._stream_text = (self._stream_text + plain)[-STREAM_LIMIT:]
        self._changed.set()

    def _joined(self) -> str:
        return "\n".join(self.model.lines())

    @property
    def decoder(self) -> StreamDecoder:
        """The console's decoder (its ``active`` encoding is what text is sent in)."""
        return self.model.decoder

    @property
    def screen(self) -> Any:
        """The pyte screen (cursor, buffer)."""
        return self.model.screen

    # -- reading ----------------------------------------------------------------------------

    def screen_lines(self) -> list[str]:
        """The screen rows as text, full width."""
        return self._joined().split("\n")

    def screen_text(self) -> str:
        """The screen as text, trailing blanks of each row removed."""
        return "\n".join(row.rstrip() for row in self.screen_lines())

    @property
    def stream_text(self) -> str:
        """The plain text that arrived since keys were last sent (or :meth:`mark`)."""
        return self._stream_text

    @property
    def cursor(self) -> tuple[int, int]:
        """The remote cursor as (row, column)."""
        return int(self.screen.cursor.y), int(self.screen.cursor.x)

    @property
    def ended(self) -> bool:
        """Whether the session has ended."""
        return self._ended

    def mark(self) -> None:
        """From now on only new text counts: what the screen shows now, and the stream so far, no
        longer match (done by itself whenever keys are sent)."""
        self._baseline = self._joined()
        self._stream_text = ""

    def find(self, patterns: Pattern | Sequence[Pattern], where: Where = "any") -> ExpectMatch | None:
        """Look once, without waiting: the first pattern found (see the module's rules), or None."""
        listed = [patterns] if isinstance(patterns, str | re.Pattern) else list(patterns)
        screen = self._joined() if where != "stream" else ""
        baseline = self._baseline
        for index, pattern in enumerate(listed):
            regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
            if where != "stream":
                for found in regex.finditer(screen):
                    if found.group() and baseline[found.start() : found.end()] != found.group():
                        row = screen.count("\n", 0, found.start())
                        column = found.start() - (screen.rfind("\n", 0, found.start()) + 1)
                        return ExpectMatch(pattern, index, "screen", found.group(), found, row, column)
            if where != "screen":
                hit = regex.search(self._stream_text)
                if hit is not None and hit.group():
                    return ExpectMatch(pattern, index, "stream", hit.group(), hit)
        return None

    async def expect(
        self,
        patterns: Pattern | Sequence[Pattern],
        timeout: float = DEFAULT_TIMEOUT,
        *,
        where: Where = "any",
    ) -> ExpectMatch:
        """Wait until one of ``patterns`` (text or compiled regex) shows up.

        Args:
            patterns: one pattern or several (the first one found wins; see ``index``).
            timeout: seconds to wait.
            where: ``any`` (screen or stream), ``screen`` or ``stream``.

        Raises:
            ExpectTimeout: nothing matched in time (the sentence, then the screen's last lines).
            SessionError: the session ended while waiting (closed, timed out, ...).
        """
        listed = [patterns] if isinstance(patterns, str | re.Pattern) else list(patterns)
        what = " or ".join(_describe(p) for p in listed)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._changed.clear()
            found = self.find(listed, where)
            if found is not None:
                return found
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise SessionClosed(f"{self.name} ended the session while we waited for {what}.")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ExpectTimeout(self._timeout_sentence(what, timeout), self.screen_lines())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def _timeout_sentence(self, what: str, timeout: float) -> str:
        last = last_text_line(self.screen_lines())
        shows = f'its last line of text reads "{last}"' if last else "its screen shows no text"
        return f"Timed out after {timeout:g} s waiting for {what} on {self.name} ({shows})."

    # -- keys -------------------------------------------------------------------------------

    async def send(self, data: str | bytes) -> None:
        """Send text (in the console's encoding) or bytes as they are, all at once."""
        raw = data.encode(self.decoder.active, "replace") if isinstance(data, str) else data
        await self._write(raw)

    async def send_keys(self, *keys: str) -> None:
        """Press keys by name (``"F2"``, ``"Enter"``, ``"Down"``, ``"Ctrl-Alt-Del"``), one by one.

        Raises:
            ConfigError: a name that is no key (nothing is sent then).
        """
        pieces = [self._key(name) for name in keys]
        await self._write_paced(pieces)

    async def type_text(self, text: str) -> None:
        """Type ``text`` at a pace BIOS fields keep up with; ``<enter>``, ``<f2>``... are keys and
        a line end is Enter (as the TUI's "send text" field)."""
        encoding = self.decoder.active
        await self._write_paced(
            send_text_chunks(text, self.key_mode, self.enter, self.backspace, encoding=encoding)
        )

    def _key(self, name: str) -> bytes:
        return key_bytes(name, self.key_mode, self.enter, self.backspace, encoding=self.decoder.active)

    async def _write_paced(self, pieces: Sequence[bytes]) -> None:
        for n, piece in enumerate(pieces):
            if n:
                await asyncio.sleep(KEY_GAP)
            await self._write(piece)

    async def _write(self, data: bytes) -> None:
        if self._ended:
            if self._error is not None:
                raise self._error
            raise SessionClosed(f"{self.name} ended the session: nothing more can be sent.")
        self.mark()
        await self.client.write(data)
        if self.recorder is not None:
            self.recorder.input(data)

    # -- the end ----------------------------------------------------------------------------

    async def close(self) -> None:
        """End the SOL session politely and close the recorder (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.client.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5)
        except TimeoutError:
            self._reader.cancel()
        finally:
            if self.recorder is not None:
                self.recorder.close()

    async def __aenter__(self) -> Console:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


_WORD = re.compile(r"[^\W\d_]{2,}")  # two letters or more: text, not a clock digit or a frame


def last_text_line(rows: Sequence[str]) -> str | None:
    """The last row of the screen with words on it, its frame and runs of spaces trimmed, or None.

    A timeout quotes it; a row of a lone clock digit or of box drawing is no line of text.
    """
    for row in reversed(rows):
        if _WORD.search(row):
            return " ".join(row.strip(" \u2500\u2502\u2550\u2551\u255a\u255d\u2554\u2557|-=").split())
    return None

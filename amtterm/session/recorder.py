"""Console recording: asciicast v2 files (asciinema plays them) and plain-text logs for tickets.

    rec = ConsoleRecorder(cast=AsciicastWriter.open(path), log=PlainLogWriter.open(log))
    rec.output(b"...")            # every chunk of host output, as it arrives
    rec.power(False)              # a marker: "power off"
    rec.input(b"keys")            # dropped unless record_input=True, and while a password prompt is up
    rec.close()

The writers are plain synchronous classes (tested without a loop); :func:`record_subscription`
feeds a recorder from a :class:`~amtterm.session.console.ConsoleHub` subscription. Every event is
written and flushed as one line, so a crash keeps everything recorded up to it.

Bytes are decoded by the one decoder the console uses (:class:`~amtterm.terminal.decoder.StreamDecoder`,
with the same auto-guess rule), and the plain-text log reads the text as expect's stream does
(:class:`~amtterm.terminal.plaintext.PlainText`: escapes dropped, DEC line drawing translated), so
a recording shows what the console showed.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterable, Callable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from amtterm.errors import ConfigError
from amtterm.terminal.decoder import StreamDecoder
from amtterm.terminal.plaintext import MOVED, PlainText


def _decoder(encoding: str) -> StreamDecoder:
    """The console's decoder for a recording: BIOS screens are CP437, Linux consoles UTF-8, and
    ``auto`` guesses by the console's rule (:class:`~amtterm.terminal.decoder.AutoDecoder`).

    Raises:
        ConfigError: an unknown encoding, in one sentence.
    """
    try:
        return StreamDecoder(encoding)
    except ValueError:
        raise ConfigError(f"Cannot record in {encoding!r}: choose auto, cp437 or utf-8.") from None


def _open_for_writing(path: Path, what: str) -> IO[str]:
    try:
        return path.open("w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise ConfigError(f"Cannot write the {what} {path}: {exc.strerror or exc}.") from None


class AsciicastWriter:
    """Writes an asciicast v2 stream: a JSON header line, then one JSON event line per event.

    Args:
        stream: where the lines go (text, UTF-8); closed by :meth:`close` only if ``owns_stream``.
        width, height: the remote screen size.
        encoding: ``auto``, ``cp437`` or ``utf-8``, decoded as the console decodes them.
        record_input: write keystrokes as ``"i"`` events; off by default.
        title: the header's title (optional).
        clock: seconds, monotonic (tests pass a fake one).
        timestamp: the header's Unix start time (default: now).
    """

    def __init__(
        self,
        stream: IO[str],
        *,
        width: int = 80,
        height: int = 25,
        encoding: str = "auto",
        record_input: bool = False,
        title: str | None = None,
        term: str = "xterm-256color",
        clock: Callable[[], float] = time.monotonic,
        timestamp: int | None = None,
        owns_stream: bool = False,
    ) -> None:
        self.stream = stream
        self.record_input = record_input
        #: True while a password prompt is up: keystrokes are then never written, whatever record_input says.
        self.input_paused = False
        self._owns_stream = owns_stream
        self._clock = clock
        self._start = clock()
        self._last = 0.0
        self._decoder = _decoder(encoding)
        self.closed = False
        header: dict[str, Any] = {
            "version": 2,
            "width": width,
            "height": height,
            "timestamp": int(time.time()) if timestamp is None else timestamp,
        }
        if title:
            header["title"] = title
        header["env"] = {"TERM": term}
        self._line(header)

    @classmethod
    def open(cls, path: Path, **kwargs: Any) -> AsciicastWriter:
        """Create (or truncate) ``path`` and write the header."""
        return cls(_open_for_writing(path, "recording"), owns_stream=True, **kwargs)

    def _line(self, value: object) -> None:
        if self.closed:
            return
        self.stream.write(json.dumps(value, ensure_ascii=False) + "\n")
        self.stream.flush()

    def _now(self) -> float:
        # Never backwards, even with a clock that jitters: players expect ordered times.
        self._last = max(self._last, round(self._clock() - self._start, 6))
        return self._last

    def output(self, data: bytes) -> None:
        """Record host output."""
        text = self._decoder.decode(data)
        if text:
            self._line([self._now(), "o", text])

    def marker(self, label: str) -> None:
        """Record a marker (asciinema shows them as chapters)."""
        self._line([self._now(), "m", label])

    def input(self, data: bytes) -> None:
        """Record keys typed, only when asked to and never during a password prompt."""
        if self.record_input and not self.input_paused and data:
            self._line([self._now(), "i", data.decode("utf-8", errors="replace")])

    @contextlib.contextmanager
    def password_prompt(self) -> Iterator[None]:
        """While inside, keystrokes are not recorded."""
        paused, self.input_paused = self.input_paused, True
        try:
            yield
        finally:
            self.input_paused = paused

    def close(self) -> None:
        """Write what the decoder still holds and close the file (if it was ours)."""
        if self.closed:
            return
        tail = self._decoder.flush()
        if tail:
            self._line([self._now(), "o", tail])
        self.closed = True
        if self._owns_stream:
            self.stream.close()


class PlainLogWriter:
    """The console as plain text: escapes stripped, one line per line, for pasting into tickets.

    Args:
        stream: where the lines go (text, UTF-8); closed by :meth:`close` only if ``owns_stream``.
        encoding: ``auto``, ``cp437`` or ``utf-8``, decoded as the console decodes them.
    """

    def __init__(self, stream: IO[str], *, encoding: str = "auto", owns_stream: bool = False) -> None:
        self.stream = stream
        self._owns_stream = owns_stream
        self._decoder = _decoder(encoding)
        self._plain = PlainText()
        self._line: list[str] = []
        self.closed = False

    @classmethod
    def open(cls, path: Path, **kwargs: Any) -> PlainLogWriter:
        """Create (or truncate) ``path``."""
        return cls(_open_for_writing(path, "log"), owns_stream=True, **kwargs)

    def _end_line(self) -> None:
        line = "".join(self._line).rstrip()
        self._line = []
        if not self.closed:
            self.stream.write(line + "\n")
            self.stream.flush()

    def output(self, data: bytes) -> None:
        """Add host output."""
        for piece in self._plain.pieces(self._decoder.decode(data)):
            if piece is MOVED:
                if "".join(self._line).strip():
                    self._end_line()
            else:
                self._text(piece)

    def _text(self, text: str) -> None:
        for char in text:
            if char == "\n":
                self._end_line()
            elif char == "\b":
                if self._line:
                    self._line.pop()
            elif char == "\t" or (char >= " " and char != "\x7f"):
                self._line.append(char)
            # CR and other controls: nothing to show in a text log

    def marker(self, label: str) -> None:
        """Note an event on a line of its own."""
        if "".join(self._line).strip():
            self._end_line()
        self._line = list(f"[amtterm: {label}]")
        self._end_line()

    def close(self) -> None:
        """Write the unfinished last line and close the file (if it was ours)."""
        if self.closed:
            return
        for piece in self._plain.pieces(self._decoder.flush()):
            if piece is not MOVED:
                self._text(piece)
        if self._line:
            self._end_line()
        self.closed = True
        if self._owns_stream:
            self.stream.close()


class Recorder(Protocol):
    """What a console feeds (see :class:`ConsoleRecorder`)."""

    def output(self, data: bytes) -> None: ...
    def power(self, powered: bool) -> None: ...
    def marker(self, label: str) -> None: ...
    def input(self, data: bytes) -> None: ...
    def close(self) -> None: ...


class ConsoleRecorder:
    """An asciicast, a plain-text log, or both, fed as one."""

    def __init__(self, cast: AsciicastWriter | None = None, log: PlainLogWriter | None = None) -> None:
        self.cast = cast
        self.log = log

    def output(self, data: bytes) -> None:
        """Host output."""
        if self.cast:
            self.cast.output(data)
        if self.log:
            self.log.output(data)

    def marker(self, label: str) -> None:
        """A power or boot event."""
        if self.cast:
            self.cast.marker(label)
        if self.log:
            self.log.marker(label)

    def power(self, powered: bool) -> None:
        """The machine powered on or off."""
        self.marker("power on" if powered else "power off")

    def input(self, data: bytes) -> None:
        """Keys typed (only an asciicast asked to record input keeps them; a log never does)."""
        if self.cast:
            self.cast.input(data)

    def close(self) -> None:
        """Finish both files."""
        for writer in (self.cast, self.log):
            if writer:
                writer.close()


async def record_subscription(
    chunks: AsyncIterable[bytes], recorder: Recorder, *, close: bool = True
) -> None:
    """Feed every chunk of a ConsoleHub subscription to ``recorder`` until it ends."""
    try:
        async for chunk in chunks:
            recorder.output(chunk)
    finally:
        if close:
            recorder.close()

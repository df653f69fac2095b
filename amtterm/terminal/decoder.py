"""Incremental decoders that turn a remote console's bytes into text for the terminal emulator.

A serial console sends bytes, and nothing on the wire says which character set they are in:
firmware (BIOS setup, POST, boot menus) draws with single CP437 bytes, a booted OS usually
speaks UTF-8. This module decodes either, and can guess.

Rules every decoder here keeps:

* Bytes 0x00-0x7F decode to themselves, so C0 controls (ESC, CR, LF, BS, SO/SI...) stay
  controls for the emulator; they are never shown as CP437's graphic glyphs (☺, ♪, ←...).
* CP437 uses Python's ``cp437`` codec for 0x80-0xFF, which is the IBM table: 0xB0 is U+2591
  LIGHT SHADE, 0xB1 U+2592 MEDIUM SHADE, 0xB2 U+2593 DARK SHADE (MeshCommander swaps
  0xB0 and 0xB2), 0xDB U+2588 FULL BLOCK, 0xC9 U+2554 ╔, 0xCD U+2550 ═.
* Invalid input never stalls the screen: in UTF-8 an invalid byte is shown at once, as its
  CP437 glyph (default) or as U+FFFD; a sequence cut at the end of a read waits for the next
  read only, and :meth:`Utf8Decoder.flush` shows it when the stream goes quiet.
* "auto" decides per read, before decoding it, from what the bytes look like (see
  :class:`AutoDecoder`), and switches with hysteresis so one odd byte does not flip it; a read
  that holds a byte UTF-8 cannot have is shown as CP437 as a whole.
* This is the ONE decoder: the console, the share viewers, the recordings and expect all decode
  with :class:`StreamDecoder`, so with the same chunks they all show the same text.

Escape sequences and DEC special graphics (``ESC ( 0``) are the screen model's business
(:mod:`amtterm.terminal.screen`, and :mod:`amtterm.terminal.plaintext` for logs): these decoders
pass all ASCII through unchanged.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import Final, Literal, Protocol

Encoding = Literal["utf-8", "cp437", "auto"]
#: The encodings a host can be set to.
ENCODINGS: Final[tuple[Encoding, ...]] = ("utf-8", "cp437", "auto")
Invalid = Literal["cp437", "replace"]

_FALLBACK: Final = "amtterm-cp437-fallback"


def _cp437_fallback(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: show each invalid byte as its CP437 glyph and go on."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("cp437"), error.end


codecs.register_error(_FALLBACK, _cp437_fallback)

# One well-formed multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
_UTF8_SEQUENCE: Final = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]"
    rb"|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
# The start of a multi-byte sequence that may still complete in the next read.
_UTF8_CUT: Final = re.compile(rb"(?:[\xc2-\xf4]|[\xe0-\xf4][\x80-\xbf]|[\xf0-\xf4][\x80-\xbf]{2})\Z")
_ASCII: Final = bytes(range(0x80))


def normalize_encoding(name: str) -> Encoding:
    """The canonical spelling of an encoding name ("UTF8", "ibm437", "Auto" ...).

    Args:
        name: what a user or a hosts file wrote.

    Returns:
        ``"utf-8"``, ``"cp437"`` or ``"auto"``.

    Raises:
        ValueError: a name that is none of those.
    """
    key = name.strip().lower().replace("_", "-")
    if key in ("utf-8", "utf8"):
        return "utf-8"
    if key in ("cp437", "ibm437", "437", "cp-437", "ibm-437", "dos"):
        return "cp437"
    if key == "auto":
        return "auto"
    raise ValueError(f"unknown encoding {name!r}: use utf-8, cp437 or auto")


class ByteDecoder(Protocol):
    """What the terminal needs from a decoder."""

    def decode(self, data: bytes) -> str:
        """Decode one read; bytes of a sequence cut at the end may be held for the next."""

    def flush(self) -> str:
        """Show whatever is held (the stream went quiet)."""

    def reset(self) -> None:
        """Forget held bytes."""


class Cp437Decoder:
    """CP437 (IBM PC) bytes; stateless, never holds a byte."""

    def decode(self, data: bytes) -> str:
        """Decode one read."""
        return data.decode("cp437")

    def flush(self) -> str:
        """Nothing is ever held."""
        return ""

    def reset(self) -> None:
        """Nothing to forget."""

    @property
    def pending(self) -> bytes:
        """Always empty."""
        return b""


class Utf8Decoder:
    """UTF-8 that shows invalid bytes at once instead of waiting or dropping them.

    Args:
        invalid: ``"cp437"`` shows an invalid byte as its CP437 glyph (a CP437 box drawn on a
            host set to UTF-8 still looks right), ``"replace"`` shows U+FFFD.
    """

    def __init__(self, invalid: Invalid = "cp437") -> None:
        errors = _FALLBACK if invalid == "cp437" else "replace"
        self.invalid: Invalid = invalid
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors)

    @property
    def pending(self) -> bytes:
        """Bytes of an incomplete sequence held for the next read."""
        held, _flags = self._decoder.getstate()
        return held

    def decode(self, data: bytes) -> str:
        """Decode one read; a sequence cut at the end is held (at most 3 bytes)."""
        return self._decoder.decode(data)

    def flush(self) -> str:
        """Show the held bytes as invalid input (the rest of the sequence is not coming)."""
        text = self._decoder.decode(b"", final=True)
        self._decoder.reset()
        return text

    def reset(self) -> None:
        """Drop held bytes."""
        self._decoder.reset()


def utf8_evidence(data: bytes) -> tuple[int, int]:
    """Count what speaks for UTF-8 and what against it in ``data``.

    A sequence cut at the very end counts for neither side.

    Args:
        data: raw console bytes.

    Returns:
        (well-formed multi-byte UTF-8 sequences, high bytes 0x80-0xFF that belong to none).
    """
    if data.isascii():
        return 0, 0
    cut = _UTF8_CUT.search(data, max(0, len(data) - 3))
    if cut is not None:
        data = data[: cut.start()]
    sequences = _UTF8_SEQUENCE.findall(data)
    high = len(data.translate(None, _ASCII))
    return len(sequences), high - sum(len(seq) for seq in sequences)


class AutoDecoder:
    """Guesses UTF-8 or CP437 from the stream and decodes each read by the guess and its bytes.

    The guess is a score: each well-formed multi-byte UTF-8 sequence adds :attr:`VALID_WEIGHT`,
    each high byte that is not part of one subtracts 1, and the score is kept within
    ±:attr:`LIMIT`. The guess becomes CP437 when the score falls to -:attr:`THRESHOLD` and UTF-8
    again only when it climbs to +:attr:`THRESHOLD` (hysteresis). A read is scored before it is
    decoded, so the first CP437 box a BIOS draws is already decoded as CP437.

    Then each read (with the bytes an earlier read left unfinished):

    * guess CP437: decoded as CP437. Well-formed UTF-8 is only evidence, not proof: CP437 art
      is full of accidental pairs (``═╗`` is 0xCD 0xBB, a valid UTF-8 "ͻ"), so a few UTF-8
      characters after a BIOS screen show as CP437 until their score turns the guess;
    * guess UTF-8 and the read is well-formed UTF-8 (a sequence cut at its end is held for the
      next read): decoded as UTF-8;
    * guess UTF-8 but the read holds a byte UTF-8 cannot have: it is not UTF-8 text, so the
      whole read is decoded as CP437, accidental pairs included. A BIOS box drawn in small
      reads (a corner ``═╗`` redrawn alone) therefore never shows as "ͻ", even before the
      guess turned.

    Args:
        initial: the guess before any high byte was seen.
    """

    VALID_WEIGHT: Final = 2
    THRESHOLD: Final = 8
    LIMIT: Final = 32

    def __init__(self, initial: Literal["utf-8", "cp437"] = "utf-8") -> None:
        self._initial: Literal["utf-8", "cp437"] = initial
        self.guess: Literal["utf-8", "cp437"] = initial
        self.score = 0
        self._utf8 = Utf8Decoder("cp437")

    @property
    def pending(self) -> bytes:
        """Bytes held for the next read."""
        return self._utf8.pending

    def observe(self, data: bytes) -> bool:
        """Score ``data`` and update the guess.

        Returns:
            Whether the guess changed.
        """
        old = self.guess
        self._weigh(*utf8_evidence(self._utf8.pending + data))
        return self.guess != old

    def _weigh(self, valid: int, invalid: int) -> None:
        if not (valid or invalid):
            return
        score = self.score + valid * self.VALID_WEIGHT - invalid
        self.score = max(-self.LIMIT, min(self.LIMIT, score))
        if self.score <= -self.THRESHOLD:
            self.guess = "cp437"
        elif self.score >= self.THRESHOLD:
            self.guess = "utf-8"

    def decode(self, data: bytes) -> str:
        """Score, then decode one read with the (possibly new) guess."""
        held = self._utf8.pending
        if not held and data.isascii():  # the common case: nothing to weigh or hold
            return data.decode("ascii")
        valid, invalid = utf8_evidence(held + data)
        self._weigh(valid, invalid)
        if self.guess == "utf-8" and not invalid:
            return self._utf8.decode(data)
        if held:
            self._utf8.reset()
        return (held + data).decode("cp437")

    def flush(self) -> str:
        """Show held bytes."""
        return self._utf8.flush()

    def reset(self) -> None:
        """Back to the initial guess, nothing held."""
        self._utf8.reset()
        self.guess = self._initial
        self.score = 0


class StreamDecoder:
    """The decoder a terminal owns: UTF-8, CP437 or auto, switchable between reads.

    Args:
        encoding: ``"utf-8"``, ``"cp437"`` or ``"auto"`` (other spellings are normalized).
        invalid: how UTF-8 mode shows invalid bytes (``"cp437"`` glyph or ``"replace"``).
    """

    def __init__(self, encoding: str = "auto", *, invalid: Invalid = "cp437") -> None:
        self._auto = AutoDecoder()
        self._utf8 = Utf8Decoder(invalid)
        self._cp437 = Cp437Decoder()
        self._encoding: Encoding = normalize_encoding(encoding)
        self._current: ByteDecoder = self._pick(self._encoding)

    def _pick(self, encoding: Encoding) -> ByteDecoder:
        if encoding == "utf-8":
            return self._utf8
        if encoding == "cp437":
            return self._cp437
        return self._auto

    @property
    def encoding(self) -> Encoding:
        """The chosen encoding (``"auto"`` included)."""
        return self._encoding

    def set_encoding(self, encoding: str) -> str:
        """Switch live; returns the text of bytes the old decoder held (decode it before new reads).

        Raises:
            ValueError: an unknown encoding name.
        """
        new = normalize_encoding(encoding)
        held = self._current.flush()
        self._encoding = new
        self._current = self._pick(new)
        return held

    @property
    def active(self) -> Literal["utf-8", "cp437"]:
        """The encoding the next read is decoded with (for auto: the current guess)."""
        if self._encoding == "auto":
            return self._auto.guess
        return self._encoding

    @property
    def pending(self) -> bytes:
        """Bytes held for the next read (an incomplete UTF-8 sequence)."""
        if self._current is self._cp437:
            return b""
        return self._utf8.pending if self._current is self._utf8 else self._auto.pending

    def decode(self, data: bytes) -> str:
        """Decode one read."""
        return self._current.decode(data)

    def flush(self) -> str:
        """Show held bytes (call when no read followed for a moment)."""
        return self._current.flush()

    def reset(self) -> None:
        """Forget held bytes and the auto guess."""
        for decoder in (self._auto, self._utf8, self._cp437):
            decoder.reset()


def terminal_converter(charset: str) -> Callable[[bytes], bytes]:
    """Remote bytes -> what a local UTF-8 terminal is given: ``raw`` as they are, else decoded by
    the one decoder (``auto``, ``cp437`` or ``utf-8``), so a raw console shows what the TUI shows."""
    if charset == "raw":
        return bytes
    decoder = StreamDecoder(charset)
    return lambda chunk: decoder.decode(chunk).encode("utf-8", "replace")

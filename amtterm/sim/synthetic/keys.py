"""Decode the bytes a serial console sends into the keys a PC's firmware would see.

A BIOS reading its serial port has no keyboard scan codes, only bytes, so every vendor picked a
way to spell keys that ASCII lacks. This decoder accepts all the common spellings at once:

* Enter: CR, LF, or CR LF (one key press; the LF of a CR LF pair is swallowed, even when it
  arrives in a later read). A NUL after CR (telnet style) is ignored.
* Backspace: BS (0x08) or DEL (0x7F). Tab: HT (0x09).
* Arrows: ``ESC [ A``..``ESC [ D`` (any CSI parameters, e.g. ``ESC [ 1 ; 5 A``) and the
  application-mode ``ESC O A``..``ESC O D``.
* Function keys, in the three BIOS conventions plus the usual terminal ones:

  ====== ============ ============ ============== ===========
  key    "Intel"      SS3 / VT100+ "alternate"    xterm CSI
  ====== ============ ============ ============== ===========
  F1-F4  ESC [ O P..S ESC O P..S   ESC 1..ESC 4   ESC [ 11~..14~
  F5-F8  ESC [ O T..W ESC O T..W   ESC 5..ESC 8   ESC [ 15~, 17~..19~
  F9     ESC [ O X    ESC O X      ESC 9          ESC [ 20~
  F10    ESC [ O Y    ESC O Y      ESC 0          ESC [ 21~
  F11    ESC [ O Z    ESC O Z      ESC !          ESC [ 23~
  F12    ESC [ O [    ESC O [      ESC @          ESC [ 24~
  ====== ============ ============ ============== ===========

  The Linux console's ``ESC [ [ A``..``ESC [ [ E`` (F1-F5) is accepted too.
* Home/End/Insert/Delete/PgUp/PgDn: CSI ``~`` forms (1/7, 4/8, 2, 3, 5, 6), ``ESC [ H`` /
  ``ESC [ F``, ``ESC O H`` / ``ESC O F``, and the headless-console forms ``ESC h``, ``ESC k``,
  ``ESC +``, ``ESC -``, ``ESC ?``, ``ESC /``.
* Ctrl-Alt-Del: ``ESC R ESC r ESC R``.
* Esc: a lone ESC byte, decided only when no further byte arrives within
  :data:`ESC_TIMEOUT` seconds (an escape sequence may be split across reads); ESC ESC is Esc
  followed by whatever the second ESC starts. ESC followed by a byte that starts nothing above
  is Esc, then that byte as its own key.

Unknown but well-formed CSI sequences are swallowed, as a terminal would.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class KeyName(StrEnum):
    """What a decoded key is; ``CHAR`` carries its character in :attr:`Key.char`."""

    CHAR = "char"
    ENTER = "enter"
    BACKSPACE = "backspace"
    TAB = "tab"
    ESC = "esc"
    UP = "up"
    DOWN = "down"
    LEFT = "left"
    RIGHT = "right"
    HOME = "home"
    END = "end"
    INSERT = "insert"
    DELETE = "delete"
    PAGE_UP = "page-up"
    PAGE_DOWN = "page-down"
    F1 = "f1"
    F2 = "f2"
    F3 = "f3"
    F4 = "f4"
    F5 = "f5"
    F6 = "f6"
    F7 = "f7"
    F8 = "f8"
    F9 = "f9"
    F10 = "f10"
    F11 = "f11"
    F12 = "f12"
    CTRL_ALT_DEL = "ctrl-alt-del"


@dataclass(frozen=True, slots=True)
class Key:
    """One key press.

    Attributes:
        name: which key.
        char: for ``KeyName.CHAR``, the character (bytes 0x80-0xFF map to U+0080-U+00FF,
            control bytes such as Ctrl-C 0x03 stay control characters); "" otherwise.
    """

    name: KeyName
    char: str = ""

    @classmethod
    def of(cls, char: str) -> Key:
        """The key that types ``char``."""
        return cls(KeyName.CHAR, char)

    def __str__(self) -> str:
        return repr(self.char) if self.name is KeyName.CHAR else self.name.value


#: Seconds a lone ESC waits for a following byte before it counts as the Esc key.
ESC_TIMEOUT: Final = 0.25

_ESC = 0x1B
_FKEYS: Final = (
    KeyName.F1, KeyName.F2, KeyName.F3, KeyName.F4, KeyName.F5, KeyName.F6,
    KeyName.F7, KeyName.F8, KeyName.F9, KeyName.F10, KeyName.F11, KeyName.F12,
)  # fmt: skip
#: Final bytes P Q R S T U V W X Y Z [ after ``ESC O`` or ``ESC [ O``: F1..F12.
_LETTER_FKEYS: Final = {ord(c): _FKEYS[n] for n, c in enumerate("PQRSTUVWXYZ[")}
_ARROWS: Final = {
    ord("A"): KeyName.UP, ord("B"): KeyName.DOWN, ord("C"): KeyName.RIGHT, ord("D"): KeyName.LEFT,
}  # fmt: skip
_SS3: Final = {
    **_ARROWS, **_LETTER_FKEYS, ord("H"): KeyName.HOME, ord("F"): KeyName.END, ord("M"): KeyName.ENTER,
}  # fmt: skip
#: ``ESC <byte>`` forms: digits and ! @ for F-keys ("alternate"), headless navigation keys.
_ESC_BYTE: Final = {
    **{ord(str((n + 1) % 10)): _FKEYS[n] for n in range(10)},
    ord("!"): KeyName.F11,
    ord("@"): KeyName.F12,
    ord("h"): KeyName.HOME,
    ord("k"): KeyName.END,
    ord("+"): KeyName.INSERT,
    ord("-"): KeyName.DELETE,
    ord("?"): KeyName.PAGE_UP,
    ord("/"): KeyName.PAGE_DOWN,
}
#: ``ESC [ n ~`` forms.
_TILDE: Final = {
    1: KeyName.HOME, 7: KeyName.HOME, 2: KeyName.INSERT, 3: KeyName.DELETE,
    4: KeyName.END, 8: KeyName.END, 5: KeyName.PAGE_UP, 6: KeyName.PAGE_DOWN,
    11: KeyName.F1, 12: KeyName.F2, 13: KeyName.F3, 14: KeyName.F4, 15: KeyName.F5,
    17: KeyName.F6, 18: KeyName.F7, 19: KeyName.F8, 20: KeyName.F9, 21: KeyName.F10,
    23: KeyName.F11, 24: KeyName.F12,
}  # fmt: skip
_CSI_FINAL: Final = {**_ARROWS, ord("H"): KeyName.HOME, ord("F"): KeyName.END}
_CTRL_ALT_DEL: Final = b"\x1bR\x1br\x1bR"
_MAX_CSI: Final = 24  # a CSI longer than this without a final byte is garbage

# What _match reports: the keys of one complete sequence and the bytes it used, or None
# when the bytes so far are a proper prefix of a longer sequence.
_Match = tuple[list[Key], int] | None


class KeyDecoder:
    """Turns serial input bytes into :class:`Key` presses; see the module docstring for the forms.

    Args:
        esc_timeout: seconds a lone ESC waits for a following byte.
    """

    def __init__(self, esc_timeout: float = ESC_TIMEOUT) -> None:
        self.esc_timeout = esc_timeout
        self._pending = b""
        self._last = 0.0
        self._after_cr = False
        #: The convention of the last F-key decoded: "intel", "ss3", "alternate", "xterm" or "linux".
        self.last_fkey_convention: str | None = None

    def reset(self) -> None:
        """Forget any half-received sequence (power cycle)."""
        self._pending = b""
        self._after_cr = False

    @property
    def pending(self) -> bool:
        """Whether an incomplete escape sequence is waiting for more bytes."""
        return bool(self._pending)

    def deadline(self) -> float | None:
        """When a waiting incomplete sequence resolves by timeout, or None."""
        return self._last + self.esc_timeout if self._pending else None

    def feed(self, data: bytes, now: float) -> list[Key]:
        """Decode bytes received at ``now``.

        A sequence left incomplete by earlier bytes first times out if ``now`` is past its
        deadline; otherwise the new bytes continue it.

        Returns:
            The keys completed by these bytes (an incomplete sequence stays pending).
        """
        keys = self.flush(now)
        buf = self._pending + data
        self._pending = b""
        i = 0
        while i < len(buf):
            match = self._match(buf, i)
            if match is None:
                self._pending = buf[i:]
                self._last = now
                break
            found, used = match
            keys.extend(found)
            i += used
        return keys

    def flush(self, now: float) -> list[Key]:
        """Resolve a waiting sequence whose timeout has passed at ``now``.

        Returns:
            The keys it makes (a lone ESC becomes Esc), or [] when nothing is due.
        """
        if not self._pending or now < self._last + self.esc_timeout:
            return []
        buf, self._pending = self._pending, b""
        keys: list[Key] = []
        i = 0
        while i < len(buf):
            match = self._match(buf, i)
            if match is None:  # still a prefix: its ESC stands alone
                keys.append(Key(KeyName.ESC))
                i += 1
                continue
            found, used = match
            keys.extend(found)
            i += used
        return keys

    # -- the grammar ------------------------------------------------------------------------

    def _match(self, buf: bytes, i: int) -> _Match:
        byte = buf[i]
        if byte == _ESC:
            self._after_cr = False
            return self._match_escape(buf, i)
        if byte == 0x00:
            return [], 1
        if byte == 0x0A and self._after_cr:
            self._after_cr = False
            return [], 1
        self._after_cr = byte == 0x0D
        if byte in (0x0D, 0x0A):
            return [Key(KeyName.ENTER)], 1
        if byte in (0x08, 0x7F):
            return [Key(KeyName.BACKSPACE)], 1
        if byte == 0x09:
            return [Key(KeyName.TAB)], 1
        return [Key.of(chr(byte))], 1

    def _match_escape(self, buf: bytes, i: int) -> _Match:
        if i + 1 >= len(buf):
            return None
        second = buf[i + 1]
        if second == ord("["):
            return self._match_csi(buf, i)
        if second == ord("O"):
            if i + 2 >= len(buf):
                return None
            name = _SS3.get(buf[i + 2])
            if name is None:
                return self._lone_escape()
            self._note_fkey(name, "ss3")
            return [Key(name)], 3
        if second == ord("R"):
            tail = buf[i : i + len(_CTRL_ALT_DEL)]
            if tail == _CTRL_ALT_DEL:
                return [Key(KeyName.CTRL_ALT_DEL)], len(_CTRL_ALT_DEL)
            if _CTRL_ALT_DEL.startswith(tail):
                return None
            return self._lone_escape()
        name = _ESC_BYTE.get(second)
        if name is not None:
            self._note_fkey(name, "alternate")
            return [Key(name)], 2
        return self._lone_escape()

    def _match_csi(self, buf: bytes, i: int) -> _Match:
        j = i + 2
        if j >= len(buf):
            return None
        third = buf[j]
        if third == ord("O"):  # the "Intel" F-key form ESC [ O P .. ESC [ O [
            if j + 1 >= len(buf):
                return None
            name = _LETTER_FKEYS.get(buf[j + 1])
            if name is None:
                return [], 3  # a CSI with final byte 'O': unknown, swallowed
            self._note_fkey(name, "intel")
            return [Key(name)], 4
        if third == ord("["):  # Linux console F1-F5
            if j + 1 >= len(buf):
                return None
            code = buf[j + 1]
            if ord("A") <= code <= ord("E"):
                name = _FKEYS[code - ord("A")]
                self._note_fkey(name, "linux")
                return [Key(name)], 4
            return self._lone_escape()
        k = j
        while k < len(buf) and 0x30 <= buf[k] <= 0x3F:  # parameter bytes
            k += 1
        while k < len(buf) and 0x20 <= buf[k] <= 0x2F:  # intermediate bytes
            k += 1
        if k >= len(buf):
            return None if k - i < _MAX_CSI else self._lone_escape()
        final = buf[k]
        if not 0x40 <= final <= 0x7E:
            return self._lone_escape()
        used = k + 1 - i
        params = buf[j:k].decode("ascii", "replace")
        first = params.split(";", 1)[0]
        if final == ord("~"):
            name = _TILDE.get(int(first)) if first.isdigit() else None
            if name is not None:
                self._note_fkey(name, "xterm")
            return ([Key(name)] if name else []), used
        if ord("P") <= final <= ord("S"):  # ESC [ 1 ; 2 P and friends (modified F1-F4)
            name = _FKEYS[final - ord("P")]
            self._note_fkey(name, "xterm")
            return [Key(name)], used
        name = _CSI_FINAL.get(final)
        return ([Key(name)] if name else []), used

    @staticmethod
    def _lone_escape() -> _Match:
        """ESC followed by something that starts no known sequence: Esc, then re-read the rest."""
        return [Key(KeyName.ESC)], 1

    def _note_fkey(self, name: KeyName, convention: str) -> None:
        if name in _FKEYS:
            self.last_fkey_convention = convention

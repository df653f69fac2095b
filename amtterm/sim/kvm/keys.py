"""Keys from a KVM console (RFB KeyEvent, X keysyms) as the bytes a serial console would send.

The synthetic PC reads its keyboard as a serial port (:mod:`amtterm.sim.synthetic.keys`), so a
key pressed in a KVM viewer becomes what a VT100-style terminal sends for it: printable keysyms
as their character, Enter CR, Backspace DEL, Tab HT, Esc ESC, arrows ``ESC [ A``-``D``,
Home/End/Insert/Delete/PgUp/PgDn as ``ESC [ n ~``, F1-F4 ``ESC O P``-``S`` and F5-F12 ``ESC [ n ~``.
Control with a letter gives the control byte; Ctrl-Alt-Del gives ``ESC R ESC r ESC R`` (the
headless-console spelling). Only key presses produce bytes; releases only track the modifiers.
"""

from __future__ import annotations

from typing import Final

_CSI: Final = b"\x1b["
SPECIAL: Final[dict[int, bytes]] = {
    0xFF08: b"\x7f",  # BackSpace
    0xFF09: b"\t",  # Tab
    0xFE20: b"\x1b[Z",  # ISO_Left_Tab (Shift-Tab)
    0xFF0D: b"\r",  # Return
    0xFF8D: b"\r",  # KP_Enter
    0xFF1B: b"\x1b",  # Escape
    0xFF50: _CSI + b"1~",  # Home
    0xFF51: _CSI + b"D",  # Left
    0xFF52: _CSI + b"A",  # Up
    0xFF53: _CSI + b"C",  # Right
    0xFF54: _CSI + b"B",  # Down
    0xFF55: _CSI + b"5~",  # Page_Up
    0xFF56: _CSI + b"6~",  # Page_Down
    0xFF57: _CSI + b"4~",  # End
    0xFF63: _CSI + b"2~",  # Insert
    0xFFFF: _CSI + b"3~",  # Delete
    0xFFBE: b"\x1bOP",  # F1
    0xFFBF: b"\x1bOQ",  # F2
    0xFFC0: b"\x1bOR",  # F3
    0xFFC1: b"\x1bOS",  # F4
    0xFFC2: _CSI + b"15~",  # F5
    0xFFC3: _CSI + b"17~",
    0xFFC4: _CSI + b"18~",
    0xFFC5: _CSI + b"19~",
    0xFFC6: _CSI + b"20~",
    0xFFC7: _CSI + b"21~",  # F10
    0xFFC8: _CSI + b"23~",
    0xFFC9: _CSI + b"24~",  # F12
}
#: Keypad keysyms that type a character (digits, operators).
_KEYPAD: Final = {0xFFAA + i: c for i, c in enumerate("*+,-./0123456789")}
CONTROL: Final = frozenset({0xFFE3, 0xFFE4})
ALT: Final = frozenset({0xFFE9, 0xFFEA, 0xFFE7, 0xFFE8})
DELETE_KEYS: Final = frozenset({0xFFFF, 0xFF9F})
CTRL_ALT_DEL: Final = b"\x1bR\x1br\x1bR"


class KeyTranslator:
    """Turns a KVM console's key events into serial bytes, tracking Control and Alt."""

    def __init__(self) -> None:
        self._down: set[int] = set()

    def key(self, keysym: int, down: bool) -> bytes:
        """One RFB KeyEvent; the bytes it types (b"" for releases and modifiers)."""
        if keysym in CONTROL | ALT:
            if down:
                self._down.add(keysym)
            else:
                self._down.discard(keysym)
            return b""
        if not down:
            return b""
        control = bool(self._down & CONTROL)
        alt = bool(self._down & ALT)
        if control and alt and keysym in DELETE_KEYS:
            return CTRL_ALT_DEL
        special = SPECIAL.get(keysym)
        if special is not None:
            return special
        char = _KEYPAD.get(keysym)
        if char is None:
            if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
                char = chr(keysym)
            elif 0x01000100 <= keysym <= 0x0110FFFF:  # Unicode keysyms
                char = chr(keysym - 0x01000000)
            else:
                return b""
        if control and char.isascii() and (char.isalpha() or char in "@[\\]^_"):
            return bytes([ord(char.upper()) & 0x1F])
        try:
            data = char.encode("cp437")
        except UnicodeEncodeError:
            return b""
        return b"\x1b" + data if alt else data

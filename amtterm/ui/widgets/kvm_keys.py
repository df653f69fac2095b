"""Keys typed in the KVM view -> X keysym presses and releases (RFB KeyEvents, RFC 6143 7.5.4).

A terminal reports a key press as a name (Textual's: ``f2``, ``ctrl+c``, ``shift+tab``,
``alt+x``) and maybe a character; a KVM console sends the keys a PC keyboard would: every
modifier goes down before the key and up after it. Plain text keys send their character's
keysym (Latin-1 keysyms are the code point; others ``0x01000000 | code point``).
Ctrl-Alt-Del never reaches a terminal program: the key bar sends it (``ctrl+alt+delete``).
"""

from __future__ import annotations

import re
from typing import Final

from amtterm.terminal.keymap import key_character

Keysyms = list[tuple[int, bool]]

#: Textual key names -> X keysyms (keysymdef.h).
NAMED: Final[dict[str, int]] = {
    "enter": 0xFF0D,
    "return": 0xFF0D,
    "escape": 0xFF1B,
    "esc": 0xFF1B,
    "tab": 0xFF09,
    "backspace": 0xFF08,
    "delete": 0xFFFF,
    "del": 0xFFFF,
    "insert": 0xFF63,
    "ins": 0xFF63,
    "home": 0xFF50,
    "end": 0xFF57,
    "pageup": 0xFF55,
    "pgup": 0xFF55,
    "pagedown": 0xFF56,
    "pgdn": 0xFF56,
    "up": 0xFF52,
    "down": 0xFF54,
    "left": 0xFF51,
    "right": 0xFF53,
    "space": 0x0020,
    "print": 0xFF61,
    "pause": 0xFF13,
    **{f"f{n}": 0xFFBE + n - 1 for n in range(1, 13)},
}
#: Modifier names -> the left key's keysym.
MODIFIERS: Final[dict[str, int]] = {
    "shift": 0xFFE1,
    "ctrl": 0xFFE3,
    "control": 0xFFE3,
    "alt": 0xFFE9,
    "meta": 0xFFE9,
    "super": 0xFFEB,
    "win": 0xFFEB,
}
#: Where the modifiers go down, first to last.
_ORDER: Final = ("ctrl", "control", "shift", "alt", "meta", "super", "win")


def char_keysym(char: str) -> int:
    """The keysym of one printable character."""
    code = ord(char)
    return code if code <= 0xFF else 0x01000000 | code


def press(keysym: int, modifiers: list[int] | tuple[int, ...] = ()) -> Keysyms:
    """Modifiers down, the key down and up, the modifiers up (in reverse)."""
    return (
        [(mod, True) for mod in modifiers]
        + [(keysym, True), (keysym, False)]
        + [(mod, False) for mod in reversed(modifiers)]
    )


def _base_keysym(base: str, character: str | None) -> int | None:
    if base in NAMED:
        return NAMED[base]
    char = character if character and len(character) == 1 and character.isprintable() else None
    char = char or key_character(base)
    if char is None or len(char) != 1 or not char.isprintable():
        return None
    return char_keysym(char)


def key_keysyms(key: str, character: str | None = None) -> Keysyms | None:
    """The keysym presses for a Textual key event (None: a key the PC has no keysym for).

    Args:
        key: Textual's key name (``a``, ``A``, ``f2``, ``ctrl+c``, ``shift+tab``, ``alt+x``,
            ``ctrl+alt+delete``, ``exclamation_mark``).
        character: the event's printable character, if any (wins for plain keys).
    """
    if character and len(character) == 1 and character.isprintable() and "+" not in key.rstrip("+"):
        return press(char_keysym(character))
    parts = key.split("+")
    base = parts[-1] or "+"
    names = [part for part in parts[:-1] if part]
    if any(name not in MODIFIERS for name in names):
        return None
    keysym = _base_keysym(base, None if names else character)
    if keysym is None:
        return None
    if names == ["ctrl"] and keysym == NAMED["backspace"]:
        names = []  # terminals report Backspace as ctrl+h's cousin: a plain Backspace
    mods = [MODIFIERS[name] for name in sorted(set(names), key=_ORDER.index)]
    if keysym < 0x100 and chr(keysym).isupper() and "shift" in names:
        keysym = ord(chr(keysym).lower())  # Shift is held: the key itself is the lower-case one
    return press(keysym, mods)


_TOKEN = re.compile(r"<([^<>]+)>")


def text_keysyms(text: str) -> Keysyms:
    """The key bar's text field (``admin<enter>``, ``<f2>``, ``<ctrl+alt+delete>``) as keysym presses.

    Unknown ``<names>`` are typed as they are written.
    """
    keys: Keysyms = []
    position = 0
    for match in _TOKEN.finditer(text):
        keys += _literal(text[position : match.start()])
        named = key_keysyms(match.group(1).lower().replace("-", "+"))
        keys += named if named is not None else _literal(match.group(0))
        position = match.end()
    keys += _literal(text[position:])
    return keys


def _literal(text: str) -> Keysyms:
    keys: Keysyms = []
    for char in text:
        if char == "\n":
            keys += press(NAMED["enter"])
        elif char == "\t":
            keys += press(NAMED["tab"])
        elif char.isprintable():
            keys += press(char_keysym(char))
    return keys

"""Key names -> X keysym press/release sequences for RFB KeyEvents (RFC 6143 7.5.4).

A key sequence is words separated by spaces or commas. A word is a named key (``Enter``,
``Esc``, ``F1``..``F12``, ``Up``, ``Tab`` ...), a chord of modifiers and one key joined by
``-`` or ``+`` (``ctrl-alt-del``, ``Shift+Tab``), or literal text in quotes
(``"root"``), typed character by character. A single printable character is itself.
"""

from __future__ import annotations

from amtterm.errors import ConfigError

#: Named keys (X11 keysymdef.h).
NAMED: dict[str, int] = {
    "backspace": 0xFF08,
    "bksp": 0xFF08,
    "tab": 0xFF09,
    "enter": 0xFF0D,
    "return": 0xFF0D,
    "esc": 0xFF1B,
    "escape": 0xFF1B,
    "space": 0x0020,
    "del": 0xFFFF,
    "delete": 0xFFFF,
    "ins": 0xFF63,
    "insert": 0xFF63,
    "home": 0xFF50,
    "left": 0xFF51,
    "up": 0xFF52,
    "right": 0xFF53,
    "down": 0xFF54,
    "pgup": 0xFF55,
    "pageup": 0xFF55,
    "pgdn": 0xFF56,
    "pagedown": 0xFF56,
    "end": 0xFF57,
    "pause": 0xFF13,
    "sysrq": 0xFF15,
    "print": 0xFF61,
    "menu": 0xFF67,
    **{f"f{number}": 0xFFBE + number - 1 for number in range(1, 13)},
}

#: Modifiers (left keys).
MODIFIERS: dict[str, int] = {
    "shift": 0xFFE1,
    "ctrl": 0xFFE3,
    "control": 0xFFE3,
    "alt": 0xFFE9,
    "meta": 0xFFE7,
    "super": 0xFFEB,
    "win": 0xFFEB,
}

_SHIFT = MODIFIERS["shift"]


def char_keys(char: str) -> list[tuple[int, bool]]:
    """One character typed: its keysym down and up (Latin-1 keysyms equal the code point)."""
    code = ord(char)
    if char == "\n":
        code = NAMED["enter"]
    elif char == "\t":
        code = NAMED["tab"]
    elif code < 0x20 or code == 0x7F:
        raise ConfigError(f"The control character {char!r} cannot be typed; name the key instead.")
    elif code > 0xFF:
        code = 0x01000000 | code  # X11 Unicode keysyms
    return [(code, True), (code, False)]


def _key(word: str) -> int | None:
    lower = word.lower()
    if lower in NAMED:
        return NAMED[lower]
    if lower in MODIFIERS:
        return MODIFIERS[lower]
    if len(word) == 1 and word.isprintable():
        return ord(word) if ord(word) <= 0xFF else 0x01000000 | ord(word)
    return None


def chord_keys(word: str) -> list[tuple[int, bool]]:
    """``ctrl-alt-del`` -> ctrl down, alt down, del down, del up, alt up, ctrl up."""
    if len(word) > 1 and (word.endswith("--") or word.endswith("++")):
        parts = [*word[:-2].replace("+", "-").split("-"), word[-1]]
    else:
        parts = word.replace("+", "-").split("-") if len(word) > 1 else [word]
    if any(not part for part in parts):
        raise ConfigError(f"The key {word!r} has an empty part; write keys like ctrl-alt-del or F2.")
    syms = []
    for part in parts:
        sym = _key(part)
        if sym is None:
            raise ConfigError(f"The key {part!r} in {word!r} is unknown; use names like Enter, Esc, F1, Up.")
        syms.append(sym)
    return [(sym, True) for sym in syms] + [(sym, False) for sym in reversed(syms)]


def parse_keys(text: str) -> list[tuple[int, bool]]:
    """A key sequence (see the module docstring) -> (keysym, down) events in order.

    Raises:
        ConfigError: an unknown key name or an unclosed quote (one sentence).
    """
    events: list[tuple[int, bool]] = []
    for word in _raw_words(text):
        if word[:1] in ("'", '"'):
            for char in word[1:-1]:
                events += char_keys(char)
        else:
            events += chord_keys(word)
    return events


def _raw_words(text: str) -> list[str]:
    words: list[str] = []
    current = ""
    quote = ""
    for char in text:
        if quote:
            current += char
            if char == quote:
                quote = ""
        elif char in "'\"":
            if current:
                words.append(current)
            current = char
            quote = char
        elif char in " \t\n,":
            if current:
                words.append(current)
            current = ""
        else:
            current += char
    if quote:
        raise ConfigError(f"The key sequence {text!r} has an unclosed quote.")
    if current:
        words.append(current)
    # A quoted word ends at its closing quote: split "abc"def into "abc" and def.
    split: list[str] = []
    for word in words:
        if word[:1] in "'\"" and len(word) >= 2:
            end = word.index(word[0], 1)
            split.append(word[: end + 1])
            if word[end + 1 :]:
                split.append(word[end + 1 :])
        else:
            split.append(word)
    return split

"""Key names as people write them and as Textual names them: ``Ctrl-]`` <-> ``ctrl+right_square_bracket``.

The prefix key of the console (``--prefix``, the hosts file) is read here, and every help line and
status line names keys through :func:`describe_key`. No Textual: the command line checks
``--prefix`` before any screen exists.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["describe_key", "parse_prefix"]


def describe_key(key: str) -> str:
    """A key name as people write it: ``ctrl+right_square_bracket`` -> ``Ctrl-]``."""
    *mods, base = key.split("+")
    names = {"slash": "/", "question_mark": "?", "enter": "Enter", "backspace": "Backspace"}
    if base in names:
        shown = names[base]
    elif len(base) == 1:
        shown = base.upper() if mods else base
    elif base.startswith("f") and base[1:].isdigit():
        shown = base.upper()
    else:
        try:
            shown = unicodedata.lookup(base.replace("_", " "))
        except KeyError:
            shown = base.replace("_", " ").title()
    return "-".join([*(mod.capitalize() for mod in mods), shown])


def parse_prefix(text: str) -> str:
    """A prefix key from the command line or config to a Textual key name.

    Accepts ``ctrl+]``, ``C-]``, ``^]``, ``ctrl-a``, ``ctrl+right_square_bracket``, ``alt+x``, ``f12``.

    Raises:
        ValueError: an empty or unusable key, or a plain character (the remote needs those).
    """
    value = text.strip()
    mods: list[str] = []
    if value.startswith("^") and len(value) == 2:
        mods, value = ["ctrl"], value[1]
    else:
        while True:
            match = _MODIFIER.match(value)
            if match is None or len(value) == match.end():
                break
            mods.append({"c": "ctrl", "m": "alt", "a": "alt"}.get(match[1].lower(), match[1].lower()))
            value = value[match.end() :]
    if not value:
        raise ValueError("the prefix key is empty; use e.g. ctrl+] or ctrl+a")
    if len(value) == 1:
        if not mods:
            raise ValueError(f"the prefix {text!r} would take a plain key from the remote; add ctrl+ or alt+")
        base = value.lower() if value.isalnum() else _char_name(value)
    else:
        base = value.lower()
        if not _is_key_name(base):
            raise ValueError(f"{text!r} is not a key; use a key such as ctrl+], ctrl+a, alt+x or f12")
        if not mods and not _FUNCTION_KEY.fullmatch(base):
            raise ValueError(f"the prefix {text!r} would take a key from the remote; add ctrl+ or alt+")
    return "+".join([*dict.fromkeys(mods), base])


# Keys with a name of their own, as Textual names them (besides F1-F24 and characters).
_NAMED_KEYS: Final = frozenset(
    {"escape", "tab", "enter", "return", "space", "backspace", "insert", "delete", "home", "end"}
    | {"pageup", "pagedown", "up", "down", "left", "right"}
)
_FUNCTION_KEY: Final = re.compile(r"f([1-9]|1[0-9]|2[0-4])")
# Textual's short names of some characters (textual.keys); the rest are their Unicode names.
_CHAR_ALIASES: Final = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}


def _is_key_name(base: str) -> bool:
    """Whether ``base`` names a key: a named key, F1-F24, or one character by its (Textual) name."""
    if base in _NAMED_KEYS or _FUNCTION_KEY.fullmatch(base) or base in _CHAR_ALIASES.values():
        return True
    if not re.fullmatch(r"[a-z][a-z0-9_]*", base):
        return False
    try:
        unicodedata.lookup(base.replace("_", " "))
    except KeyError:
        return False
    return True


_MODIFIER: Final = re.compile(r"(ctrl|alt|shift|meta|c|m|a)[+-]", re.IGNORECASE)


def _char_name(char: str) -> str:
    try:
        name = unicodedata.name(char).lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        raise ValueError(f"cannot name the key {char!r}") from None
    return _CHAR_ALIASES.get(name, name)

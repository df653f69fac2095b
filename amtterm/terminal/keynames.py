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
        if not re.fullmatch(r"[a-z][a-z0-9_]*", base):
            raise ValueError(f"cannot read the prefix key {text!r}; use e.g. ctrl+] or ctrl+a")
    return "+".join([*dict.fromkeys(mods), base])


_MODIFIER: Final = re.compile(r"(ctrl|alt|shift|meta|c|m|a)[+-]", re.IGNORECASE)


def _char_name(char: str) -> str:
    try:
        return unicodedata.name(char).lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        raise ValueError(f"cannot name the key {char!r}") from None

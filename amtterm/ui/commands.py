"""The console's own commands: the key after the prefix, the action it runs, and its help line.

One table serves the dispatcher (:class:`amtterm.ui.screens.console.ConsoleScreen`), the help
screen and the footer, so they cannot disagree. Everything here is plain data (no Textual).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Command:
    """One command.

    Attributes:
        keys: Textual key names that run it (the first is the one shown).
        action: the screen action (``action_<name>``) it runs.
        help: one line for the help screen.
        footer: a short label for the footer, or "" to leave it out there.
    """

    keys: tuple[str, ...]
    action: str
    help: str
    footer: str = ""


COMMANDS: Final[tuple[Command, ...]] = (
    Command(("h", "question_mark", "f1"), "help", "Show this help", "help"),
    Command(("q",), "quit", "Quit amtterm (closes every console politely)", "quit"),
    Command(("p",), "toggle_panes", "Show or hide the side panes (power, boot, info, IDE-R)", "panes"),
    Command(("f",), "focus_panes", "Move the keyboard to the side panes (Esc comes back)"),
    Command(("i",), "focus_ider", "IDE-R pane: type the image to serve"),
    Command(("l",), "toggle_hosts", "Show or hide the host list"),
    Command(("n",), "next_host", "Next host (each console stays connected)", "next host"),
    Command(("N", "shift+n"), "previous_host", "Previous host"),
    Command(("e",), "cycle_encoding", "Encoding: auto, CP437, UTF-8 (live)", "encoding"),
    Command(("k",), "cycle_key_mode", "F-key mode: Intel, alternate, VT100+, xterm (live)", "keys"),
    Command(("enter",), "toggle_enter", "Enter sends CR or CR LF"),
    Command(("backspace",), "toggle_backspace", "Backspace sends BS or DEL"),
    Command(("s",), "cycle_screen", "Remote screen size: 80x25, 80x24, 100x30"),
    Command(("slash",), "search", "Search the screen and scrollback", "search"),
    Command(("y",), "copy_screen", "Copy the whole screen to the clipboard"),
    Command(("r",), "reconnect", "Reconnect the console now", "reconnect"),
    Command(("b",), "send_break", "Send a serial Break"),
    Command(("B", "shift+b"), "reset_to_bios", "Reset into BIOS setup with SOL (asks first)"),
    Command(("t",), "cycle_theme", "Next theme", "theme"),
    Command(("S", "shift+s"), "share", "Share this console over SSH, read-only (again: stop)"),
    Command(("K", "shift+k"), "hand_keyboard", "Keyboard to the viewer who asked for it, or back"),
)
#: Digits jump to the n-th host.
HOST_DIGITS: Final = tuple(str(n) for n in range(1, 10))


def find_command(key: str) -> Command | None:
    """The command a key after the prefix runs, or None."""
    for command in COMMANDS:
        if key in command.keys:
            return command
    return None


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

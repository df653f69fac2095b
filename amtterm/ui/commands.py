"""The console's own commands: the key after the prefix, the action it runs, and its help line.

One table serves the dispatcher (:class:`amtterm.ui.screens.console.ConsoleScreen`), the help
screen and the footer, so they cannot disagree. Everything here is plain data (no Textual).
"""

from __future__ import annotations

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
    Command(("p",), "toggle_panes", "Show or hide the side panes (power, boot, info, image)", "panes"),
    Command(("f",), "focus_panes", "Move the keyboard to the side panes (Esc comes back)"),
    Command(("i",), "focus_ider", "Image pane: type the image to boot from"),
    Command(("l",), "toggle_hosts", "Show or hide the host list"),
    Command(("n",), "next_host", "Next host (each console stays connected)", "next host"),
    Command(("N", "shift+n"), "previous_host", "Previous host"),
    Command(("v",), "toggle_kvm", "KVM: show the PC's screen (graphics) or back to SOL", "KVM"),
    Command(("z",), "kvm_zoom", "KVM zoom: whole screen, 1:2, 1:1 (Shift-arrows pan)"),
    Command(("e",), "cycle_encoding", "Encoding: auto, CP437, UTF-8 (live)", "encoding"),
    Command(("k",), "cycle_key_mode", "F-key mode: Intel, alternate, VT100+, xterm (live)", "keys"),
    Command(("enter",), "toggle_enter", "Enter sends CR or CR LF"),
    Command(("backspace",), "toggle_backspace", "Backspace sends BS or DEL"),
    Command(("s",), "cycle_screen", "Remote screen size: 80x25, 80x24, 100x30"),
    Command(("slash",), "search", "Search the screen and scrollback", "search"),
    Command(("m",), "show_message", "Show the status line's whole sentence (why it failed)"),
    Command(("y",), "copy_screen", "Copy the whole screen to the clipboard"),
    Command(("r",), "reconnect", "Reconnect the console (or KVM, when shown) now", "reconnect"),
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

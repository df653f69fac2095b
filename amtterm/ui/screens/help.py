"""HelpScreen: every command behind the prefix key, and what reaches the remote anyway."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from amtterm.terminal.keynames import describe_key
from amtterm.ui.commands import COMMANDS


def help_table(prefix: str) -> Table:
    """The commands as a two-column table: keys, what they do."""
    shown = describe_key(prefix)
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
    table.add_column("keys", no_wrap=True, style="bold")
    table.add_column("what")
    for command in COMMANDS:
        keys = " / ".join(describe_key(key) for key in dict.fromkeys(_shown_keys(command.keys)))
        table.add_row(f"{shown} {keys}", command.help)
    table.add_row(f"{shown} 1..9", "Jump to host 1..9 of the host list")
    table.add_row(f"{shown} {shown}", f"Send {shown} itself to the remote")
    return table


def _shown_keys(keys: tuple[str, ...]) -> list[str]:
    # "N" and "shift+n" are one key to people.
    return [key for key in keys if not key.startswith("shift+")]


INTRO = (
    "While the console has the focus, every key goes to the remote machine: Esc, Tab, Ctrl-C, "
    "F1-F12 (in the host's F-key mode). amtterm's own commands are behind the prefix key: "
    "press it, then the command key; it works in the panes too. The status line says where keys go."
)
OUTRO = (
    "Shift-PgUp / Shift-PgDn scroll a remote screen taller than the terminal, then the scrollback; "
    "typing follows the cursor again. "
    "Mouse: drag to select and copy (box drawing kept); the wheel scrolls back. Paste is typed "
    "slowly, as BIOS fields drop fast input. The key bar sends the keys your terminal eats "
    "(F-keys, Ctrl-Alt-Del) and its text field takes <f2>, <enter>, <esc>. "
    "KVM screen (v): keys and the mouse go to the PC; z zooms, then Shift-arrows or the wheel pan; "
    "search, copy, sharing and recording stay with SOL."
)


class HelpScreen(ModalScreen[None]):
    """The command list; any of Esc, q, h or Enter closes it."""

    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,h,enter,question_mark", "close", "close", show=False),
    ]

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def compose(self) -> ComposeResult:
        """Intro, the table, the mouse notes."""
        with VerticalScroll(id="help"):
            yield Static(Text("amtterm console commands", style="bold"), id="help-title")
            yield Static(INTRO, classes="note")
            yield Static(help_table(self.prefix), id="help-table")
            yield Static(OUTRO, classes="note")
            yield Static("Esc closes this help.", classes="note dim")

    def action_close(self) -> None:
        """Back to the console."""
        self.dismiss(None)

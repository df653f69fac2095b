"""HostList: the machines of this console, each with its session state and power state.

Shown when the console has more than one host. Selecting a host (Enter or a click) posts
:class:`HostList.Picked`; the console switches to it and keeps the others connected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from amtterm.session import HostController, SessionState
from amtterm.ui.widgets.device_panes import STATE_STYLE, power_word, session_state_style

SYMBOLS = {
    SessionState.CONNECTED: "●",
    SessionState.CONNECTING: "◌",
    SessionState.RECONNECTING: "◌",
    SessionState.FAILED: "✕",
}


def host_prompt(index: int, link: HostController, width: int = 12) -> Text:
    """One row: number, session symbol, name, power word."""
    state = link.status.state if link.started else SessionState.IDLE
    text = Text()
    text.append(f"{index + 1} " if index < 9 else "  ", "dim")
    text.append(SYMBOLS.get(state, "○") + " ", session_state_style(state))
    name = link.name if len(link.name) <= width else link.name[: width - 1] + "…"
    text.append(f"{name:<{width}} ")
    word = power_word(link)
    text.append(word, STATE_STYLE.get(word, "dim"))
    return text


class HostList(OptionList):
    """The hosts, one row each; Esc gives the keyboard back to the console."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave", "back to the console", show=False)]

    class Picked(Message):
        """The user chose ``host``."""

        def __init__(self, host: HostController) -> None:
            super().__init__()
            self.host = host

    class Leave(Message):
        """Esc in the list."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.links: list[HostController] = []

    def show_hosts(self, links: Sequence[HostController], current: int) -> None:
        """(Re)build the rows and highlight the current host."""
        self.links = list(links)
        self.set_options([Option(host_prompt(i, link)) for i, link in enumerate(links)])
        self.highlighted = current

    def refresh_hosts(self) -> None:
        """Repaint every row from the hosts' current state."""
        for i, link in enumerate(self.links):
            if i < self.option_count:
                self.replace_option_prompt_at_index(i, host_prompt(i, link))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """A host was chosen."""
        event.stop()
        if 0 <= event.option_index < len(self.links):
            self.post_message(self.Picked(self.links[event.option_index]))

    def action_leave(self) -> None:
        """Back to the console."""
        self.post_message(self.Leave())

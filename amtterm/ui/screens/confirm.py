"""ConfirmScreen: a yes/no question before something that cannot be undone (power off, reset).

Cancel has the focus, so Enter pressed by habit cancels; ``y`` or the confirm button says yes,
``n`` or Esc says no. The screen's result is True for yes.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    """Ask before acting.

    Args:
        title: what is about to happen, e.g. "Reset pc42?".
        text: one or two sentences on the consequences.
        confirm: the confirm button's label, e.g. "Reset".
        danger: paint the confirm button as dangerous.
    """

    CSS_PATH = "confirm.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "yes", show=False),
        Binding("n,escape", "answer(False)", "no", show=False),
    ]

    def __init__(self, title: str, text: str, confirm: str = "Yes", *, danger: bool = True) -> None:
        super().__init__()
        self.question = title
        self.text = text
        self.confirm_label = confirm
        self.danger = danger

    def compose(self) -> ComposeResult:
        """The question, its consequences and the two buttons."""
        with Vertical(id="dialog"):
            yield Static(self.question, id="question")
            yield Static(self.text, id="consequences")
            with Horizontal(id="answers"):
                yield Button("Cancel (n)", id="cancel")
                yield Button(
                    f"{self.confirm_label} (y)", id="confirm", variant="error" if self.danger else "primary"
                )

    def on_mount(self) -> None:
        """Cancel starts with the focus."""
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Either button answers."""
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, yes: bool) -> None:
        """``y`` / ``n`` / Esc."""
        self.dismiss(yes)

"""Small framed boxes the setup utility opens over its page: pick a value, confirm, or read.

A popup takes keys until it closes (:meth:`Popup.key` returns True), then the setup stage
calls :meth:`Popup.close`, which runs the action chosen. Esc always closes without action.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from amtterm.sim.synthetic.keys import Key, KeyName
from amtterm.sim.synthetic.screen import Attr, Color, Grid

_BOX: Final = Attr(Color.BLACK, Color.CYAN)
_TITLE: Final = Attr(Color.WHITE, Color.CYAN, bold=True)
_SELECTED: Final = Attr(Color.WHITE, Color.BLUE, bold=True)

#: An action run when a popup closes; it returns True when it left setup (no repaint needed).
Action = Callable[[float], bool]


class Popup:
    """Base: a titled box; Esc or Enter closes it."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.action: Action | None = None

    def key(self, key: Key) -> bool:
        """Handle a key; True when the popup is done."""
        return key.name in (KeyName.ESC, KeyName.ENTER)

    def close(self, now: float) -> bool:
        """Run the chosen action, if any; True when it left setup."""
        return self.action(now) if self.action is not None else False

    def lines(self) -> list[str]:
        """The text rows inside the box."""
        return []

    def draw(self, grid: Grid) -> tuple[int, int]:
        """Draw centred on ``grid``; returns where the cursor should rest."""
        lines = self.lines()
        inner = max([len(line) for line in lines] + [len(self.title) + 4, 20])
        width = min(grid.columns - 2, inner + 4)
        height = min(grid.rows - 2, len(lines) + 2)
        top = (grid.rows - height) // 2
        left = (grid.columns - width) // 2
        grid.box(top, left, height, width, _BOX, title=self.title)
        grid.text(top, left + (width - len(self.title) - 2) // 2 + 1, self.title, _TITLE)
        for n, line in enumerate(lines[: height - 2]):
            grid.text(top + 1 + n, left + 2, line, self._attr(n), width=width - 4)
        return (top + 1 + self._cursor_row(), left + 2)

    def _attr(self, row: int) -> Attr:
        return _BOX

    def _cursor_row(self) -> int:
        return 0


class MessagePopup(Popup):
    """A notice; any of Enter or Esc closes it.

    Args:
        title: the box title.
        text: its lines.
    """

    def __init__(self, title: str, text: Sequence[str]) -> None:
        super().__init__(title)
        self.text = list(text)

    def lines(self) -> list[str]:
        return [*self.text, "", "[ OK ]".center(max(len(t) for t in [*self.text, "[ OK ]"]))]


class ChoicePopup(Popup):
    """Pick one value from a list: Up/Down, Enter picks, Esc cancels.

    Args:
        title: the item being changed.
        choices: the values.
        current: the index highlighted first.
        pick: called with the chosen index.
    """

    def __init__(self, title: str, choices: Sequence[str], current: int, pick: Callable[[int], None]) -> None:
        super().__init__(title)
        self.choices = list(choices)
        self.selected = current
        self._pick = pick

    def key(self, key: Key) -> bool:
        if key.name is KeyName.UP:
            self.selected = (self.selected - 1) % len(self.choices)
        elif key.name is KeyName.DOWN:
            self.selected = (self.selected + 1) % len(self.choices)
        elif key.name in (KeyName.HOME, KeyName.PAGE_UP):
            self.selected = 0
        elif key.name in (KeyName.END, KeyName.PAGE_DOWN):
            self.selected = len(self.choices) - 1
        elif key.name is KeyName.ENTER:
            choice = self.selected
            self.action = lambda now: self._chosen(choice)
            return True
        elif key.name is KeyName.ESC:
            return True
        return False

    def _chosen(self, index: int) -> bool:
        self._pick(index)
        return False

    def lines(self) -> list[str]:
        return list(self.choices)

    def _attr(self, row: int) -> Attr:
        return _SELECTED if row == self.selected else _BOX

    def _cursor_row(self) -> int:
        return self.selected


class ConfirmPopup(Popup):
    """A question with [ Yes ] and [ No ]: Left/Right/Tab or Y/N choose, Enter confirms, Esc is No.

    Args:
        title: the box title.
        question: the question.
        yes: run when confirmed.
    """

    def __init__(self, title: str, question: str, yes: Action) -> None:
        super().__init__(title)
        self.question = question
        self.yes = True
        self._on_yes = yes

    def key(self, key: Key) -> bool:
        char = key.char.lower() if key.name is KeyName.CHAR else ""
        if key.name in (KeyName.LEFT, KeyName.RIGHT, KeyName.TAB):
            self.yes = not self.yes
        elif char == "y" or (key.name is KeyName.ENTER and self.yes):
            self.action = self._on_yes
            return True
        elif char == "n" or key.name in (KeyName.ENTER, KeyName.ESC):
            return True
        return False

    def lines(self) -> list[str]:
        return [self.question, "", ""]

    def draw(self, grid: Grid) -> tuple[int, int]:
        row, left = super().draw(grid)
        width = max(len(self.question), len(self.title) + 4, 20)
        yes, no = "[ Yes ]", "[ No ]"
        gap = 4
        start = left + (width - len(yes) - gap - len(no)) // 2
        button_row = row + 2
        grid.text(button_row, start, yes, _SELECTED if self.yes else _BOX)
        grid.text(button_row, start + len(yes) + gap, no, _BOX if self.yes else _SELECTED)
        return (button_row, start if self.yes else start + len(yes) + gap)

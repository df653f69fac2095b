"""The one-time boot menu (F12 during POST): a framed list of boot devices and "Enter Setup".

Up/Down (Home/End) move the highlight, Enter boots the highlighted device (falling back to the
rest of the saved boot order if it fails) or enters setup, Esc boots normally.
"""

from __future__ import annotations

from typing import Final

from amtterm.sim.synthetic.bootdev import BootSequence, boot_devices
from amtterm.sim.synthetic.keys import Key, KeyName
from amtterm.sim.synthetic.screen import Attr, Color, Grid
from amtterm.sim.synthetic.settings import BootDevice
from amtterm.sim.synthetic.setup import SetupStage
from amtterm.sim.synthetic.stage import Context, Stage

TITLE: Final = "Please select boot device:"
_FRAME: Final = Attr(Color.BLUE, Color.WHITE)
_SELECTED: Final = Attr(Color.WHITE, Color.BLUE, bold=True)
_DEVICES: Final[tuple[BootDevice, ...]] = ("network", "cd", "disk")
_HELP: Final = ("^ and v to move selection", "ENTER to select boot device", "ESC to boot using defaults")


class BootMenuStage(Stage):
    """The boot device menu."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.entries: list[tuple[str, str]] = [(d, ctx.hardware.device_label(d)) for d in _DEVICES]
        self.entries.append(("setup", "Enter Setup"))
        self.selected = 0

    def enter(self, now: float) -> None:
        self.repaint()

    def on_key(self, key: Key, now: float) -> None:
        name = key.name
        last = len(self.entries) - 1
        if name is KeyName.UP:
            self.selected = (self.selected - 1) % len(self.entries)
        elif name is KeyName.DOWN:
            self.selected = (self.selected + 1) % len(self.entries)
        elif name in (KeyName.HOME, KeyName.PAGE_UP):
            self.selected = 0
        elif name in (KeyName.END, KeyName.PAGE_DOWN):
            self.selected = last
        elif name is KeyName.ENTER:
            self._pick(self.entries[self.selected][0], now)
            return
        elif name is KeyName.ESC:
            self.ctx.go(BootSequence(self.ctx, boot_devices(None, self.ctx.settings)), now)
            return
        else:
            return
        self.repaint()

    def _pick(self, choice: str, now: float) -> None:
        if choice == "setup":
            self.ctx.go(SetupStage(self.ctx), now)
            return
        rest = [device for device in self.ctx.settings.boot_order if device != choice]
        self.ctx.go(BootSequence(self.ctx, [choice, *rest]), now)

    def repaint(self) -> None:
        ctx = self.ctx
        grid = Grid(ctx.columns, ctx.rows)
        texts = [TITLE, *(label for _, label in self.entries), *_HELP]
        inner = max(len(text) for text in texts) + 4
        width = min(ctx.columns, inner + 2)
        height = min(ctx.rows, len(self.entries) + len(_HELP) + 6)
        top = (ctx.rows - height) // 2
        left = (ctx.columns - width) // 2
        grid.box(top, left, height, width, _FRAME, title=TITLE)
        row = top + 2
        cursor = (row, left + 2)
        for n, (key, label) in enumerate(self.entries):
            if key == "setup":
                grid.text(row, left, "╟" + "─" * (width - 2) + "╢", _FRAME)
                row += 1
            attr = _SELECTED if n == self.selected else _FRAME
            grid.text(row, left + 2, label, attr, width=width - 4)
            if n == self.selected:
                cursor = (row, left + 2)
            row += 1
        row += 1
        grid.text(row, left, "╟" + "─" * (width - 2) + "╢", _FRAME)
        for n, line in enumerate(_HELP):
            grid.center(row + 1 + n, line, _FRAME, left=left + 1, width=width - 2)
        ctx.paint(grid, cursor=cursor)

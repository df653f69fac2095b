"""The BIOS setup utility: the classic blue screen with tabs, a framed item list and help.

Layout for any size (rows R, columns C; 80x25 shown in the comments)::

    row 0        title bar
    row 1        tabs: Main  Advanced  Boot  Security  Save & Exit
    row 2        ╔═══════════════ items ════════╤═══ help ══════╗  (divider at C*2/3)
    rows 3..R-4  item labels, [values], section headings │ help text for the item
    row R-3      ╚══════════════════════════════╧═══════════════╝
    rows R-2,R-1 key legend: F1 Help, Up/Dn Select Item, +/- Change Value, F9 Setup Defaults,
                             Esc Exit, Lt/Rt Select Menu, Enter Select, F10 Save and Exit

Keys: Left/Right switch tabs, Up/Down (Home/End/PgUp/PgDn) move the highlight over selectable
items, Enter opens a value list (or runs an action), + / - / Space (or F6 / F5) step a value,
F1 help, F9 defaults, F10 "Save configuration and exit?", Esc "Exit without saving?". Leaving
reboots the PC. Changes are made to a copy of the saved settings and written back only on save.
"""

from __future__ import annotations

import math
import textwrap
from datetime import timedelta
from typing import Final

from amtterm.sim.synthetic.bootdev import BootSequence
from amtterm.sim.synthetic.keys import Key, KeyName
from amtterm.sim.synthetic.popup import ChoicePopup, ConfirmPopup, MessagePopup, Popup
from amtterm.sim.synthetic.screen import Attr, Color, Grid
from amtterm.sim.synthetic.settings import TABS, BootDevice, Option
from amtterm.sim.synthetic.stage import Context, Stage

_SCREEN: Final = Attr(Color.WHITE, Color.BLUE)
_TITLE: Final = Attr(Color.WHITE, Color.BLUE, bold=True)
_TABBAR: Final = Attr(Color.BLACK, Color.CYAN)
_TAB_ACTIVE: Final = Attr(Color.WHITE, Color.BLUE, bold=True)
_FRAME: Final = Attr(Color.WHITE, Color.BLUE)
_LABEL: Final = Attr(Color.WHITE, Color.BLUE, bold=True)
_INFO: Final = Attr(Color.WHITE, Color.BLUE)
_SECTION: Final = Attr(Color.CYAN, Color.BLUE, bold=True)
_SELECTED: Final = Attr(Color.BLUE, Color.WHITE)
_HELP: Final = Attr(Color.WHITE, Color.BLUE)
_LEGEND: Final = Attr(Color.BLACK, Color.WHITE)
_LEGEND_KEY: Final = Attr(Color.BLUE, Color.WHITE, bold=True)

#: The key legend: two rows of (key, what it does).
LEGEND: Final = (
    (("F1", "Help"), ("Up/Dn", "Select Item"), ("+/-", "Change Value"), ("F9", "Setup Defaults")),
    (("Esc", "Exit"), ("Lt/Rt", "Select Menu"), ("Enter", "Select"), ("F10", "Save and Exit")),
)
_GENERAL_HELP: Final = (
    "Left/Right   Select a menu",
    "Up/Down      Select an item",
    "Enter        Open an item",
    "+ / -        Next / previous value",
    "F9           Load setup defaults",
    "F10          Save and exit",
    "Esc          Exit without saving",
    "Ctrl-L       Redraw the screen",
)
_DEVICES: Final[tuple[BootDevice, ...]] = ("disk", "cd", "network")


class SetupStage(Stage):
    """The setup utility."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pending = ctx.settings.copy()
        self.tab = 0
        self.selected = self._selectable()[0]
        self.popup: Popup | None = None
        self._now = 0.0

    # -- model --------------------------------------------------------------------------------

    @property
    def items(self) -> tuple[Option, ...]:
        """The items of the current tab."""
        return TABS[self.tab][1]

    def _selectable(self) -> list[int]:
        return [n for n, item in enumerate(self.items) if item.selectable]

    def value_text(self, item: Option, now: float) -> str:
        """What the value column shows for ``item``."""
        ctx, hw = self.ctx, self.ctx.hardware
        if item.kind == "choice":
            return f"[{self.pending.values[item.key]}]"
        if item.kind == "boot":
            return f"[{hw.short_label(self.pending.boot_order[int(item.key)])}]"
        if item.kind == "password":
            return "Not Installed"
        shift = self.pending.date_offset_days - ctx.settings.date_offset_days
        moment = ctx.clock(now) + timedelta(days=shift)
        info = {
            "bios_vendor": ctx.vendor,
            "bios_version": hw.bios_version,
            "bios_date": hw.bios_date,
            "me_version": hw.me_version,
            "cpu": hw.cpu_short,
            "memory": f"{hw.memory_mb} MB",
            "date": f"[{moment:%a %m/%d/%Y}]",
            "time": f"[{moment:%H:%M:%S}]",
        }
        return info.get(item.key, "")

    def label_text(self, item: Option) -> str:
        """What the label column shows for ``item``."""
        for device in _DEVICES:
            if item.kind == "action" and item.key == device:
                return self.ctx.hardware.device_label(device)
        return item.label

    # -- time: the clock on the Main page ticks ------------------------------------------------

    def enter(self, now: float) -> None:
        self._now = now
        self.ctx.boot_event("setup", "BIOS setup")
        self.repaint()

    def deadline(self) -> float | None:
        if self.tab != 0:
            return None
        return math.floor(self._now + 1e-9) + 1.0

    def tick(self, now: float) -> None:
        self._now = now
        self.repaint()

    # -- keys ---------------------------------------------------------------------------------

    def on_key(self, key: Key, now: float) -> None:
        self._now = now
        popup = self.popup
        if popup is not None:
            if popup.key(key):
                self.popup = None
                if popup.close(now):
                    return
            self.repaint()
            return
        if self._navigate(key) or self._change(key, now):
            self.repaint()

    def _navigate(self, key: Key) -> bool:
        name = key.name
        selectable = self._selectable()
        if name in (KeyName.LEFT, KeyName.RIGHT):
            self.tab = (self.tab + (1 if name is KeyName.RIGHT else -1)) % len(TABS)
            self.selected = self._selectable()[0]
        elif name in (KeyName.UP, KeyName.DOWN):
            here = selectable.index(self.selected)
            self.selected = selectable[(here + (1 if name is KeyName.DOWN else -1)) % len(selectable)]
        elif name in (KeyName.HOME, KeyName.PAGE_UP):
            self.selected = selectable[0]
        elif name in (KeyName.END, KeyName.PAGE_DOWN):
            self.selected = selectable[-1]
        else:
            return False
        return True

    def _change(self, key: Key, now: float) -> bool:
        name, char = key.name, key.char
        item = self.items[self.selected]
        if name is KeyName.ENTER:
            self._open(item)
        elif char in ("+", " ") or name is KeyName.F6:
            self._step(item, 1)
        elif char == "-" or name is KeyName.F5:
            self._step(item, -1)
        elif name is KeyName.F1:
            self.popup = MessagePopup("General Help", _GENERAL_HELP)
        elif name is KeyName.F9:
            self.popup = ConfirmPopup("Setup Defaults", "Load optimized defaults?", self._load_defaults)
        elif name is KeyName.F10:
            self.popup = ConfirmPopup("Save & Exit Setup", "Save configuration and exit?", self._save)
        elif name is KeyName.ESC:
            self.popup = ConfirmPopup("Exit Without Saving", "Exit without saving?", self._discard)
        else:
            return False
        return True

    def _step(self, item: Option, delta: int) -> None:
        if item.kind == "choice":
            choices = item.choices
            current = choices.index(self.pending.values[item.key])
            self.pending.values[item.key] = choices[(current + delta) % len(choices)]
        elif item.kind == "date":
            self.pending.date_offset_days += delta
        elif item.kind == "boot":
            slot = int(item.key)
            order = self.pending.boot_order
            device = _DEVICES[(_DEVICES.index(order[slot]) + delta) % len(_DEVICES)]
            self._put_boot(slot, device)

    def _put_boot(self, slot: int, device: BootDevice) -> None:
        """Put ``device`` in ``slot``; the device that was there takes the old place of ``device``."""
        order = self.pending.boot_order
        if device in order:
            order[order.index(device)] = order[slot]
        order[slot] = device

    def _open(self, item: Option) -> None:
        hw = self.ctx.hardware
        if item.kind == "choice":
            values = self.pending.values

            def pick(index: int) -> None:
                values[item.key] = item.choices[index]

            current = item.choices.index(values[item.key])
            self.popup = ChoicePopup(item.label, item.choices, current, pick)
        elif item.kind == "boot":
            slot = int(item.key)
            labels = [hw.device_label(device) for device in _DEVICES]
            current = _DEVICES.index(self.pending.boot_order[slot])
            self.popup = ChoicePopup(item.label, labels, current, lambda i: self._put_boot(slot, _DEVICES[i]))
        elif item.kind == "date":
            self._step(item, 1)
        elif item.kind == "password":
            lines = ("Passwords cannot be set over Serial-over-LAN", "on this demo PC.")
            self.popup = MessagePopup(item.label, lines)
        elif item.key == "save":
            self.popup = ConfirmPopup("Save & Exit Setup", "Save configuration and exit?", self._save)
        elif item.key == "discard":
            self.popup = ConfirmPopup("Exit Without Saving", "Exit without saving?", self._discard)
        elif item.key == "defaults":
            self.popup = ConfirmPopup("Setup Defaults", "Load optimized defaults?", self._load_defaults)
        elif item.key in _DEVICES:
            self._boot_now(item.key)

    # -- actions ------------------------------------------------------------------------------

    def _save(self, now: float) -> bool:
        self.ctx.settings = self.pending
        self.ctx.reboot(now)
        return True

    def _discard(self, now: float) -> bool:
        self.ctx.reboot(now)
        return True

    def _load_defaults(self, now: float) -> bool:
        self.pending.restore_defaults()
        return False

    def _boot_now(self, device: str) -> None:
        rest = [other for other in self.ctx.settings.boot_order if other != device]
        self.ctx.go(BootSequence(self.ctx, [device, *rest]), self._now)

    # -- drawing ------------------------------------------------------------------------------

    def repaint(self) -> None:
        ctx = self.ctx
        columns, rows = ctx.columns, ctx.rows
        grid = Grid(columns, rows, _SCREEN)
        divider = columns * 2 // 3
        grid.text(0, 0, " " * columns, _TITLE)
        grid.center(0, f"{ctx.vendor} Setup Utility - Copyright (C) 2024 {ctx.vendor}", _TITLE)
        self._draw_tabs(grid)
        bottom = rows - 3
        grid.box(2, 0, bottom - 1, columns, _FRAME)
        grid.text(2, divider, "╤", _FRAME)
        grid.text(bottom, divider, "╧", _FRAME)
        for row in range(3, bottom):
            grid.text(row, divider, "│", _FRAME)
        cursor = self._draw_items(grid, divider, bottom)
        self._draw_help(grid, divider, bottom)
        self._draw_legend(grid)
        if self.popup is not None:
            cursor = self.popup.draw(grid)
        ctx.paint(grid, cursor=cursor)

    def _draw_tabs(self, grid: Grid) -> None:
        grid.text(1, 0, " " * grid.columns, _TABBAR)
        col = 2
        for n, (title, _) in enumerate(TABS):
            grid.text(1, col, f" {title} ", _TAB_ACTIVE if n == self.tab else _TABBAR)
            col += len(title) + 3

    def _draw_items(self, grid: Grid, divider: int, bottom: int) -> tuple[int, int]:
        top, height = 3, bottom - 3
        value_col = 2 + (divider - 2) // 2 + 1
        scroll = max(0, self.selected - height + 1)
        cursor = (top, 2)
        for n, item in enumerate(self.items[scroll : scroll + height]):
            index, row = scroll + n, top + n
            if item.kind == "section":
                grid.text(row, 2, item.label, _SECTION, width=divider - 3)
                continue
            label = self.label_text(item)
            value = self.value_text(item, self._now)
            if index == self.selected:
                grid.text(row, 1, " " * (divider - 1), _SELECTED)
                attr = _SELECTED
                cursor = (row, 2)
            else:
                attr = _LABEL if item.selectable else _INFO
            if value:
                grid.text(row, 2, label, attr, width=value_col - 3)
                grid.text(row, value_col, value, attr, width=divider - value_col - 1)
            else:
                grid.text(row, 2, label, attr, width=divider - 3)
        return cursor

    def _draw_help(self, grid: Grid, divider: int, bottom: int) -> None:
        item = self.items[self.selected]
        width = grid.columns - divider - 4
        if width < 8:
            return
        for n, line in enumerate(textwrap.wrap(item.help, width)[: bottom - 4]):
            grid.text(3 + n, divider + 2, line, _HELP)

    def _draw_legend(self, grid: Grid) -> None:
        span = grid.columns // 4
        for n, entries in enumerate(LEGEND):
            row = grid.rows - 2 + n
            grid.text(row, 0, " " * grid.columns, _LEGEND)
            for k, (key, what) in enumerate(entries):
                col = 1 + k * span
                grid.text(row, col, key, _LEGEND_KEY)
                grid.text(row, col + len(key) + 1, what[: max(0, span - len(key) - 2)], _LEGEND)

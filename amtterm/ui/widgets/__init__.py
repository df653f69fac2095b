"""Textual widgets of the console: the terminal view, the key bar (and the side panes)."""

from amtterm.ui.widgets.emulator import SCREEN_SIZES, VGA_PALETTE, TerminalEmulator, TerminalPalette
from amtterm.ui.widgets.keybar import KeyBar
from amtterm.ui.widgets.terminal import TerminalView

__all__ = ["SCREEN_SIZES", "VGA_PALETTE", "KeyBar", "TerminalEmulator", "TerminalPalette", "TerminalView"]

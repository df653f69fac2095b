"""The widget-free emulator: palettes from theme tables, sizes, scrollback rules."""

from __future__ import annotations

import pytest

from amtterm.ui.widgets.emulator import VGA_PALETTE, TerminalEmulator, TerminalPalette


def test_vga_palette_defaults() -> None:
    assert VGA_PALETTE.ansi[3] == "#aa5500"  # brown, not dark yellow
    assert VGA_PALETTE.default_foreground == "#aaaaaa"
    assert VGA_PALETTE.default_background == "#000000"
    assert VGA_PALETTE.bold_default_foreground == "#ffffff"


def test_palette_from_a_theme_table() -> None:
    palette = TerminalPalette.from_mapping(
        {"blue": "#112233", "bright_white": "white", "color1": "#ff0000", "background": "#0000aa"}
    )
    assert palette.ansi[4] == "#112233"
    assert palette.ansi[15] == "#c0c0c0"  # Rich's "white" is the standard ANSI white
    assert palette.ansi[1] == "#ff0000"
    assert palette.default_background == "#0000aa"
    assert palette.ansi[2] == VGA_PALETTE.ansi[2]  # the rest from VGA


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"colours": []}, "unknown terminal palette keys: colours"),
        ({"colors": ["#000000"] * 8}, "16 colours"),
        ({"red": "not-a-colour"}, "bad colour"),
    ],
)
def test_bad_palettes_are_refused_with_a_reason(table: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TerminalPalette.from_mapping(table)


def test_sizes_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="20-300 columns"):
        TerminalEmulator(10, 25)
    emulator = TerminalEmulator()
    with pytest.raises(ValueError, match="5-120 rows"):
        emulator.resize(80, 500)


def test_scrollback_only_from_the_top_of_the_screen() -> None:
    emulator = TerminalEmulator(80, 25, encoding="utf-8", scrollback=100)
    emulator.feed(b"".join(b"%d\r\n" % n for n in range(30)))
    assert emulator.history_lines() == [str(n) for n in range(6)]
    # a scroll region below the top row (a status line layout) keeps nothing
    emulator.feed(b"\x1b[5;20r\x1b[20;1H" + b"x\r\n" * 10 + b"\x1b[r")
    assert len(emulator.history) == 6
    # ESC [ 3 J drops the scrollback; a terminal reset (ESC c) keeps it
    emulator.feed(b"\x1bc")
    assert len(emulator.history) == 6
    emulator.feed(b"\x1b[3J")
    assert emulator.history_lines() == []


def test_line_numbers_count_from_the_screen_top() -> None:
    emulator = TerminalEmulator(80, 25, encoding="utf-8")
    emulator.feed(b"first\r\n" + b"\r\n" * 30 + b"last")
    assert emulator.search("first") == [(-7, 0)]
    assert emulator.search("LAST") == [(24, 0)]
    first = emulator.line(-7)
    assert first is not None and emulator.row_text(first).rstrip() == "first"
    assert emulator.line(-8) is None and emulator.line(25) is None

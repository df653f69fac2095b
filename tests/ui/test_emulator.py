"""The widget-free emulator's own part: palettes from theme tables (the screen model under it is
tested in tests/terminal/test_screen.py)."""

from __future__ import annotations

import pytest

from amtterm.ui.widgets.emulator import VGA_PALETTE, TerminalPalette


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

"""The `expect` timeout sentence quotes the screen's last line of text, not a clock digit (issue 12)."""

from __future__ import annotations

from types import SimpleNamespace

from amtterm.expect.scripted import Console

BIOS_SCREEN = [
    "DemoTech BIOS v2.1",
    "",
    "Press F2 to enter Setup, F12 for the boot menu",
    "",
    "                                                                              6",
    "",
]


def sentence(rows: list[str]) -> str:
    console = SimpleNamespace(screen_lines=lambda: rows, name="127.0.0.1:16994")
    return Console._timeout_sentence(console, '"login:"', 5.0)  # type: ignore[arg-type]


def test_a_clock_digit_below_the_text_is_not_quoted() -> None:
    said = sentence(BIOS_SCREEN)
    assert said == (
        'Timed out after 5 s waiting for "login:" on 127.0.0.1:16994 '
        '(its last line of text reads "Press F2 to enter Setup, F12 for the boot menu").'
    )


def test_a_frame_around_the_text_is_trimmed() -> None:
    rows = ["╔══════════════╗", "║  Save & Exit ║", "╚══════════════╝", "  12:06"]
    assert 'reads "Save & Exit")' in sentence(rows)


def test_a_screen_without_text_says_so() -> None:
    assert "(its screen shows no text)" in sentence(["", "  6", "═══"])

"""Plain text of a console stream (logs, expect's stream): escapes go, DEC line drawing is drawn."""

from __future__ import annotations

from amtterm.terminal.plaintext import MOVED, PlainText


def test_escapes_go_and_a_cursor_move_is_reported() -> None:
    plain = PlainText()
    assert plain.pieces("\x1b[2J\x1b[1;1H\x1b[1;33mBIOS\x1b[0m\x1b[5;3HSetup") == [
        MOVED,
        "BIOS",
        MOVED,
        "Setup",
    ]


def test_an_escape_cut_between_chunks_waits_for_the_rest() -> None:
    plain = PlainText()
    assert plain.text("ready\x1b[1") == "ready"
    assert plain.text("0;1HSetup\r\n") == "\nSetup\n"  # CR goes, LF stays


def test_dec_line_drawing_is_the_characters_the_screen_shows() -> None:
    plain = PlainText()
    assert plain.text("\x1b(0lqqk\x1b(B lqqk") == "┌──┐ lqqk"
    # SO / SI switch to G1 (line drawing unless picked otherwise) and back, also across chunks
    assert plain.text("\x0ex") + plain.text("x\x0fx") == "││x"
    assert plain.text("\x1b)B\x0ex\x0f") == "x"  # G1 picked as ASCII
    plain.text("\x1b(0")
    assert plain.text("\x1bcq") == "q"  # a terminal reset goes back to ASCII


def test_cp437_and_utf8_text_passes_unchanged() -> None:
    assert PlainText().text("╔═╗ ░▒▓ démarré ✓") == "╔═╗ ░▒▓ démarré ✓"

"""The one screen model (RemoteScreen): sizes, scrollback rules, line numbers, text."""

from __future__ import annotations

import pytest

from amtterm.terminal.screen import RemoteScreen


def test_sizes_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="20-300 columns"):
        RemoteScreen(10, 25)
    screen = RemoteScreen()
    with pytest.raises(ValueError, match="5-120 rows"):
        screen.resize(80, 500)


def test_scrollback_only_from_the_top_of_the_screen() -> None:
    screen = RemoteScreen(80, 25, encoding="utf-8", scrollback=100)
    screen.feed(b"".join(b"%d\r\n" % n for n in range(30)))
    assert screen.history_lines() == [str(n) for n in range(6)]
    # a scroll region below the top row (a status line layout) keeps nothing
    screen.feed(b"\x1b[5;20r\x1b[20;1H" + b"x\r\n" * 10 + b"\x1b[r")
    assert len(screen.history) == 6
    # ESC [ 3 J drops the scrollback; a terminal reset (ESC c) keeps it
    screen.feed(b"\x1bc")
    assert len(screen.history) == 6
    screen.feed(b"\x1b[3J")
    assert screen.history_lines() == []


def test_line_numbers_count_from_the_screen_top() -> None:
    screen = RemoteScreen(80, 25, encoding="utf-8")
    screen.feed(b"first\r\n" + b"\r\n" * 30 + b"last")
    assert screen.search("first") == [(-7, 0)]
    assert screen.search("LAST") == [(24, 0)]
    first = screen.line(-7)
    assert first is not None and screen.row_text(first).rstrip() == "first"
    assert screen.line(-8) is None and screen.line(25) is None


def test_dec_line_drawing_and_back_to_ascii() -> None:
    screen = RemoteScreen(20, 5, encoding="auto")
    screen.feed(b"\x1b(0lqqk\x1b(B lqqk\r\n\x0emqqj\x0f mqqj")  # G0 picked; then SO/SI to G1
    assert screen.lines()[:2] == ["┌──┐ lqqk".ljust(20), "└──┘ mqqj".ljust(20)]


def test_256_colour_indices_below_16_are_palette_colours() -> None:
    screen = RemoteScreen(20, 5)
    screen.feed(b"\x1b[38;5;9;48;5;4mA\x1b[38;5;196mB")
    a, b = screen.screen.buffer[0][0], screen.screen.buffer[0][1]
    assert (a.fg, a.bg) == ("brightred", "blue")  # shown in the palette's colours, as SGR 91;44
    assert b.fg == "ff0000"  # other indices as sent


def test_a_cut_utf8_sequence_waits_then_shows() -> None:
    screen = RemoteScreen(20, 5, encoding="utf-8")
    assert screen.feed("─".encode()[:2]) is False  # nothing reached the screen yet
    assert screen.feed("─".encode()[2:] + "✓".encode()) is True
    assert screen.text().startswith("─✓")
    screen.feed(b" \xe2\x94")
    assert screen.flush_decoder() is True  # the stream went quiet: shown as it is
    assert screen.text().startswith("─✓ Γö")


def test_wide_characters_take_two_cells_and_one_character_of_text() -> None:
    screen = RemoteScreen(20, 5, encoding="utf-8")
    screen.feed("日本 ok".encode())
    line = screen.line(0)
    assert line is not None
    assert screen.cells_text(line).startswith("日\x00本\x00 ok")
    assert screen.row_text(line).rstrip() == "日本 ok"

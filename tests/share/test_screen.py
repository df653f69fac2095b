"""The shared screen model and a viewer's canvas: redraw on attach, centring, clipping, diffs."""

from __future__ import annotations

import pyte

from amtterm.share.screen import Canvas, ShareScreen


def window(data: bytes, cols: int, rows: int) -> list[str]:
    """What a viewer's terminal of that size shows after ``data``."""
    screen = pyte.Screen(cols, rows)
    pyte.ByteStream(screen).feed(data)
    return [line.rstrip() for line in screen.display]


def test_a_new_canvas_draws_the_current_screen_centred_with_a_status_line() -> None:
    shared = ShareScreen(80, 25)
    shared.feed(b"\x1b[2J\x1b[1;1HPOST\x1b[12;30H\xc9\xcd\xbb Press F2")  # CP437 box drawing
    lines = window(Canvas(shared, 100, 30).frame("status here"), 100, 30)
    # 29 rows above the status line: the 25-row screen starts 2 rows down, 10 columns in.
    assert lines[2] == " " * 10 + "POST"
    assert lines[13] == " " * 10 + " " * 29 + "╔═╗ Press F2"
    assert lines[29] == "status here"


def test_only_changed_rows_are_sent_again() -> None:
    shared = ShareScreen(80, 25)
    shared.feed(b"one\r\ntwo")
    canvas = Canvas(shared, 80, 26)
    first = canvas.frame("s")
    assert canvas.frame("s") == b""
    shared.feed(b"\x1b[2;1Hthree")
    update = canvas.frame("s")
    assert b"three" in update and b"one" not in update and len(update) < len(first) / 5
    status = canvas.frame("new status")  # a new status line alone is sent too
    assert b"new status" in status and b"three" not in status


def test_a_small_window_is_clipped_around_the_cursor_and_redrawn_on_resize() -> None:
    shared = ShareScreen(80, 25)
    shared.feed(b"\x1b[1;1Htop line\x1b[25;70Hbottom")
    canvas = Canvas(shared, 40, 11)
    lines = window(canvas.frame("st"), 40, 11)
    assert "bottom"[:4] in "".join(lines)  # the cursor's corner is what shows
    assert "top line" not in "\n".join(lines)
    canvas.resize(80, 26)
    lines = window(canvas.frame("st"), 80, 26)
    assert lines[0] == "top line" and lines[24].endswith("bottom")


def test_colours_and_attributes_survive_the_redraw() -> None:
    shared = ShareScreen(80, 25)
    shared.feed(b"\x1b[1;33;44mBIOS\x1b[0m")
    screen = pyte.Screen(80, 26)
    pyte.ByteStream(screen).feed(Canvas(shared, 80, 26).frame(""))
    char = screen.buffer[0][0]
    assert (char.data, char.fg, char.bg, char.bold) == ("B", "brown", "blue", True)

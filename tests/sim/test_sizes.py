"""Every screen at 80x25, 80x24 and 100x30: nothing is drawn outside the screen."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from amtterm.sim.synthetic import SyntheticHost
from tests.sim.console import DOWN, ENTER, ESC, F1, F2, F10, F12, HOME, LEFT, RIGHT, Console

Make = Callable[..., Console]
SIZES = [(80, 25), (80, 24), (100, 30)]


def assert_on_screen(con: Console) -> None:
    for row, col in con.cursor_moves():
        assert 1 <= row <= con.rows and 1 <= col <= con.columns, (row, col)
    for match in re.finditer(rb"\x1b\[(\d+)([ABCDG])", bytes(con.raw)):
        assert int(match.group(1)) <= max(con.rows, con.columns)


def assert_page_fits(con: Console) -> None:
    """A full-screen BIOS page: no auto-wrap, no scroll, cursor on the screen."""
    assert con.screen.wraps == 0, con.text()
    assert con.screen.scrolls == 0, con.text()
    assert_on_screen(con)


def corners(con: Console, top: int, bottom: int) -> None:
    right = con.columns - 1
    assert (con.cell(top, 0).data, con.cell(top, right).data) == ("╔", "╗")
    assert (con.cell(bottom, 0).data, con.cell(bottom, right).data) == ("╚", "╝")


@pytest.mark.parametrize(("columns", "rows"), SIZES)
def test_bios_pages_fit(booted: Make, columns: int, rows: int) -> None:
    con = booted(columns, rows)
    con.advance(2.0)
    assert "Press F2 for Setup" in con.text()
    con.press(F2)
    con.wait_for("Setup Utility", timeout=3)
    corners(con, 2, rows - 3)
    assert "F10 Save and Exit" in con.row(rows - 1)
    for _ in range(5):  # every tab: a popup (opened on the first item, closed by Esc), every item
        con.press(HOME, ENTER)
        assert con.text().count("╔") == 2, con.text()  # the page frame and the popup
        con.press(ESC)
        for _ in range(12):
            con.press(DOWN, pause=0.01)
        con.press(RIGHT)
    con.press(F1, ENTER, ESC)
    assert "Exit without saving?" in con.text()
    con.press(ENTER)
    con.wait_for("Press F2 for Setup", timeout=3)
    con.press(F12)
    con.wait_for("Please select boot device:", timeout=3)
    con.press(DOWN, ESC)
    con.wait_for("GNU GRUB", timeout=5)
    con.press(DOWN, LEFT)
    assert_page_fits(con)


@pytest.mark.parametrize(("columns", "rows"), SIZES)
def test_whole_tour_stays_on_screen(shell: Make, columns: int, rows: int) -> None:
    con = shell(columns, rows)
    for command in (b"help", b"uname -a", b"date", b"ls", b"colors", b"cat notes.txt", b"flood 20000"):
        con.send(command + b"\r")
    con.host.show_message("User consent code\n123 456")
    con.pump()
    assert "123 456" in con.text()
    con.send(b"reboot\r")
    con.wait_for("BIOS Version", timeout=5)
    con.advance(1)
    con.press(F10)  # nothing in POST; harmless
    assert_on_screen(con)
    assert con.screen.wraps == 0  # the shell never relies on auto-wrap either


@pytest.mark.parametrize(("columns", "rows"), SIZES)
def test_pieces_of_any_size_give_the_same_screen(console: Make, columns: int, rows: int) -> None:
    """Reading with a small max_bytes cuts escape sequences apart; the screen is unchanged."""
    whole, pieces = console(columns, rows), console(columns, rows)
    for con, chunk in ((whole, None), (pieces, 7)):
        con.host.set_next_boot("bios")
        con.host.power_on(0.0)
        for step in range(1, 60):
            now = step * 0.1
            if step == 30:
                con.host.feed(RIGHT + DOWN + ENTER, now)
            while True:
                data = con.host.read_output(now, chunk)
                con.show(data)
                if not data or chunk is None:
                    break
    assert whole.text() == pieces.text()
    assert whole.raw == pieces.raw
    assert "Hyper-Threading" in whole.text()


@pytest.mark.parametrize(("columns", "rows"), [(60, 20), (132, 43), (255, 100)])
def test_odd_sizes_still_stay_on_screen(booted: Make, columns: int, rows: int) -> None:
    con = booted(columns, rows)
    con.advance(1.0)
    con.press(F2)
    con.wait_for("Setup Utility", timeout=3)
    for _ in range(5):
        con.press(HOME, ENTER, ESC, DOWN, RIGHT)
    con.press(ESC, ENTER)
    con.wait_for("Press F2", timeout=3)
    con.press(F12)
    con.wait_for("Please select boot device:", timeout=3)
    con.press(ESC)
    con.wait_for("GNU GRUB", timeout=5)
    assert_page_fits(con)
    con.wait_for("login:", timeout=30)
    assert_on_screen(con)


@pytest.mark.parametrize(("columns", "rows"), [(59, 25), (80, 19), (300, 25)])
def test_unsupported_sizes_are_refused(columns: int, rows: int) -> None:
    with pytest.raises(ValueError, match="not supported"):
        SyntheticHost(columns, rows)

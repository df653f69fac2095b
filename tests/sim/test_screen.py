"""The text grid, the ANSI painter, and the host helpers (output queue, boot targets)."""

from __future__ import annotations

import pyte
import pytest

from amtterm.sim.host import BOOT_TARGETS, OutputQueue, parse_boot_target
from amtterm.sim.synthetic.screen import Attr, Color, Grid, Painter, cp437_byte, render_region


def show(data: bytes, columns: int = 20, rows: int = 5) -> pyte.Screen:
    screen = pyte.Screen(columns, rows)
    pyte.Stream(screen).feed(data.decode("cp437"))
    return screen


class TestCp437:
    def test_box_and_shade_glyphs_are_single_cp437_bytes(self) -> None:
        assert cp437_byte("╔") == b"\xc9"
        assert cp437_byte("═") == b"\xcd"
        assert cp437_byte("░") == b"\xb0"
        assert cp437_byte("▒") == b"\xb1"
        assert cp437_byte("▓") == b"\xb2"

    def test_glyphs_on_control_codes_are_never_sent_raw(self) -> None:
        assert cp437_byte("←") == b"?"  # CP437 0x1B: would start an escape sequence
        assert cp437_byte("→") == b"?"
        assert cp437_byte("€") == b"?"  # not in CP437


class TestGrid:
    def test_writes_are_clipped_to_the_grid(self) -> None:
        grid = Grid(10, 3)
        grid.text(1, 7, "abcdef", Attr())
        grid.text(5, 0, "nowhere", Attr())
        grid.text(0, -2, "xyz", Attr())
        assert grid.row_text(0) == "z" + " " * 9
        assert grid.row_text(1) == "       abc"

    def test_box(self) -> None:
        grid = Grid(8, 4)
        grid.box(0, 0, 4, 8, Attr(), title="T")
        assert [grid.row_text(y) for y in range(4)] == ["╔═ T ══╗", "║      ║", "║      ║", "╚══════╝"]


class TestPainter:
    def test_first_paint_clears_and_draws_colours(self) -> None:
        grid = Grid(20, 5, Attr(Color.WHITE, Color.BLUE))
        grid.text(1, 2, "Hello", Attr(Color.YELLOW, Color.BLUE, bold=True))
        data = Painter(20, 5).paint(grid)
        assert data.startswith(b"\x1b[0m\x1b[2J")
        screen = show(data)
        assert screen.display[1] == "  Hello" + " " * 13
        cell = screen.buffer[1][2]
        assert (cell.fg, cell.bg, cell.bold) == ("brown", "blue", True)  # pyte calls SGR 33 brown
        assert screen.buffer[4][10].bg == "blue"

    def test_second_paint_sends_only_the_difference(self) -> None:
        painter = Painter(20, 5)
        grid = Grid(20, 5)
        grid.text(0, 0, "one two three", Attr())
        first = painter.paint(grid)
        grid.text(0, 4, "TWO", Attr())
        second = painter.paint(grid)
        assert b"TWO" in second and b"one" not in second
        assert len(second) < 20
        assert painter.paint(grid) == b""
        screen = show(first + second)
        assert screen.display[0].startswith("one TWO three")

    def test_bottom_right_cell_is_erased_not_written(self) -> None:
        grid = Grid(20, 5, Attr(Color.WHITE, Color.CYAN))
        grid.text(4, 0, "X" * 20, Attr(Color.WHITE, Color.CYAN))
        data = Painter(20, 5).paint(grid)
        screen = show(data)
        assert screen.display[4] == "X" * 19 + " "
        assert screen.buffer[4][19].bg == "cyan"
        assert screen.display[0].strip() == ""  # nothing scrolled

    def test_invalidate_repaints_everything(self) -> None:
        painter = Painter(20, 5)
        grid = Grid(20, 5)
        grid.text(2, 2, "abc", Attr())
        painter.paint(grid)
        painter.invalidate()
        assert b"abc" in painter.paint(grid)

    def test_render_region_saves_and_restores_the_cursor(self) -> None:
        grid = Grid(20, 5)
        grid.text(2, 5, "box", Attr(Color.WHITE, Color.RED))
        data = render_region(grid, 2, 4, 1, 5)
        assert data.startswith(b"\x1b7") and data.endswith(b"\x1b8")
        screen = show(b"hello" + data)
        assert screen.display[2][4:9] == " box "
        assert (screen.cursor.x, screen.cursor.y) == (5, 0)


class TestOutputQueue:
    def test_bytes_in_order_with_a_size_limit(self) -> None:
        queue = OutputQueue()
        queue.write(b"abc")
        queue.write(b"def")
        assert queue.read(4) == b"abcd"
        assert queue.pending
        assert queue.read() == b"ef"
        assert not queue.pending
        assert queue.read() == b""

    def test_lazy_streams_are_only_pulled_as_far_as_needed(self) -> None:
        pulled: list[int] = []

        def source():  # type: ignore[no-untyped-def]
            for n in range(1000):
                pulled.append(n)
                yield bytes([65 + n % 26]) * 100

        queue = OutputQueue()
        queue.write(b"<")
        queue.write_lazy(source())
        queue.write(b">")
        assert queue.read(250) == b"<" + b"A" * 100 + b"B" * 100 + b"C" * 49
        assert len(pulled) == 3
        rest = queue.read()
        assert rest.endswith(b">") and len(rest) == (1 + 1000 * 100 + 1) - 250
        assert not queue.pending

    def test_clear_closes_lazy_streams(self) -> None:
        closed: list[bool] = []

        def source():  # type: ignore[no-untyped-def]
            try:
                while True:
                    yield b"x"
            finally:
                closed.append(True)

        queue = OutputQueue()
        stream = source()
        queue.write_lazy(stream)
        assert queue.read(3) == b"xxx"
        queue.clear()
        assert closed == [True]
        assert queue.read() == b""

    def test_zero_max_bytes(self) -> None:
        queue = OutputQueue()
        queue.write(b"abc")
        assert queue.read(0) == b""
        assert queue.read() == b"abc"


class TestBootTargets:
    @pytest.mark.parametrize("target", BOOT_TARGETS)
    def test_known_targets(self, target: str) -> None:
        assert parse_boot_target(target) == target
        assert parse_boot_target(target.upper()) == target

    @pytest.mark.parametrize("text", [None, "", "none", "normal"])
    def test_normal_boot(self, text: str | None) -> None:
        assert parse_boot_target(text) is None

    def test_unknown_target_names_the_valid_ones(self) -> None:
        with pytest.raises(ValueError, match="ider-cd"):
            parse_boot_target("usb")

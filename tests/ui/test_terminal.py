"""TerminalView rendering, checked line by line through ``render_line`` in a running Textual app.

The byte streams come from the simulator's synthetic PC (``streams.py``): its POST and BIOS setup
screen (CP437 box drawing on blue), and the demo OS's ``colors`` test card (SGR colours, bold,
DEC special graphics).
"""

from __future__ import annotations

from amtterm.sim.synthetic.flood import flood
from amtterm.ui.widgets import TerminalPalette, TerminalView
from tests.ui.harness import TerminalApp, cells, hex_color
from tests.ui.streams import post_and_setup, shell_colors

BLUE = "#0000aa"  # VGA palette
RED, BRIGHT_RED = "#aa0000", "#ff5555"
LIGHT_GREY, WHITE, BLACK = "#aaaaaa", "#ffffff", "#000000"


def find_row(view: TerminalView, text: str) -> int:
    for y, line in enumerate(view.lines()):
        if text in line:
            return y
    raise AssertionError(f"{text!r} not on screen:\n{view.text()}")


async def test_setup_screen_centred_in_a_large_window() -> None:
    post, setup = post_and_setup()
    app = TerminalApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.view
        view.feed(post)
        view.feed(setup)
        await pilot.pause()
        assert view.active_encoding == "cp437"
        assert app.guesses == ["cp437"]
        top, left = (40 - 25) // 2, (120 - 80) // 2
        frame_top = find_row(view, "╔")
        frame_bottom = find_row(view, "╚")
        line = view.render_line(top + frame_top).text
        assert len(line) == 120
        assert line[left] == "╔" and line[left + 79] == "╗"
        assert line[:left].strip() == "" and line[left + 80 :].strip() == ""
        assert "╤" in line
        line = view.render_line(top + frame_bottom).text
        assert line[left] == "╚" and line[left + 79] == "╝" and "╧" in line
        assert view.render_line(top + frame_top + 1).text[left] == "║"
        # nothing above or below the remote screen
        assert view.render_line(top - 1).text.strip() == ""
        assert view.render_line(top + 25).text.strip() == ""


async def test_post_shade_blocks_are_cp437_and_bright() -> None:
    post, _setup = post_and_setup()
    app = TerminalApp()
    async with app.run_test(size=(80, 25)) as pilot:
        view = app.view
        view.feed(post)
        await pilot.pause()
        row = cells(view.render_line(0))
        assert "".join(char for char, _ in row[1:17]) == "▓▒░ DemoTech ░▒▓"  # 0xB2 0xB1 0xB0: dark first
        assert hex_color(row[1][1]) == "#55ffff"  # ESC [ 0;1;36;40 m: bold cyan = bright cyan
        assert "Intel(R) AMT" in view.text()


async def test_setup_screen_colours() -> None:
    post, setup = post_and_setup()
    app = TerminalApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.view
        view.feed(post + setup)
        await pilot.pause()
        top, left = 7, 20
        vendor = find_row(view, "BIOS Vendor")
        column = view.lines()[vendor].index("BIOS Vendor")
        row = cells(view.render_line(top + vendor))
        char, style = row[left + column]
        assert char == "B"
        assert hex_color(style, background=True) == BLUE
        # the frame is drawn on blue too
        assert hex_color(row[left][1], background=True) == BLUE
        # the title bar: ESC [ 0;1;37;44 m = bold white on blue -> bright white, no bold font
        title = cells(view.render_line(top + 0))
        assert title[left + 20][0] != " " or title[left + 30][0] != " "
        assert hex_color(title[left + 30][1]) == WHITE
        assert hex_color(title[left + 30][1], background=True) == BLUE
        assert not title[left + 30][1].bold
        # outside the remote screen: the widget's own background, not the palette's
        assert hex_color(row[0][1], background=True) != BLUE


async def test_bold_is_bright_on_the_colour_card() -> None:
    boot, colors = shell_colors()
    app = TerminalApp()
    async with app.run_test(size=(80, 25)) as pilot:
        view = app.view
        view.feed(boot + colors)
        await pilot.pause()
        normal = find_row(view, "   31m")
        bold = find_row(view, " 1;31m")
        plain_cells = cells(view.render_line(normal))
        bold_cells = cells(view.render_line(bold))
        x = view.lines()[normal].index("gYw")
        assert plain_cells[x][0] == "g" and bold_cells[x][0] == "g"
        assert hex_color(plain_cells[x][1]) == RED
        assert hex_color(bold_cells[x][1]) == BRIGHT_RED
        assert hex_color(bold_cells[x][1], background=True) == BLACK  # 40m column
        assert not bold_cells[x][1].bold  # brightness, not a bold font
        white = find_row(view, " 1;37m")
        assert hex_color(cells(view.render_line(white))[x][1]) == WHITE
        grey = find_row(view, "   37m")
        assert hex_color(cells(view.render_line(grey))[x][1]) == LIGHT_GREY


async def test_dec_special_graphics_from_the_colour_card() -> None:
    boot, colors = shell_colors()
    app = TerminalApp()
    async with app.run_test(size=(80, 25)) as pilot:
        view = app.view
        view.feed(boot + colors)
        await pilot.pause()
        y = find_row(view, "┌──────┬──────┐")
        assert view.render_line(y).text.startswith("  ┌──────┬──────┐")
        assert view.render_line(y + 2).text.startswith("  ├──────┼──────┤")
        assert view.render_line(y + 4).text.startswith("  └──────┴──────┘")
        assert "◆▒°±┘┐┌└┼" in view.render_line(y + 5).text
        # after ESC ( B the letters are letters again
        assert "(diamond, checker, degree ... pi, pound)" in view.render_line(y + 5).text


async def test_dec_line_drawing_switches_in_and_out() -> None:
    app = TerminalApp(encoding="utf-8")
    async with app.run_test(size=(80, 25)) as pilot:
        view = app.view
        view.feed(b"\x1b(0lqqk\x1b(B lqqk\r\n\x1b(0x  x\r\nmqqj\x1b(B")
        await pilot.pause()
        assert view.render_line(0).text.startswith("┌──┐ lqqk")
        assert view.render_line(1).text.startswith("│  │")
        assert view.render_line(2).text.startswith("└──┘")
        view.feed(b"\x1b[4;1H\x0elqk\x0f lqk")  # SO / SI select G1 (DEC graphics) and back
        await pilot.pause()
        assert view.render_line(3).text.startswith("┌─┐ lqk")


async def test_reverse_underline_256_and_truecolor() -> None:
    app = TerminalApp(encoding="utf-8")
    async with app.run_test(size=(80, 25)) as pilot:
        view = app.view
        view.feed(
            b"\x1b[0;33;44mAB\x1b[7mCD\x1b[27mEF\x1b[0m \x1b[4mU\x1b[24mu "
            b"\x1b[38;5;196mX\x1b[38;5;1mY\x1b[48;2;1;2;3mZ\x1b[0m \x1b[1;38;5;28mW\x1b[0m\x1b[?25l"
        )
        await pilot.pause()
        row = cells(view.render_line(0))
        (a, a_style), (c, c_style), (e, e_style) = row[0], row[2], row[4]
        assert (a, c, e) == ("A", "C", "E")
        assert (hex_color(a_style), hex_color(a_style, True)) == ("#aa5500", BLUE)
        assert (hex_color(c_style), hex_color(c_style, True)) == (BLUE, "#aa5500")
        assert hex_color(e_style) == "#aa5500"
        assert row[7][0] == "U" and row[7][1].underline
        assert row[8][0] == "u" and not row[8][1].underline
        assert row[10][0] == "X" and hex_color(row[10][1]) == "#ff0000"  # 256-colour 196
        assert row[11][0] == "Y" and hex_color(row[11][1]) == RED  # 256-colour 1 = palette red
        assert row[12][0] == "Z" and hex_color(row[12][1], True) == "#010203"  # truecolor
        assert row[14][0] == "W" and row[14][1].bold  # bold on a 256 colour stays bold


async def test_cursor_shown_as_reverse_cell_when_the_remote_shows_it() -> None:
    app = TerminalApp(encoding="utf-8")
    async with app.run_test(size=(80, 25)) as pilot:
        view = app.view
        view.feed(b"hello\x1b[5;10H")
        await pilot.pause()
        assert view.cursor == (4, 9)
        cell = cells(view.render_line(4))[9]
        assert (hex_color(cell[1]), hex_color(cell[1], True)) == (BLACK, LIGHT_GREY)
        view.feed(b"\x1b[?25l")
        await pilot.pause()
        cell = cells(view.render_line(4))[9]
        assert (hex_color(cell[1]), hex_color(cell[1], True)) == (LIGHT_GREY, BLACK)
        view.feed(b"\x1b[?25h\x1b[1;1H")
        await pilot.pause()
        assert hex_color(cells(view.render_line(0))[0][1], True) == LIGHT_GREY
        assert hex_color(cells(view.render_line(4))[9][1], True) == BLACK  # old place cleared


async def test_theme_palette_applies_live() -> None:
    post, setup = post_and_setup()
    app = TerminalApp()
    async with app.run_test(size=(80, 25)) as pilot:
        view = app.view
        view.feed(post + setup)
        await pilot.pause()
        vendor = find_row(view, "BIOS Vendor")
        assert hex_color(cells(view.render_line(vendor))[3][1], True) == BLUE
        view.palette = TerminalPalette.from_mapping({"blue": "#102030"})
        await pilot.pause()
        assert hex_color(cells(view.render_line(vendor))[3][1], True) == "#102030"


async def test_fixed_screen_scrolls_inside_a_small_window() -> None:
    post, setup = post_and_setup()
    app = TerminalApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.view
        view.feed(post + setup)
        await pilot.pause()
        assert view.screen_size == (80, 25)
        assert view.max_scroll_x > 0 and view.max_scroll_y > 0
        lines = view.lines()
        assert view.render_line(0).text[:59] == lines[0][:59]  # not reflowed, not centred
        view.scroll_to(view.max_scroll_x, view.max_scroll_y, animate=False)
        await pilot.pause()
        sx, sy = view.scroll_offset
        frame_bottom = find_row(view, "╚")
        line = view.render_line(frame_bottom - sy).text
        assert line[: 80 - sx] == lines[frame_bottom][sx:]
        assert line[79 - sx] == "╝"


async def test_tiny_windows_do_not_crash() -> None:
    post, setup = post_and_setup()
    app = TerminalApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.view
        view.feed(post)
        for width, height in ((10, 4), (3, 2), (1, 1), (200, 3), (2, 60), (120, 40)):
            await pilot.resize_terminal(width, height)
            await pilot.pause()
            view.feed(setup)
            for y in range(view.size.height):
                assert view.render_line(y).cell_length == view.size.width
        assert "BIOS Vendor" in view.text()


async def test_screen_size_switch_to_100x30() -> None:
    post, setup = post_and_setup(100, 30)
    app = TerminalApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.view
        view.screen_size = (100, 30)
        view.feed(post + setup)
        await pilot.pause()
        assert view.virtual_size.width == 100 and view.virtual_size.height == 30
        top, left = (40 - 30) // 2, (120 - 100) // 2
        frame_top = find_row(view, "╔")
        line = view.render_line(top + frame_top).text
        assert line[left] == "╔" and line[left + 99] == "╗"
        view.screen_size = (80, 24)
        await pilot.pause()
        assert len(view.lines()) == 24 and len(view.lines()[0]) == 80


async def test_only_dirty_rows_are_repainted() -> None:
    post, setup = post_and_setup()
    app = TerminalApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.view
        view.feed(post + setup)
        await pilot.pause()
        top = 7
        old_cursor_row = view.cursor[0]
        view.rendered.clear()
        built = view.strips_built
        view.feed(b"\x1b[6;3Hhello")  # one row changes; the cursor leaves its old row
        await pilot.pause()
        assert view.lines()[5][2:7] == "hello"
        assert set(view.rendered) <= {top + 5, top + old_cursor_row}
        assert view.strips_built - built <= 2
        view.rendered.clear()
        built = view.strips_built
        await pilot.pause()
        view.refresh()  # a full repaint re-uses the cached rows
        await pilot.pause()
        assert len(view.rendered) >= 25
        assert view.strips_built == built


async def test_flood_of_2mb_renders_rows_per_frame_not_per_byte() -> None:
    data = b"".join(flood(2_000_000, 80, 25))
    app = TerminalApp()
    async with app.run_test(size=(80, 25)) as pilot:
        view = app.view
        await pilot.pause()
        built = view.strips_built
        view.rendered.clear()
        chunk = 65536
        frames = 0
        for start in range(0, len(data), chunk):
            view.feed(data[start : start + chunk])
            await pilot.pause()
            frames += 1
        built = view.strips_built - built
        assert built <= 25 * frames + 25  # at most every row once per frame
        assert len(view.rendered) <= 25 * frames + 25
        assert built * 1000 < len(data)
        assert "FLOOD-END 2000000" in view.text()

"""Golden screens from real firmware, shown by every screen model a user or a script looks through.

The streams in ``tests/data/firmware/`` are raw serial bytes of real firmware in QEMU, recorded by
``python -m tests.support.capture_firmware`` (no part of amtterm on the way): SeaBIOS's boot menu,
iPXE's banner after booting Debian's ipxe.iso, and the Debian installer's "[!!] Select a language"
dialog (GNU screen's caption, newt's dialog drawn with ``ESC ( 0`` line drawing and colours). What
each must show, ``<name>.screen.txt`` (the rows) and ``<name>.cells.txt`` (the cursor and some
cells' colours and attributes), was written down from the bytes by hand and checked against what
pyte alone (no amtterm code) and tmux show for them: so firmware no one here wrote judges

* the console's TerminalView, read through its rendering (``render_line``) in a Textual app;
* ``amtterm.expect``'s Console (what scripts read and wait for);
* ``amtterm.share``'s ShareScreen (what colleagues sharing the console see), also through a
  viewer's canvas drawn into a plain pyte terminal;

each fed the stream whole and in odd pieces that cut escape sequences (and multi-byte characters,
should a capture hold any: these three are 7-bit) apart. Only the models' public entry points are
used: feed bytes, read text, rows and cells.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pyte
import pytest

from amtterm.expect import Console
from amtterm.share.screen import Canvas, ShareScreen
from tests.ui.harness import TerminalApp, cells, hex_color

DATA = Path(__file__).resolve().parent.parent / "data" / "firmware"
NAMES = ("seabios_boot_menu", "ipxe_banner", "debian_installer_language")
COLUMNS, ROWS = 80, 25

ANSI_NAMES = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
#: A PC's VGA text palette: the 8 colours, then their bright forms (bold on a PC console).
VGA = (
    "#000000", "#aa0000", "#00aa00", "#aa5500", "#0000aa", "#aa00aa", "#00aaaa", "#aaaaaa",
    "#555555", "#ff5555", "#55ff55", "#ffff55", "#5555ff", "#ff55ff", "#55ffff", "#ffffff",
)  # fmt: skip
#: Names as pyte spells them (ShareScreen's SGR goes through pyte in the viewer test).
PYTE_NAMES = {"yellow": "brown"}


# -- the goldens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One cell as written down: character, SGR colour names (or "default"), attributes."""

    row: int
    column: int
    char: str
    fg: str
    bg: str
    bold: bool
    reverse: bool

    def seen(self) -> tuple[str, str]:
        """The (foreground, background) a PC console shows: bold brightens, reverse swaps."""
        fg = ANSI_NAMES.index(self.fg) if self.fg != "default" else 7
        bg = ANSI_NAMES.index(self.bg) if self.bg != "default" else 0
        colours = VGA[fg + 8 if self.bold else fg], VGA[bg]
        return (colours[1], colours[0]) if self.reverse else colours


@dataclass(frozen=True)
class Golden:
    name: str
    stream: bytes
    rows: tuple[str, ...]
    cursor: tuple[int, int]
    cells: tuple[Cell, ...]


@cache
def golden(name: str) -> Golden:
    stream = (DATA / f"{name}.bin").read_bytes()
    rows = (DATA / f"{name}.screen.txt").read_text(encoding="utf-8").splitlines()
    assert len(rows) <= ROWS and all(len(row) <= COLUMNS for row in rows)
    rows += [""] * (ROWS - len(rows))
    cursor = None
    found: list[Cell] = []
    for line in (DATA / f"{name}.cells.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("cursor "):
            _, y, x = line.split()
            cursor = int(y), int(x)
            continue
        match = re.fullmatch(r'(\d+) (\d+) ("[^"]"|\S) (\w+) (\w+) ([\w,-]+)', line)
        assert match, f"{name}.cells.txt: {line!r}"
        y, x, char, fg, bg, attrs = match.groups()
        assert {fg, bg} <= {"default", *ANSI_NAMES}, line
        found.append(Cell(int(y), int(x), char.strip('"'), fg, bg, "bold" in attrs, "reverse" in attrs))
    assert cursor is not None and found
    return Golden(name, stream, tuple(rows), cursor, tuple(found))


# -- feeding ----------------------------------------------------------------------------------

#: Odd piece sizes, cycled through the stream.
ODD_SIZES = (1, 2, 3, 5, 7, 11, 13, 17, 61, 127, 509)


def _cuts_inside(data: bytes) -> list[int]:
    """Offsets that fall inside escape sequences and multi-byte UTF-8 characters."""
    cuts: set[int] = set()
    for match in re.finditer(rb"\x1b(\[[0-9;?=]*[ -/]*[@-~]|[()][0-9A-Za-z]|[^\[()])", data):
        start, end = match.span()
        cuts.update(range(start + 1, end))  # after ESC, after "[", between the digits ...
    for match in re.finditer(rb"[\xc0-\xf7][\x80-\xbf]+", data):
        start, end = match.span()
        cuts.update(range(start + 1, end))
    return sorted(cuts)


def pieces(data: bytes, how: str) -> Iterator[bytes]:
    """The stream whole, in odd sizes, or cut inside every escape sequence and character."""
    if how == "whole":
        yield data
    elif how == "odd":
        at = n = 0
        while at < len(data):
            size = ODD_SIZES[n % len(ODD_SIZES)]
            yield data[at : at + size]
            at, n = at + size, n + 1
    elif how == "inside":
        at = 0
        for cut in _cuts_inside(data):
            yield data[at:cut]
            at = cut
        yield data[at:]
    else:
        raise ValueError(how)


CHUNKINGS = ("whole", "odd", "inside")


def test_the_pieces_cut_escape_sequences_apart_and_add_up() -> None:
    data = golden("debian_installer_language").stream
    for how in CHUNKINGS:
        assert b"".join(pieces(data, how)) == data
    inside = list(pieces(data, "inside"))
    # every escape sequence is cut after ESC and between each of its bytes: ESC | ( | 0, ESC | [ | 1 | 0 | m
    assert b"(" in inside and b"[" in inside
    assert sum(piece.endswith(b"\x1b") for piece in inside) == data.count(b"\x1b")
    assert list(pieces(b"a\xc3\xa9\x1b[1mb", "inside")) == [b"a\xc3", b"\xa9\x1b", b"[", b"1", b"mb"]


# -- the goldens themselves -------------------------------------------------------------------


def test_the_captures_are_small_real_firmware_streams() -> None:
    sizes = {name: len(golden(name).stream) for name in NAMES}
    assert sum(sizes.values()) < 200_000, sizes
    seabios, ipxe, installer = (golden(name).stream for name in NAMES)
    assert seabios.startswith(b"\x1bc") and b"SeaBIOS (version" in seabios  # SeaBIOS's serial console
    assert ipxe.startswith(b"\x1bc") and b"iPXE" in ipxe and b"\x08 \x08" in ipxe  # a prompt erased with BS
    assert b"Linux version" in installer and b"\x1b(0" in installer and b"\x1b[4h" in installer  # IRM


@pytest.mark.parametrize("name", NAMES)
def test_the_goldens_agree_with_pyte_alone(name: str) -> None:
    """The written-down screens are what a plain pyte terminal (no amtterm code) shows."""
    gold = golden(name)
    screen = pyte.Screen(COLUMNS, ROWS)
    stream = pyte.Stream(screen)
    stream.use_utf8 = False  # the captures are 7-bit; ESC ( 0 is honoured only outside UTF-8 mode
    stream.feed(gold.stream.decode("ascii"))
    assert [row.rstrip() for row in screen.display] == list(gold.rows)
    assert (screen.cursor.y, screen.cursor.x) == gold.cursor
    for cell in gold.cells:
        char = screen.buffer[cell.row][cell.column]
        fg, bg = (PYTE_NAMES.get(colour, colour) for colour in (cell.fg, cell.bg))
        assert (char.data, char.fg, char.bg, char.bold, char.reverse) == (
            cell.char, fg, bg, cell.bold, cell.reverse
        ), cell  # fmt: skip


# -- the console's TerminalView ---------------------------------------------------------------


def _expect_cells(gold: Golden, read: Callable[[int, int], tuple[str, str | None, str | None]]) -> None:
    for cell in gold.cells:
        if (cell.row, cell.column) == gold.cursor:
            continue  # the view draws its cursor there
        char, fg, bg = read(cell.row, cell.column)
        assert (char, fg, bg) == (cell.char, *cell.seen()), f"{gold.name}: {cell}"


async def _view_shows(gold: Golden, how: str, size: tuple[int, int]) -> None:
    app = TerminalApp()
    async with app.run_test(size=size) as pilot:
        view = app.view
        assert view.screen_size == (COLUMNS, ROWS)
        for n, piece in enumerate(pieces(gold.stream, how)):
            view.feed(piece)
            # let the app render now and then, but never while a character may be cut in two
            if n % 97 == 0 and piece[-1] < 0x80:
                await pilot.pause()
        await pilot.pause()
        top, left = (size[1] - ROWS) // 2, (size[0] - COLUMNS) // 2
        shown = [view.render_line(top + y).text[left : left + COLUMNS].rstrip() for y in range(ROWS)]
        assert shown == list(gold.rows), "\n".join(shown)
        assert view.cursor == gold.cursor
        if top:
            assert view.render_line(top - 1).text.strip() == ""
            assert view.render_line(top + ROWS).text.strip() == ""

        def read(y: int, x: int) -> tuple[str, str | None, str | None]:
            char, style = cells(view.render_line(top + y))[left + x]
            return char, hex_color(style), hex_color(style, background=True)

        _expect_cells(gold, read)


@pytest.mark.parametrize("how", CHUNKINGS)
@pytest.mark.parametrize("name", NAMES)
async def test_terminal_view_shows_the_firmware_screen(name: str, how: str) -> None:
    await _view_shows(golden(name), how, (COLUMNS, ROWS))


async def test_terminal_view_centres_the_installer_dialog_in_a_large_window() -> None:
    await _view_shows(golden("debian_installer_language"), "odd", (120, 40))


async def test_installer_dialog_box_and_highlight_in_the_terminal_view() -> None:
    """The points a user looks at, spelled out: the frame's glyphs and the highlighted entry."""
    gold = golden("debian_installer_language")
    app = TerminalApp()
    async with app.run_test(size=(COLUMNS, ROWS)) as pilot:
        view = app.view
        for piece in pieces(gold.stream, "inside"):
            view.feed(piece)
        await pilot.pause()
        title = view.render_line(4).text
        assert title[2] == "┌" and title[76] == "┐" and set(title[3:26]) == {"─"}
        assert title[26:52] == "┤ [!!] Select a language ├"
        for y in range(5, 17):
            line = view.render_line(y).text
            assert line[2] == "│" and line[76] == "│", line
        bottom = view.render_line(17).text
        assert bottom[2] == "└" and bottom[76] == "┘" and set(bottom[3:76]) == {"─"}
        assert "lqqq" not in view.text() and "mqqq" not in view.text()  # no DEC letters left as letters
        entry = cells(view.render_line(13))
        start = view.lines()[13].index("English")
        for char, style in entry[start + 1 : start + 7]:  # the cursor is on the "E"
            assert (hex_color(style), hex_color(style, True)) == (VGA[7], VGA[1]), char  # white on red
        other = cells(view.render_line(12))[view.lines()[12].index("C")]
        assert (hex_color(other[1]), hex_color(other[1], True)) == (VGA[0], VGA[7])  # black on white
        title_cells = cells(view.render_line(4))
        assert hex_color(title_cells[30][1]) == VGA[1]  # the title in red


# -- amtterm.expect's Console -----------------------------------------------------------------


class _NoDevice:
    """Stands in for a started SolClient: no output of its own, keys dropped."""

    target = "firmware-golden:16994"

    def __init__(self) -> None:
        self.power_listeners: list[Any] = []
        self.closed = asyncio.Event()

    async def read(self) -> bytes:
        await self.closed.wait()
        return b""

    async def write(self, data: bytes) -> None:
        pass

    async def close(self) -> None:
        self.closed.set()


@pytest.mark.parametrize("how", CHUNKINGS)
@pytest.mark.parametrize("name", NAMES)
async def test_expect_console_reads_the_firmware_screen(name: str, how: str) -> None:
    gold = golden(name)
    console = Console(_NoDevice(), columns=COLUMNS, rows=ROWS)  # type: ignore[arg-type]
    try:
        for piece in pieces(gold.stream, how):
            console.feed(piece)
        assert [row.rstrip() for row in console.screen_lines()] == list(gold.rows)
        assert console.screen_text().split("\n") == [row.rstrip() for row in gold.rows]
        assert console.cursor == gold.cursor
        # what a script waits for
        wanted = {
            "seabios_boot_menu": "Select boot device:",
            "ipxe_banner": "Open Source Network Boot Firmware",
            "debian_installer_language": "[!!] Select a language",
        }[name]
        found = await console.expect(wanted, timeout=1)
        assert found.where == "screen" and found.row is not None
        assert gold.rows[found.row][found.column :].startswith(wanted)
    finally:
        await console.close()


async def test_expect_sees_the_erased_ipxe_prompt_in_the_stream_only() -> None:
    console = Console(_NoDevice())  # type: ignore[arg-type]
    try:
        for piece in pieces(golden("ipxe_banner").stream, "odd"):
            console.feed(piece)
        assert "Press Ctrl-B" not in console.screen_text()  # erased with BS-space-BS
        found = await console.expect("Press Ctrl-B for the iPXE command line", timeout=1)
        assert found.where == "stream"
    finally:
        await console.close()


# -- amtterm.share's ShareScreen --------------------------------------------------------------

_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def _sgr_cells(row: str) -> list[tuple[str, str, str, bool, bool]]:
    """(char, fg, bg, bold, reverse) per cell of a row drawn as text with SGR sequences."""
    out: list[tuple[str, str, str, bool, bool]] = []
    fg = bg = "default"
    bold = reverse = False
    at = 0
    for match in [*_SGR.finditer(row), None]:
        text = row[at : match.start() if match else len(row)]
        out += [(char, fg, bg, bold, reverse) for char in text]
        if match is None:
            break
        at = match.end()
        for code in [int(part or 0) for part in match.group(1).split(";")]:
            if code == 0:
                fg = bg = "default"
                bold = reverse = False
            elif code == 1:
                bold = True
            elif code == 7:
                reverse = True
            elif 30 <= code <= 37:
                fg = ANSI_NAMES[code - 30]
            elif 40 <= code <= 47:
                bg = ANSI_NAMES[code - 40]
            elif code == 39:
                fg = "default"
            elif code == 49:
                bg = "default"
            else:
                raise AssertionError(f"unexpected SGR {code} in {row!r}")
    return out


@pytest.mark.parametrize("how", CHUNKINGS)
@pytest.mark.parametrize("name", NAMES)
def test_share_screen_shows_the_firmware_screen(name: str, how: str) -> None:
    gold = golden(name)
    shared = ShareScreen(COLUMNS, ROWS, encoding="auto")
    for piece in pieces(gold.stream, how):
        shared.feed(piece)
    assert shared.text().split("\n") == list(gold.rows)
    column, row, visible = shared.cursor
    assert (row, column, visible) == (*gold.cursor, True)
    for cell in gold.cells:
        drawn = _sgr_cells(shared.row(cell.row))
        assert len(drawn) == COLUMNS
        assert drawn[cell.column] == (cell.char, cell.fg, cell.bg, cell.bold, cell.reverse), cell


@pytest.mark.parametrize("name", NAMES)
def test_a_sharing_viewer_sees_the_firmware_screen(name: str) -> None:
    """The frame a colleague's terminal gets, drawn into a plain pyte terminal of 100x30."""
    gold = golden(name)
    shared = ShareScreen(COLUMNS, ROWS)
    for piece in pieces(gold.stream, "odd"):
        shared.feed(piece)
    screen = pyte.Screen(100, 30)
    pyte.ByteStream(screen).feed(Canvas(shared, 100, 30).frame("watching"))
    top, left = 2, 10  # the 25 rows over a status line, centred in 29
    shown = [screen.display[top + y][left : left + COLUMNS].rstrip() for y in range(ROWS)]
    assert shown == list(gold.rows)
    assert screen.display[29].rstrip() == "watching"
    for cell in gold.cells:
        char = screen.buffer[top + cell.row][left + cell.column]
        fg, bg = (PYTE_NAMES.get(colour, colour) for colour in (cell.fg, cell.bg))
        assert (char.data, char.fg, char.bg, char.bold, char.reverse) == (
            cell.char, fg, bg, cell.bold, cell.reverse
        ), cell  # fmt: skip

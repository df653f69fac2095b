"""Helpers for the synthetic host tests: drive a host through simulated time, show it in pyte.

The host's output is CP437 (not UTF-8), so it is decoded with Python's ``cp437`` codec before it
reaches a ``pyte.Stream``; 0x1B and the other control bytes decode to themselves.
"""

from __future__ import annotations

import re

import pyte

from amtterm.sim.synthetic import SyntheticHost

CUP = re.compile(rb"\x1b\[(\d*);?(\d*)H")


class TrackingScreen(pyte.Screen):  # type: ignore[misc]
    """A pyte screen that counts auto-wraps and scrolls (a BIOS page must cause neither)."""

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.wraps = 0
        self.scrolls = 0

    def draw(self, data: str) -> None:
        for char in data:
            if self.cursor.x >= self.columns and mo_decawm(self):
                self.wraps += 1
            super().draw(char)

    def index(self) -> None:
        _top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        if self.cursor.y == bottom:
            self.scrolls += 1
        super().index()


def mo_decawm(screen: pyte.Screen) -> bool:
    return pyte.modes.DECAWM in screen.mode


class Console:
    """A synthetic host plus the terminal a user would watch it on.

    Time only moves when the test says so; :meth:`advance` visits every deadline the host
    names on the way, as the simulator's driver does.
    """

    def __init__(self, columns: int = 80, rows: int = 25, **options: object) -> None:
        self.columns, self.rows = columns, rows
        self.host = SyntheticHost(columns, rows, **options)  # type: ignore[arg-type]
        self.screen = TrackingScreen(columns, rows)
        self.stream = pyte.Stream(self.screen)
        self.stream.use_utf8 = False  # the bytes are CP437, decoded here; honour ESC ( 0
        self.now = 0.0
        self.raw = bytearray()

    # -- driving ----------------------------------------------------------------------------

    def pump(self, max_bytes: int | None = None) -> bytes:
        data = self.host.read_output(self.now, max_bytes)
        self.show(data)
        return data

    def show(self, data: bytes) -> None:
        self.raw += data
        self.stream.feed(data.decode("cp437"))

    def power_on(self) -> None:
        self.host.power_on(self.now)
        self.pump()

    def advance(self, seconds: float) -> None:
        target = self.now + seconds
        for _ in range(100_000):
            due = self.host.next_deadline()
            if due is None or due > target:
                break
            self.now = max(self.now, due)
            self.pump()
        self.now = target
        self.pump()

    def send(self, data: bytes, pause: float = 0.0) -> None:
        self.host.feed(data, self.now)
        self.pump()
        if pause:
            self.advance(pause)

    def press(self, *keys: bytes, pause: float = 0.3) -> None:
        """Send each key separately, with ``pause`` seconds after each (longer than Esc's timeout)."""
        for key in keys:
            self.send(key, pause)

    def wait_for(self, text: str, timeout: float = 60.0, step: float = 0.1) -> None:
        end = self.now + timeout
        while text not in self.text():
            if self.now >= end:
                raise AssertionError(f"{text!r} did not appear in {timeout}s; screen:\n{self.text()}")
            self.advance(step)

    # -- looking ----------------------------------------------------------------------------

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def row(self, y: int) -> str:
        return str(self.screen.display[y])

    def cell(self, y: int, x: int) -> pyte.screens.Char:
        return self.screen.buffer[y][x]

    def find(self, text: str) -> tuple[int, int]:
        for y, line in enumerate(self.screen.display):
            x = line.find(text)
            if x >= 0:
                return y, x
        raise AssertionError(f"{text!r} not on screen:\n{self.text()}")

    def cursor_moves(self) -> list[tuple[int, int]]:
        """Every ESC [ r ; c H in the output so far, as (row, column), 1-based."""
        return [(int(r or 1), int(c or 1)) for r, c in CUP.findall(bytes(self.raw))]


# Key spellings, as a terminal would send them.
UP, DOWN, RIGHT, LEFT, HOME = b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D", b"\x1b[H"
ENTER, ESC = b"\r", b"\x1b"
F1, F2, F9, F10, F12 = b"\x1bOP", b"\x1b[OQ", b"\x1bOX", b"\x1bOY", b"\x1b@"
CTRL_ALT_DEL = b"\x1bR\x1br\x1bR"

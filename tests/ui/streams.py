"""Byte streams captured from the simulator's synthetic PC, for feeding the terminal widget.

The synthetic host is driven through simulated time (every deadline it names is visited), as
the simulator's device does; what it writes to its serial port is collected as raw bytes:
CP437 for the firmware screens, ASCII plus DEC special graphics for the demo OS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from amtterm.sim.synthetic import SyntheticHost

#: Function keys in the VT100+ convention the simulator accepts (F2 = setup).
F2 = b"\x1bOQ"


@dataclass
class Capture:
    """A synthetic host and the bytes it wrote so far."""

    columns: int = 80
    rows: int = 25
    now: float = 0.0
    output: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self.host = SyntheticHost(self.columns, self.rows)

    def advance(self, seconds: float) -> bytes:
        """Let ``seconds`` of simulated time pass; returns what was written meanwhile."""
        start = len(self.output)
        target = self.now + seconds
        for _ in range(100_000):
            due = self.host.next_deadline()
            if due is None or due > target:
                break
            self.now = max(self.now, due)
            self.output += self.host.read_output(self.now)
        self.now = target
        self.output += self.host.read_output(self.now)
        return bytes(self.output[start:])

    def send(self, keys: bytes, pause: float = 0.5) -> bytes:
        """Type ``keys``, wait ``pause`` seconds; returns what was written meanwhile."""
        start = len(self.output)
        self.host.feed(keys, self.now)
        self.advance(pause)
        return bytes(self.output[start:])

    def until(self, text: bytes, limit: float = 60.0) -> bytes:
        """Advance until ``text`` was written; returns everything written meanwhile."""
        start = len(self.output)
        while text not in self.output[start:]:
            if self.now > limit:
                raise AssertionError(f"{text!r} never came")
            self.advance(0.25)
        return bytes(self.output[start:])


@cache
def post_and_setup(columns: int = 80, rows: int = 25) -> tuple[bytes, bytes]:
    """POST (the first second after power on), then F2 at 1.5 s: the BIOS setup screen."""
    capture = Capture(columns, rows)
    capture.host.power_on(0.0)
    post = capture.advance(1.5)
    setup = capture.send(F2, 1.5)
    return post, setup


@cache
def shell_colors() -> tuple[bytes, bytes]:
    """Everything up to a shell prompt, then the output of the ``colors`` command."""
    capture = Capture()
    capture.host.power_on(0.0)
    capture.until(b"login: ")
    capture.send(b"alice\r")
    boot = bytes(capture.output) + capture.send(b"secret\r")
    colors = capture.send(b"colors\r")
    return boot, colors

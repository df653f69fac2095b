"""One console stream, four readers, one text: the owner's console, a share viewer, the recording
and expect all show the same characters, because they share one decoder and one screen model.

The stream is a PC booting: a BIOS draws a small CP437 frame (0xC9 0xCD 0xBB, a 0xB0 shade) in
short reads, a DEC line-drawing box (``ESC ( 0``), colours; then the OS speaks UTF-8; then the
PC reboots into the BIOS. All readers decode in ``auto`` mode.

Before the one decoder, the console and expect (``StreamDecoder``) and the share viewers and
the recordings (the recorder's ``ConsoleDecoder``) guessed differently: a read of just
``╔══╗`` (0xC9 0xCD 0xCD 0xBB) is not enough to turn the guess to CP437, and its last two bytes
happen to be valid UTF-8, so the console showed ``╔═ͻ`` while the viewers and the recording
showed ``╔══╗``; the plain-text log also wrote DEC line drawing as ``lqqqk``.
"""

from __future__ import annotations

import asyncio
import io
import json

import pyte

from amtterm.expect import Console
from amtterm.session.recorder import AsciicastWriter, ConsoleRecorder, PlainLogWriter
from amtterm.share.screen import Canvas, ShareScreen
from amtterm.terminal.screen import RemoteScreen
from amtterm.ui.widgets.emulator import TerminalEmulator

FRAME_COLOURS = b"\x1b[1;37;44m"  # bright white on blue
BIOS = [
    b"\x1b[0m\x1b[2J\x1b[1;1H" + FRAME_COLOURS + b"\xc9\xcd\xcd\xbb",  # ╔══╗ (its ═╗ is valid UTF-8)
    b"\x1b[2;1H\xba\xb0\xb0\xba",  # ║░░║
    b"\x1b[3;1H\xc8\xcd\xcd\xbc\x1b[0m",  # ╚══╝ (═╝ too)
    b"\x1b[3;8H\x1b[33mPress F2 to enter SETUP\x1b[0m",
    b"\x1b[5;1H\x1b(0lqqqk\x1b(B DEC\r\n\x1b(0mqqqj\x1b(B",  # DEC special graphics
]
OS = [
    b"\x1b[2J\x1b[H" + "Debian GNU/Linux 12 ─ démarré ✓\r\n".encode(),
    "\x1b[32m●\x1b[0m Grüße, système prêt\r\nlogin: ".encode(),
]
REBOOT = [BIOS[0]]

BIOS_SCREEN = ["╔══╗", "║░░║", "╚══╝   Press F2 to enter SETUP", "", "┌───┐ DEC", "└───┘"]
OS_SCREEN = ["Debian GNU/Linux 12 ─ démarré ✓", "● Grüße, système prêt", "login:"]
LOG = [*BIOS_SCREEN[:2], "╚══╝", "Press F2 to enter SETUP", *BIOS_SCREEN[4:], *OS_SCREEN, "╔══╗"]


class QuietClient:
    """A SOL client that never sends anything itself (the test feeds expect's console)."""

    target = "pc:16994"

    def __init__(self) -> None:
        self.power_listeners: list[object] = []
        self.output: asyncio.Queue[bytes] = asyncio.Queue()

    async def read(self) -> bytes:
        return await self.output.get()

    async def write(self, data: bytes) -> None:
        raise AssertionError("nothing is typed here")

    async def close(self) -> None:
        self.output.put_nowait(b"")


class Readers:
    """The four readers of one console, fed the same reads."""

    def __init__(self) -> None:
        self.console = TerminalEmulator(80, 25, encoding="auto")
        self.shared = ShareScreen(80, 25, encoding="auto")
        self.canvas = Canvas(self.shared, 80, 26)
        self.viewer = pyte.Screen(80, 26)  # the viewer's own terminal
        self.viewer_stream = pyte.ByteStream(self.viewer)
        self.cast, self.log = io.StringIO(), io.StringIO()
        self.recorder = ConsoleRecorder(
            AsciicastWriter(self.cast, encoding="auto", timestamp=0),
            PlainLogWriter(self.log, encoding="auto"),
        )
        self.player = RemoteScreen(80, 25, encoding="utf-8")  # plays the cast as `amtterm replay` does
        self.played = 1  # the header line
        self.expect = Console(QuietClient(), encoding="auto")  # type: ignore[arg-type]

    def feed(self, data: bytes) -> None:
        self.console.feed(data)
        self.shared.feed(data)
        self.viewer_stream.feed(self.canvas.frame("status"))
        self.recorder.output(data)
        self.expect.feed(data)
        lines = self.cast.getvalue().splitlines()
        for line in lines[self.played :]:
            _, kind, text = json.loads(line)
            if kind == "o":
                self.player.feed(text.encode("utf-8"))
        self.played = len(lines)

    def shown(self) -> dict[str, str]:
        """The text each reader shows, trailing blanks removed."""
        viewer = "\n".join(row.rstrip() for row in self.viewer.display[:25])
        return {
            "console": self.console.text(),
            "viewer": viewer,
            "recording": self.player.text(),
            "expect": self.expect.screen_text(),
        }


def top(text: str, rows: int) -> list[str]:
    return text.split("\n")[:rows]


async def test_console_viewer_recording_and_expect_show_the_same_text() -> None:
    readers = Readers()
    for phase, screen in ((BIOS, BIOS_SCREEN), (OS, OS_SCREEN), (REBOOT, ["╔══╗"])):
        for data in phase:
            readers.feed(data)
            shown = readers.shown()
            assert len(set(shown.values())) == 1, shown  # after every read, not only at the end
        assert top(readers.console.text(), len(screen)) == screen
    readers.recorder.close()
    await readers.expect.close()
    # the plain-text log reads as the screens did: CP437 frame, DEC box and UTF-8 alike
    assert readers.log.getvalue().splitlines() == LOG
    stream = [line.rstrip() for line in readers.expect.stream_text.split("\n") if line.strip()]
    assert stream == LOG


async def test_the_frame_keeps_its_colours_for_the_owner_and_the_viewer() -> None:
    readers = Readers()
    for data in BIOS:
        readers.feed(data)
    await readers.expect.close()
    owner = readers.console.screen.buffer[0][1]
    viewer = readers.viewer.buffer[0][1]
    assert (owner.data, owner.fg, owner.bg, owner.bold) == ("═", "white", "blue", True)
    assert (viewer.data, viewer.fg, viewer.bg, viewer.bold) == ("═", "white", "blue", True)
    style = readers.console.style_for((*owner[1:], 0))  # how the owner's console paints it
    assert style.color is not None and style.bgcolor is not None
    assert (style.color.get_truecolor().hex, style.bgcolor.get_truecolor().hex) == ("#ffffff", "#0000aa")

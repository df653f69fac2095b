"""KvmViewer, the RFB server side of one KVM session, against amtterm's RFB client in memory.

The screen is a plain framebuffer the test paints; what is checked is what the console gets:
the whole screen first, then only changed tiles, never an empty update, a resize announced with
DesktopSize and sent whole, and a console that cannot follow a resize hung up on.
"""

from __future__ import annotations

import asyncio

from amtterm.rfb import DesktopResized, Encoding, FramebufferUpdated, RfbClient, RfbEvent
from amtterm.sim.kvm.framebuffer import Framebuffer
from amtterm.sim.kvm.viewer import KvmViewer


class PaintedScreen:
    """A KvmScreen whose framebuffer the test paints; keys are recorded."""

    def __init__(self, width: int = 200, height: int = 100) -> None:
        self.framebuffer = Framebuffer(width, height)
        self.keys: list[tuple[int, bool]] = []
        self.watchers = 0

    async def attach(self) -> Framebuffer:
        self.watchers += 1
        return self.framebuffer

    def detach(self) -> None:
        self.watchers -= 1

    def key(self, keysym: int, down: bool, now: float) -> None:
        self.keys.append((keysym, down))

    def pointer(self, x: int, y: int, buttons: int) -> None:
        pass

    def output(self, data: bytes) -> None:
        pass

    def power(self, powered: bool) -> None:
        pass

    async def aclose(self) -> None:
        pass


class Pair:
    """A viewer and a client wired back to back."""

    def __init__(self, screen: PaintedScreen, client: RfbClient) -> None:
        self.screen = screen
        self.client = client
        self.events: list[RfbEvent] = []
        self.hung_up = False
        self._tasks: set[asyncio.Task[None]] = set()
        quiet = lambda line: None  # noqa: E731
        self.viewer = KvmViewer(screen, (16, 1), self._to_client, lambda: 0.0, quiet, self._hangup)

    async def _to_client(self, data: bytes) -> None:
        # As over a socket: the answer comes back later, not inside this write.
        self.events += self.client.receive_data(data, 0.0)
        task = asyncio.get_running_loop().create_task(self.to_viewer())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def to_viewer(self) -> None:
        out = self.client.data_to_send()
        if out:
            await self.viewer.receive(out)

    def _hangup(self) -> None:
        self.hung_up = True

    def updates(self) -> list[FramebufferUpdated]:
        return [e for e in self.events if isinstance(e, FramebufferUpdated)]

    async def settle(self) -> None:
        for _ in range(20):
            await asyncio.sleep(0.01)


async def started(screen: PaintedScreen, client: RfbClient | None = None) -> Pair:
    pair = Pair(screen, client or RfbClient())
    await pair.viewer.start()
    await pair.settle()
    return pair


async def test_whole_screen_first_then_only_changed_tiles_and_no_empty_update() -> None:
    screen = PaintedScreen()
    pair = await started(screen)
    try:
        assert len(pair.updates()) == 1 and len(pair.updates()[0].rects) == 4 * 2  # 200x100: 4x2 tiles
        await pair.settle()
        assert len(pair.updates()) == 1  # nothing changed: the client's request waits
        screen.framebuffer.put(70, 70, 2, 2, b"\xff" * 12)
        await pair.settle()
        assert [len(u.rects) for u in pair.updates()] == [8, 1]
        assert pair.updates()[1].rects[0].x == 64 and pair.updates()[1].rects[0].y == 64
        assert pair.client.framebuffer.pixel(70, 70) == (255, 255, 255)
    finally:
        await pair.viewer.close()
    assert screen.watchers == 0


async def test_a_resize_is_announced_then_sent_whole() -> None:
    screen = PaintedScreen()
    pair = await started(screen)
    try:
        screen.framebuffer.resize(128, 64)
        await pair.settle()
        resized = [e for e in pair.events if isinstance(e, DesktopResized)]
        assert resized == [DesktopResized(128, 64)]
        assert len(pair.updates()[-1].rects) == 2 and pair.client.frame_complete
    finally:
        await pair.viewer.close()


async def test_a_console_without_desktop_size_is_hung_up_on_a_resize() -> None:
    screen = PaintedScreen()
    client = RfbClient()
    client.encodings = tuple(e for e in client.encodings if e != Encoding.DESKTOP_SIZE)
    pair = await started(screen, client)
    screen.framebuffer.resize(128, 64)
    await pair.settle()
    assert pair.hung_up and pair.viewer.closed
    await pair.viewer.close()


async def test_keys_reach_the_screen() -> None:
    screen = PaintedScreen()
    pair = await started(screen)
    try:
        pair.client.send_keys([(0xFF1B, True), (0xFF1B, False)])
        await pair.to_viewer()
        assert screen.keys == [(0xFF1B, True), (0xFF1B, False)]
    finally:
        await pair.viewer.close()

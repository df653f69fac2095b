"""One console's KVM session on the simulated device: the RFB server side, shaped like AMT's.

Once the redirection codec has answered the console's 0x40 with 0x41 (``redir/``, KvmStarted),
the stream is plain RFB (KvmData in, ``send_kvm_data`` out) and :class:`KvmViewer` serves it
with the sans-IO :class:`amtterm.rfb.RfbServer`. What AMT does, and so what this does
(modern-amt.md §2.1):

* the version line by firmware generation: ``RFB 004.000`` (AMT 11 and older, 16 and later, with
  security types ``01 80``), ``RFB 003.008`` (AMT 12-15); security type None is taken;
* ServerInit: the screen's size, 16 bpp RGB565, "Intel(r) AMT KVM" (MeshCommander never sends
  SetPixelFormat for 16 bpp and relies on it);
* before the first update: a Bell and a ``\\0KvmDataChannel`` ServerCutText;
* updates answer FramebufferUpdateRequests, one 64x64 tile per rectangle (the RFB server cuts
  them), in the console's pixel format and preferred encoding (ZRLE, else RAW); the first update
  and every non-incremental one is the whole screen, an incremental one only the tiles changed
  since the last update; an update is never empty (with nothing new, the request waits);
* a screen that changes size is announced with DesktopSize (if the console listed it) and then
  sent whole; a console without DesktopSize is disconnected;
* keys and pointer go to the screen; Intel's in-band messages (encoding 1092, the data-channel
  keep-alive, KvmExtCmd) are swallowed (KvmExtCmd 4 is answered by the RFB server).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Final

from amtterm.rfb import (
    AMT_11,
    AMT_12,
    AMT_16,
    KVM_KEEPALIVE,
    ClientInitReceived,
    Encoding,
    KeyPressed,
    PointerMoved,
    Rect,
    RfbServer,
    ServerVariant,
    UpdateRequested,
)
from amtterm.rfb import Framebuffer as RfbFramebuffer
from amtterm.sim.kvm.framebuffer import Framebuffer
from amtterm.sim.kvm.screens import KvmScreen

#: Longest wait between two looks at the screen while a request is pending (seconds); the
#: framebuffer's listeners wake the sender sooner.
POLL: Final = 0.5


def variant_for(version: tuple[int, int]) -> ServerVariant:
    """How firmware of this AMT version greets a KVM console (modern-amt.md §2.1)."""
    if version[0] >= 16:
        return AMT_16
    if version[0] >= 12:
        return AMT_12
    return AMT_11


class _Pixels(RfbFramebuffer):
    """The RFB encoder's view of a :class:`Framebuffer` (same RGB layout, shared bytes)."""

    def __init__(self, source: Framebuffer) -> None:
        super().__init__(0, 0)
        self.follow(source)

    def follow(self, source: Framebuffer) -> None:
        self.width, self.height, self.rgb = source.width, source.height, source.rgb


class KvmViewer:
    """Serves one console's RFB stream from a :class:`KvmScreen`.

    Args:
        screen: the device's screen.
        version: the AMT firmware version (picks the greeting).
        write: sends bytes to the console (after the 0x41); awaits back-pressure.
        clock: the device's clock.
        log: one-line diagnostics.
        hangup: ends the connection when the session cannot go on.
    """

    def __init__(
        self,
        screen: KvmScreen,
        version: tuple[int, int],
        write: Callable[[bytes], Awaitable[None]],
        clock: Callable[[], float],
        log: Callable[[str], None],
        hangup: Callable[[], None] = lambda: None,
    ) -> None:
        self.screen = screen
        self._hangup = hangup
        self.variant = variant_for(version)
        self._write = write
        self._clock = clock
        self._log = log
        self.framebuffer: Framebuffer | None = None
        self.server: RfbServer | None = None
        self._pixels: _Pixels | None = None
        self._sent: list[int] | None = None  # tile versions in the last update (None: send all)
        self._geometry = 0
        self._greeted = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.updates = 0
        self.closed = False

    async def start(self) -> None:
        """Attach to the screen and send the version line.

        Raises:
            OSError: the screen cannot be reached.
        """
        framebuffer = await self.screen.attach()
        self.framebuffer = framebuffer
        self._geometry = framebuffer.geometry
        self._pixels = _Pixels(framebuffer)
        self.server = RfbServer(framebuffer.width, framebuffer.height, variant=self.variant)
        framebuffer.listeners.append(self._wake.set)
        await self._flush()
        self._task = asyncio.get_running_loop().create_task(self._send_updates())

    async def receive(self, data: bytes) -> None:
        """Bytes from the console (b"": it closed).

        Raises:
            RemoteProtocolError: the console broke RFB.
        """
        server = self.server
        if server is None:
            return
        for event in server.receive_data(data, self._clock()):
            if isinstance(event, ClientInitReceived):
                self._log(f"KVM: console connected (RFB {event.version[0]}.{event.version[1]})")
            elif isinstance(event, UpdateRequested):
                if not event.incremental:
                    self._sent = None
                self._wake.set()
            elif isinstance(event, KeyPressed):
                self.screen.key(event.keysym, event.down, self._clock())
            elif isinstance(event, PointerMoved):
                self.screen.pointer(event.x, event.y, event.buttons)
        await self._flush()

    async def _flush(self) -> None:
        if self.server is None:
            return
        async with self._lock:
            data = self.server.data_to_send()
            if data:
                await self._write(data)

    async def _send_updates(self) -> None:
        try:
            while not self.closed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL)
                self._wake.clear()
                if not await self._update_once():
                    break
        except (ConnectionError, OSError):
            pass
        if not self.closed:
            self.closed = True
            self._hangup()

    async def _update_once(self) -> bool:
        """Answer the pending request if there is something to send; False when the session must end."""
        server, framebuffer, pixels = self.server, self.framebuffer, self._pixels
        if server is None or framebuffer is None or pixels is None or server.closed:
            return False
        if server.pending_request is None:
            return True
        if framebuffer.geometry != self._geometry:
            if Encoding.DESKTOP_SIZE not in server.encodings:
                self._log("KVM: the screen changed size and the console cannot follow; closing the session")
                return False
            self._geometry = framebuffer.geometry
            server.send_desktop_size(framebuffer.width, framebuffer.height)
            self._sent = None
        pixels.follow(framebuffer)
        tiles = framebuffer.changed_since(self._sent)
        if not tiles:
            return True
        if not self._greeted:  # AMT rings and opens its data channel before the first screen
            self._greeted = True
            server.send_bell()
            server.send_cut_text(KVM_KEEPALIVE)
        self._sent = framebuffer.versions()
        rects = [Rect(*framebuffer.tile_rect(index)) for index in tiles]
        server.send_update(pixels, rects)
        self.updates += 1
        await self._flush()
        return True

    async def close(self) -> None:
        """Stop sending and detach from the screen."""
        if self.closed:
            return
        self.closed = True
        self._wake.set()
        if self.framebuffer is not None:
            with contextlib.suppress(ValueError):
                self.framebuffer.listeners.remove(self._wake.set)
            self.screen.detach()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

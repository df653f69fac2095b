"""The QEMU-backed PC's KVM screen: QEMU's own VGA screen, read from its VNC server.

QEMU serves the machine's screen on a unix socket (``-vnc unix:PATH``, :mod:`amtterm.sim.qemu_host`).
A transparent relay of that stream is not an AMT (MeshCommander drops it: "Invalid tile size
(720,400)"), so the device is a VNC *client* of QEMU (:class:`amtterm.rfb.RfbClient`, 32 bpp,
ZRLE or RAW), keeps its own copy of the screen in a tiled
:class:`~amtterm.sim.kvm.framebuffer.Framebuffer`, and serves that to the console the AMT way
(:mod:`.viewer`). Keys and the pointer go on to QEMU as RFB events.

QEMU is connected while at least one console watches. A power-off blanks the screen; a new QEMU
process (power on, a reset that restarts it) has a new socket, and the screen reconnects to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from amtterm.errors import RemoteProtocolError
from amtterm.rfb import RGB888, DesktopResized, FramebufferUpdated, Rect, RfbClient, ServerInit
from amtterm.sim.kvm.framebuffer import Framebuffer

#: QEMU's text mode screen, shown (black) until its VNC server has said otherwise.
DEFAULT_SIZE: Final = (720, 400)
#: How often to look again for QEMU's socket while it is not there (seconds).
RETRY: Final = 0.2


@runtime_checkable
class VncHost(Protocol):
    """A host whose screen is on a VNC socket (the QEMU host)."""

    def vnc_socket(self) -> Path | None:
        """The socket of the running machine, or None while it is off."""
        ...


class QemuScreen:
    """QEMU's screen for KVM consoles (see the module docstring).

    Args:
        host: the QEMU host.
    """

    def __init__(self, host: VncHost) -> None:
        self.host = host
        self.framebuffer = Framebuffer(*DEFAULT_SIZE)
        self.watchers = 0
        self._client: RfbClient | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._connected_to: Path | None = None
        #: The first complete frame from the current QEMU has arrived.
        self.ready = asyncio.Event()

    async def attach(self) -> Framebuffer:
        """Connect to QEMU (if it runs) and return the screen; waits briefly for a first frame."""
        self.watchers += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        if self.host.vnc_socket() is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), 5)
        return self.framebuffer

    def detach(self) -> None:
        """One console fewer; the last one leaving disconnects from QEMU."""
        self.watchers = max(0, self.watchers - 1)
        if not self.watchers:
            self._changed.set()

    def key(self, keysym: int, down: bool, now: float) -> None:
        """Pass the key on to QEMU."""
        if self._client is not None and not self._client.closed:
            with contextlib.suppress(Exception):
                self._client.send_key(keysym, down)
            self._flush()

    def pointer(self, x: int, y: int, buttons: int) -> None:
        """Pass the pointer on to QEMU."""
        if self._client is not None and not self._client.closed:
            with contextlib.suppress(Exception):
                self._client.send_pointer(x, y, buttons)
            self._flush()

    def output(self, data: bytes) -> None:
        """QEMU draws its own screen: serial output is not needed."""

    def power(self, powered: bool) -> None:
        """Follow QEMU starting and stopping (a new process has a new socket)."""
        if self.host.vnc_socket() != self._connected_to:
            self._changed.set()

    async def aclose(self) -> None:
        """Disconnect from QEMU."""
        self.watchers = 0
        self._changed.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._disconnect()

    # -- the connection to QEMU -------------------------------------------------------------

    def _flush(self) -> None:
        if self._client is not None and self._writer is not None and not self._writer.is_closing():
            data = self._client.data_to_send()
            if data:
                self._writer.write(data)

    def _disconnect(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer = None
        self._client = None
        self._connected_to = None
        self.ready.clear()

    def _blank(self) -> None:
        fb = self.framebuffer
        fb.rgb[:] = bytes(len(fb.rgb))
        fb.damage(0, 0, fb.width, fb.height)

    async def _run(self) -> None:
        while self.watchers:
            self._changed.clear()
            path = self.host.vnc_socket()
            if path is None:
                if self._connected_to is not None:
                    self._disconnect()
                    self._blank()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), RETRY * 5)
                continue
            try:
                reader, writer = await asyncio.open_unix_connection(str(path))
            except OSError:
                await asyncio.sleep(RETRY)
                continue
            self._client = RfbClient(pixel_format=RGB888, amt=False)
            self._writer = writer
            self._connected_to = path
            try:
                await self._follow(reader, path)
            except (OSError, RemoteProtocolError, ValueError):
                pass  # QEMU went away or sent what cannot be shown: connect afresh
            finally:
                writer.close()
                self._disconnect()
        self._disconnect()

    async def _follow(self, reader: asyncio.StreamReader, path: Path) -> None:
        """Read QEMU's updates into the framebuffer until it closes or another QEMU runs."""
        loop = asyncio.get_running_loop()
        client = self._client
        assert client is not None
        while self.watchers and self.host.vnc_socket() == path:
            read = asyncio.ensure_future(reader.read(65536))
            changed = asyncio.ensure_future(self._changed.wait())
            done, _ = await asyncio.wait({read, changed}, return_when=asyncio.FIRST_COMPLETED)
            changed.cancel()
            if read not in done:
                read.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await read
                self._changed.clear()
                continue
            data = read.result()
            if not data:
                return
            rects: list[Rect] = []
            resized = False
            for event in client.receive_data(data, loop.time()):
                if isinstance(event, ServerInit | DesktopResized):
                    resized = True
                elif isinstance(event, FramebufferUpdated):
                    rects += event.rects
                    if event.complete:
                        self.ready.set()
            # The events of one read come after all of its bytes were applied: a resize in the
            # middle leaves earlier rectangles meaningless, so then the whole screen is copied.
            self._copy(client, rects, whole=resized)
            self._flush()

    def _copy(self, client: RfbClient, rects: list[Rect], *, whole: bool) -> None:
        source, target = client.framebuffer, self.framebuffer
        if not (rects or whole) or not source.width or not source.height:
            return  # nothing drawn yet (the handshake is still going on)
        if (source.width, source.height) != (target.width, target.height):
            target.resize(source.width, source.height)
            whole = True
        if whole:
            target.put(0, 0, source.width, source.height, source.rgb)
            return
        for rect in rects:
            if source.contains(rect):
                target.put(rect.x, rect.y, rect.width, rect.height, source.crop(rect))

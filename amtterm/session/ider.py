"""IderSession: serve a CD image (and / or a floppy image) to an AMT host over IDE-R.

    server = await IderSession.open(host, port, tls=None, config=config, cd=Path("boot.iso"),
                                   on_progress=show)   # returns once the device enabled the drives
    await server.wait_closed()                           # serves until the session ends
    await server.close()                                 # 0x42 / 0x43 / 0x12, then TCP close

The images are opened read-only before anything touches the network, so a
missing, unreadable or wrongly sized image is one sentence (ConfigError) and no
connection. Commands are answered by :class:`amtterm.redir.ider_drives.IderDrives`;
long reads are streamed in pieces, each flushed to the socket before the next is
read from the file, with the largest 0x54 chunks the device's read buffer allows.
:class:`IderProgress` reports what was served, the rate, an ETA for the read in
flight, and a stall when the host has asked for nothing for ``stall_after`` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from amtterm.errors import (
    AmtError,
    AuthError,
    ConfigError,
    SessionBusy,
    SessionClosed,
    SessionRefused,
    SessionTimeout,
)
from amtterm.redir import (
    GOOD,
    ConsoleConfig,
    DriveKind,
    IderDrives,
    RedirectionConnection,
    SessionType,
    StartStatus,
)
from amtterm.redir import events as ev
from amtterm.session.ider_progress import IderProgress, ProgressMeter
from amtterm.session.images import ImageDevice
from amtterm.session.redirection import RedirectionPump
from amtterm.transport.jump import JumpRoute
from amtterm.transport.tcp import Stream, TlsOptions, open_stream

__all__ = ["IderProgress", "IderSession", "open_images"]

#: Reads longer than this are sent in pieces of this size, each flushed before the next.
STREAM_PIECE = 256 * 1024
#: How often progress is reported while nothing happens (stalls show up this way).
TICK_SECONDS = 1.0

ProgressCallback = Callable[[IderProgress], None]


def open_images(cd: Path | None, floppy: Path | None) -> tuple[ImageDevice | None, ImageDevice | None]:
    """Open the images read-only.

    Raises:
        ConfigError: no image given, or one is missing, unreadable or wrongly sized.
    """
    if cd is None and floppy is None:
        raise ConfigError("Give an ISO image (--cd) or a floppy image (--floppy) to serve.")
    cd_device = ImageDevice.open(cd, DriveKind.CD) if cd is not None else None
    try:
        floppy_device = ImageDevice.open(floppy, DriveKind.FLOPPY) if floppy is not None else None
    except BaseException:
        if cd_device is not None:
            cd_device.close()
        raise
    return cd_device, floppy_device


class IderSession:
    """One IDE-R session, console side, serving images read-only.

    Args:
        stream: the open connection.
        config: a ConsoleConfig with ``session_type=SessionType.IDER``.
        cd, floppy: the media (see :func:`open_images`).
        target: how to name the device in messages.
        on_progress: called with an IderProgress after each command and every second.
        stall_after: seconds without a command, once serving, after which progress says "stalled".
    """

    def __init__(
        self,
        stream: Stream,
        config: ConsoleConfig,
        *,
        cd: ImageDevice | None = None,
        floppy: ImageDevice | None = None,
        target: str = "the device",
        on_progress: ProgressCallback | None = None,
        stall_after: float = 10.0,
    ) -> None:
        if config.session_type is not SessionType.IDER:
            raise ConfigError("An IDE-R server needs a console config with session_type IDER.")
        self.stream = stream
        self.target = target
        self.conn = RedirectionConnection(config)
        self.images = [image for image in (cd, floppy) if image is not None]
        self.drives = IderDrives(self.conn, cd=cd, floppy=floppy)
        self._pump = RedirectionPump(self.conn, stream.reader, stream.writer, self._on_event)
        self.meter = ProgressMeter(self._pump.clock, cd.block_count if cd is not None else 0, stall_after)
        self.on_progress = on_progress
        self._enabled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._error: AmtError | None = None
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._closing = False

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        tls: TlsOptions | None,
        config: ConsoleConfig,
        cd: Path | None = None,
        floppy: Path | None = None,
        on_progress: ProgressCallback | None = None,
        stall_after: float = 10.0,
        via: JumpRoute | None = None,
    ) -> IderSession:
        """Open the images, connect (through the jump hosts of ``via``, if any), authenticate and
        enable the drives.

        Raises:
            ConfigError: an image problem (before any connection is made).
            ConnectError, TlsError, SessionRefused, SessionBusy, AuthError, SessionTimeout,
            SessionClosed, RemoteProtocolError: one sentence each.
        """
        cd_device, floppy_device = open_images(cd, floppy)
        try:
            stream = await open_stream(host, port, tls=tls, via=via)
        except BaseException:
            for image in (cd_device, floppy_device):
                if image is not None:
                    image.close()
            raise
        server = cls(
            stream,
            config,
            cd=cd_device,
            floppy=floppy_device,
            target=f"{host}:{port}",
            on_progress=on_progress,
            stall_after=stall_after,
        )
        await server.start()
        return server

    # -- events -----------------------------------------------------------------------------------

    def _fail(self, error: AmtError) -> None:
        if self._error is None:
            self._error = error
        if not self._enabled.done():
            self._enabled.set_exception(error)

    async def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.IderCommand):
            await self._serve(event)
        elif isinstance(event, ev.IderDevicesEnabled):
            self.meter.enabled()
            if not self._enabled.done():
                self._enabled.set_result(None)
        elif isinstance(event, ev.IderReset | ev.IderWriteData):
            served = self.drives.handle(event)
            if served is not None:
                self.meter.served(served)
        elif isinstance(event, ev.ConnectionClosed):
            self.meter.ended()
            if not self._closing:
                # Firmware never ends IDE-R on its own; a close we did not ask for is a lost session.
                self._fail(SessionClosed(f"{self.target} closed the IDE-R session."))
        else:
            error = self._describe(event)
            if error is not None:
                self._fail(error)
        self._report()

    async def _serve(self, command: ev.IderCommand) -> None:
        self.meter.command(command)
        result = self.drives.execute(command)
        if len(result.data) <= STREAM_PIECE or result.sense != GOOD:
            served = self.drives.answer(command, result)
            if served is not None:
                self.meter.served(served)
            return
        # A long read: hand it over piece by piece, each written before the next.
        view = memoryview(result.data)
        self.meter.pending = len(view)
        for start in range(0, len(view), STREAM_PIECE):
            piece = bytes(view[start : start + STREAM_PIECE])
            last = start + STREAM_PIECE >= len(view)
            self.conn.send_ider_data(piece, last=last)
            await self._pump.flush()
            self.meter.sent(len(piece))
            self._report()
        self.meter.served(self.drives.record(command, result, len(view)), streamed=True)

    def _describe(self, event: ev.Event) -> AmtError | None:
        target = self.target
        if isinstance(event, ev.SessionRefused):
            if event.status == StartStatus.BUSY:
                return SessionBusy(f"{target} is busy: another console holds its IDE-R session.")
            return SessionRefused(
                f"{target} refused the IDE-R session (status {int(event.status)}): "
                f"enable redirection with 'amtterm redirection HOST enable'."
            )
        if isinstance(event, ev.AuthFailed):
            return AuthError(f"Wrong user name or password for {event.user!r} on {target}.")
        if isinstance(event, ev.IderRefused):
            return SessionRefused(f"{target} refused to start IDE-R (status {event.status}).")
        if isinstance(event, ev.IderEnableRejected):
            return SessionRefused(
                f"{target} would not enable the redirected drives (a host command was in progress); "
                f"try again, or use --on-reset."
            )
        if isinstance(event, ev.PeerTimeout):
            return SessionTimeout(f"{target} stopped answering: nothing for {event.seconds:.0f} s.")
        return None

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.meter.snapshot())

    # -- public -----------------------------------------------------------------------------------

    def progress(self) -> IderProgress:
        """The figures now."""
        return self.meter.snapshot()

    async def _run(self) -> None:
        try:
            await self._pump.run()
        except AmtError as exc:
            self._fail(exc)
        except (ConnectionError, OSError) as exc:
            self._fail(SessionClosed(f"The connection to {self.target} was lost: {exc}."))
        else:
            if not self._enabled.done():
                self._fail(SessionClosed(f"{self.target} closed the connection."))
        finally:
            self.meter.ended()
            self._report()
            self.stream.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self._report()

    async def start(self) -> None:
        """Authenticate, start IDE-R and enable the drives; returns once the device said yes."""
        self.conn.start(self._pump.clock())
        self._task = asyncio.create_task(self._run())
        try:
            await self._enabled
        except BaseException:
            await self.close()
            raise
        if self.on_progress is not None:
            self._ticker = asyncio.create_task(self._tick())

    async def wait_closed(self) -> None:
        """Serve until the session ends.

        Raises:
            AmtError: the session broke (timeout, closed by the device, malformed data).
        """
        if self._task is not None:
            await asyncio.shield(self._task)
        if self._error is not None:
            raise self._error

    async def close(self, timeout: float = 2.0) -> None:
        """End IDE-R and the session politely, close the connection and the images."""
        self._closing = True
        if self._ticker is not None:
            self._ticker.cancel()
        await self._pump.end_politely(self._task, timeout)
        self.stream.close()
        for image in self.images:
            image.close()

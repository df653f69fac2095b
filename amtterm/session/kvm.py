"""KvmClient: a console-side KVM session (the remote screen, keys and pointer) over an open stream.

    client = await open_kvm(endpoint)          # AMT: KVMR, digest auth, 0x40/0x41, RFB handshake
    client = await open_rfb("127.0.0.1", 5901) # a plain VNC server (QEMU), no AMT preamble
    await client.wait_for_frame(timeout=60)    # every pixel painted at least once
    client.framebuffer.rgb                     # the screen, RGB, 3 bytes a pixel
    await client.send_keys(parse_keys("ctrl-alt-del"))
    await client.close()

Two stackings of the same RFB codec (:mod:`amtterm.rfb`): on AMT the RFB bytes ride in the
redirection codec's KvmData events and go out with ``send_kvm_data`` (the pump owns the
socket and its timers); in direct mode they are the socket's bytes. The 5 s keep-alive of
AMT's KVM data channel is the RFB codec's, fired by one timer task here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Coroutine

from amtterm.errors import (
    AmtError,
    AuthError,
    SessionBusy,
    SessionClosed,
    SessionRefused,
    SessionTimeout,
)
from amtterm.redir import (
    ConnectionState,
    ConsoleConfig,
    RedirectionConnection,
    SessionType,
    StartStatus,
)
from amtterm.redir import events as ev
from amtterm.rfb import (
    RGB565,
    Bell,
    DesktopResized,
    Framebuffer,
    FramebufferUpdated,
    PixelFormat,
    RfbClient,
    RfbEvent,
    ServerInit,
)
from amtterm.session.endpoint import SolEndpoint
from amtterm.session.redirection import READ_SIZE, RedirectionPump
from amtterm.transport.tcp import Stream, open_stream

__all__ = ["KvmClient", "open_kvm", "open_rfb"]

#: Bytes of screen above which AMT hangs up (MeshCommander warns above this: code 50002; modern-amt.md 2.1).
AMT_KVM_BUFFER = 9_216_000

#: Seconds to wait for the RFB handshake once the socket is open (AMT answers at once).
HANDSHAKE_TIMEOUT = 30.0


class KvmClient:
    """One KVM session, console side.

    Args:
        stream: the open connection.
        config: the redirection console config (its session type is made KVM); None for
            a plain VNC server without the AMT preamble.
        target: ``host:port`` for sentences.
        pixel_format: what to ask the server for (AMT's RGB565 by default).
        name: the host as the user named it (a hosts-file name), for the commands in sentences;
            the address from ``target`` when None.

    Attributes:
        rfb: the RFB codec (framebuffer, server init, frame state).
        listeners: called with every RFB event after the codec has applied it (a view
            redraws the changed rectangles of FramebufferUpdated).
    """

    def __init__(
        self,
        stream: Stream,
        config: ConsoleConfig | None,
        *,
        target: str,
        pixel_format: PixelFormat = RGB565,
        name: str | None = None,
    ) -> None:
        self.stream = stream
        self.target = target
        self._host = target.rsplit(":", 1)[0].strip("[]") if ":" in target else target
        self.name = name or self._host
        self.direct = config is None
        self.rfb = RfbClient(pixel_format=pixel_format, amt=not self.direct)
        self.listeners: list[Callable[[RfbEvent], None]] = []
        self.server_init: ServerInit | None = None
        self.conn: RedirectionConnection | None = None
        self._pump: RedirectionPump | None = None
        if config is not None:
            self.conn = RedirectionConnection(dataclasses.replace(config, session_type=SessionType.KVM))
            self._pump = RedirectionPump(self.conn, stream.reader, stream.writer, self._on_redir_event)
        self._clock = asyncio.get_running_loop().time
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._changed = asyncio.Event()
        self._error: AmtError | None = None
        self._ended = False
        self._tasks: list[asyncio.Task[None]] = []
        self._write_lock = asyncio.Lock()

    # --- state ------------------------------------------------------------------------------------

    @property
    def framebuffer(self) -> Framebuffer:
        """The remote screen as RGB (valid after :meth:`start`)."""
        return self.rfb.framebuffer

    def _fail(self, error: AmtError) -> None:
        if not self._ready.done():
            self._ready.set_exception(error)
        elif self._error is None and not self._ended:
            self._error = error
        self._ended = True
        self._changed.set()

    def _finish(self) -> None:
        if not self._ready.done():
            if self.direct:
                sentence = f"{self.target} closed the connection during the RFB handshake."
            elif self.conn is not None and self.conn.state is ConnectionState.CLOSED and self.rfb.version[0]:
                # MeshCommander's disconnect code 50000: AMT hangs up here when its graphics
                # cannot do KVM, or the screen needs 8-bit colour (modern-amt.md 2.1, 2.2).
                sentence = (
                    f"{self.target} closed the KVM connection during the RFB handshake: this machine's "
                    f"graphics may not support KVM, or its screen needs 8-bit colour (try --bpp 8)."
                )
            else:
                sentence = f"{self.target} closed the connection during the KVM session start."
            self._ready.set_exception(SessionClosed(sentence))
        self._ended = True
        self._changed.set()

    def _early_end(self) -> str:
        """Why the session may have ended before a whole screen came."""
        sentence = f"{self.target} closed the KVM session before a whole screen came"
        fb = self.framebuffer
        if not self.direct and fb.width * fb.height * self.rfb.pixel_format.bytes_per_pixel > AMT_KVM_BUFFER:
            # AMT's KVM frame buffer is about 8 MB (MeshCommander's disconnect code 50002).
            return f"{sentence}: {fb.width}x{fb.height} is too large for AMT at this depth (try --bpp 8)."
        return f"{sentence}."

    # --- the RFB layer --------------------------------------------------------------------------

    async def _feed_rfb(self, data: bytes) -> None:
        """Server bytes into the RFB codec; its answers back out."""
        for event in self.rfb.receive_data(data, self._clock()):
            if isinstance(event, ServerInit):
                self.server_init = event
                if not self._ready.done():
                    self._ready.set_result(None)
            if isinstance(event, FramebufferUpdated | DesktopResized | Bell):
                self._changed.set()
            for listener in list(self.listeners):
                listener(event)
        await self._flush_rfb()

    async def _flush_rfb(self) -> None:
        data = self.rfb.data_to_send()
        if not data:
            return
        if self.conn is not None and self._pump is not None:
            if self.conn.state is ConnectionState.KVM_ACTIVE:
                self.conn.send_kvm_data(data)
                await self._pump.flush()
            return
        async with self._write_lock:
            self.stream.writer.write(data)
            await self.stream.writer.drain()

    async def _on_redir_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.KvmData):
            await self._feed_rfb(event.data)
        elif isinstance(event, ev.SessionRefused):
            self._fail(self._refusal(int(event.status)))
        elif isinstance(event, ev.AuthFailed):
            self._fail(AuthError(f"Wrong user name or password for {event.user!r} on {self.target}."))
        elif isinstance(event, ev.KvmRefused):
            self._fail(
                SessionRefused(
                    f"{self.target} refused to start KVM (status {event.status}): KVM may be disabled "
                    f"('amtterm redirection {self.name} enable --kvm') or waiting for user consent "
                    f"('amtterm consent {self.name} request')."
                )
            )
        elif isinstance(event, ev.PeerTimeout):
            self._fail(SessionTimeout(f"{self.target} stopped answering during the KVM session start."))
        elif isinstance(event, ev.ConnectionClosed):
            self._finish()

    def _refusal(self, status: int) -> SessionRefused:
        if status == StartStatus.BUSY:
            return SessionBusy(
                f"{self.target} is busy: another console holds its KVM session (close it there, or wait)."
            )
        host = self.name
        if status == StartStatus.UNKNOWN_SESSION_TYPE:
            return SessionRefused(
                f"{self.target} does not offer KVM: this machine has none (Intel Standard Manageability, "
                "or no Intel graphics); SOL and IDE-R still work."
            )
        if status == StartStatus.UNSUPPORTED:
            return SessionRefused(
                f"{self.target} refused KVM because it is disabled: run 'amtterm redirection {host} enable "
                "--kvm' (on a machine without KVM 'amtterm doctor' says so)."
            )
        if status == StartStatus.ERROR:
            # AMT's status for a KVM session without user consent is not documented; the
            # simulator uses 0xFF (amtterm/sim/redirection.py), MeshCommander stops on any.
            return SessionRefused(
                f"{self.target} refused the KVM session: it needs the user consent code shown on the "
                f"PC's screen: run 'amtterm consent {host} request' then "
                f"'amtterm consent {host} code NNNNNN'."
            )
        return SessionRefused(f"{self.target} refused the KVM session (status {status}).")

    # --- tasks ----------------------------------------------------------------------------------

    async def _run_redirection(self) -> None:
        assert self._pump is not None and self.conn is not None
        await self._pump.run()
        if self.conn.state is ConnectionState.CLOSED:
            self._finish()

    async def _run_direct(self) -> None:
        while True:
            try:
                data = await self.stream.reader.read(READ_SIZE)
            except (ConnectionError, OSError) as exc:
                raise SessionClosed(f"The connection to {self.target} was lost: {exc}.") from exc
            await self._feed_rfb(data)
            if not data:
                self._finish()
                return

    async def _run_keepalive(self) -> None:
        while not self._ended:
            due = self.rfb.next_timer_at()
            delay = 1.0 if due is None else max(0.0, due - self._clock())
            await asyncio.sleep(delay)
            if self.rfb.next_timer_at() is not None:
                self.rfb.handle_timer(self._clock())
                await self._flush_rfb()

    async def _guard(self, job: Coroutine[object, object, None], *, main: bool) -> None:
        """Run one task; its errors end the session with their sentence (the main one's end too)."""
        try:
            await job
        except AmtError as exc:
            self._fail(exc)
        except (ConnectionError, OSError) as exc:
            self._fail(SessionClosed(f"The connection to {self.target} was lost: {exc}."))
        finally:
            if main and not self._ended:
                self._finish()

    # --- public ---------------------------------------------------------------------------------

    async def start(self, timeout: float = HANDSHAKE_TIMEOUT) -> None:
        """Start KVM (AMT: session, auth, 0x40/0x41) and the RFB handshake; returns at ServerInit.

        Raises:
            SessionBusy, SessionRefused, AuthError, SessionClosed, SessionTimeout,
            RemoteProtocolError: one sentence each.
        """
        if self.conn is not None:
            self.conn.start(self._clock())
            runner = self._run_redirection()
        else:
            runner = self._run_direct()
        self._tasks = [
            asyncio.create_task(self._guard(runner, main=True)),
            asyncio.create_task(self._guard(self._run_keepalive(), main=False)),
        ]
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except TimeoutError:
            await self.close()
            raise SessionTimeout(
                f"{self.target} did not finish the KVM handshake within {timeout:g} s."
            ) from None
        except BaseException:
            await self.close()
            raise

    async def wait_for_frame(self, timeout: float) -> Framebuffer:
        """Wait until every pixel of the screen has been painted at least once.

        Raises:
            SessionTimeout: no complete screen within ``timeout`` seconds.
            AmtError: the session broke meanwhile (one sentence).
        """
        deadline = self._clock() + timeout
        while not self.rfb.frame_complete:
            if self._ended:
                raise self._error or SessionClosed(self._early_end())
            self._changed.clear()
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise SessionTimeout(f"{self.target} sent no complete screen within {timeout:g} s.")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.framebuffer

    async def send_keys(self, events: list[tuple[int, bool]]) -> None:
        """Press and release keys: (X keysym, down) pairs, e.g. from :func:`amtterm.rfb.parse_keys`."""
        self.rfb.send_keys(events)
        await self._flush_rfb()

    async def send_pointer(self, x: int, y: int, buttons: int = 0) -> None:
        """Move the pointer to ``x``, ``y`` with ``buttons`` held (bit 0 left, 1 middle, 2 right)."""
        self.rfb.send_pointer(x, y, buttons)
        await self._flush_rfb()

    async def close(self, timeout: float = 2.0) -> None:
        """End the session and close the connection (and its jump hosts)."""
        self._ended = True
        if self.conn is not None and self._pump is not None:
            # Before KVM runs this queues 0x12; once RFB flows there is no goodbye (redirection.md 7).
            with contextlib.suppress(AmtError):
                self.conn.close()
            with contextlib.suppress(AmtError, ConnectionError, OSError, RuntimeError):
                await asyncio.wait_for(self._pump.flush(), timeout)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, AmtError, ConnectionError, OSError):
                await asyncio.wait_for(task, timeout)
        await self.stream.aclose()


async def open_kvm(endpoint: SolEndpoint, *, pixel_format: PixelFormat = RGB565) -> KvmClient:
    """Connect to an AMT device (through the jump hosts, if any), start KVM and the RFB handshake.

    The endpoint is the one :func:`amtterm.session.resolve_sol` gives: KVM uses the same
    redirection port, TLS, pins, jump hosts and digest authentication as SOL.

    Raises:
        ConnectError, JumpError, TlsError, AuthError, SessionBusy, SessionRefused,
        SessionTimeout, RemoteProtocolError: one sentence each.
    """
    stream = await open_stream(endpoint.address, endpoint.port, tls=endpoint.tls, via=endpoint.route)
    client = KvmClient(
        stream, endpoint.config, target=endpoint.target, pixel_format=pixel_format, name=endpoint.name
    )
    await client.start()
    return client


async def open_rfb(host: str, port: int, *, pixel_format: PixelFormat = RGB565) -> KvmClient:
    """Connect to a plain VNC server (QEMU's ``-vnc``) with no AMT preamble; RFB handshake done.

    Raises:
        ConnectError, SessionClosed, SessionTimeout, RemoteProtocolError: one sentence each.
    """
    stream = await open_stream(host, port, tls=None, what="VNC")
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    client = KvmClient(stream, None, target=where, pixel_format=pixel_format)
    await client.start()
    return client

"""KvmLink: one host's KVM session as the console shows it (no Textual).

    kvm = KvmLink(profile)              # the host's address, port, TLS trust and credentials
    kvm.listeners.append(changed)       # changed(screen: bool): a frame arrived (True) or the state moved
    kvm.start()                         # connects in the background: KVMR, digest, 40/41, RFB
    kvm.framebuffer                     # the remote screen, RGB (amtterm.rfb.Framebuffer)
    kvm.send_keys([(0xFFBF, True), (0xFFBF, False)])   # X keysyms (F2 down, up)
    kvm.send_pointer(x, y, buttons)
    kvm.stats(now)                      # frames and kB per second, measured over the last seconds
    await kvm.close()

The wire: a second redirection session beside SOL, tagged ``KVMR`` (``redir`` does the start,
the digest and the 8-byte 0x40 / 0x41), then RFB carried whole in KvmData events and read by
:class:`amtterm.rfb.RfbClient` in AMT mode (RGB565, ZRLE, the 5 s keep-alive)
(``shared/protocol/modern-amt.md`` 2.1). A refusal becomes one sentence (2.2: status 1 = this
firmware has no KVM, 2 = busy, 3 = disabled, 0xFF = user consent missing), as does an RFB stream
amtterm cannot read. There is no automatic reconnect: KVM is asked for when it is shown, and the
console's reconnect command asks again.

This is the console's own small pump around the codecs; ``amtterm.session.kvm`` (the command line's
KVM session) may replace it once both exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from amtterm.errors import AmtError, RemoteProtocolError
from amtterm.redir import ConnectionState, RedirectionConnection, SessionType, StartStatus
from amtterm.redir import events as ev
from amtterm.rfb import RGB565, Framebuffer, FramebufferUpdated, RfbClient, ServerInit
from amtterm.session.redirection import RedirectionPump
from amtterm.transport.tcp import Stream, open_stream

if TYPE_CHECKING:
    from amtterm.session.host import HostProfile

#: Seconds from TCP connect to the first RFB message before the attempt is given up.
KVM_START_TIMEOUT = 30.0
#: The window over which frames and bytes per second are measured.
STATS_WINDOW = 3.0


class KvmState(enum.Enum):
    """Where a host's KVM session is."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"
    CLOSED = "closed"


@dataclasses.dataclass(frozen=True)
class KvmStats:
    """What the status line shows: frames and kilobytes per second, the screen and its encoding."""

    fps: float
    kbps: float
    width: int
    height: int
    encoding: str


def refusal_sentence(status: int, target: str, host: str) -> str:
    """One sentence for a refused KVM StartRedirectionSession (modern-amt.md 2.2)."""
    if status == StartStatus.UNKNOWN_SESSION_TYPE:
        return (
            f"{target} has no KVM: this firmware is Intel Standard Manageability (or has no Intel "
            "graphics); Serial-over-LAN still works."
        )
    if status == StartStatus.BUSY:
        return f"{target}'s KVM is busy: another console is viewing it (close it there, then reconnect)."
    if status == StartStatus.UNSUPPORTED:
        return f"{target}'s KVM is disabled; enable it with 'amtterm redirection {host} enable' or in MEBx."
    if status == StartStatus.ERROR:
        return (
            f"{target} needs user consent for KVM: the Boot pane's Show code puts a code on the PC's "
            "screen; type it there, then reconnect."
        )
    return f"{target} refused the KVM session (status {status})."


class KvmLink:
    """A host's KVM session for the console's KVM view (see the module docstring).

    Args:
        profile: the host (address, redirection port, TLS, credentials).
        opener: opens the TCP/TLS stream (tests); by default as the SOL session does.
        clock: the time source for the codecs and the measurements.
    """

    def __init__(
        self,
        profile: HostProfile,
        *,
        opener: Callable[[], Awaitable[Stream]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.profile = profile
        self._opener = opener or self._open_stream
        self._clock = clock
        self.state = KvmState.IDLE
        #: One sentence: what the session is doing, or why it failed.
        self.message = "KVM not connected yet."
        self.error: AmtError | None = None
        self.client = RfbClient(pixel_format=RGB565, amt=True)
        #: Called with ``True`` after a FramebufferUpdate, ``False`` when the state or message changed.
        self.listeners: list[Callable[[bool], None]] = []
        self._conn: RedirectionConnection | None = None
        self._pump: RedirectionPump | None = None
        self._stream: Stream | None = None
        self._task: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._closing = False
        self._frames: deque[float] = deque()
        self._bytes: deque[tuple[float, int]] = deque()
        self._host = profile.name

    # -- state ------------------------------------------------------------------------------

    @property
    def framebuffer(self) -> Framebuffer:
        """The remote screen (0x0 until the server's ServerInit)."""
        return self.client.framebuffer

    @property
    def running(self) -> bool:
        """Whether a session task is connecting or connected."""
        return self._task is not None and not self._task.done()

    @property
    def started(self) -> bool:
        """Whether the session was ever started."""
        return self.state is not KvmState.IDLE

    def _set(self, state: KvmState, message: str, error: AmtError | None = None) -> None:
        self.state = state
        self.message = message
        self.error = error
        self._tell(False)

    def _tell(self, screen: bool) -> None:
        for listener in list(self.listeners):
            listener(screen)

    def stats(self, now: float | None = None) -> KvmStats:
        """Frames and kB per second over the last :data:`STATS_WINDOW` seconds."""
        now = self._clock() if now is None else now
        self._trim(now)
        span = STATS_WINDOW
        fps = len(self._frames) / span
        kbps = sum(size for _, size in self._bytes) / span / 1000
        fb = self.framebuffer
        bits = self.client.pixel_format.bits_per_pixel
        return KvmStats(fps, kbps, fb.width, fb.height, f"ZRLE {bits}-bit")

    def _trim(self, now: float) -> None:
        while self._frames and self._frames[0] < now - STATS_WINDOW:
            self._frames.popleft()
        while self._bytes and self._bytes[0][0] < now - STATS_WINDOW:
            self._bytes.popleft()

    # -- connecting -------------------------------------------------------------------------

    async def _open_stream(self) -> Stream:
        profile = self.profile
        return await open_stream(
            profile.address, profile.redir_port, tls=profile.tls, via=profile.via, what="AMT KVM"
        )

    def start(self) -> None:
        """Connect in the background (again, after a failure or close); nothing if already running."""
        if self.running:
            return
        self.client = RfbClient(pixel_format=RGB565, amt=True)
        self._frames.clear()
        self._bytes.clear()
        self._set(KvmState.CONNECTING, f"Connecting KVM to {self.profile.target}...")
        self._task = asyncio.create_task(self._run(), name=f"kvm-{self.profile.name}")

    async def _run(self) -> None:
        target = self.profile.target
        try:
            stream = await asyncio.wait_for(self._opener(), KVM_START_TIMEOUT)
        except TimeoutError:
            self._set(
                KvmState.FAILED, f"{target} did not answer the KVM connection within {KVM_START_TIMEOUT:g} s."
            )
            return
        except AmtError as exc:
            self._set(KvmState.FAILED, str(exc), exc)
            return
        except (ConnectionError, OSError) as exc:
            self._set(KvmState.FAILED, f"Cannot connect KVM to {target}: {exc}.")
            return
        self._stream = stream
        config = dataclasses.replace(self.profile.console, session_type=SessionType.KVM)
        self._conn = conn = RedirectionConnection(config)
        self._pump = pump = RedirectionPump(
            conn, stream.reader, stream.writer, self._on_event, clock=self._clock
        )
        conn.start(self._clock())
        try:
            await pump.run()
        except RemoteProtocolError as exc:
            self._fail(f"{target} sent KVM data amtterm cannot read: {exc}.", exc)
        except AmtError as exc:
            self._fail(str(exc), exc)
        except (ConnectionError, OSError) as exc:
            self._fail(f"The KVM connection to {target} was lost: {exc}.")
        else:
            if self._closing:
                self._set(KvmState.CLOSED, "KVM closed.")
            elif self.state is KvmState.CONNECTED:
                self._set(KvmState.CLOSED, f"{target} closed the KVM session.")
            elif self.state is KvmState.CONNECTING:
                self._set(KvmState.FAILED, f"{target} closed the connection before KVM started.")
        finally:
            self._stop_keepalive()
            stream.close()

    def _fail(self, message: str, error: AmtError | None = None) -> None:
        if self.state in (KvmState.CONNECTING, KvmState.CONNECTED):
            self._set(KvmState.FAILED, message, error)

    async def _on_event(self, event: ev.Event) -> None:
        target = self.profile.target
        if isinstance(event, ev.KvmData):
            now = self._clock()
            self._bytes.append((now, len(event.data)))
            rfb_events = self.client.receive_data(event.data, now)  # RemoteProtocolError ends run()
            self._send_rfb()
            screen = False
            for rfb in rfb_events:
                if isinstance(rfb, ServerInit):
                    self._set(
                        KvmState.CONNECTED,
                        f"KVM of {target}: {rfb.width}x{rfb.height}, RFB {rfb.server_version[0]}."
                        f"{rfb.server_version[1]}.",
                    )
                elif isinstance(rfb, FramebufferUpdated):
                    self._frames.append(now)
                    screen = True
            if screen:
                self._tell(True)
        elif isinstance(event, ev.KvmStarted):
            self._keepalive = asyncio.create_task(self._keepalive_loop())
        elif isinstance(event, ev.SessionRefused):
            self._fail(refusal_sentence(int(event.status), target, self._host))
        elif isinstance(event, ev.KvmRefused):
            self._fail(f"{target} refused to start KVM (status {event.status}).")
        elif isinstance(event, ev.AuthFailed):
            user = self.profile.console.user
            self._fail(f"Wrong user name or password for {user!r} on {target} (KVM).")
        elif isinstance(event, ev.PeerTimeout):
            self._fail(f"{target} stopped answering while KVM started ({event.seconds:.0f} s).")

    def _send_rfb(self) -> None:
        conn = self._conn
        out = self.client.data_to_send()
        if out and conn is not None and conn.state is ConnectionState.KVM_ACTIVE:
            conn.send_kvm_data(out)

    async def _keepalive_loop(self) -> None:
        """The RFB client's timer: Intel's 5 s data-channel keep-alive."""
        while True:
            due = self.client.next_timer_at()
            await asyncio.sleep(1.0 if due is None else max(0.05, due - self._clock()))
            if self.client.closed:
                return
            self.client.handle_timer(self._clock())
            await self._flush()

    def _stop_keepalive(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None

    async def _flush(self) -> None:
        self._send_rfb()
        if self._pump is not None:
            with contextlib.suppress(AmtError, ConnectionError, OSError):
                await self._pump.flush()

    # -- input ------------------------------------------------------------------------------

    def send_keys(self, keys: list[tuple[int, bool]]) -> bool:
        """X keysym presses and releases, in order; False (nothing sent) when KVM is not connected."""
        if self.state is not KvmState.CONNECTED or self.client.closed:
            return False
        self.client.send_keys(keys)
        self._schedule_flush()
        return True

    def send_pointer(self, x: int, y: int, buttons: int) -> bool:
        """The pointer at framebuffer pixel (x, y) with ``buttons`` held (bit 0 left, 1 middle, 2 right)."""
        if self.state is not KvmState.CONNECTED or self.client.closed:
            return False
        self.client.send_pointer(x, y, buttons)
        self._schedule_flush()
        return True

    def _schedule_flush(self) -> None:
        task = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    # -- ending -----------------------------------------------------------------------------

    async def close(self, timeout: float = 2.0) -> None:
        """End the session (RFB has no goodbye: the connection is closed)."""
        self._closing = True
        task, self._task = self._task, None
        self._stop_keepalive()
        if self._pump is not None and task is not None:
            await self._pump.end_politely(task, timeout)
        elif task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._stream is not None:
            await self._stream.aclose()
            self._stream = None
        if self.state in (KvmState.CONNECTING, KvmState.CONNECTED):
            self._set(KvmState.CLOSED, "KVM closed.")
        self._closing = False

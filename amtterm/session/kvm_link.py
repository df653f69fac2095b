"""KvmLink: one host's KVM session as the console shows it (no Textual).

    kvm = KvmLink(profile)              # the host's address, port, TLS trust and credentials
    kvm.listeners.append(changed)       # changed(screen: bool): a frame arrived (True) or the state moved
    kvm.start()                         # connects in the background: KVMR, digest, 40/41, RFB
    kvm.framebuffer                     # the remote screen, RGB (amtterm.rfb.Framebuffer)
    kvm.send_keys([(0xFFBF, True), (0xFFBF, False)])   # X keysyms (F2 down, up)
    kvm.send_pointer(x, y, buttons)
    kvm.stats(now)                      # frames and kB per second, measured over the last seconds
    await kvm.close()

The session itself is :class:`amtterm.session.kvm.KvmClient` (a second redirection session beside SOL,
tagged ``KVMR``, then RFB in AMT mode: RGB565, ZRLE, the 5 s keep-alive;
``shared/protocol/modern-amt.md`` 2.1). What this adds for a console that stays open: it runs in the
background and says what it is doing as a state and one sentence, tells its listeners of frames and
of its end, and counts frames and bytes for the status line. A refusal is said the way the console
needs it (2.2: status 1 = this firmware has no KVM, 2 = busy, 3 = disabled, 0xFF = user consent
missing), as is an RFB stream amtterm cannot read. There is no automatic reconnect: KVM is asked for
when it is shown, and the console's reconnect command asks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from amtterm.errors import AmtError, RemoteProtocolError, SessionBusy, SessionRefused
from amtterm.redir import ConsoleConfig, StartStatus
from amtterm.rfb import DesktopResized, Framebuffer, FramebufferUpdated, RfbEvent
from amtterm.session.kvm import KvmClient
from amtterm.session.kvm_state import KvmState, KvmStats
from amtterm.transport.tcp import Stream, open_stream

if TYPE_CHECKING:
    from amtterm.session.host import HostProfile

#: Seconds from TCP connect to the RFB handshake's end before the attempt is given up.
KVM_START_TIMEOUT = 30.0
#: The window over which frames and bytes per second are measured.
STATS_WINDOW = 3.0


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
            f"{target} needs user consent for KVM: have the PC show its code (the Boot pane's Show code) "
            "and type it in."
        )
    return f"{target} refused the KVM session (status {status})."


class _ConsoleKvmClient(KvmClient):
    """A KvmClient that says refusals the console's way, counts bytes and tells its end."""

    def __init__(
        self,
        stream: Stream,
        config: ConsoleConfig,
        *,
        target: str,
        name: str,
        on_bytes: Callable[[int], None],
        on_end: Callable[[AmtError | None], None],
    ) -> None:
        super().__init__(stream, config, target=target)
        #: The status of a refused StartRedirectionSession, if it was refused.
        self.refused: int | None = None
        self._name = name
        self._on_bytes = on_bytes
        self._on_end = on_end

    def _refusal(self, status: int) -> SessionRefused:
        self.refused = status
        sentence = refusal_sentence(status, self.target, self._name)
        return SessionBusy(sentence) if status == StartStatus.BUSY else SessionRefused(sentence)

    def _fail(self, error: AmtError) -> None:
        if type(error) is RemoteProtocolError:
            error = RemoteProtocolError(f"{self.target} sent KVM data amtterm cannot read: {error}.")
        ended = self._ended
        super()._fail(error)
        if not ended:
            self._on_end(error)

    def _finish(self) -> None:
        ended = self._ended
        super()._finish()
        if not ended:
            self._on_end(None)

    async def _feed_rfb(self, data: bytes) -> None:
        self._on_bytes(len(data))
        await super()._feed_rfb(data)


class KvmLink:
    """A host's KVM session for the console's KVM view (see the module docstring).

    Args:
        profile: the host (address, redirection port, TLS, credentials).
        opener: opens the TCP/TLS stream (tests); by default as the SOL session does.
        clock: the time source for the measurements.
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
        #: Called with ``True`` after a FramebufferUpdate, ``False`` when the state or message changed.
        self.listeners: list[Callable[[bool], None]] = []
        self._client: _ConsoleKvmClient | None = None
        #: The device refused KVM until the user consents (client control mode, or OptInRequired KVM).
        self.needs_consent = False
        self._no_screen = Framebuffer(0, 0)
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._frames: deque[float] = deque()
        self._bytes: deque[tuple[float, int]] = deque()

    # -- state ------------------------------------------------------------------------------

    @property
    def framebuffer(self) -> Framebuffer:
        """The remote screen (0x0 until the server's ServerInit)."""
        return self._client.framebuffer if self._client is not None else self._no_screen

    @property
    def frame_complete(self) -> bool:
        """Every pixel of the screen has been painted since the session started."""
        return self._client is not None and self._client.rfb.frame_complete

    @property
    def running(self) -> bool:
        """Whether a session task is connecting."""
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
        while self._frames and self._frames[0] < now - STATS_WINDOW:
            self._frames.popleft()
        while self._bytes and self._bytes[0][0] < now - STATS_WINDOW:
            self._bytes.popleft()
        fps = len(self._frames) / STATS_WINDOW
        kbps = sum(size for _, size in self._bytes) / STATS_WINDOW / 1000
        fb = self.framebuffer
        bits = self._client.rfb.pixel_format.bits_per_pixel if self._client is not None else 16
        return KvmStats(fps, kbps, fb.width, fb.height, f"ZRLE {bits}-bit")

    # -- connecting -------------------------------------------------------------------------

    async def _open_stream(self) -> Stream:
        profile = self.profile
        return await open_stream(
            profile.address, profile.redir_port, tls=profile.tls, via=profile.via, what="AMT KVM"
        )

    def start(self) -> None:
        """Connect in the background (again, after a failure or close); nothing if already connecting."""
        if self.running or self.state is KvmState.CONNECTED:
            return
        self._frames.clear()
        self._bytes.clear()
        self._set(KvmState.CONNECTING, f"Connecting KVM to {self.profile.target}...")
        self._task = asyncio.create_task(self._run(), name=f"kvm-{self.profile.name}")

    async def _run(self) -> None:
        profile = self.profile
        target = profile.target
        old, self._client = self._client, None
        if old is not None:
            await old.close()  # a session that failed: its connection goes before the next one
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
        client = _ConsoleKvmClient(
            stream,
            profile.console,
            target=target,
            name=profile.name,
            on_bytes=self._count,
            on_end=self._ended,
        )
        client.listeners.append(self._on_rfb)
        self._client = client
        try:
            await client.start(KVM_START_TIMEOUT)
        except AmtError as exc:
            if self._client is client and self.state is KvmState.CONNECTING:
                self.needs_consent = client.refused == StartStatus.ERROR
                self._set(KvmState.FAILED, str(exc), exc)
            return
        self.needs_consent = False
        init = client.server_init
        size = (
            f"{init.width}x{init.height}, RFB {init.server_version[0]}.{init.server_version[1]}"
            if init
            else ""
        )
        self._set(KvmState.CONNECTED, f"KVM of {target}: {size}.")

    def _count(self, size: int) -> None:
        self._bytes.append((self._clock(), size))

    def _on_rfb(self, event: RfbEvent) -> None:
        if isinstance(event, FramebufferUpdated | DesktopResized):
            if isinstance(event, FramebufferUpdated):
                self._frames.append(self._clock())
            self._tell(True)

    def _ended(self, error: AmtError | None) -> None:
        """The client's session ended (``error`` None: the device closed it)."""
        if self.state is not KvmState.CONNECTED:
            return  # before the handshake's end start() raises, and _run says why
        if error is not None:
            self._set(KvmState.FAILED, str(error), error)
        else:
            self._set(KvmState.CLOSED, f"{self.profile.target} closed the KVM session.")

    # -- input ------------------------------------------------------------------------------

    def send_keys(self, keys: list[tuple[int, bool]]) -> bool:
        """X keysym presses and releases, in order; False (nothing sent) when KVM is not connected."""
        client = self._client
        if self.state is not KvmState.CONNECTED or client is None:
            return False
        self._send(client.send_keys(keys))
        return True

    def send_pointer(self, x: int, y: int, buttons: int) -> bool:
        """The pointer at framebuffer pixel (x, y) with ``buttons`` held (bit 0 left, 1 middle, 2 right)."""
        client = self._client
        if self.state is not KvmState.CONNECTED or client is None:
            return False
        self._send(client.send_pointer(x, y, buttons))
        return True

    def _send(self, job: Awaitable[None]) -> None:
        async def guarded() -> None:
            with contextlib.suppress(AmtError, ConnectionError, OSError):
                await job  # a failure here ends the session, which says why

        task = asyncio.get_running_loop().create_task(guarded())
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    # -- ending -----------------------------------------------------------------------------

    async def close(self, timeout: float = 2.0) -> None:
        """End the session (RFB has no goodbye: the connection is closed)."""
        task, self._task = self._task, None
        client = self._client
        was = self.state
        if was in (KvmState.CONNECTING, KvmState.CONNECTED):
            self.state = KvmState.CLOSED  # what the client reports while it closes is not news
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if client is not None:
            await client.close(timeout)
        if was in (KvmState.CONNECTING, KvmState.CONNECTED):
            self._set(KvmState.CLOSED, "KVM closed.")

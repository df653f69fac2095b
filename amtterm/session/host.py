"""HostController: one machine the console shows: its SOL session, its hub, its keys, its WS-Man service,
and its KVM session (:attr:`HostController.kvm`, a :class:`~amtterm.session.kvm_link.KvmLink` started when
the console first shows it, closed with the host).

No Textual here: the app owns one HostController per host and keeps all of them alive while the user
switches between hosts (each one a ConsoleSession feeding a ConsoleHub).

    link = HostController(profile)
    link.start()                          # connects in the background, reconnects by itself
    async for chunk in link.output(): ... # host output for the screen (measures echo latency)
    link.send_key(b"\\x1b[OQ")            # a key: sent at once (after paced text still queued)
    link.send_paced([b"admin", b"\\r"])   # typed text: one piece per PACE_GAP, longer after Enter
    await link.close()

Recording (``amtterm HOST --record FILE``): :meth:`HostController.record` gives the host a recorder fed
by its own lossless hub subscription, with markers at power changes the device reports, at the
console's connects and disconnects, and wherever :meth:`HostController.mark` is called (the panes mark
the power and boot actions they send). Keys sent are offered to the recorder, which keeps them
only when asked to record input.

Keys are written by one task per host, in order, so a key pressed while a paste is still being
typed lands after it. Off and cycle need the SOL session closed on AMT (ReturnValue 2 otherwise):
:meth:`HostController.suspended` closes it for the duration and reconnects afterwards.

Trust on first use inside a full-screen UI: nothing can be asked on the terminal, so the
:class:`TrustPrompt` refuses an unknown certificate and remembers the question; the app asks the
user and, on yes, approves that device and fingerprint (WS-Man's 16993 and SOL's 16995 show one
certificate: one question), so the next attempt pins the certificate. A certificate that changed
is not asked about by the session; the console shows both fingerprints and, on yes,
:func:`replace_pins` pins the new one where the old one was.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from amtterm.errors import AmtError, ConfigError, SessionTimeout, TlsPinMismatch
from amtterm.redir import ConsoleConfig
from amtterm.session.console import ConsoleHub, ConsoleSession, SessionState, SessionStatus, Subscription
from amtterm.session.ider_job import Confirm, IderJob, IderRequest
from amtterm.session.ider_progress import IderProgress
from amtterm.session.recorder import Recorder, record_subscription
from amtterm.session.reinstall import ReinstallJob, ReinstallProgress, ReinstallRequest
from amtterm.session.sol import SolClient
from amtterm.terminal.keymap import Backspace, Enter, KeyMode
from amtterm.transport import tls as tlsmod
from amtterm.transport.jump import JumpRoute
from amtterm.transport.known_hosts import KnownHosts, endpoint_key
from amtterm.transport.tcp import Stream, TlsOptions, open_stream
from amtterm.transport.trust import CertificateQuestion
from amtterm.wsman.services import DeviceService

if TYPE_CHECKING:
    from amtterm.session.kvm_link import KvmLink

#: Pause after each piece of typed text (BIOS fields drop input that comes faster).
PACE_GAP = 0.04
#: Pause after a piece that ends a line (the remote may redraw a whole screen).
PACE_LINE_GAP = 0.25
#: Seconds a device may take from TCP connect to a running SOL session.
START_TIMEOUT = 30.0
#: Who the TUI is on the hub (the keyboard holder).
TUI = "tui"


def question_key(question: str) -> tuple[str, str]:
    """What a certificate question is about: (device, fingerprint). AMT shows one certificate on
    16993 (WS-Man) and 16995 (SOL), so the two questions for one device are one question."""
    if isinstance(question, CertificateQuestion):
        return question.host, question.fingerprint
    return question, ""  # another question (a jump host's SSH key): asked as it is


@dataclass(frozen=True)
class ChangedCertificate:
    """A device whose certificate differs from its known_hosts pin (from the session's sentence)."""

    host: str
    pinned: str
    presented: str


def changed_certificate(error: BaseException | None) -> ChangedCertificate | None:
    """The device and both fingerprints of a known_hosts pin mismatch (None: not one, or a tls_pin)."""
    if not isinstance(error, TlsPinMismatch) or not error.in_known_hosts or not error.pinned:
        return None
    return ChangedCertificate(error.host, error.pinned, error.presented)


def replace_pins(known_hosts: Path | None, change: ChangedCertificate) -> int:
    """Pin the presented certificate wherever the old one was pinned for that device; how many."""
    known = KnownHosts(known_hosts)
    replaced = 0
    for (host, port), fp in known.entries():
        if endpoint_key(host, port) == endpoint_key(change.host, port) and fp == change.pinned:
            known.add(host, port, change.presented)
            replaced += 1
    return replaced


class TrustPrompt:
    """The ``ask`` of TLS pinning inside the TUI: refuse now, remember, approve later.

    A question is about a device and a fingerprint (:func:`question_key`): the question for the
    WS-Man port of a device whose redirection certificate is already being asked about is not
    asked again, and one yes approves both.
    """

    def __init__(self) -> None:
        self._approved: set[tuple[str, str]] = set()
        #: Questions asked and not yet answered, oldest first (one per device and fingerprint).
        self.pending: list[str] = []
        #: Called (with the question) when a new question comes up.
        self.listeners: list[Callable[[str], None]] = []

    def __call__(self, question: str) -> bool:
        key = question_key(question)
        if key in self._approved:
            return True
        if all(question_key(asked) != key for asked in self.pending):
            self.pending.append(question)
            for listener in list(self.listeners):
                listener(question)
        return False

    def waiting(self) -> bool:
        """Whether a question is open (a refusal now may be a yes in a moment)."""
        return bool(self.pending)

    def approve(self, question: str) -> None:
        """The user trusts it: the next question about that device and fingerprint is answered yes."""
        self._approved.add(question_key(question))
        self.forget(question)

    def forget(self, question: str) -> None:
        """The question was answered (either way)."""
        key = question_key(question)
        self.pending = [asked for asked in self.pending if question_key(asked) != key]


@dataclass
class HostProfile:
    """How to reach one host's console and how to talk to it.

    Attributes:
        name: what the user calls it (hosts-file name or address).
        address: where to connect.
        redir_port: the redirection port (16995 TLS, 16994 plain).
        tls: how the certificate is trusted, a hosts-file ``tls_pin`` included (None: plain TCP).
        console: user, password and SOL settings.
        screen: the remote screen (columns, rows).
        encoding: ``auto``, ``cp437`` or ``utf-8``.
        key_mode: the F-key convention.
        enter: ``cr`` or ``crlf``.
        backspace: ``bs`` or ``del``.
        service: WS-Man for the panes (None: the panes say it is not available).
        via: SSH jump hosts to reach the console through (None: connect directly).
    """

    name: str
    address: str
    redir_port: int
    tls: TlsOptions | None
    console: ConsoleConfig
    screen: tuple[int, int] = (80, 25)
    encoding: str = "auto"
    key_mode: KeyMode = "intel"
    enter: Enter = "cr"
    backspace: Backspace = "bs"
    service: DeviceService | None = None
    extra: dict[str, str] = field(default_factory=dict)
    via: JumpRoute | None = None

    @property
    def target(self) -> str:
        """``address:port`` of the console, for sentences."""
        return tlsmod.format_endpoint(self.address, self.redir_port)

    @property
    def tls_pin(self) -> str | None:
        """The hosts file's fingerprint the certificate must match (it travels in :attr:`tls`)."""
        return self.tls.pin if self.tls is not None else None


class HostController:
    """One host's live console: session, hub, key writer, measurements.

    Args:
        profile: the host.
        opener: opens a started SolClient (tests); by default TCP/TLS to the profile's port.
        sleep: the session's back-off pause (tests make it short).
    """

    def __init__(
        self,
        profile: HostProfile,
        *,
        opener: Callable[[], Awaitable[SolClient]] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.profile = profile
        self.hub = ConsoleHub()
        self.hub.grant_keyboard(TUI)
        self._opener = opener or self._open_client
        self._sleep = sleep or asyncio.sleep
        self._wake = asyncio.Event()
        self.session: ConsoleSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._keys: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()
        self._sub: Subscription | None = None
        self._key_at: float | None = None
        #: Seconds from the last key written to the next output (an echo), or None.
        self.echo_latency: float | None = None
        #: The redirection certificate's fingerprint, once connected over TLS.
        self.fingerprint: str | None = None
        #: Keys that could not be sent because the console was not connected.
        self.dropped = 0
        self.closed = False
        #: Where this host's console is recorded (None: not recorded).
        self.recorder: Recorder | None = None
        self._recording: asyncio.Task[None] | None = None
        self._record_sub: Subscription | None = None
        self._recorded_power: bool | None = None
        self._recorded_connected = False
        #: The IDE-R job of this host (the IDE-R pane's) once started, kept while the user switches hosts.
        self.ider: IderJob | None = None
        #: The KVM session of this host (its third redirection session), made when KVM is first shown.
        self._kvm: KvmLink | None = None
        #: The boot-from-image job (HTTPS boot or IDE-R) once started, kept the same way.
        self.reinstall: ReinstallJob | None = None

    # -- state ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The host's name."""
        return self.profile.name

    @property
    def status(self) -> SessionStatus:
        """The session's latest status."""
        return self.hub.status

    @property
    def started(self) -> bool:
        """Whether the console was ever started."""
        return self._sub is not None

    @property
    def running(self) -> bool:
        """Whether a session task is running (connected or trying to)."""
        return self._task is not None and not self._task.done()

    @property
    def service(self) -> DeviceService | None:
        """WS-Man for the panes."""
        return self.profile.service

    def changed_certificate(self) -> ChangedCertificate | None:
        """The device and both fingerprints when the session failed on a changed known_hosts pin."""
        return changed_certificate(self.status.error)

    def accept_certificate(self, change: ChangedCertificate) -> int:
        """Pin the presented certificate where the old one was pinned (the user saw both); how many."""
        tls = self.profile.tls
        return replace_pins(tls.known_hosts if tls is not None else None, change)

    def on_status(self, listener: Callable[[SessionStatus], None]) -> None:
        """Call ``listener`` on every status change of this host's session."""
        self.hub.on_status(listener)

    # -- connecting -------------------------------------------------------------------------

    async def _open_client(self) -> SolClient:
        profile = self.profile
        # The certificate is checked inside open_stream (amtterm.transport.trust: the one check).
        stream: Stream = await open_stream(
            profile.address, profile.redir_port, tls=profile.tls, via=profile.via
        )
        self.fingerprint = stream.peer_fingerprint
        client = SolClient(stream, profile.console, target=profile.target)
        client.power_listeners.append(self._power_seen)
        client.power_listeners.append(self._power_marker)
        try:
            await asyncio.wait_for(client.start(), START_TIMEOUT)
        except TimeoutError:
            raise SessionTimeout(
                f"{profile.target} accepted the connection but did not start Serial-over-LAN within "
                f"{START_TIMEOUT:g} s."
            ) from None
        return client

    def _power_seen(self, power_on: bool) -> None:
        # ConsoleSession notices a power change only when output follows it; a machine that
        # was just switched off sends none, so the change is announced here as it arrives.
        status = self.hub.status
        if status.state is SessionState.CONNECTED and status.power_on is not power_on:
            word = "on" if power_on else "off"
            message = f"Connected to {self.profile.target}. The machine is {word}."
            self.hub.set_status(dataclasses.replace(status, power_on=power_on, message=message))

    # -- recording --------------------------------------------------------------------------

    def record(self, recorder: Recorder) -> None:
        """Record this host's console from now on (call before :meth:`start` to miss nothing).

        The recorder is closed by :meth:`close`.
        """
        if self.recorder is not None:
            raise ValueError(f"{self.name} is already being recorded")
        self.recorder = recorder
        self._record_sub = self.hub.subscribe("recorder", maxsize=512)
        self._recording = asyncio.create_task(
            record_subscription(self._record_sub, recorder), name=f"record-{self.name}"
        )
        self.hub.on_status(self._status_marker)

    def mark(self, label: str) -> None:
        """A marker in the recording (a power or boot action, an IDE-R event); nothing when not recording."""
        if self.recorder is not None:
            self.recorder.marker(label)

    def _power_marker(self, power_on: bool) -> None:
        # Each new session reports the power state again: only a change is a marker.
        if self.recorder is not None and power_on is not self._recorded_power:
            self._recorded_power = power_on
            self.recorder.power(power_on)

    def _status_marker(self, status: SessionStatus) -> None:
        connected = status.state is SessionState.CONNECTED
        if connected != self._recorded_connected:
            self._recorded_connected = connected
            self.mark("console connected" if connected else "console disconnected")

    async def _pause(self, seconds: float) -> None:
        """The back-off between attempts; :meth:`reconnect_now` cuts it short."""
        self._wake.clear()
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()

    def start(self) -> None:
        """Start (or restart) the console in the background."""
        if self.closed or self.running:
            return
        if self._sub is None:
            self._sub = self.hub.subscribe(TUI, maxsize=512)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_keys(), name=f"keys-{self.name}")
        self.session = ConsoleSession(self._opener, self.hub, target=self.profile.target, sleep=self._pause)
        self._task = asyncio.create_task(self.session.run(), name=f"sol-{self.name}")

    async def stop(self) -> None:
        """End the session politely (the hub and its screen stay)."""
        session, task = self.session, self._task
        self.session = self._task = None
        if session is not None:
            await session.stop()
        if task is not None:
            self._wake.set()
            try:
                await asyncio.wait_for(task, 5)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except AmtError:
                pass

    async def reconnect_now(self) -> None:
        """Connect again at once: drop a live session, skip a back-off, or retry a failure."""
        state = self.status.state
        if self.running and state in (SessionState.CONNECTING, SessionState.RECONNECTING):
            self._wake.set()
            return
        await self.stop()
        self.start()

    @contextlib.asynccontextmanager
    async def suspended(self) -> AsyncIterator[None]:
        """Close the SOL session for what happens inside, then connect again."""
        was_running = self.running
        if was_running:
            await self.stop()
        try:
            yield
        finally:
            if was_running and not self.closed:
                self.start()

    def ider_job(
        self,
        request: IderRequest,
        *,
        confirm: Confirm | None = None,
        on_state: Callable[[str], None] | None = None,
        on_progress: Callable[[IderProgress], None] | None = None,
        on_message: Callable[[str], None] | None = None,
    ) -> IderJob:
        """A new IDE-R job for this host (its second redirection session, beside SOL).

        It reaches the device as the console does: same address, port, credentials and TLS
        trust (a ``tls_pin`` from the hosts file included), and boots with the host's WS-Man. It
        becomes :attr:`ider` once it starts (after its question, if any); before its boot it
        attaches the console, so the boot is seen from POST on. The recording gets markers at
        its start, its boot and its end.

        Raises:
            ConfigError: the host is serving already, the request is wrong
                (:meth:`IderRequest.check`), or a boot has no WS-Man (one sentence).
        """
        if self.ider is not None and not self.ider.finished:
            raise ConfigError(f"Already serving {self.ider.request.served}; stop it first.")
        request.check()
        profile = self.profile
        tls = profile.tls  # a hosts-file tls_pin rides in it (transport.trust)

        def state_changed(state: str) -> None:
            if state == "connecting":
                self.ider = job
                self.mark(f"IDE-R: serving {request.served}")
            elif job.finished and job is self.ider:
                self.mark(f"IDE-R: {state}")
            if on_state is not None:
                on_state(state)

        job = IderJob(
            request,
            profile.address,
            profile.redir_port,
            tls=tls,
            config=profile.console,
            name=profile.name,
            via=profile.via,
            wsman=profile.service,
            confirm=confirm,
            before_boot=self._before_ider_boot,
            on_state=state_changed,
            on_progress=on_progress,
            on_message=on_message,
        )
        return job

    @property
    def kvm(self) -> KvmLink:
        """This host's KVM session (made on first use, not started: the console starts it when shown)."""
        if self._kvm is None:
            from amtterm.session.kvm_link import KvmLink  # here: SOL alone does not load RFB

            self._kvm = KvmLink(self.profile)
        return self._kvm

    @property
    def kvm_started(self) -> bool:
        """Whether this host's KVM session was ever started."""
        return self._kvm is not None and self._kvm.started

    def reinstall_job(
        self,
        request: ReinstallRequest,
        *,
        ider: Callable[[IderRequest], IderJob] | None = None,
        on_state: Callable[[str], None] | None = None,
        on_progress: Callable[[ReinstallProgress], None] | None = None,
        on_message: Callable[[str], None] | None = None,
    ) -> ReinstallJob:
        """A new boot-from-image job for this host: HTTPS boot when offered, else IDE-R.

        One Click Recovery goes over the host's WS-Man (:meth:`DeviceService.run`); IDE-R is
        ``ider``'s job (made with :meth:`ider_job`, so it becomes :attr:`ider` as usual). Before
        the boot the console is attached, so the boot is seen from POST on. It becomes
        :attr:`reinstall` once it starts.

        Raises:
            ConfigError: the host is booting or serving already, or the request is wrong
                (:meth:`ReinstallRequest.check`; one sentence).
        """
        from amtterm.session.reinstall_wsman import WsmanRecovery

        if (self.reinstall is not None and self.reinstall.active) or (
            self.ider is not None and not self.ider.finished
        ):
            raise ConfigError("Already serving an image to this host; stop it first.")
        request.check()
        profile = self.profile
        service = profile.service
        recovery = WsmanRecovery(service.run) if service is not None else None

        def state_changed(state: str) -> None:
            if state == "checking":
                self.reinstall = job
            elif state == "serving" and job.method == "https":
                self.mark(f"HTTPS boot: serving {request.image.name} at {job.url}")
            elif not job.active and job.method == "https":
                self.mark(f"HTTPS boot: {state}")
            if on_state is not None:
                on_state(state)

        async def before_boot() -> None:
            if job.method == "https":  # an IDE-R job attaches the console itself, before its boot
                self._before_ider_boot("https")

        job = ReinstallJob(
            request,
            name=profile.name,
            device=profile.address,
            recovery=recovery,
            boot_log=recovery,
            ider=ider,
            before_boot=before_boot,
            on_state=state_changed,
            on_progress=on_progress,
            on_message=on_message,
        )
        return job

    def _before_ider_boot(self, device: str) -> None:
        if not self.running:
            self.start()  # SOL attached before the reset, so the boot is seen from POST on
        self.mark(f"{device} boot with SOL and reset requested")

    async def close(self) -> None:
        """Stop everything for good (app exit)."""
        if self.closed:
            return
        if self.reinstall is not None and self.reinstall.active:
            await self.reinstall.stop()  # its clean-up (boot settings, the CA) before WS-Man closes
        if self.ider is not None:
            await self.ider.stop()
        if self._kvm is not None:
            await self._kvm.close()
        await self.stop()
        self.closed = True
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        if self._sub is not None:
            self._sub.close()
        if self._record_sub is not None:
            self._record_sub.close()
        if self._recording is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._recording
            self._recording = None
        if self.service is not None:
            await self.service.aclose()

    # -- output -----------------------------------------------------------------------------

    async def output(self) -> AsyncIterator[bytes]:
        """Host output for the screen, in order, until :meth:`close`."""
        if self._sub is None:
            self._sub = self.hub.subscribe(TUI, maxsize=512)
        async for chunk in self._sub:
            if self._key_at is not None:
                self.echo_latency = time.monotonic() - self._key_at
                self._key_at = None
            yield chunk

    # -- keys -------------------------------------------------------------------------------

    def send_key(self, data: bytes) -> None:
        """A key press: out as soon as everything typed before it is."""
        if data:
            self._keys.put_nowait((data, 0.0))

    def send_paced(self, chunks: Sequence[bytes], enter: bytes = b"\r") -> None:
        """Typed or pasted text, in pieces, with a pause after each (longer after a line)."""
        for chunk in chunks:
            if chunk:
                gap = PACE_LINE_GAP if chunk.endswith(enter) or chunk.endswith(b"\n") else PACE_GAP
                self._keys.put_nowait((chunk, gap))

    @property
    def keys_pending(self) -> int:
        """Pieces still waiting to be typed."""
        return self._keys.qsize()

    def drop_pending(self) -> int:
        """Forget keys not yet sent (e.g. after switching a long paste off); returns how many."""
        count = 0
        while not self._keys.empty():
            self._keys.get_nowait()
            count += 1
        return count

    async def _write_keys(self) -> None:
        while True:
            data, gap = await self._keys.get()
            try:
                sent = await self.hub.write(data, who=TUI)
            except (AmtError, ConnectionError, OSError):
                sent = False
            if not sent:
                self.dropped += 1 + self.drop_pending()
                continue
            if self.recorder is not None:
                self.recorder.input(data)
            if self._key_at is None:
                self._key_at = time.monotonic()
            if gap:
                await asyncio.sleep(gap)

"""The console side of a redirection connection: start, authenticate, run SOL, end.

Driven by :class:`amtterm.redir.connection.RedirectionConnection`, which has
already checked each received message against the table in
:mod:`amtterm.redir.state`. Section numbers refer to
``shared/protocol/redirection.md``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.redir import auth, kvm
from amtterm.redir.constants import AuthStatus, AuthType, MessageType, SessionType, StartStatus
from amtterm.redir.events import (
    Authenticated,
    AuthFailed,
    AuthMethodsOffered,
    ConnectionClosed,
    Event,
    PeerTimeout,
    SessionRefused,
    SessionStarted,
    SolControlsChanged,
    SolData,
    SolRefused,
    SolStarted,
)
from amtterm.redir.ider import IderConsoleProtocol, enable_value
from amtterm.redir.messages import (
    MAX_SOL_DATA,
    AuthenticateSession,
    AuthenticateSessionReply,
    AuthMethodsList,
    DigestChallenge,
    EndRedirectionSession,
    EndSolRedirection,
    EndSolRedirectionReply,
    Message,
    PlainCredentials,
    SolControlsFromHost,
    SolDataFromHost,
    SolDataToHost,
    SolHeartbeat,
    SolKeepAlivePing,
    StartRedirectionSession,
    StartRedirectionSessionReply,
    StartSolRedirection,
    StartSolRedirectionReply,
)
from amtterm.redir.state import ConnectionCore, ConnectionState

if TYPE_CHECKING:
    from amtterm.redir.connection import ConsoleConfig


#: Console heartbeats go out at a quarter of the device's HostSessionRxTimeout,
#: but never more often than once a second (5.5, 5.8).
MIN_HEARTBEAT_INTERVAL = 1.0

#: HostSessionRxTimeout assumed when the console asked for 0 (5.8).
DEFAULT_RX_TIMEOUT_MS = 10000


#: States without a peer timeout: not open, or KVM, where a still screen sends nothing (7).
_UNTIMED = (ConnectionState.IDLE, ConnectionState.CLOSED, ConnectionState.KVM_ACTIVE)


class _AuthStep(enum.Enum):
    QUERY = "query"  # 0x13 type 0 sent, waiting for the method list (4.3)
    CHALLENGE = "challenge"  # empty digest request sent, waiting for status 1 + realm/nonce (4.4)
    RESULT = "result"  # plain or full digest sent, waiting for status 0 / 1 (4.3, 4.4)


class ConsoleProtocol:
    """Console-role logic; see the transition table in :mod:`amtterm.redir.state`."""

    def __init__(self, core: ConnectionCore, config: ConsoleConfig) -> None:
        self._core = core
        self._config = config
        self._step = _AuthStep.QUERY
        self._method: AuthType = AuthType.QUERY
        self._offered: tuple[AuthType | int, ...] = ()
        self._tried: set[AuthType] = set()
        rx_ms = config.sol_settings.rx_timeout_ms or DEFAULT_RX_TIMEOUT_MS
        self._heartbeat_interval = max(MIN_HEARTBEAT_INTERVAL, rx_ms / 4000)
        self._peer_timeout = config.peer_timeout
        #: The IDE-R sub-protocol, for an IDE-R session only (6).
        self.ider: IderConsoleProtocol | None = None
        if config.session_type is SessionType.IDER:
            self.ider = IderConsoleProtocol(core, config.ider_settings, enable_value(config.ider_timing))
            self._heartbeat_interval = self.ider.heartbeat_interval
            if self._peer_timeout > 0:
                # The device's heartbeats come every HeartbeatInterval: allow two (6.10).
                self._peer_timeout = max(self._peer_timeout, 2 * config.ider_settings.heartbeat_ms / 1000)

    # --- owner actions ---------------------------------------------------------------------------

    def start(self) -> None:
        """Queue StartRedirectionSession with the 'SOL ', 'IDER' or 'KVMR' tag (3.1)."""
        if self._core.state is not ConnectionState.IDLE:
            raise LocalProtocolError(f"start() called twice (the connection is {self._core.state.value})")
        self._core.last_rx = self._core.now
        self._core.send(StartRedirectionSession(self._config.session_type.value))
        self._core.move_to(ConnectionState.STARTING)

    def send_sol_data(self, data: bytes) -> None:
        """Queue keystrokes as 0x28 messages of at most 65535 bytes, sequence 0 like amtterm (5.3, 2.3)."""
        if self._core.state is not ConnectionState.SOL_ACTIVE:
            raise LocalProtocolError(f"cannot send SOL data while the connection is {self._core.state.value}")
        for start in range(0, len(data), MAX_SOL_DATA):
            self._core.send(SolDataToHost(bytes(data[start : start + MAX_SOL_DATA])))

    def close(self) -> None:
        """End the session: 0x22 while SOL runs (then 0x12 after 0x23), else 0x12 at once (3.3, 5.6)."""
        state = self._core.state
        if state is ConnectionState.SOL_ACTIVE:
            self._core.send(EndSolRedirection())
            self._core.move_to(ConnectionState.CLOSING)
        elif state is ConnectionState.IDER_ACTIVE and self.ider is not None:
            self.ider.close()  # 0x42, then 0x12 after 0x43 (6.10)
        elif state is ConnectionState.KVM_ACTIVE:
            # RFB has no goodbye; MeshCommander just closes the socket (7).
            self._core.move_to(ConnectionState.CLOSED)
        elif state in (
            ConnectionState.STARTING,
            ConnectionState.AUTHENTICATING,
            ConnectionState.AUTHENTICATED,
            ConnectionState.SOL_STARTING,
            ConnectionState.IDER_STARTING,
            ConnectionState.KVM_STARTING,
        ):
            self._core.send(EndRedirectionSession())
            self._core.move_to(ConnectionState.CLOSED)
        elif state is ConnectionState.IDLE:
            self._core.move_to(ConnectionState.CLOSED)

    # --- received messages -------------------------------------------------------------------------

    def handle(self, message: Message, frame: bytes) -> list[Event]:
        """React to one message the table allowed."""
        if message.TYPE >= MessageType.START_IDER_REDIRECTION and self.ider is not None:
            return self.ider.handle(message)
        if isinstance(message, StartRedirectionSessionReply):
            return self._on_session_reply(message)
        if isinstance(message, AuthenticateSessionReply):
            return self._on_auth_reply(message)
        if isinstance(message, StartSolRedirectionReply):
            return self._on_sol_reply(message)
        if isinstance(message, SolDataFromHost):
            return [SolData(message.data)] if message.data else []
        if isinstance(message, SolControlsFromHost):
            return [SolControlsChanged(message.control, message.status)]
        if isinstance(message, SolHeartbeat | SolKeepAlivePing):
            # amtterm echoes heartbeats and pings byte for byte, the device's own
            # sequence number included (2.3, 5.5).
            self._core.send_frame(frame)
            return []
        if isinstance(message, EndSolRedirectionReply):
            # After 0x23 the console ends the session with 0x12 and closes (3.3, 5.6).
            self._core.send(EndRedirectionSession())
            self._core.move_to(ConnectionState.CLOSED)
            return [ConnectionClosed("the session ended")]
        return []  # 0x25 pong: accepted, nothing to do (5.5)

    def handle_eof(self) -> list[Event]:
        """The device closed TCP."""
        self._core.move_to(ConnectionState.CLOSED)
        return [ConnectionClosed("the device closed the connection")]

    def _on_session_reply(self, reply: StartRedirectionSessionReply) -> list[Event]:
        # Only byte 1 decides; N = 0 is what real firmware sends (3.2).
        if reply.status != StartStatus.SUCCESS:
            self._core.move_to(ConnectionState.CLOSED)
            return [SessionRefused(reply.status)]
        events: list[Event] = [SessionStarted(reply.firmware_version, reply.protocol_version, reply.oem_iana)]
        self._core.move_to(ConnectionState.AUTHENTICATING)
        if self._config.legacy_plain:
            # Debian amtterm 1.4 sends plain credentials right after 0x11, no query (4.3).
            self._send_plain()
        else:
            self._step = _AuthStep.QUERY
            self._core.send(AuthenticateSession(AuthType.QUERY))
        return events

    def _on_auth_reply(self, reply: AuthenticateSessionReply) -> list[Event]:
        # The reply echoes the request's auth type (4.2).
        expected = AuthType.QUERY if self._step is _AuthStep.QUERY else self._method
        if reply.auth_type != expected:
            raise RemoteProtocolError(
                f"the device answered an auth request of type {int(expected)} with type {reply.auth_type}"
            )
        if self._step is _AuthStep.QUERY:
            return self._on_methods(reply)
        if self._step is _AuthStep.CHALLENGE:
            return self._on_challenge(reply)
        return self._on_result(reply)

    def _on_methods(self, reply: AuthenticateSessionReply) -> list[Event]:
        # Query reply: status 0 and one byte per supported type (4.3).
        if reply.status != AuthStatus.SUCCESS:
            return self._fail(AuthType.QUERY, reply.status)
        self._offered = reply.data.methods if isinstance(reply.data, AuthMethodsList) else ()
        return [AuthMethodsOffered(self._offered), *self._try_next_method()]

    def _on_challenge(self, reply: AuthenticateSessionReply) -> list[Event]:
        # The challenge comes with status 1 ("challenge follows"), realm, nonce and,
        # for type 4, qop "auth"; status 2 means the type is not supported (4.2, 4.4).
        if reply.status == AuthStatus.NOT_SUPPORTED:
            return self._try_next_method()
        challenge = reply.data
        if reply.status != AuthStatus.FAILURE or not isinstance(challenge, DigestChallenge):
            return self._fail(self._method, reply.status)
        if self._method is AuthType.DIGEST and challenge.qop != auth.QOP_AUTH.encode():
            raise RemoteProtocolError(
                f"the device's digest challenge asks for qop {challenge.qop!r}, not 'auth'"
            )
        request = auth.full_digest_request(
            self._method,
            challenge,
            user=self._config.user,
            password=self._config.password,
            cnonce=auth.make_cnonce(self._core.random_bytes),
        )
        self._step = _AuthStep.RESULT
        self._core.send(AuthenticateSession(self._method, request))
        return []

    def _on_result(self, reply: AuthenticateSessionReply) -> list[Event]:
        if reply.status == AuthStatus.NOT_SUPPORTED and not self._config.legacy_plain:
            return self._try_next_method()
        if reply.status != AuthStatus.SUCCESS:
            return self._fail(self._method, reply.status)
        self._core.move_to(ConnectionState.AUTHENTICATED)
        if self._config.session_type is SessionType.KVM:
            # Authenticated: KVM's 8-byte 0x40 at once; 0x41 and then RFB follow (7).
            kvm.console_begin(self._core)
            return [Authenticated(self._method, self._config.user)]
        if self.ider is not None:
            # Authenticated: ask for IDE-R at once, sequence 0 (6.3).
            self.ider.begin()
            return [Authenticated(self._method, self._config.user)]
        # Authenticated: ask for SOL at once with our settings, sequence 0 (5.1).
        self._core.send(StartSolRedirection(self._config.sol_settings))
        self._core.move_to(ConnectionState.SOL_STARTING)
        return [Authenticated(self._method, self._config.user)]

    def _try_next_method(self) -> list[Event]:
        """Use the first method of ours the device offers and we have not tried (4.3)."""
        for method in self._config.auth_methods:
            if method in self._offered and method not in self._tried:
                self._tried.add(method)
                self._method = method
                if method is AuthType.PLAIN:
                    self._send_plain()
                else:
                    self._step = _AuthStep.CHALLENGE
                    request = auth.initial_digest_request(method, self._config.user)
                    self._core.send(AuthenticateSession(method, request))
                return []
        last = self._method if self._tried else AuthType.QUERY
        return self._fail(last, AuthStatus.NOT_SUPPORTED)

    def _send_plain(self) -> None:
        self._method = AuthType.PLAIN
        self._step = _AuthStep.RESULT
        credentials = PlainCredentials(self._config.user.encode(), self._config.password.encode())
        self._core.send(AuthenticateSession(AuthType.PLAIN, credentials))

    def _fail(self, method: AuthType | int, status: AuthStatus | int) -> list[Event]:
        self._core.move_to(ConnectionState.CLOSED)
        return [AuthFailed(method, status, self._config.user, self._offered)]

    def _on_sol_reply(self, reply: StartSolRedirectionReply) -> list[Event]:
        # Status 0 starts SOL; anything else refuses it, and we end the session (5.2, 3.3).
        if reply.status != 0:
            self._core.send(EndRedirectionSession())
            self._core.move_to(ConnectionState.CLOSED)
            return [SolRefused(reply.status)]
        self._core.move_to(ConnectionState.SOL_ACTIVE)
        return [SolStarted()]

    # --- timers ---------------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest of: peer timeout, our next heartbeat."""
        deadlines = []
        state = self._core.state
        if state not in _UNTIMED and self._peer_timeout > 0:
            deadlines.append(self._core.last_rx + self._peer_timeout)
        if state in (ConnectionState.SOL_ACTIVE, ConnectionState.IDER_ACTIVE):
            deadlines.append(self._core.last_tx + self._heartbeat_interval)
        return min(deadlines, default=None)

    def on_timer(self, now: float) -> list[Event]:
        """Fire what is due at ``now``."""
        state = self._core.state
        if state in _UNTIMED:
            return []
        timeout = self._peer_timeout
        if timeout > 0 and now >= self._core.last_rx + timeout:
            # amtterm gives up after 20 s without a byte from the device (5.8, 11).
            self._core.move_to(ConnectionState.CLOSED)
            return [PeerTimeout(timeout)]
        if state is ConnectionState.SOL_ACTIVE and now >= self._core.last_tx + self._heartbeat_interval:
            # Our own 0x2B keeps the device's HostSessionRxTimeout from firing when
            # the user types nothing (5.5, 5.8; MeshCommander does the same).
            self._core.send(SolHeartbeat())
        if (
            state is ConnectionState.IDER_ACTIVE
            and self.ider is not None
            and now >= self._core.last_tx + self._heartbeat_interval
        ):
            # Our own 0x4B keeps the device's RxTimeout from firing while the host is quiet (6.10).
            self.ider.send_heartbeat()
        return []

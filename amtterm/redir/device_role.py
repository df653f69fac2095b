"""The device (firmware) side of a redirection connection, as the simulator plays it.

Driven by :class:`amtterm.redir.connection.RedirectionConnection`, which has
already checked each received message against the table in
:mod:`amtterm.redir.state`. Behaviour follows the recommended simulator profile
of ``shared/protocol/redirection.md`` section 12.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.redir import auth
from amtterm.redir.constants import (
    DEFAULT_SOL_MAX_TX_BUFFER,
    AuthStatus,
    AuthType,
    MessageType,
    SessionType,
    SolControl,
    SolStatus,
    StartStatus,
)
from amtterm.redir.events import (
    Authenticated,
    AuthFailed,
    ConnectionClosed,
    Event,
    PeerTimeout,
    SessionEndRequested,
    SessionRequested,
    SolData,
    SolEndRequested,
    SolStartRequested,
)
from amtterm.redir.ider_device import IderDeviceProtocol
from amtterm.redir.messages import (
    MAX_SOL_DATA,
    AuthData,
    AuthenticateSession,
    AuthenticateSessionReply,
    AuthMethodsList,
    DigestChallenge,
    DigestRequest,
    EmptyAuthData,
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
    SolKeepAlivePong,
    SolSettings,
    StartIderRedirection,
    StartRedirectionSession,
    StartRedirectionSessionReply,
    StartSolRedirection,
    StartSolRedirectionReply,
)
from amtterm.redir.state import ConnectionCore, ConnectionState

if TYPE_CHECKING:
    from amtterm.redir.connection import DeviceConfig


#: HostSessionRxTimeout used when the console asked for 0 (5.8).
DEFAULT_RX_TIMEOUT_MS = 10000

#: Auth types this device can verify (4.2); Kerberos and unknown types get status 2.
VERIFIABLE_METHODS = frozenset({AuthType.PLAIN, AuthType.DIGEST_NO_QOP, AuthType.DIGEST})


class DeviceProtocol:
    """Device-role logic; see the transition table in :mod:`amtterm.redir.state`."""

    def __init__(self, core: ConnectionCore, config: DeviceConfig) -> None:
        self._core = core
        self._config = config
        self._request: StartRedirectionSession | None = None
        self._realm = config.realm or auth.make_realm(core.random_bytes)
        self._challenge: tuple[AuthType | int, str] | None = None  # (type, nonce) awaiting the answer
        self._settings = SolSettings()
        self._sequence = 0
        self._next_heartbeat: float | None = None
        #: The IDE-R sub-protocol; it numbers its own messages from 0 (2.3).
        self.ider = IderDeviceProtocol(core, config)

    # --- owner actions ---------------------------------------------------------------------------

    def start(self) -> None:
        """Arm the timers; the console speaks first (2.1)."""
        if self._core.state is not ConnectionState.IDLE:
            raise LocalProtocolError(f"start() called twice (the connection is {self._core.state.value})")
        self._core.last_rx = self._core.now
        self._core.move_to(ConnectionState.STARTING)

    @property
    def kvm_session(self) -> bool:
        """Whether the console asked for a KVM session ('KVMR')."""
        return self._request is not None and self._request.session_type is SessionType.KVM

    def _require_pending_request(self) -> None:
        if self._core.state is not ConnectionState.STARTING or self._request is None:
            raise LocalProtocolError("accept_session() / refuse_session() come only after SessionRequested")

    def accept_session(self) -> None:
        """Queue 0x11 status 0: 13 bytes, version 1.0, our firmware version, IANA 343, N = 0 (3.2)."""
        self._require_pending_request()
        reply = StartRedirectionSessionReply(StartStatus.SUCCESS, (1, 0), self._config.firmware_version)
        self._core.send(reply)
        self._core.move_to(ConnectionState.AUTHENTICATING)

    def refuse_session(self, status: StartStatus | int) -> None:
        """Queue 0x11 with a non-zero status, still 13 bytes (3.2), and close."""
        self._require_pending_request()
        if status == StartStatus.SUCCESS:
            raise LocalProtocolError("refuse_session() needs a non-zero status; use accept_session()")
        self._core.send(StartRedirectionSessionReply(status, (1, 0), self._config.firmware_version))
        self._core.move_to(ConnectionState.CLOSED)

    def send_sol_data(self, data: bytes) -> None:
        """Queue host output as 0x2A messages of at most the console's MaxTxBuffer bytes (5.1, 5.3)."""
        self._require_sol("send SOL data")
        size = min(self._settings.max_tx_buffer or DEFAULT_SOL_MAX_TX_BUFFER, MAX_SOL_DATA)
        for start in range(0, len(data), size):
            self._core.send(SolDataFromHost(bytes(data[start : start + size]), self._next_sequence()))

    def send_sol_controls(self, control: SolControl, status: SolStatus) -> None:
        """Queue 0x29 with the host's modem lines and status (5.4)."""
        self._require_sol("send SOL controls")
        self._core.send(SolControlsFromHost(control, status, self._next_sequence()))

    def close(self) -> None:
        """The firmware has no goodbye message; the owner just closes TCP (3.3)."""
        self._core.move_to(ConnectionState.CLOSED)

    def _require_sol(self, what: str) -> None:
        if self._core.state is not ConnectionState.SOL_ACTIVE:
            raise LocalProtocolError(f"cannot {what} while the connection is {self._core.state.value}")

    def _next_sequence(self) -> int:
        # Firmware-side SOL numbering is unverified and nobody checks it (2.3):
        # one counter for every numbered SOL message we send, from 0.
        value = self._sequence
        self._sequence = (self._sequence + 1) & 0xFFFFFFFF
        return value

    # --- received messages -------------------------------------------------------------------------

    def handle(self, message: Message, frame: bytes) -> list[Event]:
        """React to one message the table allowed."""
        if isinstance(message, StartIderRedirection):
            if self._request is None or self._request.session_type is not SessionType.IDER:
                raise RemoteProtocolError(
                    "the console asked for IDE-R in a session that is not an IDE-R session"
                )
            return self.ider.start(message)
        if message.TYPE >= MessageType.START_IDER_REDIRECTION:
            return self.ider.handle(message)
        if isinstance(message, StartRedirectionSession):
            if self._request is not None:
                raise RemoteProtocolError("the console sent StartRedirectionSession again before our reply")
            self._request = message
            return [SessionRequested(message.session_type, message.tag)]
        if isinstance(message, AuthenticateSession):
            return self._on_auth(message)
        if isinstance(message, StartSolRedirection):
            return self._on_sol_start(message)
        if isinstance(message, SolDataToHost):
            # In CLOSING this is amtterm's Ctrl-] sent after 0x22 (5.6): dropped.
            active = self._core.state is ConnectionState.SOL_ACTIVE
            return [SolData(message.data)] if active and message.data else []
        if isinstance(message, EndSolRedirection):
            self._core.send(EndSolRedirectionReply(self._next_sequence()))
            self._core.move_to(ConnectionState.CLOSING)
            self._next_heartbeat = None
            return [SolEndRequested()]
        if isinstance(message, EndRedirectionSession):
            # No reply: the firmware closes TCP (3.3).
            self._core.move_to(ConnectionState.CLOSED)
            return [SessionEndRequested()]
        if isinstance(message, SolKeepAlivePing):
            self._core.send(SolKeepAlivePong(message.sequence))
        # 0x2B, 0x25, 0x27: accepted and ignored; they only reset the rx timeout (12).
        return []

    def handle_eof(self) -> list[Event]:
        """The console closed TCP."""
        self._core.move_to(ConnectionState.CLOSED)
        return [ConnectionClosed("the console closed the connection")]

    def _on_auth(self, request: AuthenticateSession) -> list[Event]:
        method = request.auth_type
        if method == AuthType.QUERY:
            # Query: status 0 and one byte per method we accept (4.3).
            methods = self._config.auth_methods
            data: AuthData = AuthMethodsList(methods) if methods else EmptyAuthData()
            self._reply(AuthStatus.SUCCESS, method, data)
            return []
        if method not in self._config.auth_methods or method not in VERIFIABLE_METHODS:
            # AMT 12 answers plain with 14 02 00 00 01 00 00 00 00; the console may
            # then try another method (4.3).
            self._reply(AuthStatus.NOT_SUPPORTED, method)
            return []
        if method == AuthType.PLAIN:
            return self._on_plain(request.data)
        return self._on_digest(method, request.data)

    def _on_plain(self, data: AuthData) -> list[Event]:
        # An empty type-1 request (as sent to AMT 12 in 4.3) is a failed login.
        if not isinstance(data, PlainCredentials):
            return self._verdict(AuthType.PLAIN, b"", ok=False)
        password = self._password_of(data.user)
        return self._verdict(AuthType.PLAIN, data.user, ok=auth.verify_plain(password, data.password))

    def _on_digest(self, method: AuthType | int, data: AuthData) -> list[Event]:
        if not isinstance(data, DigestRequest):
            return self._verdict(method, b"", ok=False)
        if data.is_initial:
            # Step 2 of 4.4: status 1, realm, a fresh nonce, qop "auth" for type 4 only.
            nonce = auth.make_nonce(self._core.random_bytes)
            self._challenge = (method, nonce)
            qop = auth.QOP_AUTH.encode() if method == AuthType.DIGEST else None
            challenge_data = DigestChallenge(self._realm.encode(), nonce.encode(), qop)
            self._reply(AuthStatus.FAILURE, method, challenge_data)
            return []
        challenge, self._challenge = self._challenge, None  # a nonce answers once
        if challenge is None or challenge[0] != method:
            return self._verdict(method, data.user, ok=False)
        ok = auth.verify_digest_request(
            method, data, password=self._password_of(data.user), realm=self._realm, nonce=challenge[1]
        )
        return self._verdict(method, data.user, ok=ok)

    def _password_of(self, user: bytes) -> str | None:
        try:
            return self._config.users.get(user.decode("utf-8"))
        except UnicodeDecodeError:
            return None

    def _verdict(self, method: AuthType | int, user: bytes, *, ok: bool) -> list[Event]:
        name = user.decode("utf-8", errors="replace")
        auth_type = AuthType(method)
        if ok:
            # Success: 14 00 00 00 <type> 00 00 00 00 (4.3, 4.4 step 4).
            self._reply(AuthStatus.SUCCESS, method)
            self._core.move_to(ConnectionState.AUTHENTICATED)
            return [Authenticated(auth_type, name)]
        # Failure: 14 01 00 00 <type> 00 00 00 00, then close (4.5, recommended).
        self._reply(AuthStatus.FAILURE, method)
        self._core.move_to(ConnectionState.CLOSED)
        return [AuthFailed(auth_type, AuthStatus.FAILURE, name)]

    def _reply(self, status: AuthStatus, method: AuthType | int, data: AuthData | None = None) -> None:
        self._core.send(AuthenticateSessionReply(status, method, data or EmptyAuthData()))

    def _on_sol_start(self, request: StartSolRedirection) -> list[Event]:
        if self._request is None or self._request.session_type is not SessionType.SOL:
            raise RemoteProtocolError("the console asked for SOL in a session that is not a SOL session")
        self._settings = request.settings
        # 0x21: the 23 bytes of 5.2 with our firmware version.
        self._core.send(StartSolRedirectionReply(0, (1, 0), self._config.firmware_version))
        if self._config.initial_controls:
            # Real AMT follows with 0x29 (RTS|DTR, powered on), a separate frame (5.4, 11).
            status = SolStatus.POWER_ON if self._config.powered_on else SolStatus.NONE
            lines = SolControl.RTS | SolControl.DTR
            self._core.send(SolControlsFromHost(lines, status, self._next_sequence()))
        self._core.move_to(ConnectionState.SOL_ACTIVE)
        if request.settings.heartbeat_ms:
            self._next_heartbeat = self._core.now + request.settings.heartbeat_ms / 1000
        return [SolStartRequested(request.settings)]

    # --- timers ---------------------------------------------------------------------------------------

    def _rx_deadline(self) -> float | None:
        # HostSessionRxTimeout: console silence after which the session is dropped (5.1, 5.8).
        if self._core.state not in (ConnectionState.SOL_ACTIVE, ConnectionState.CLOSING):
            return None
        return self._core.last_rx + (self._settings.rx_timeout_ms or DEFAULT_RX_TIMEOUT_MS) / 1000

    def next_deadline(self) -> float | None:
        """The earliest of: console rx timeout, our next heartbeat."""
        if self._core.state in (ConnectionState.IDER_ACTIVE, ConnectionState.IDER_CLOSING):
            return self.ider.next_deadline()
        deadlines = [d for d in (self._rx_deadline(), self._heartbeat_deadline()) if d is not None]
        return min(deadlines, default=None)

    def _heartbeat_deadline(self) -> float | None:
        return self._next_heartbeat if self._core.state is ConnectionState.SOL_ACTIVE else None

    def on_timer(self, now: float) -> list[Event]:
        """Fire what is due at ``now``."""
        if self._core.state in (ConnectionState.IDER_ACTIVE, ConnectionState.IDER_CLOSING):
            return self.ider.on_timer(now)
        rx_deadline = self._rx_deadline()
        if rx_deadline is not None and now >= rx_deadline:
            self._core.move_to(ConnectionState.CLOSED)
            return [PeerTimeout((self._settings.rx_timeout_ms or DEFAULT_RX_TIMEOUT_MS) / 1000)]
        beat = self._heartbeat_deadline()
        if beat is not None and now >= beat:
            # 0x2B every HeartbeatInterval ms when it is non-zero (5.5, 5.8).
            interval = self._settings.heartbeat_ms / 1000
            self._core.send(SolHeartbeat(self._next_sequence()))
            following = beat + interval
            self._next_heartbeat = following if following > now else now + interval
        return []

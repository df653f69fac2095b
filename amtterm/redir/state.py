"""Roles, connection states, and the table of what each side may receive in each state.

The table below is the whole rule book of the connection; code in
``connection.py``, ``console_role.py`` and ``device_role.py`` implements exactly
these transitions. It fails closed: a (role, state, message) triple that is not
listed is a protocol violation, raises RemoteProtocolError and leaves the
connection CLOSED. Section numbers refer to ``shared/protocol/redirection.md``.

Console (receives what the device sends)::

    state           receives                     -> next state (what the console does)
    IDLE            nothing; start() queues 0x10 -> STARTING (2.1: the console speaks first)
    STARTING        0x11                         -> AUTHENTICATING (status 0: query, or plain if legacy)
                                                 -> CLOSED        (status != 0: SessionRefused)   (3.2)
    AUTHENTICATING  0x14                         -> AUTHENTICATING (next step: challenge, fallback)
                                                 -> SOL_STARTING  (status 0: Authenticated, 0x20 sent)
                                                 -> CLOSED        (failure: AuthFailed)           (4)
    AUTHENTICATED   nothing (passed through at once: the console sends 0x20 right after auth)
    SOL_STARTING    0x21                         -> SOL_ACTIVE (status 0)                         (5.2)
                                                 -> CLOSED (status != 0: SolRefused, 0x12 sent)
    SOL_ACTIVE      0x2A 0x29 0x2B 0x24 0x25      -> SOL_ACTIVE (0x2B and 0x24 echoed unchanged)  (5.3-5.5)
                    close() sends 0x22           -> CLOSING                                       (5.6)
    CLOSING         0x23                         -> CLOSED (0x12 sent, ConnectionClosed)          (3.3, 5.6)
                    0x2A 0x29 0x2B 0x24 0x25      -> CLOSING (data still flows until 0x23)
    CLOSED          anything is ignored
    close() before SOL runs: 0x12 queued -> CLOSED (IDLE: nothing queued)                         (3.3)
    timers: own 0x2B after max(1 s, RxTimeout / 4) without sending (SOL_ACTIVE);
            PeerTimeout after peer_timeout without a byte (any open state)                       (5.5, 5.8)

  IDE-R session (ConsoleConfig.session_type IDER; 'IDER' tag in 0x10). Every message
  below must carry the device's next sequence number, 0x41 = 0 (2.3)::

    AUTHENTICATING  0x14 status 0                -> IDER_STARTING (Authenticated, 0x40 sent, seq 0)  (6.3)
    IDER_STARTING   0x41                         -> IDER_ACTIVE (status 0: IderStarted, 0x48 SET_STATE sent)
                                                 -> CLOSED (status != 0: IderRefused, 0x12 sent)  (6.4, 6.5)
    IDER_ACTIVE     0x49                         -> IDER_ACTIVE (must echo the oldest unanswered 0x48) (6.5)
                    0x46                         -> IDER_ACTIVE (IderReset; 0x47 once no command is
                                                    unanswered)                                   (6.6)
                    0x50                         -> IDER_ACTIVE (IderCommand; the owner answers 0x51,
                                                    0x54..., or 0x52 then 0x51, oldest first)     (6.7, 6.8)
                    0x53                         -> IDER_ACTIVE (only the bytes our 0x52 asked for) (6.8)
                    0x4A                         -> IDER_ACTIVE (IderError)                       (6.10)
                    0x4B 0x44 0x45               -> IDER_ACTIVE (0x4B answered by 0x4B, 0x44 by 0x45) (6.10)
                    close() sends 0x42           -> IDER_CLOSING
    IDER_CLOSING    0x43                         -> CLOSED (0x12 sent, ConnectionClosed)          (6.10, 3.3)
                    0x49 0x46 0x50 0x53 0x4A     -> IDER_CLOSING (dropped: the session is ending)
                    0x4B 0x44 0x45               -> IDER_CLOSING (answered)
    close() in IDER_STARTING: 0x12 -> CLOSED
    timers: own 0x4B after max(1 s, RxTimeout / 4) without sending (IDER_ACTIVE); PeerTimeout after
            max(peer_timeout, 2 x HeartbeatInterval) without a byte                                (6.10)

  KVM session (ConsoleConfig.session_type KVM; 'KVMR' tag, byte 1 = 0x01, in 0x10). The 0x40 / 0x41
  of KVM are 8 bytes and are read before the message decoder (7; amtterm.redir.kvm)::

    AUTHENTICATING  0x14 status 0                -> KVM_STARTING (Authenticated, 40 00 00 00 00 00 00 00 sent)
    KVM_STARTING    8 bytes 41 00 ...            -> KVM_ACTIVE (KvmStarted)
                    8 bytes 41 ss ... (ss != 0)  -> CLOSED (KvmRefused)
                    anything else                -> CLOSED (RemoteProtocolError)
    KVM_ACTIVE      any bytes                    -> KVM_ACTIVE (KvmData: RFB, passed through whole)
                    close()                      -> CLOSED (nothing sent: RFB has no goodbye; MeshCommander
                                                    just closes the socket)
    timers: none in KVM_ACTIVE (a still screen sends nothing; RFB keeps itself alive)

Device (receives what the console sends)::

    state           receives                     -> next state (what the device does)
    IDLE            start() arms the timers      -> STARTING (receive_data before start() starts implicitly)
    STARTING        0x10, once                   -> STARTING (SessionRequested; nothing more may arrive
                                                    until the owner calls accept_session() / refuse_session())
                    accept_session() sends 0x11  -> AUTHENTICATING
                    refuse_session() sends 0x11  -> CLOSED                                        (3.2)
    AUTHENTICATING  0x13                         -> AUTHENTICATING (query answered, challenge sent,
                                                    method not supported: status 2, console may retry)
                                                 -> AUTHENTICATED (success)
                                                 -> CLOSED        (failure: status 1, AuthFailed) (4)
                    0x12                         -> CLOSED (SessionEndRequested)                  (3.3)
    AUTHENTICATED   0x20 (SOL session only)      -> SOL_ACTIVE (0x21, then 0x29 if configured)    (5.1, 5.2)
                    0x40 (IDE-R session only)    -> IDER_ACTIVE (0x41, sequence 0)                (6.3, 6.4)
                    0x2B 0x24 0x25 0x27          -> AUTHENTICATED (0x24 answered by 0x25)         (12)
                    0x12                         -> CLOSED
    SOL_STARTING    nothing (passed through: 0x21 is sent synchronously)
    SOL_ACTIVE      0x28                         -> SOL_ACTIVE (SolData)                          (5.3)
                    0x2B 0x24 0x25 0x27          -> SOL_ACTIVE                                    (12)
                    0x22                         -> CLOSING (0x23 sent, SolEndRequested)          (5.6)
                    0x12                         -> CLOSED
    CLOSING         0x28 (dropped: amtterm sends its Ctrl-] after 0x22, 5.6)
                    0x2B 0x24 0x25 0x27          -> CLOSING
                    0x12                         -> CLOSED (SessionEndRequested)
    IDER_ACTIVE     0x48 (sub-command 1, 2, 3)   -> IDER_ACTIVE (0x49: supported 1, state 2 if enabled,
                                                    set 1 done / 0 rejected)                      (6.5)
                    0x47 (after our 0x46 only)   -> IDER_ACTIVE (IderResetAcknowledged)           (6.6)
                    0x51 0x54 0x52 (for our one outstanding 0x50 only; 0x54 <= read buffer)
                                                 -> IDER_ACTIVE (IderCommandCompleted on 0x51 or the
                                                    0x54 marked last; IderWriteDataRequested on 0x52) (6.8)
                    0x4B 0x44 0x45               -> IDER_ACTIVE (0x44 answered by 0x45)           (6.10)
                    0x42                         -> IDER_CLOSING (0x43 sent, IderEndRequested)    (6.10)
                    0x12                         -> CLOSED (SessionEndRequested)
    IDER_CLOSING    0x47 0x51 0x52 0x54 0x4B 0x44 0x45 -> IDER_CLOSING (dropped / answered)
                    0x12                         -> CLOSED (SessionEndRequested)
    AUTHENTICATED   8 bytes 40 ... (KVM session) -> KVM_ACTIVE (41 00 00 00 00 00 00 00 sent, KvmStarted)  (7)
    KVM_ACTIVE      any bytes                    -> KVM_ACTIVE (KvmData: RFB from the console)
    CLOSED          anything is ignored
    close(): no message exists for it, just CLOSED                                                (3.3)
    IDE-R: every message we send is numbered from 0 (0x41) without gaps (2.3). Timers: 0x4B every
    HeartbeatInterval (0: a 0x44 after 5 s without sending); a 0x44 when the console has been
    silent for half its RxTimeout; PeerTimeout after RxTimeout (< 10 s: 30 s) of silence   (6.3, 6.10)
    timers: 0x2B every HeartbeatInterval (SOL_ACTIVE, if non-zero); PeerTimeout after
            HostSessionRxTimeout (0 -> 10 s) without a byte from the console (SOL_ACTIVE, CLOSING) (5.8)

Either role: end of file (``receive_data(b"")``) -> CLOSED with ConnectionClosed,
or RemoteProtocolError if it cut a message in half. Timers: PeerTimeout -> CLOSED.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from amtterm.errors import RemoteProtocolError
from amtterm.redir.constants import MessageType
from amtterm.redir.framing import Direction, Message, describe_type


class Role(enum.Enum):
    """Which end of the connection this codec plays."""

    CONSOLE = "console"
    DEVICE = "device"

    @property
    def peer_direction(self) -> Direction:
        """The direction of the bytes this role receives."""
        return Direction.FROM_DEVICE if self is Role.CONSOLE else Direction.FROM_CONSOLE


class ConnectionState(enum.Enum):
    """Life of one connection; see the transition table in this module's docstring."""

    IDLE = "idle"
    STARTING = "starting"  # 0x10 sent / awaited
    AUTHENTICATING = "authenticating"
    AUTHENTICATED = "authenticated"
    SOL_STARTING = "sol-starting"
    SOL_ACTIVE = "sol-active"
    CLOSING = "closing"  # SOL: 0x22 sent / received
    IDER_STARTING = "ider-starting"  # 0x40 sent, 0x41 awaited
    IDER_ACTIVE = "ider-active"
    IDER_CLOSING = "ider-closing"  # 0x42 sent / received
    KVM_STARTING = "kvm-starting"  # console: KVM's 8-byte 0x40 sent, 0x41 awaited
    KVM_ACTIVE = "kvm-active"  # every byte is RFB from now on
    CLOSED = "closed"


_SOL_KEEPALIVES_FROM_DEVICE = frozenset(
    {MessageType.SOL_HEARTBEAT, MessageType.SOL_KEEP_ALIVE_PING, MessageType.SOL_KEEP_ALIVE_PONG}
)
_SOL_FROM_DEVICE = _SOL_KEEPALIVES_FROM_DEVICE | {
    MessageType.SOL_DATA_FROM_HOST,
    MessageType.SOL_CONTROLS_FROM_HOST,
}
_TOLERATED_FROM_CONSOLE = frozenset(
    {
        MessageType.SOL_HEARTBEAT,
        MessageType.SOL_KEEP_ALIVE_PING,
        MessageType.SOL_KEEP_ALIVE_PONG,
        MessageType.SOL_SETTINGS,
        MessageType.END_REDIRECTION_SESSION,
    }
)
_IDER_KEEPALIVES = frozenset(
    {MessageType.IDER_HEARTBEAT, MessageType.IDER_KEEP_ALIVE_PING, MessageType.IDER_KEEP_ALIVE_PONG}
)
_IDER_FROM_DEVICE = _IDER_KEEPALIVES | {
    MessageType.IDER_DISABLE_ENABLE_FEATURES_REPLY,
    MessageType.IDER_RESET_OCCURRED,
    MessageType.IDER_COMMAND_WRITTEN,
    MessageType.IDER_DATA_FROM_HOST,
    MessageType.IDER_ERROR_OCCURRED,
}
_IDER_ANSWERS_FROM_CONSOLE = _IDER_KEEPALIVES | {
    MessageType.IDER_RESET_OCCURRED_RESPONSE,
    MessageType.IDER_COMMAND_END_RESPONSE,
    MessageType.IDER_GET_DATA_FROM_HOST,
    MessageType.IDER_DATA_TO_HOST,
    MessageType.END_REDIRECTION_SESSION,
}

#: (role, state) -> message types that may arrive. Missing keys mean "nothing".
RECEIVABLE: dict[tuple[Role, ConnectionState], frozenset[MessageType]] = {
    (Role.CONSOLE, ConnectionState.STARTING): frozenset({MessageType.START_REDIRECTION_SESSION_REPLY}),
    (Role.CONSOLE, ConnectionState.AUTHENTICATING): frozenset({MessageType.AUTHENTICATE_SESSION_REPLY}),
    (Role.CONSOLE, ConnectionState.SOL_STARTING): frozenset({MessageType.START_SOL_REDIRECTION_REPLY}),
    (Role.CONSOLE, ConnectionState.SOL_ACTIVE): _SOL_FROM_DEVICE,
    (Role.CONSOLE, ConnectionState.CLOSING): _SOL_FROM_DEVICE | {MessageType.END_SOL_REDIRECTION_REPLY},
    (Role.CONSOLE, ConnectionState.IDER_STARTING): frozenset({MessageType.START_IDER_REDIRECTION_REPLY}),
    (Role.CONSOLE, ConnectionState.IDER_ACTIVE): _IDER_FROM_DEVICE,
    (Role.CONSOLE, ConnectionState.IDER_CLOSING): _IDER_FROM_DEVICE
    | {MessageType.END_IDER_REDIRECTION_REPLY},
    (Role.DEVICE, ConnectionState.STARTING): frozenset({MessageType.START_REDIRECTION_SESSION}),
    (Role.DEVICE, ConnectionState.AUTHENTICATING): frozenset(
        {MessageType.AUTHENTICATE_SESSION, MessageType.END_REDIRECTION_SESSION}
    ),
    (Role.DEVICE, ConnectionState.AUTHENTICATED): _TOLERATED_FROM_CONSOLE
    | {MessageType.START_SOL_REDIRECTION, MessageType.START_IDER_REDIRECTION},
    (Role.DEVICE, ConnectionState.SOL_ACTIVE): _TOLERATED_FROM_CONSOLE
    | {MessageType.SOL_DATA_TO_HOST, MessageType.END_SOL_REDIRECTION},
    (Role.DEVICE, ConnectionState.CLOSING): _TOLERATED_FROM_CONSOLE | {MessageType.SOL_DATA_TO_HOST},
    (Role.DEVICE, ConnectionState.IDER_ACTIVE): _IDER_ANSWERS_FROM_CONSOLE
    | {MessageType.IDER_DISABLE_ENABLE_FEATURES, MessageType.END_IDER_REDIRECTION},
    (Role.DEVICE, ConnectionState.IDER_CLOSING): _IDER_ANSWERS_FROM_CONSOLE,
}


def check_receivable(role: Role, state: ConnectionState, message: Message) -> None:
    """Fail closed: raise unless the table lets ``role`` receive ``message`` in ``state``.

    Raises:
        RemoteProtocolError: the message is not allowed now.
    """
    if message.TYPE not in RECEIVABLE.get((role, state), frozenset()):
        peer = role.peer_direction.sender
        raise RemoteProtocolError(
            f"the {peer} sent {describe_type(message.TYPE)}, which is not allowed while the "
            f"connection is {state.value}"
        )


class ConnectionCore:
    """The mutable state both role implementations share: state, clock, outbox.

    Attributes:
        role: which side we play.
        state: the current ConnectionState.
        now: the latest time the owner passed in.
        last_rx: when bytes last arrived from the peer.
        last_tx: when we last queued a message.
        outbox: whole encoded messages not yet taken by the owner.
        random_bytes: injectable source of randomness.
    """

    def __init__(self, role: Role, random_bytes: Callable[[int], bytes]) -> None:
        self.role = role
        self.state = ConnectionState.IDLE
        self.now = 0.0
        self.last_rx = 0.0
        self.last_tx = 0.0
        self.outbox: list[bytes] = []
        self.random_bytes = random_bytes

    def send(self, message: Message) -> None:
        """Queue one message."""
        self.send_frame(message.encode())

    def send_frame(self, frame: bytes) -> None:
        """Queue already-encoded bytes (used to echo a frame unchanged)."""
        self.outbox.append(frame)
        self.last_tx = self.now

    def move_to(self, state: ConnectionState) -> None:
        """Enter ``state``."""
        self.state = state

    @property
    def closed(self) -> bool:
        """Whether the connection is CLOSED."""
        return self.state is ConnectionState.CLOSED

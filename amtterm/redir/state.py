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
    CLOSED          anything is ignored
    close(): no message exists for it, just CLOSED                                                (3.3)
    timers: 0x2B every HeartbeatInterval (SOL_ACTIVE, if non-zero); PeerTimeout after
            HostSessionRxTimeout (0 -> 10 s) without a byte from the console (SOL_ACTIVE, CLOSING) (5.8)

Either role: end of file (``receive_data(b"")``) -> CLOSED with ConnectionClosed,
or RemoteProtocolError if it cut a message in half. Timers: PeerTimeout -> CLOSED.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from amtterm.errors import RemoteProtocolError
from amtterm.redir.constants import MessageType as M
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
    CLOSING = "closing"
    CLOSED = "closed"


S = ConnectionState
_SOL_KEEPALIVES_FROM_DEVICE = frozenset({M.SOL_HEARTBEAT, M.SOL_KEEP_ALIVE_PING, M.SOL_KEEP_ALIVE_PONG})
_SOL_FROM_DEVICE = _SOL_KEEPALIVES_FROM_DEVICE | {M.SOL_DATA_FROM_HOST, M.SOL_CONTROLS_FROM_HOST}
_TOLERATED_FROM_CONSOLE = frozenset(
    {M.SOL_HEARTBEAT, M.SOL_KEEP_ALIVE_PING, M.SOL_KEEP_ALIVE_PONG, M.SOL_SETTINGS, M.END_REDIRECTION_SESSION}
)

#: (role, state) -> message types that may arrive. Missing keys mean "nothing".
RECEIVABLE: dict[tuple[Role, ConnectionState], frozenset[M]] = {
    (Role.CONSOLE, S.STARTING): frozenset({M.START_REDIRECTION_SESSION_REPLY}),
    (Role.CONSOLE, S.AUTHENTICATING): frozenset({M.AUTHENTICATE_SESSION_REPLY}),
    (Role.CONSOLE, S.SOL_STARTING): frozenset({M.START_SOL_REDIRECTION_REPLY}),
    (Role.CONSOLE, S.SOL_ACTIVE): _SOL_FROM_DEVICE,
    (Role.CONSOLE, S.CLOSING): _SOL_FROM_DEVICE | {M.END_SOL_REDIRECTION_REPLY},
    (Role.DEVICE, S.STARTING): frozenset({M.START_REDIRECTION_SESSION}),
    (Role.DEVICE, S.AUTHENTICATING): frozenset({M.AUTHENTICATE_SESSION, M.END_REDIRECTION_SESSION}),
    (Role.DEVICE, S.AUTHENTICATED): _TOLERATED_FROM_CONSOLE | {M.START_SOL_REDIRECTION},
    (Role.DEVICE, S.SOL_ACTIVE): _TOLERATED_FROM_CONSOLE | {M.SOL_DATA_TO_HOST, M.END_SOL_REDIRECTION},
    (Role.DEVICE, S.CLOSING): _TOLERATED_FROM_CONSOLE | {M.SOL_DATA_TO_HOST},
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

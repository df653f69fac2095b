"""RedirectionConnection: the sans-IO state machine of one redirection TCP connection.

API CONTRACT (the session layer and the simulator are written against it; keep it):

    conn = RedirectionConnection(ConsoleConfig(...))      # or DeviceConfig(...)
    conn.start(now)                  # console: queues 0x10. device: arms timers.
    events = conn.receive_data(data, now)   # bytes in any split -> list[Event]; b"" = peer EOF
    frames = conn.frames_to_send()   # list of whole messages queued since last call, in order
    data   = conn.data_to_send()     # the same, joined (console side writes this)
    events = conn.handle_timer(now)  # heartbeats, peer-timeout; call at next_timer_at()
    t      = conn.next_timer_at()    # absolute time of the next deadline, or None
    conn.state                        # ConnectionState

  console role:
    conn.send_sol_data(b"...")        # 0x28, split into chunks of at most 65535 bytes
    conn.close()                      # SOL running: 0x22, then 0x12 after 0x23; else 0x12 at once

  device role:
    conn.accept_session() / conn.refuse_session(StartStatus.BUSY)   # after SessionRequested
    conn.send_sol_data(b"...")        # 0x2A, chunked by the console's MaxTxBuffer
    conn.send_sol_controls(SolControl, SolStatus)                    # 0x29
    conn.close()

Errors: receive_data() raises amtterm.errors.RemoteProtocolError for bytes that break
the protocol (unknown type, bad length, message not allowed in this state) and then
the connection is CLOSED; it raises nothing else, whatever the input. Calling a send
method in the wrong state raises LocalProtocolError.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from amtterm.redir.constants import AuthType
from amtterm.redir.messages import SolSettings


class Role(enum.Enum):
    """Which end of the connection this codec plays."""

    CONSOLE = "console"
    DEVICE = "device"


class ConnectionState(enum.Enum):
    """Life of one connection; see the transition table in connection.py's implementation."""

    IDLE = "idle"
    STARTING = "starting"  # 0x10 sent / awaited
    AUTHENTICATING = "authenticating"
    AUTHENTICATED = "authenticated"
    SOL_STARTING = "sol-starting"
    SOL_ACTIVE = "sol-active"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(frozen=True)
class ConsoleConfig:
    """What a console needs to open a SOL session."""

    user: str
    password: str = field(repr=False)
    #: Methods we are willing to use, most preferred first. PLAIN only if asked (-L).
    auth_methods: tuple[AuthType, ...] = (AuthType.DIGEST, AuthType.DIGEST_NO_QOP)
    #: Legacy mode: send plain auth right after 0x11 without a query, like amtterm 1.4.
    legacy_plain: bool = False
    sol_settings: SolSettings = field(default_factory=SolSettings)
    #: Peer silence after which PeerTimeout is raised (amtterm gives up after 20 s).
    peer_timeout: float = 20.0


@dataclass(frozen=True)
class DeviceConfig:
    """What the simulated firmware needs."""

    users: dict[str, str] = field(repr=False)
    firmware_version: tuple[int, int] = (11, 8)
    #: Methods answered to the query, and accepted. AMT 12+: (DIGEST,) only.
    auth_methods: tuple[AuthType, ...] = (AuthType.PLAIN, AuthType.DIGEST_NO_QOP, AuthType.DIGEST)
    #: Send a 0x29 (controls, power state) right after 0x21.
    initial_controls: bool = True
    powered_on: bool = True

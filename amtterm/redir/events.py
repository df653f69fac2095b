"""What a RedirectionConnection tells its owner, one frozen dataclass per happening.

``receive_data()`` and ``handle_timer()`` return a list of these. Protocol replies
(auth steps, heartbeat echoes, SOL start replies) are queued by the codec itself
and never appear as work for the owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from amtterm.redir.constants import (
    AuthStatus,
    AuthType,
    SessionType,
    SolControl,
    SolStatus,
    StartStatus,
)
from amtterm.redir.messages import SolSettings


class Event:
    """Base class of every codec event."""


# --- console role --------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionStarted(Event):
    """The device accepted StartRedirectionSession (0x11 status 0)."""

    firmware_version: tuple[int, int]
    protocol_version: tuple[int, int]
    oem_iana: int


@dataclass(frozen=True)
class SessionRefused(Event):
    """The device refused StartRedirectionSession; the connection is now closed."""

    status: StartStatus | int


@dataclass(frozen=True)
class AuthMethodsOffered(Event):
    """The device answered the auth query (type 0) with the methods it supports."""

    methods: tuple[AuthType | int, ...]


@dataclass(frozen=True)
class Authenticated(Event):
    """Authentication succeeded (console: the device said yes; device: the console proved itself)."""

    method: AuthType
    user: str


@dataclass(frozen=True)
class AuthFailed(Event):
    """Authentication failed; the connection is now closed (console) or closing (device).

    ``status`` NOT_SUPPORTED with ``method`` QUERY means none of the console's
    methods is among those the device ``offered`` (the session can then say
    "the device offers only digest").
    """

    method: AuthType | int
    status: AuthStatus | int
    user: str
    #: Methods the device listed in its query reply (console role; empty if no query was made).
    offered: tuple[AuthType | int, ...] = ()


@dataclass(frozen=True)
class SolStarted(Event):
    """The device accepted StartSOLRedirection (0x21 status 0): SOL data may flow."""


@dataclass(frozen=True)
class SolRefused(Event):
    """The device refused StartSOLRedirection; the connection is now closed."""

    status: int


@dataclass(frozen=True)
class SolData(Event):
    """Serial bytes: from the host (console role) or typed by the console (device role)."""

    data: bytes


@dataclass(frozen=True)
class SolControlsChanged(Event):
    """The device reported the host's modem lines and SOL status (0x29)."""

    control: SolControl
    status: SolStatus

    @property
    def powered_on(self) -> bool:
        """Whether the host is powered on."""
        return bool(self.status & SolStatus.POWER_ON)


@dataclass(frozen=True)
class PeerTimeout(Event):
    """Nothing arrived from the peer for ``seconds``; the connection is now closed."""

    seconds: float


@dataclass(frozen=True)
class ConnectionClosed(Event):
    """The session ended in an orderly way (0x23 / 0x12 exchanged, or end requested)."""

    reason: str


# --- device role ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRequested(Event):
    """A console sent StartRedirectionSession; the owner must ``accept_session()`` or ``refuse_session()``."""

    session_type: SessionType | None
    raw_tag: bytes


@dataclass(frozen=True)
class SolStartRequested(Event):
    """A console asked for SOL; the codec has already answered 0x21 (and 0x29 if configured)."""

    settings: SolSettings


@dataclass(frozen=True)
class SolEndRequested(Event):
    """A console sent EndSOLRedirection; the codec has answered 0x23."""


@dataclass(frozen=True)
class SessionEndRequested(Event):
    """A console sent EndRedirectionSession (0x12); the owner should close the socket."""

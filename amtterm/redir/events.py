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
    IderFeature,
    IderStartTiming,
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


# --- IDE-R, console role (6) -----------------------------------------------------------------


@dataclass(frozen=True)
class IderStarted(Event):
    """The device accepted StartIDERRedirection (0x41 status 0); 0x48 SET_STATE has been sent."""

    protocol_version: tuple[int, int]
    firmware_version: tuple[int, int]
    #: Largest data field of one 0x54 we may send / one 0x53 the device sends (6.4).
    read_buffer: int
    write_buffer: int
    feature_byte: int
    oem_iana: int


@dataclass(frozen=True)
class IderRefused(Event):
    """The device refused StartIDERRedirection; 0x12 was sent and the connection is closed."""

    status: int


@dataclass(frozen=True)
class IderDevicesEnabled(Event):
    """The device confirmed SET_STATE (0x49 value 1): the drives appear per ``value``'s timing (6.5)."""

    value: int


@dataclass(frozen=True)
class IderEnableRejected(Event):
    """The device rejected SET_STATE (0x49 value != 1: a host command was in progress) (6.5)."""

    value: int


@dataclass(frozen=True)
class IderFeatureReport(Event):
    """The device answered get supported (1) or get state (2) with ``value`` (6.5)."""

    subcommand: IderFeature
    value: int


@dataclass(frozen=True)
class IderReset(Event):
    """The host reset the IDE bus (0x46); the codec answers 0x47 once no command is unanswered (6.6)."""

    mask: int


@dataclass(frozen=True)
class IderCommand(Event):
    """The host issued an ATAPI command (0x50); answer it with exactly one of the connection's
    ``send_ider_status`` / ``send_ider_data`` (or ``request_ider_write_data`` first) (6.7, 6.8)."""

    cdb: bytes
    #: The device/head register: 0xB0 CD-ROM, 0xA0 floppy (bit 4 decides).
    device: int
    #: Features register bit 0: the host wants DMA (6.7).
    dma: bool
    byte_count_limit: int
    sequence: int

    @property
    def opcode(self) -> int:
        """The SCSI operation code (CDB byte 0)."""
        return self.cdb[0]

    @property
    def is_cd(self) -> bool:
        """Whether the command is for the CD-ROM (slave) rather than the floppy."""
        return bool(self.device & 0x10)


@dataclass(frozen=True)
class IderWriteData(Event):
    """Write data from the host (0x53) for the oldest command; ``remaining`` bytes of the request are due."""

    data: bytes
    remaining: int


@dataclass(frozen=True)
class IderError(Event):
    """The device reported an error (0x4A); MeshCommander carries on, so does the codec (6.10)."""

    code: int
    detail: bytes


# --- IDE-R, device role (6) ------------------------------------------------------------------


@dataclass(frozen=True)
class IderStartRequested(Event):
    """A console sent StartIDERRedirection; the codec answered 0x41 (sequence 0).

    The values are as used: RxTimeout below 10 s is raised to 30 s (6.3).
    """

    rx_timeout_ms: int
    tx_timeout_ms: int
    heartbeat_ms: int
    version: int


@dataclass(frozen=True)
class IderStateSet(Event):
    """A console sent 0x48 SET_STATE; ``accepted`` is what 0x49 said (6.5)."""

    value: int
    accepted: bool

    @property
    def enable(self) -> bool:
        """Whether the console wants the drives on."""
        return bool(self.value & IderStartTiming.ENABLE)

    @property
    def timing(self) -> int:
        """Bits 3-4: 0x08 on next reset, 0x10 gracefully, 0x18 immediately (0 is read as on reset)."""
        return self.value & 0x18 or int(IderStartTiming.ON_RESET)


@dataclass(frozen=True)
class IderResetAcknowledged(Event):
    """The console answered our 0x46 with 0x47 (6.6)."""


@dataclass(frozen=True)
class IderCommandCompleted(Event):
    """The console finished our 0x50: all 0x54 data joined, with the final status and sense (6.8)."""

    cdb: bytes
    device: int
    data: bytes
    #: ATA status register of the final output registers (0x50 good, 0x51 check condition).
    status: int
    sense_key: int
    asc: int
    ascq: int

    @property
    def sense(self) -> tuple[int, int, int]:
        """(key, ASC, ASCQ)."""
        return (self.sense_key, self.asc, self.ascq)

    @property
    def ok(self) -> bool:
        """GOOD status: no ERR bit and no sense key."""
        return not self.status & 0x01 and self.sense_key == 0


@dataclass(frozen=True)
class IderWriteDataRequested(Event):
    """The console asked for ``byte_count`` bytes of the host's write (0x52); answer with
    ``send_ider_write_data`` (6.8)."""

    byte_count: int


@dataclass(frozen=True)
class IderEndRequested(Event):
    """The console sent EndIDERRedirection (0x42); the codec answered 0x43 (6.10)."""


# --- KVM (either role) ------------------------------------------------------------------------


@dataclass(frozen=True)
class KvmStarted(Event):
    """KVM runs: console, the device answered 0x41; device, the console's 0x40 was answered.

    From now on every byte of the connection is RFB: it arrives as KvmData and goes out
    with ``send_kvm_data()`` (7).
    """


@dataclass(frozen=True)
class KvmRefused(Event):
    """The device answered the KVM 0x40 with a 0x41 whose byte 1 is not 0; the connection is closed."""

    status: int


@dataclass(frozen=True)
class KvmData(Event):
    """RFB bytes from the peer, exactly as they came (7)."""

    data: bytes

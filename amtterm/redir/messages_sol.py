"""Serial-over-LAN messages 0x20-0x2B (``shared/protocol/redirection.md`` 5) and :class:`SolSettings`.

Every SOL message starts with the 8-byte header ``type 00 00 00 seq(u32)``.
Decoding ignores bytes 1-3 and never checks sequence numbers: amtterm and
9front send 0, MeshCommander counts from 1, firmware ignores them (2.3, 12).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from amtterm.errors import LocalProtocolError
from amtterm.redir.constants import (
    DEFAULT_SOL_HEARTBEAT_MS,
    DEFAULT_SOL_MAX_TX_BUFFER,
    DEFAULT_SOL_RX_TIMEOUT_MS,
    DEFAULT_SOL_TX_TIMEOUT_MS,
    INTEL_IANA,
    MessageType,
    SolControl,
    SolStatus,
)
from amtterm.redir.framing import (
    BOTH_DIRECTIONS,
    FROM_CONSOLE,
    FROM_DEVICE,
    HeaderOnlyMessage,
    Message,
    encode_header,
    header_sequence,
    length_at,
    pack,
    u16,
    u32,
)

#: Largest payload of one SOL data message: its length field is 16 bits (5.3).
MAX_SOL_DATA = 0xFFFF


@dataclass(frozen=True)
class SolSettings:
    """The six timing fields of StartSOLRedirection (5.1); defaults are Debian amtterm's.

    Attributes:
        max_tx_buffer: size of the device's host->console buffer, bytes; the
            device chunks SOL data by it.
        tx_timeout_ms: how long the device waits for its buffer to fill.
        tx_overflow_timeout_ms: how long a full buffer waits before dropping bytes (0 = never).
        rx_timeout_ms: HostSessionRxTimeout, console silence after which the device drops the session.
        fifo_rx_flush_timeout_ms: receive-FIFO flush timeout.
        heartbeat_ms: interval of the device's 0x2B heartbeats (0 = none).
    """

    max_tx_buffer: int = DEFAULT_SOL_MAX_TX_BUFFER
    tx_timeout_ms: int = DEFAULT_SOL_TX_TIMEOUT_MS
    tx_overflow_timeout_ms: int = 0
    rx_timeout_ms: int = DEFAULT_SOL_RX_TIMEOUT_MS
    fifo_rx_flush_timeout_ms: int = 0
    heartbeat_ms: int = DEFAULT_SOL_HEARTBEAT_MS

    def as_tuple(self) -> tuple[int, int, int, int, int, int]:
        """The six fields in wire order."""
        return (
            self.max_tx_buffer,
            self.tx_timeout_ms,
            self.tx_overflow_timeout_ms,
            self.rx_timeout_ms,
            self.fifo_rx_flush_timeout_ms,
            self.heartbeat_ms,
        )


@dataclass(frozen=True)
class StartSolRedirection(Message):
    """0x20, console -> device, 24 bytes: header, the six u16 settings, 4 reserved bytes (5.1)."""

    TYPE = MessageType.START_SOL_REDIRECTION
    SENDERS = FROM_CONSOLE
    SIZE = 24

    settings: SolSettings = field(default_factory=SolSettings)
    sequence: int = 0

    def encode(self) -> bytes:
        """Header + ``MaxTx TxTO TxOvf RxTO Flush HB`` (u16 each) + ``00 00 00 00``."""
        return encode_header(self.TYPE, self.sequence) + pack("6HI", *self.settings.as_tuple(), 0)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Read the settings; bytes 1-3 and 20-23 are ignored."""
        settings = SolSettings(*(u16(frame, 8 + 2 * i) for i in range(6)))
        return cls(settings, header_sequence(frame))


@dataclass(frozen=True)
class StartSolRedirectionReply(Message):
    """0x21, device -> console, 23 bytes (5.2).

    Only byte 1 (status) and byte 4 (= 1, checked by 9front) are known. The rest
    follows the analogy with 0x11 the notes propose and Debian amtterm accepts:
    4-5 protocol version, 6-7 firmware version, 8-17 zero, 18-21 IANA,
    22 OEM length 0. Decoding reads those fields and ignores the others.
    """

    TYPE = MessageType.START_SOL_REDIRECTION_REPLY
    SENDERS = FROM_DEVICE
    SIZE = 23

    status: int = 0
    protocol_version: tuple[int, int] = (1, 0)
    firmware_version: tuple[int, int] = (11, 8)
    oem_iana: int = INTEL_IANA

    def encode(self) -> bytes:
        """The 23 bytes of 5.2."""
        head = pack("BBHBBBB", self.TYPE, self.status, 0, *self.protocol_version, *self.firmware_version)
        return head + bytes(10) + pack("IB", self.oem_iana, 0)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Read status, versions and IANA."""
        return cls(frame[1], (frame[4], frame[5]), (frame[6], frame[7]), u32(frame, 18))


@dataclass(frozen=True)
class EndSolRedirection(HeaderOnlyMessage):
    """0x22, console -> device, 8 bytes (5.6)."""

    TYPE = MessageType.END_SOL_REDIRECTION
    SENDERS = FROM_CONSOLE


@dataclass(frozen=True)
class EndSolRedirectionReply(HeaderOnlyMessage):
    """0x23, device -> console, 8 bytes (5.6)."""

    TYPE = MessageType.END_SOL_REDIRECTION_REPLY
    SENDERS = FROM_DEVICE


@dataclass(frozen=True)
class SolKeepAlivePing(HeaderOnlyMessage):
    """0x24, both ways, 8 bytes; amtterm echoes a received one unchanged (5.5)."""

    TYPE = MessageType.SOL_KEEP_ALIVE_PING
    SENDERS = BOTH_DIRECTIONS


@dataclass(frozen=True)
class SolKeepAlivePong(HeaderOnlyMessage):
    """0x25, both ways, 8 bytes; Debian amtterm 1.4 aborts on it, so a device never sends it unasked (5.5)."""

    TYPE = MessageType.SOL_KEEP_ALIVE_PONG
    SENDERS = BOTH_DIRECTIONS


@dataclass(frozen=True)
class SolHeartbeat(HeaderOnlyMessage):
    """0x2B, both ways, 8 bytes (5.5)."""

    TYPE = MessageType.SOL_HEARTBEAT
    SENDERS = BOTH_DIRECTIONS


@dataclass(frozen=True)
class SolSettingsMessage(Message):
    """0x27, console -> device, 14 bytes, sent by MeshCommander after 0x21; meaning unknown (5.7).

    A device accepts and ignores it.
    """

    TYPE = MessageType.SOL_SETTINGS
    SENDERS = FROM_CONSOLE
    SIZE = 14

    sequence: int = 0
    payload: bytes = b"\x00\x00\x1b\x00\x00\x00"

    def encode(self) -> bytes:
        """Header + the 6 payload bytes (MeshCommander: ``00 00 1b 00 00 00``)."""
        if len(self.payload) != 6:
            raise LocalProtocolError(f"the 0x27 payload is 6 bytes, not {len(self.payload)}")
        return encode_header(self.TYPE, self.sequence) + self.payload

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Keep sequence and payload."""
        return cls(header_sequence(frame), bytes(frame[8:14]))


@dataclass(frozen=True)
class _SolDataMessage(Message):
    """Header + n (u16) + n serial bytes, 10 + n bytes (5.3)."""

    SIZE = 10

    data: bytes = b""
    sequence: int = 0

    def encode(self) -> bytes:
        """Header, length, data."""
        if len(self.data) > MAX_SOL_DATA:
            raise LocalProtocolError(f"SOL data of {len(self.data)} bytes exceeds the 16-bit length field")
        return encode_header(self.TYPE, self.sequence) + pack("H", len(self.data)) + self.data

    @classmethod
    def frame_length(cls, buf: bytes) -> int | None:
        """10 + n, n being the u16 at offset 8."""
        return length_at(buf, offset=8, size=2, fixed=10)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Bytes 1-3 are ignored; n = 0 is accepted (5.3)."""
        return cls(bytes(frame[10:]), header_sequence(frame))


@dataclass(frozen=True)
class SolDataToHost(_SolDataMessage):
    """0x28, console -> device: keystrokes for the host's serial port (5.3)."""

    TYPE = MessageType.SOL_DATA_TO_HOST
    SENDERS = FROM_CONSOLE


@dataclass(frozen=True)
class SolDataFromHost(_SolDataMessage):
    """0x2A, device -> console: output of the host's serial port (5.3)."""

    TYPE = MessageType.SOL_DATA_FROM_HOST
    SENDERS = FROM_DEVICE


@dataclass(frozen=True)
class SolControlsFromHost(Message):
    """0x29, device -> console, 10 bytes: header, modem lines, status (5.4)."""

    TYPE = MessageType.SOL_CONTROLS_FROM_HOST
    SENDERS = FROM_DEVICE
    SIZE = 10

    control: SolControl = SolControl.NONE
    status: SolStatus = SolStatus.NONE
    sequence: int = 0

    def encode(self) -> bytes:
        """Header + control byte + status byte."""
        return encode_header(self.TYPE, self.sequence) + pack("BB", self.control, self.status)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Unknown bits are kept in the flags."""
        return cls(SolControl(frame[8]), SolStatus(frame[9]), header_sequence(frame))

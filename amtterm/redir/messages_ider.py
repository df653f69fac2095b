"""IDE-R (storage redirection) messages 0x40-0x54 (``shared/protocol/redirection.md`` 6).

Every IDE-R message starts with the 8-byte header ``type 00 00 attributes seq``;
the attributes byte matters only in the console's data and status messages:
0x02 = command complete / last chunk, 0x01 = DMA (6.2). Decoding ignores bytes
1-3 elsewhere, because amtterm HEAD's 0x40 is malformed there (6.3) and the
notes ask a device to tolerate it (12). The IDE-R state machine is not here;
these are only the layouts. The command and data messages 0x50-0x54 live in
:mod:`amtterm.redir.messages_ider_commands` and are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.redir.constants import INTEL_IANA, IderFeature, MessageType
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
from amtterm.redir.messages_ider_commands import (
    CDB_SIZE,
    AtaRegisters,
    IderCommandEndResponse,
    IderCommandWritten,
    IderDataFromHost,
    IderDataToHost,
    IderGetDataFromHost,
)


@dataclass(frozen=True)
class StartIderRedirection(Message):
    """0x40, console -> device, 18 bytes: header, Rx/Tx timeout, heartbeat (u16 ms), version (u32) (6.3).

    Defaults are MeshCommander's values.
    """

    TYPE = MessageType.START_IDER_REDIRECTION
    SENDERS = FROM_CONSOLE
    SIZE = 18

    rx_timeout_ms: int = 30000
    tx_timeout_ms: int = 0
    heartbeat_ms: int = 20000
    version: int = 1
    sequence: int = 0

    def encode(self) -> bytes:
        """Header + ``HHHI``."""
        body = pack("HHHI", self.rx_timeout_ms, self.tx_timeout_ms, self.heartbeat_ms, self.version)
        return encode_header(self.TYPE, self.sequence) + body

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Bytes 1-3 are ignored (amtterm HEAD fills them, 6.3)."""
        return cls(u16(frame, 8), u16(frame, 10), u16(frame, 12), u32(frame, 14), header_sequence(frame))


@dataclass(frozen=True)
class StartIderRedirectionReply(Message):
    """0x41, device -> console, 30 + N bytes (6.4).

    Unknown bytes 12-15, 20 and 22-24 are sent as zero and ignored.
    MeshCommander needs ``feature_byte`` = 0 and buffers <= 8192.
    """

    TYPE = MessageType.START_IDER_REDIRECTION_REPLY
    SENDERS = FROM_DEVICE
    SIZE = 30

    status: int = 0
    sequence: int = 0
    protocol_version: tuple[int, int] = (1, 0)
    firmware_version: tuple[int, int] = (11, 8)
    read_buffer: int = 8192
    write_buffer: int = 8192
    feature_byte: int = 0
    oem_iana: int = INTEL_IANA
    oem_data: bytes = b""

    def encode(self) -> bytes:
        """The 30 bytes of 6.4 plus OEM data."""
        return (
            pack(
                "BBHIBBBBIHHBB3sIB",
                self.TYPE,
                self.status,
                0,
                self.sequence,
                *self.protocol_version,
                *self.firmware_version,
                0,
                self.read_buffer,
                self.write_buffer,
                0,
                self.feature_byte,
                bytes(3),
                self.oem_iana,
                len(self.oem_data),
            )
            + self.oem_data
        )

    @classmethod
    def frame_length(cls, buf: bytes) -> int | None:
        """30 + N, N being the byte at offset 29."""
        return length_at(buf, offset=29, size=1, fixed=30)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Read the known fields."""
        return cls(
            status=frame[1],
            sequence=header_sequence(frame),
            protocol_version=(frame[8], frame[9]),
            firmware_version=(frame[10], frame[11]),
            read_buffer=u16(frame, 16),
            write_buffer=u16(frame, 18),
            feature_byte=frame[21],
            oem_iana=u32(frame, 25),
            oem_data=bytes(frame[30:]),
        )


@dataclass(frozen=True)
class EndIderRedirection(HeaderOnlyMessage):
    """0x42, console -> device, 8 bytes (6.10)."""

    TYPE = MessageType.END_IDER_REDIRECTION
    SENDERS = FROM_CONSOLE


@dataclass(frozen=True)
class EndIderRedirectionReply(HeaderOnlyMessage):
    """0x43, device -> console, 8 bytes (6.10)."""

    TYPE = MessageType.END_IDER_REDIRECTION_REPLY
    SENDERS = FROM_DEVICE


@dataclass(frozen=True)
class IderKeepAlivePing(HeaderOnlyMessage):
    """0x44, both ways, 8 bytes (6.10)."""

    TYPE = MessageType.IDER_KEEP_ALIVE_PING
    SENDERS = BOTH_DIRECTIONS


@dataclass(frozen=True)
class IderKeepAlivePong(HeaderOnlyMessage):
    """0x45, both ways, 8 bytes (6.10)."""

    TYPE = MessageType.IDER_KEEP_ALIVE_PONG
    SENDERS = BOTH_DIRECTIONS


@dataclass(frozen=True)
class IderResetOccurredResponse(HeaderOnlyMessage):
    """0x47, console -> device, 8 bytes: the answer to 0x46 (6.6)."""

    TYPE = MessageType.IDER_RESET_OCCURRED_RESPONSE
    SENDERS = FROM_CONSOLE


@dataclass(frozen=True)
class IderHeartbeat(HeaderOnlyMessage):
    """0x4B, both ways, 8 bytes (6.10)."""

    TYPE = MessageType.IDER_HEARTBEAT
    SENDERS = BOTH_DIRECTIONS


@dataclass(frozen=True)
class IderResetOccurred(Message):
    """0x46, device -> console, 9 bytes: header + reset mask (meaning unknown) (6.6)."""

    TYPE = MessageType.IDER_RESET_OCCURRED
    SENDERS = FROM_DEVICE
    SIZE = 9

    mask: int = 0
    sequence: int = 0

    def encode(self) -> bytes:
        """Header + mask."""
        return encode_header(self.TYPE, self.sequence) + pack("B", self.mask)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Read mask and sequence."""
        return cls(frame[8], header_sequence(frame))


@dataclass(frozen=True)
class IderDisableEnableFeatures(Message):
    """0x48, console -> device: header + sub-command, + u32 value for SET_STATE (6.5).

    Length: 13 bytes for sub-command 3 (set), 9 for 1 (get supported) and 2
    (get state, as MeshCommander sends it). Other sub-commands have no known
    length, so they cannot be decoded.
    """

    TYPE = MessageType.IDER_DISABLE_ENABLE_FEATURES
    SENDERS = FROM_CONSOLE
    SIZE = 9

    subcommand: IderFeature | int = IderFeature.GET_SUPPORTED
    value: int = 0
    sequence: int = 0

    def encode(self) -> bytes:
        """9 bytes, or 13 with the value for SET_STATE."""
        head = encode_header(self.TYPE, self.sequence) + pack("B", self.subcommand)
        if self.subcommand == IderFeature.SET_STATE:
            return head + pack("I", self.value)
        if self.value:
            raise LocalProtocolError("only DisableEnableFeatures SET_STATE carries a value")
        return head

    @classmethod
    def frame_length(cls, buf: bytes) -> int | None:
        """By sub-command (byte 8): 3 -> 13, 1 or 2 -> 9."""
        if len(buf) < 9:
            return None
        if buf[8] == IderFeature.SET_STATE:
            return 13
        if buf[8] in (IderFeature.GET_SUPPORTED, IderFeature.GET_STATE):
            return 9
        raise RemoteProtocolError(f"IDE-R DisableEnableFeatures with unknown sub-command {buf[8]}")

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Read sub-command and value."""
        value = u32(frame, 9) if len(frame) == 13 else 0
        return cls(IderFeature(frame[8]), value, header_sequence(frame))


@dataclass(frozen=True)
class IderDisableEnableFeaturesReply(Message):
    """0x49, device -> console, 13 bytes: header, sub-command echo, u32 value (6.5)."""

    TYPE = MessageType.IDER_DISABLE_ENABLE_FEATURES_REPLY
    SENDERS = FROM_DEVICE
    SIZE = 13

    subcommand: IderFeature | int = IderFeature.GET_SUPPORTED
    value: int = 0
    sequence: int = 0

    def encode(self) -> bytes:
        """Header + sub-command + value."""
        return encode_header(self.TYPE, self.sequence) + pack("BI", self.subcommand, self.value)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Read sub-command (kept as int when unknown) and value."""
        subcommand: IderFeature | int
        try:
            subcommand = IderFeature(frame[8])
        except ValueError:
            subcommand = frame[8]
        return cls(subcommand, u32(frame, 9), header_sequence(frame))


@dataclass(frozen=True)
class IderErrorOccurred(Message):
    """0x4A, device -> console, 11 bytes: header, error code, 2 unknown bytes (6.10)."""

    TYPE = MessageType.IDER_ERROR_OCCURRED
    SENDERS = FROM_DEVICE
    SIZE = 11

    code: int = 0
    detail: bytes = b"\x00\x00"
    sequence: int = 0

    def encode(self) -> bytes:
        """Header + code + the two unknown bytes."""
        if len(self.detail) != 2:
            raise LocalProtocolError("IDE-R ErrorOccurred carries exactly 2 detail bytes")
        return encode_header(self.TYPE, self.sequence) + pack("B", self.code) + self.detail

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Read code and detail."""
        return cls(frame[8], bytes(frame[9:11]), header_sequence(frame))


#: Every IDE-R message class, for the decoder's table.
IDER_MESSAGES: tuple[type[Message], ...] = (
    StartIderRedirection,
    StartIderRedirectionReply,
    EndIderRedirection,
    EndIderRedirectionReply,
    IderKeepAlivePing,
    IderKeepAlivePong,
    IderResetOccurred,
    IderResetOccurredResponse,
    IderDisableEnableFeatures,
    IderDisableEnableFeaturesReply,
    IderErrorOccurred,
    IderHeartbeat,
    IderCommandWritten,
    IderCommandEndResponse,
    IderGetDataFromHost,
    IderDataFromHost,
    IderDataToHost,
)

__all__ = [
    "CDB_SIZE",
    "IDER_MESSAGES",
    "AtaRegisters",
    "EndIderRedirection",
    "EndIderRedirectionReply",
    "IderCommandEndResponse",
    "IderCommandWritten",
    "IderDataFromHost",
    "IderDataToHost",
    "IderDisableEnableFeatures",
    "IderDisableEnableFeaturesReply",
    "IderErrorOccurred",
    "IderGetDataFromHost",
    "IderHeartbeat",
    "IderKeepAlivePing",
    "IderKeepAlivePong",
    "IderResetOccurred",
    "IderResetOccurredResponse",
    "StartIderRedirection",
    "StartIderRedirectionReply",
]

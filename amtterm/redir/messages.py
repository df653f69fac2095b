"""Every redirection wire message as a frozen dataclass, and the decoder that finds them in a byte stream.

``encode()`` gives the exact bytes; :func:`decode_message` reads one message
from the front of a buffer. Session messages (0x10-0x12) live here; auth (0x13,
0x14) in :mod:`amtterm.redir.messages_auth`, SOL (0x20-0x2B) in
:mod:`amtterm.redir.messages_sol`, IDE-R (0x40-0x54) in
:mod:`amtterm.redir.messages_ider`. All are re-exported here: import from this
module.

Tolerance, as ``shared/protocol/redirection.md`` recommends (12): bytes 1-3 of
0x10 and of every SOL message are ignored, sequence numbers are kept but never
checked, 0x27 is accepted. Strictness: an unknown type, a type that never
travels in this direction, and a length field no message can have raise
RemoteProtocolError, because the stream cannot be resynchronised (2.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.redir.constants import (
    GREEDY_GAP,
    GREEDY_MESSAGE_TYPES,
    INTEL_IANA,
    KEEPALIVE_MESSAGE_TYPES,
    MESSAGE_GAP,
    MessageType,
    SessionType,
    StartStatus,
)
from amtterm.redir.framing import (
    FROM_CONSOLE,
    FROM_DEVICE,
    Direction,
    Message,
    describe_type,
    length_at,
    pack,
    u32,
)
from amtterm.redir.messages_auth import (
    AuthData,
    AuthenticateSession,
    AuthenticateSessionReply,
    AuthMethodsList,
    DigestChallenge,
    DigestRequest,
    EmptyAuthData,
    OpaqueAuthData,
    PlainCredentials,
)
from amtterm.redir.messages_ider import (
    IDER_MESSAGES,
    AtaRegisters,
    EndIderRedirection,
    EndIderRedirectionReply,
    IderCommandEndResponse,
    IderCommandWritten,
    IderDataFromHost,
    IderDataToHost,
    IderDisableEnableFeatures,
    IderDisableEnableFeaturesReply,
    IderErrorOccurred,
    IderGetDataFromHost,
    IderHeartbeat,
    IderKeepAlivePing,
    IderKeepAlivePong,
    IderResetOccurred,
    IderResetOccurredResponse,
    StartIderRedirection,
    StartIderRedirectionReply,
)
from amtterm.redir.messages_sol import (
    MAX_SOL_DATA,
    EndSolRedirection,
    EndSolRedirectionReply,
    SolControlsFromHost,
    SolDataFromHost,
    SolDataToHost,
    SolHeartbeat,
    SolKeepAlivePing,
    SolKeepAlivePong,
    SolSettings,
    SolSettingsMessage,
    StartSolRedirection,
    StartSolRedirectionReply,
)

__all__ = [
    "MAX_SOL_DATA",
    "AtaRegisters",
    "AuthData",
    "AuthMethodsList",
    "AuthenticateSession",
    "AuthenticateSessionReply",
    "DigestChallenge",
    "DigestRequest",
    "Direction",
    "EmptyAuthData",
    "EndIderRedirection",
    "EndIderRedirectionReply",
    "EndRedirectionSession",
    "EndSolRedirection",
    "EndSolRedirectionReply",
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
    "Message",
    "OpaqueAuthData",
    "PlainCredentials",
    "SolControlsFromHost",
    "SolDataFromHost",
    "SolDataToHost",
    "SolHeartbeat",
    "SolKeepAlivePing",
    "SolKeepAlivePong",
    "SolSettings",
    "SolSettingsMessage",
    "StartIderRedirection",
    "StartIderRedirectionReply",
    "StartRedirectionSession",
    "StartRedirectionSessionReply",
    "StartSolRedirection",
    "StartSolRedirectionReply",
    "decode_message",
    "gap_after",
]


def _version(frame: bytes, offset: int) -> tuple[int, int]:
    return (frame[offset], frame[offset + 1])


# --- session (3) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartRedirectionSession(Message):
    """0x10, console -> device, 8 bytes: ``10 00 00 00`` + 4-byte session tag (3.1).

    Byte 1 is 0x01 for KVM in every client seen, else 0; its meaning is unknown,
    so decoding ignores bytes 1-3 (3.1).
    """

    TYPE = MessageType.START_REDIRECTION_SESSION
    SENDERS = FROM_CONSOLE
    SIZE = 8

    tag: bytes = SessionType.SOL.value

    @property
    def session_type(self) -> SessionType | None:
        """The session the tag names, or None for a tag nobody defined."""
        try:
            return SessionType(self.tag)
        except ValueError:
            return None

    def encode(self) -> bytes:
        """``10 flag 00 00 tag``; flag is 1 for KVM only (3.1)."""
        if len(self.tag) != 4:
            raise LocalProtocolError(f"a session tag is 4 bytes, not {len(self.tag)}")
        flag = 1 if self.tag == SessionType.KVM.value else 0
        return pack("BBH", self.TYPE, flag, 0) + self.tag

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Take the tag, ignore bytes 1-3."""
        return cls(bytes(frame[4:8]))


@dataclass(frozen=True)
class StartRedirectionSessionReply(Message):
    """0x11, device -> console, 13 + N bytes (3.2).

    ``11 status 00 00 | proto major, minor | fw major, minor | IANA (u32) | N | OEM data``.
    Real firmware sends N = 0, and amtterm needs it (it skips exactly 13 bytes).
    """

    TYPE = MessageType.START_REDIRECTION_SESSION_REPLY
    SENDERS = FROM_DEVICE
    SIZE = 13

    status: StartStatus | int = StartStatus.SUCCESS
    protocol_version: tuple[int, int] = (1, 0)
    firmware_version: tuple[int, int] = (11, 8)
    oem_iana: int = INTEL_IANA
    oem_data: bytes = b""

    def encode(self) -> bytes:
        """The 13-byte reply plus OEM data."""
        return (
            pack(
                "BBHBBBBIB",
                self.TYPE,
                self.status,
                0,
                *self.protocol_version,
                *self.firmware_version,
                self.oem_iana,
                len(self.oem_data),
            )
            + self.oem_data
        )

    @classmethod
    def frame_length(cls, buf: bytes) -> int | None:
        """13 + N, N being the byte at offset 12."""
        return length_at(buf, offset=12, size=1, fixed=13)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Read every field; bytes 2-3 are ignored."""
        try:
            status: StartStatus | int = StartStatus(frame[1])
        except ValueError:
            status = frame[1]
        return cls(status, _version(frame, 4), _version(frame, 6), u32(frame, 8), bytes(frame[13:]))


@dataclass(frozen=True)
class EndRedirectionSession(Message):
    """0x12, console -> device, 4 bytes ``12 00 00 00``; the device answers by closing TCP (3.3)."""

    TYPE = MessageType.END_REDIRECTION_SESSION
    SENDERS = FROM_CONSOLE
    SIZE = 4

    def encode(self) -> bytes:
        """``12 00 00 00``."""
        return bytes((self.TYPE, 0, 0, 0))

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Bytes 1-3 are ignored."""
        return cls()


# --- decoding ----------------------------------------------------------------------------------

_ALL_MESSAGES: tuple[type[Message], ...] = (
    StartRedirectionSession,
    StartRedirectionSessionReply,
    EndRedirectionSession,
    AuthenticateSession,
    AuthenticateSessionReply,
    StartSolRedirection,
    StartSolRedirectionReply,
    EndSolRedirection,
    EndSolRedirectionReply,
    SolKeepAlivePing,
    SolKeepAlivePong,
    SolSettingsMessage,
    SolDataToHost,
    SolControlsFromHost,
    SolDataFromHost,
    SolHeartbeat,
    *IDER_MESSAGES,
)

#: Type byte -> message class. KVM (0x40/0x41 meaning something else in a KVM
#: session, 7) is out of scope: 0x40/0x41 always decode as IDE-R here.
MESSAGE_CLASSES: dict[int, type[Message]] = {cls.TYPE: cls for cls in _ALL_MESSAGES}


def decode_message(
    buf: bytes | bytearray | memoryview, *, direction: Direction
) -> tuple[Message, int] | None:
    """Decode the message at the front of ``buf``.

    Args:
        buf: received bytes, starting at a message boundary.
        direction: who sent them; a type that never travels that way is an error (10).

    Returns:
        ``(message, consumed)`` or None when ``buf`` holds only part of a message.

    Raises:
        RemoteProtocolError: unknown type, wrong direction, impossible length or
            malformed content. The stream cannot be resynchronised after this (2.2).
    """
    if not buf:
        return None
    # Every length field lies within the first 32 bytes (10), so a short copy is
    # all the length functions need, whatever kind of buffer came in.
    head = bytes(buf[:32])
    cls = MESSAGE_CLASSES.get(head[0])
    if cls is None:
        raise RemoteProtocolError(
            f"the {direction.sender} sent {describe_type(head[0])}; the stream cannot be followed"
        )
    if direction not in cls.SENDERS:
        raise RemoteProtocolError(
            f"the {direction.sender} sent {describe_type(head[0])}, which only the other side may send"
        )
    length = cls.frame_length(head)
    if length is None or len(buf) < length:
        return None
    return cls.decode_frame(bytes(buf[:length])), length


def gap_after(frame: bytes) -> float:
    """Seconds a device should wait after writing ``frame`` before writing the next one (11).

    Debian amtterm and 9front throw away whatever follows a "greedy" message in
    their read buffer, so after one of those a device leaves GREEDY_GAP; after a
    keep-alive (9front discards there too) a small MESSAGE_GAP. Everything else,
    above all SOL data, is read exactly by every client and needs no gap, so a
    flood of output is not slowed down. An empty frame needs no gap.
    """
    if not frame:
        return 0.0
    if frame[0] in GREEDY_MESSAGE_TYPES:
        return GREEDY_GAP
    return MESSAGE_GAP if frame[0] in KEEPALIVE_MESSAGE_TYPES else 0.0

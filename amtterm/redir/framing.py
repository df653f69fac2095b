"""Framing shared by every redirection message: base class, headers, packing helpers.

Rules this module encodes (``shared/protocol/redirection.md``):

* Byte 0 of every message is its type; there is no generic length field, the
  length follows from the type and type-specific length fields (2.2).
* Every multi-byte integer is little-endian (2.2).
* SOL and IDE-R messages start with an 8-byte header: type, two zero bytes, an
  "attributes" byte (IDE-R console data/status messages only, else zero) and a
  32-bit sequence number (2.2, 6.2).
* Auth data is a list of elements, each prefixed by a one-byte length, so no
  element is longer than 255 bytes (4.2).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.redir.constants import MessageType

#: Bytes in the common SOL / IDE-R header (2.2, 6.2).
HEADER_SIZE = 8

#: Largest element of auth data: its length prefix is one byte (4.2).
MAX_ELEMENT_LENGTH = 255


class Direction(enum.Enum):
    """Who sent the bytes being decoded; some types only ever travel one way (10)."""

    FROM_CONSOLE = "from-console"
    FROM_DEVICE = "from-device"

    @property
    def sender(self) -> str:
        """The sending side as a word for error messages ("console" or "device")."""
        return "console" if self is Direction.FROM_CONSOLE else "device"


BOTH_DIRECTIONS = frozenset({Direction.FROM_CONSOLE, Direction.FROM_DEVICE})
FROM_CONSOLE = frozenset({Direction.FROM_CONSOLE})
FROM_DEVICE = frozenset({Direction.FROM_DEVICE})


class Message:
    """Base class of every wire message.

    Subclasses are frozen dataclasses. Each one states its type byte (``TYPE``),
    which side may send it (``SENDERS``) and its fixed or minimum size (``SIZE``).

    Attributes:
        TYPE: byte 0 of the message.
        SENDERS: the directions this message may travel in (section 10).
        SIZE: the fixed size, or the size of the part that holds the length field.
    """

    TYPE: ClassVar[MessageType]
    SENDERS: ClassVar[frozenset[Direction]]
    SIZE: ClassVar[int]

    def encode(self) -> bytes:
        """Return the exact bytes of this message.

        Raises:
            LocalProtocolError: a field does not fit its wire size.
        """
        raise NotImplementedError

    @classmethod
    def frame_length(cls, buf: bytes) -> int | None:
        """Total length of the message at the start of ``buf``, or None if more bytes are needed.

        ``buf[0]`` is already known to be ``cls.TYPE``. Variable-length messages
        override this to read their length field.

        Raises:
            RemoteProtocolError: the length field holds an impossible value.
        """
        return cls.SIZE

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Build the message from exactly one frame (``len(frame) == frame_length``)."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        """Human name with the type byte, for logs and error messages."""
        return describe_type(self.TYPE)


def describe_type(message_type: int) -> str:
    """Name a type byte for humans, e.g. ``"SOL_HEARTBEAT (0x2b)"``."""
    try:
        return f"{MessageType(message_type).name} (0x{message_type:02x})"
    except ValueError:
        return f"unknown message type 0x{message_type:02x}"


def pack(fmt: str, *values: int | bytes) -> bytes:
    """``struct.pack`` in little-endian that reports out-of-range fields as LocalProtocolError."""
    try:
        return struct.pack("<" + fmt, *values)
    except struct.error as exc:
        raise LocalProtocolError(f"a message field does not fit the wire format: {exc}") from exc


def encode_header(message_type: MessageType, sequence: int, attributes: int = 0) -> bytes:
    """The 8-byte SOL / IDE-R header: type, 0, 0, attributes, sequence (2.2, 6.2)."""
    return pack("BBBBI", message_type, 0, 0, attributes, sequence)


def header_sequence(frame: bytes) -> int:
    """The 32-bit sequence number of a SOL / IDE-R header (bytes 4-7)."""
    value: int = struct.unpack_from("<I", frame, 4)[0]
    return value


def header_attributes(frame: bytes) -> int:
    """The attributes byte (byte 3) of an IDE-R header (6.2)."""
    return frame[3]


def u16(frame: bytes, offset: int) -> int:
    """Little-endian unsigned 16-bit integer at ``offset``."""
    value: int = struct.unpack_from("<H", frame, offset)[0]
    return value


def u32(frame: bytes, offset: int) -> int:
    """Little-endian unsigned 32-bit integer at ``offset``."""
    value: int = struct.unpack_from("<I", frame, offset)[0]
    return value


def length_at(buf: bytes, *, offset: int, size: int, fixed: int, limit: int | None = None) -> int | None:
    """Frame length ``fixed + n`` where ``n`` is the ``size``-byte length field at ``offset``.

    Args:
        buf: bytes received so far, starting with the type byte.
        offset: where the length field starts.
        size: 1, 2 or 4 bytes.
        fixed: bytes of the message that are not counted by the length field.
        limit: largest acceptable ``n``; larger values raise RemoteProtocolError.

    Returns:
        The total length, or None while the length field itself is incomplete.
    """
    if len(buf) < offset + size:
        return None
    n = int.from_bytes(bytes(buf[offset : offset + size]), "little")
    if limit is not None and n > limit:
        raise RemoteProtocolError(
            f"{describe_type(buf[0])} announces {n} bytes of data, more than the {limit} this protocol allows"
        )
    return fixed + n


def encode_elements(elements: Sequence[bytes]) -> bytes:
    """Concatenate auth-data elements, each prefixed by its one-byte length (4.2).

    Raises:
        LocalProtocolError: an element is longer than 255 bytes.
    """
    out = bytearray()
    for element in elements:
        if len(element) > MAX_ELEMENT_LENGTH:
            raise LocalProtocolError(
                f"an auth element of {len(element)} bytes does not fit the one-byte length prefix"
            )
        out.append(len(element))
        out += element
    return bytes(out)


def decode_elements(data: bytes, what: str) -> list[bytes]:
    """Split auth data into its length-prefixed elements, which must cover ``data`` exactly (4.2).

    Raises:
        RemoteProtocolError: an element runs past the end of the data.
    """
    elements: list[bytes] = []
    pos = 0
    while pos < len(data):
        n = data[pos]
        end = pos + 1 + n
        if end > len(data):
            raise RemoteProtocolError(
                f"{what}: element {len(elements) + 1} claims {n} bytes but only {len(data) - pos - 1} remain"
            )
        elements.append(bytes(data[pos + 1 : end]))
        pos = end
    return elements


@dataclass(frozen=True)
class HeaderOnlyMessage(Message):
    """An 8-byte message that is just the common header: ``type 00 00 00 seq(u32)``.

    Used by heartbeats, keep-alives and the end / end-reply pairs of SOL and
    IDE-R (5.5, 5.6, 6.6, 6.10). Bytes 1-3 are ignored when decoding (12).

    Attributes:
        sequence: the 32-bit sequence number (2.3); receivers ignore it.
    """

    SIZE = HEADER_SIZE

    sequence: int = 0

    def encode(self) -> bytes:
        """The 8-byte header."""
        return encode_header(self.TYPE, self.sequence)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Read the sequence number, ignore bytes 1-3."""
        return cls(header_sequence(frame))

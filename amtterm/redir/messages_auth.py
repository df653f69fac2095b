"""AuthenticateSession (0x13), its reply (0x14) and the typed auth data they carry.

Layouts (``shared/protocol/redirection.md`` 4.1-4.4)::

    0x13  13 00 00 00 | type | L (u32) | L bytes of data        console -> device
    0x14  14 st 00 00 | type | L (u32) | L bytes of data        device -> console

How the data is read depends on the message, the auth type and L:

* L = 0 is always :class:`EmptyAuthData` (the query request, every success
  reply, failure replies, and the empty type-1 request AMT 12 was sent, 4.3).
* 0x13 type 1: two elements, user and password (4.3).
* 0x13 types 3 and 4: the digest elements user, realm, nonce, URI, cnonce, nc,
  response and, for type 4, qop (4.4). Type 3 has no qop; an 8th element is
  tolerated there as an empty qop would be.
* 0x14 type 0: one byte per supported auth type (4.3).
* 0x14 types 3 and 4: realm, nonce and (type 4) qop (4.4).
* anything else (Kerberos, unknown types) is kept as opaque bytes.

Every element is length-prefixed by one byte, so it is at most 255 bytes (4.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.redir.constants import AuthStatus, AuthType, MessageType
from amtterm.redir.framing import (
    FROM_CONSOLE,
    FROM_DEVICE,
    Message,
    decode_elements,
    encode_elements,
    length_at,
    pack,
)

#: Largest auth data we accept. The biggest legal payload, a digest request of
#: eight 255-byte elements, is 2048 bytes; anything far above that is garbage
#: that would otherwise make us wait for gigabytes (4.1: L is a u32).
MAX_AUTH_DATA_LENGTH = 8192


def auth_type_of(value: int) -> AuthType | int:
    """The AuthType for a wire byte, or the bare int when the type is unknown."""
    try:
        return AuthType(value)
    except ValueError:
        return value


def auth_status_of(value: int) -> AuthStatus | int:
    """The AuthStatus for a wire byte, or the bare int when the status is unknown."""
    try:
        return AuthStatus(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class EmptyAuthData:
    """Auth data of length 0."""

    def encode(self) -> bytes:
        """Return the (empty) wire bytes."""
        return b""


@dataclass(frozen=True)
class OpaqueAuthData:
    """Auth data this codec does not interpret (Kerberos tickets, unknown types)."""

    data: bytes

    def encode(self) -> bytes:
        """Return the data unchanged."""
        return self.data


@dataclass(frozen=True)
class AuthMethodsList:
    """Query reply data: one byte per auth type the device supports (4.3).

    An empty list encodes to L = 0 and therefore decodes as EmptyAuthData.
    """

    methods: tuple[AuthType | int, ...]

    def encode(self) -> bytes:
        """One byte per method."""
        return pack(f"{len(self.methods)}B", *self.methods)


@dataclass(frozen=True)
class PlainCredentials:
    """Type 1 data: user and password in clear, each length-prefixed (4.3)."""

    user: bytes
    password: bytes = field(repr=False)

    def encode(self) -> bytes:
        """``ulen user plen password``."""
        return encode_elements((self.user, self.password))


@dataclass(frozen=True)
class DigestRequest:
    """Types 3 / 4 console data: the empty first request or the full response (4.4).

    ``qop`` is None when the element is absent (type 3); type 4 always carries
    it (empty in the first request, ``b"auth"`` in the response).
    """

    user: bytes
    realm: bytes
    nonce: bytes
    uri: bytes
    cnonce: bytes
    nc: bytes
    response: bytes
    qop: bytes | None = None

    def encode(self) -> bytes:
        """Seven or eight length-prefixed elements, in wire order."""
        elements = [self.user, self.realm, self.nonce, self.uri, self.cnonce, self.nc, self.response]
        if self.qop is not None:
            elements.append(self.qop)
        return encode_elements(elements)

    @property
    def is_initial(self) -> bool:
        """Whether this is the "empty" first request that asks for a challenge (4.4 step 1)."""
        return not self.response and not self.nonce


@dataclass(frozen=True)
class DigestChallenge:
    """Types 3 / 4 device data in the status-1 reply: realm, nonce and, for type 4, qop (4.4)."""

    realm: bytes
    nonce: bytes
    qop: bytes | None = None

    def encode(self) -> bytes:
        """Two or three length-prefixed elements."""
        elements = [self.realm, self.nonce]
        if self.qop is not None:
            elements.append(self.qop)
        return encode_elements(elements)


#: Every kind of auth data, as carried by 0x13 and 0x14.
AuthData = (
    EmptyAuthData | OpaqueAuthData | AuthMethodsList | PlainCredentials | DigestRequest | DigestChallenge
)

_DIGEST_TYPES = (AuthType.DIGEST, AuthType.DIGEST_NO_QOP)


def _decode_request_data(auth_type: int, data: bytes) -> AuthData:
    """Auth data of a 0x13, read according to its auth type (4.3, 4.4)."""
    if not data:
        return EmptyAuthData()
    if auth_type == AuthType.PLAIN:
        elements = decode_elements(data, "plain auth data")
        if len(elements) != 2:
            raise RemoteProtocolError(
                f"plain auth data has {len(elements)} elements; expected user and password"
            )
        return PlainCredentials(elements[0], elements[1])
    if auth_type in _DIGEST_TYPES:
        elements = decode_elements(data, "digest auth request")
        # Type 4 ends with qop (8 elements); type 3 has none (7), but an empty
        # 8th element is tolerated there (4.4).
        wanted = (8,) if auth_type == AuthType.DIGEST else (7, 8)
        if len(elements) not in wanted:
            raise RemoteProtocolError(
                f"digest auth request (type {auth_type}) has {len(elements)} elements; expected {wanted[0]}"
            )
        user, realm, nonce, uri, cnonce, nc, response = elements[:7]
        qop = elements[7] if len(elements) == 8 else None
        return DigestRequest(user, realm, nonce, uri, cnonce, nc, response, qop)
    return OpaqueAuthData(bytes(data))


def _decode_reply_data(auth_type: int, data: bytes) -> AuthData:
    """Auth data of a 0x14, read according to its auth type (4.3, 4.4)."""
    if not data:
        return EmptyAuthData()
    if auth_type == AuthType.QUERY:
        return AuthMethodsList(tuple(auth_type_of(b) for b in data))
    if auth_type in _DIGEST_TYPES:
        elements = decode_elements(data, "digest challenge")
        if len(elements) not in (2, 3):
            raise RemoteProtocolError(
                f"digest challenge has {len(elements)} elements; expected realm, nonce and qop"
            )
        return DigestChallenge(elements[0], elements[1], elements[2] if len(elements) == 3 else None)
    return OpaqueAuthData(bytes(data))


def _encode_auth(message_type: int, status: int, auth_type: int, data: AuthData) -> bytes:
    payload = data.encode()
    if len(payload) > MAX_AUTH_DATA_LENGTH:
        raise LocalProtocolError(f"auth data of {len(payload)} bytes is longer than {MAX_AUTH_DATA_LENGTH}")
    return pack("BBHBI", message_type, status, 0, auth_type, len(payload)) + payload


@dataclass(frozen=True)
class AuthenticateSession(Message):
    """0x13, console -> device, 9 + L bytes (4.1)."""

    TYPE = MessageType.AUTHENTICATE_SESSION
    SENDERS = FROM_CONSOLE
    SIZE = 9

    auth_type: AuthType | int
    data: AuthData = EmptyAuthData()

    def encode(self) -> bytes:
        """``13 00 00 00 type L(u32) data``."""
        return _encode_auth(self.TYPE, 0, self.auth_type, self.data)

    @classmethod
    def frame_length(cls, buf: bytes) -> int | None:
        """9 + L, L being the u32 at offset 5."""
        return length_at(buf, offset=5, size=4, fixed=9, limit=MAX_AUTH_DATA_LENGTH)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Bytes 1-3 are ignored: they carry nothing for a request (4.1)."""
        auth_type = frame[4]
        return cls(auth_type_of(auth_type), _decode_request_data(auth_type, frame[9:]))


@dataclass(frozen=True)
class AuthenticateSessionReply(Message):
    """0x14, device -> console, 9 + L bytes (4.2).

    Status 1 means failure, and also "challenge follows" in answer to an empty
    digest request; status 2 means the type is not supported (4.2, 4.3).
    """

    TYPE = MessageType.AUTHENTICATE_SESSION_REPLY
    SENDERS = FROM_DEVICE
    SIZE = 9

    status: AuthStatus | int
    auth_type: AuthType | int
    data: AuthData = EmptyAuthData()

    def encode(self) -> bytes:
        """``14 status 00 00 type L(u32) data``."""
        return _encode_auth(self.TYPE, self.status, self.auth_type, self.data)

    @classmethod
    def frame_length(cls, buf: bytes) -> int | None:
        """9 + L, L being the u32 at offset 5."""
        return length_at(buf, offset=5, size=4, fixed=9, limit=MAX_AUTH_DATA_LENGTH)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Bytes 2-3 are ignored (4.2)."""
        auth_type = frame[4]
        data = _decode_reply_data(auth_type, frame[9:])
        return cls(auth_status_of(frame[1]), auth_type_of(auth_type), data)

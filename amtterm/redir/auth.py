"""Digest and plain authentication computations of the redirection protocol (pure, hashlib only).

Rules (``shared/protocol/redirection.md`` 4.4)::

    HA1 = md5hex(user ":" realm ":" password)
    HA2 = md5hex("POST:/RedirectionService")
    type 4 (qop = "auth"):  response = md5hex(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
    type 3 (no qop):        response = md5hex(HA1 ":" nonce ":" HA2)   (cnonce, nc sent, not hashed)

md5hex is lowercase hex. Real AMT's challenge carries realm ``Digest:`` + 32
uppercase hex digits and a 32-character nonce; consoles send nc ``00000002``
and a 32-hex cnonce (amtterm HEAD, MeshCommander). A device compares the
response case-insensitively, in constant time, and accepts any nc and cnonce
(12).

Randomness is injectable (``random_bytes``, like :func:`secrets.token_bytes`)
so tests are deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable

from amtterm.redir.constants import DIGEST_METHOD, DIGEST_URI, AuthType
from amtterm.redir.messages_auth import DigestChallenge, DigestRequest

#: A source of random bytes: ``random_bytes(n)`` returns n bytes.
RandomBytes = Callable[[int], bytes]

#: The nc every known console sends (4.4).
DEFAULT_NC = "00000002"

#: The only qop defined for type 4 (4.4).
QOP_AUTH = "auth"


def _b(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def md5_hex(*parts: str | bytes) -> str:
    """Lowercase hex MD5 of ``parts`` joined by colons."""
    return hashlib.md5(b":".join(_b(p) for p in parts), usedforsecurity=False).hexdigest()


def digest_ha1(user: str | bytes, realm: str | bytes, password: str | bytes) -> str:
    """HA1 = md5hex(user:realm:password) (4.4)."""
    return md5_hex(user, realm, password)


def digest_ha2(method: str = DIGEST_METHOD, uri: str | bytes = DIGEST_URI) -> str:
    """HA2 = md5hex(method:uri); always ``POST:/RedirectionService`` on the wire (4.4)."""
    return md5_hex(method, uri)


def digest_response(
    auth_type: AuthType | int,
    *,
    user: str | bytes,
    realm: str | bytes,
    password: str | bytes,
    nonce: str | bytes,
    nc: str | bytes = DEFAULT_NC,
    cnonce: str | bytes = b"",
    qop: str | bytes = QOP_AUTH,
) -> str:
    """The digest response for auth type 4 (with qop) or 3 (without), lowercase hex (4.4).

    Raises:
        ValueError: ``auth_type`` is not a digest type.
    """
    ha1 = digest_ha1(user, realm, password)
    ha2 = digest_ha2()
    if auth_type == AuthType.DIGEST:
        return md5_hex(ha1, nonce, nc, cnonce, qop, ha2)
    if auth_type == AuthType.DIGEST_NO_QOP:
        return md5_hex(ha1, nonce, ha2)
    raise ValueError(f"auth type {auth_type} is not a digest type")


def make_realm(random_bytes: RandomBytes = secrets.token_bytes) -> str:
    """A realm like real AMT's: ``Digest:`` + 32 uppercase hex digits (4.4)."""
    return "Digest:" + random_bytes(16).hex().upper()


def make_nonce(random_bytes: RandomBytes = secrets.token_bytes) -> str:
    """A 32-character base64 nonce (amtterm HEAD accepts at most 32 bytes, 4.4)."""
    return base64.b64encode(random_bytes(24)).decode("ascii")


def make_cnonce(random_bytes: RandomBytes = secrets.token_bytes) -> str:
    """A 32-hex-digit client nonce, as MeshCommander sends (4.4)."""
    return random_bytes(16).hex()


def responses_match(expected: str | bytes, received: str | bytes) -> bool:
    """Compare two hex digests case-insensitively, in constant time (12)."""
    return secrets.compare_digest(_b(expected).lower(), _b(received).lower())


# --- the three auth-data payloads a console builds (4.3, 4.4) ------------------------------------


def initial_digest_request(auth_type: AuthType | int, user: str | bytes) -> DigestRequest:
    """Step 1 of 4.4: user and URI set, every other element empty; qop (empty) only for type 4."""
    qop = b"" if auth_type == AuthType.DIGEST else None
    return DigestRequest(_b(user), b"", b"", DIGEST_URI.encode(), b"", b"", b"", qop)


def full_digest_request(
    auth_type: AuthType | int,
    challenge: DigestChallenge,
    *,
    user: str | bytes,
    password: str | bytes,
    cnonce: str,
    nc: str = DEFAULT_NC,
) -> DigestRequest:
    """Step 3 of 4.4: every element filled; qop ``auth`` for type 4, absent for type 3."""
    response = digest_response(
        auth_type,
        user=user,
        realm=challenge.realm,
        password=password,
        nonce=challenge.nonce,
        nc=nc,
        cnonce=cnonce,
    )
    qop = QOP_AUTH.encode() if auth_type == AuthType.DIGEST else None
    return DigestRequest(
        _b(user),
        challenge.realm,
        challenge.nonce,
        DIGEST_URI.encode(),
        cnonce.encode(),
        nc.encode(),
        response.encode(),
        qop,
    )


def verify_digest_request(
    auth_type: AuthType | int,
    request: DigestRequest,
    *,
    password: str | bytes | None,
    realm: str | bytes,
    nonce: str | bytes,
) -> bool:
    """Device side of 4.4 step 4: is ``request`` a correct answer to our challenge?

    The realm and nonce must be the ones we sent, type 4 must carry qop
    ``auth``; nc and cnonce are taken as sent (12). ``password`` None means an
    unknown user: a dummy comparison still runs so timing does not tell.
    """
    expected = digest_response(
        auth_type,
        user=request.user,
        realm=realm,
        password=password if password is not None else b"",
        nonce=nonce,
        nc=request.nc,
        cnonce=request.cnonce,
    )
    matches = responses_match(expected, request.response)
    if auth_type == AuthType.DIGEST and request.qop != QOP_AUTH.encode():
        return False
    return matches and password is not None and request.realm == _b(realm) and request.nonce == _b(nonce)


def verify_plain(password: str | bytes | None, received: bytes) -> bool:
    """Device side of type 1: constant-time password comparison; None (unknown user) never matches."""
    expected = _b(password) if password is not None else received + b"!"
    return secrets.compare_digest(expected, received) and password is not None

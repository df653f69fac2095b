"""Digest computations against the worked example of redirection.md 4.4."""

from __future__ import annotations

import re

import pytest

from amtterm.redir import auth
from amtterm.redir.constants import AuthType
from amtterm.redir.messages import DigestChallenge, DigestRequest
from tests.redir.pipe import CNONCE, NONCE, PASSWORD, REALM, USER, fixed_random, nonce_random


def test_ha1_ha2() -> None:
    assert auth.digest_ha1(USER, REALM, PASSWORD) == "2dd27e52dab78fa3732f7accb948813e"
    assert auth.digest_ha2() == "63719ae578d1b7ff84edbc5762bd658b"


def test_type_4_response_uses_nc_cnonce_and_qop() -> None:
    response = auth.digest_response(
        AuthType.DIGEST, user=USER, realm=REALM, password=PASSWORD, nonce=NONCE, nc="00000002", cnonce=CNONCE
    )
    assert response == "f532e2f93545b8a6d8a143907cdf5100"


def test_type_3_response_ignores_nc_and_cnonce() -> None:
    for cnonce in (CNONCE, "", "whatever"):
        response = auth.digest_response(
            AuthType.DIGEST_NO_QOP, user=USER, realm=REALM, password=PASSWORD, nonce=NONCE, cnonce=cnonce
        )
        assert response == "85ad2e8768fb46fa239aa18fe1ad7bd4"


def test_bytes_and_str_give_the_same_digest() -> None:
    as_str = auth.digest_response(AuthType.DIGEST, user=USER, realm=REALM, password=PASSWORD, nonce=NONCE)
    as_bytes = auth.digest_response(
        AuthType.DIGEST, user=b"admin", realm=REALM.encode(), password=b"P@ssw0rd", nonce=NONCE.encode()
    )
    assert as_str == as_bytes


def test_non_digest_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a digest type"):
        auth.digest_response(AuthType.PLAIN, user=USER, realm=REALM, password=PASSWORD, nonce=NONCE)


def test_realm_nonce_cnonce_shapes() -> None:
    # 4.4: realm "Digest:" + 32 uppercase hex, nonce 32 chars, cnonce 32 hex.
    assert re.fullmatch(r"Digest:[0-9A-F]{32}", auth.make_realm())
    assert len(auth.make_nonce()) == 32
    assert re.fullmatch(r"[0-9a-f]{32}", auth.make_cnonce())
    assert auth.make_realm() != auth.make_realm()


def test_randomness_is_injectable() -> None:
    assert auth.make_realm(fixed_random(bytes(range(16)))) == "Digest:000102030405060708090A0B0C0D0E0F"
    assert auth.make_nonce(nonce_random()) == NONCE
    assert auth.make_cnonce(fixed_random(bytes.fromhex(CNONCE))) == CNONCE


def test_responses_match_is_case_insensitive() -> None:
    assert auth.responses_match("f532e2f93545b8a6d8a143907cdf5100", b"F532E2F93545B8A6D8A143907CDF5100")
    assert not auth.responses_match("f532e2f93545b8a6d8a143907cdf5100", "f532e2f93545b8a6d8a143907cdf5101")
    assert not auth.responses_match("f532e2f93545b8a6d8a143907cdf5100", "")


def test_initial_requests() -> None:
    uri = b"/RedirectionService"
    assert auth.initial_digest_request(AuthType.DIGEST, USER) == DigestRequest(
        b"admin", b"", b"", uri, b"", b"", b"", b""
    )
    assert auth.initial_digest_request(AuthType.DIGEST_NO_QOP, USER).qop is None
    assert auth.initial_digest_request(AuthType.DIGEST, USER).is_initial


def _full(auth_type: AuthType, password: str = PASSWORD) -> DigestRequest:
    qop = b"auth" if auth_type is AuthType.DIGEST else None
    challenge = DigestChallenge(REALM.encode(), NONCE.encode(), qop)
    return auth.full_digest_request(auth_type, challenge, user=USER, password=password, cnonce=CNONCE)


def test_full_request_fields() -> None:
    request = _full(AuthType.DIGEST)
    assert request.response == b"f532e2f93545b8a6d8a143907cdf5100"
    assert (request.nc, request.cnonce, request.qop) == (b"00000002", CNONCE.encode(), b"auth")
    assert len(request.encode()) == 179  # the TRACE length of 4.4
    request3 = _full(AuthType.DIGEST_NO_QOP)
    assert request3.response == b"85ad2e8768fb46fa239aa18fe1ad7bd4"
    assert request3.qop is None


@pytest.mark.parametrize("auth_type", [AuthType.DIGEST, AuthType.DIGEST_NO_QOP])
def test_device_verification(auth_type: AuthType) -> None:
    def verify(request: DigestRequest, password: str | None = PASSWORD, nonce: str = NONCE) -> bool:
        return auth.verify_digest_request(auth_type, request, password=password, realm=REALM, nonce=nonce)

    good = _full(auth_type)
    assert verify(good)
    # Uppercase hex from a client is fine (12).
    assert verify(DigestRequest(**{**good.__dict__, "response": good.response.upper()}))
    assert not verify(_full(auth_type, "wrong"))
    assert not verify(good, password=None)  # unknown user
    assert not verify(good, nonce="a different nonce of 32 chars...")  # stale nonce
    assert not verify(DigestRequest(**{**good.__dict__, "realm": b"Digest:0"}))


def test_type_4_needs_qop_auth() -> None:
    good = _full(AuthType.DIGEST)
    bad = DigestRequest(**{**good.__dict__, "qop": b"auth-int"})
    assert not auth.verify_digest_request(AuthType.DIGEST, bad, password=PASSWORD, realm=REALM, nonce=NONCE)


def test_verify_plain() -> None:
    assert auth.verify_plain(PASSWORD, b"P@ssw0rd")
    assert not auth.verify_plain(PASSWORD, b"p@ssw0rd")
    assert not auth.verify_plain(None, b"P@ssw0rd")
    assert auth.verify_plain("", b"")  # an empty password is a password

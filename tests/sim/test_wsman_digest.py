"""The simulator's digest gate: AMT's challenge, lenient parsing, strict hashing, lockout (wsman.md §2)."""

from __future__ import annotations

import hashlib
import re

import pytest

from amtterm.sim.wsman.digest import DigestGate, Verdict, parse_authorization

REALM = "Digest:727734D63A1FC0423736E48DA554E462"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def answer(
    nonce: str, *, password: str = "secret", nc: str = "00000001", style: str = "meshcommander"
) -> str:
    ha1 = md5(f"admin:{REALM}:{password}")
    ha2 = md5("POST:/wsman")
    response = md5(f"{ha1}:{nonce}:{nc}:abcdef:auth:{ha2}")
    common = (
        f'username="admin", realm="{REALM}", nonce="{nonce}", uri="/wsman", '
        f'response="{response}", cnonce="abcdef"'
    )
    if style == "meshcommander":
        return f"Digest {common}, qop=auth, nc={nc}"
    if style == "go":
        return f'Digest {common}, qop="auth", nc="{nc}"'
    return f"Digest {common}, qop=auth, nc={nc}, algorithm=MD5"  # httpx


def nonce_of(challenge: str) -> str:
    match = re.search(r'nonce="([^"]+)"', challenge)
    assert match
    return match.group(1)


@pytest.fixture
def gate() -> DigestGate:
    return DigestGate("admin", "secret", REALM)


def test_challenge_looks_like_amts(gate: DigestGate) -> None:
    challenge = gate.challenge(0.0)
    assert re.fullmatch(
        r'Digest realm="Digest:727734D63A1FC0423736E48DA554E462", '
        r'nonce="[A-Za-z0-9+/]{32}",stale="false",qop="auth"',
        challenge,
    )
    assert "opaque" not in challenge and "algorithm" not in challenge


@pytest.mark.parametrize("style", ["meshcommander", "go", "httpx"])
def test_every_clients_format_is_accepted(gate: DigestGate, style: str) -> None:
    nonce = nonce_of(gate.challenge(0.0))
    assert gate.check(answer(nonce, style=style), "POST", "/wsman", 1.0) is Verdict.OK


def test_nc_is_hashed_as_received_and_nonces_are_reusable(gate: DigestGate) -> None:
    nonce = nonce_of(gate.challenge(0.0))
    assert gate.check(answer(nonce, nc="1"), "POST", "/wsman", 1.0) is Verdict.OK  # MeshCentral: nc="1"
    assert gate.check(answer(nonce, nc="00000002"), "POST", "/wsman", 2.0) is Verdict.OK


def test_parse_authorization_handles_quotes_and_commas() -> None:
    params = parse_authorization('Digest username="a,b", qop=auth, nc=00000001, realm="x\\"y"')
    assert params == {"username": "a,b", "qop": "auth", "nc": "00000001", "realm": 'x"y'}
    assert parse_authorization("Basic YWRtaW46") is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h: re.sub(r'response="[0-9a-f]+"', 'response=""', h),  # CVE-2017-5689
        lambda h: re.sub(r'response="([0-9a-f]{16})[0-9a-f]+"', r'response="\1"', h),  # truncated
        lambda h: h.replace('username="admin"', 'username="root"'),
        lambda h: h.replace('uri="/wsman"', 'uri="/other"'),
        lambda h: h.replace(REALM, "Digest:00000000000000000000000000000000"),
    ],
    ids=["empty-response", "truncated-response", "other-user", "other-uri", "other-realm"],
)
def test_bad_responses_fail(gate: DigestGate, mangle: object) -> None:
    nonce = nonce_of(gate.challenge(0.0))
    header = mangle(answer(nonce))  # type: ignore[operator]
    assert gate.check(header, "POST", "/wsman", 1.0) is Verdict.FAILED


def test_wrong_password_fails_and_no_credentials_is_a_challenge(gate: DigestGate) -> None:
    nonce = nonce_of(gate.challenge(0.0))
    assert gate.check(answer(nonce, password="wrong"), "POST", "/wsman", 1.0) is Verdict.FAILED
    assert gate.check(None, "POST", "/wsman", 1.0) is Verdict.CHALLENGE
    assert gate.failures == 1


def test_unknown_nonce_with_right_password_is_stale_not_a_failure(gate: DigestGate) -> None:
    assert gate.check(answer("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "POST", "/wsman", 1.0) is Verdict.STALE
    assert gate.failures == 0
    assert 'stale="true"' in gate.challenge(1.0, stale=True)


def test_lockout_grows_from_5_to_80_seconds_and_resets_after_an_hour(gate: DigestGate) -> None:
    nonce = nonce_of(gate.challenge(0.0))
    now = 1.0
    for lock in (5.0, 10.0, 20.0, 40.0, 80.0, 80.0):
        for _ in range(10):
            assert gate.check(answer(nonce, password="x"), "POST", "/wsman", now) is Verdict.FAILED
        nonce = nonce_of(gate.challenge(now))
        assert gate.check(answer(nonce), "POST", "/wsman", now) is Verdict.LOCKED  # even the right password
        assert gate.check(answer(nonce), "POST", "/wsman", now + lock - 0.1) is Verdict.LOCKED
        now += lock
    nonce = nonce_of(gate.challenge(now + 3600))
    assert gate.check(answer(nonce), "POST", "/wsman", now + 3600) is Verdict.OK
    assert gate.next_lock == 5.0


def test_a_success_resets_the_failure_count(gate: DigestGate) -> None:
    nonce = nonce_of(gate.challenge(0.0))
    for _ in range(9):
        gate.check(answer(nonce, password="x"), "POST", "/wsman", 1.0)
    assert gate.check(answer(nonce), "POST", "/wsman", 1.0) is Verdict.OK
    for _ in range(9):
        gate.check(answer(nonce, password="x"), "POST", "/wsman", 1.0)
    assert gate.check(answer(nonce), "POST", "/wsman", 1.0) is Verdict.OK

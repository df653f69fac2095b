"""HTTP Digest authentication as AMT does it, with its anti-hammering lockout (wsman.md §2).

* Challenge: ``Digest realm="Digest:<32 HEX>", nonce="<32 base64>",stale="false",qop="auth"``
  (AMT's odd space/no-space mix kept), no ``opaque``, no ``algorithm`` (§2.1).
* Response: RFC 2617 MD5 with qop=auth; ``nc`` is hashed exactly as received; ``qop``,
  ``nc`` and ``algorithm`` may be quoted or not, and an extra ``algorithm=MD5`` is fine
  (§2.2). The response hash is compared in full, in constant time: an empty or truncated
  one is a failure (CVE-2017-5689).
* Nonce reuse with any ``nc`` is accepted while the nonce is known. A correct response for
  an unknown or expired nonce gets a fresh challenge with ``stale="true"`` and does not count
  as a failed login.
* Lockout (§2.4): after 10 failed logins in a row, every credentialed request is refused for
  5 s, the next lock lasts twice as long, up to 80 s; an hour without failures or a success
  resets it. While locked, correct credentials get 401 too.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Final

MAX_FAILURES: Final = 10
FIRST_LOCK: Final = 5.0
MAX_LOCK: Final = 80.0
QUIET_RESET: Final = 3600.0
NONCE_LIFETIME: Final = 600.0
MAX_NONCES: Final = 256


class Verdict(enum.Enum):
    """The outcome of checking one request's ``Authorization`` header."""

    OK = "ok"
    CHALLENGE = "challenge"  # no credentials: answer with a challenge
    STALE = "stale"  # right credentials, unknown or expired nonce
    FAILED = "failed"  # wrong credentials (counts toward the lockout)
    LOCKED = "locked"  # credentials sent while the account is locked


def parse_authorization(header: str) -> dict[str, str] | None:
    """The parameters of a ``Digest`` Authorization header; values quoted or not.

    Returns:
        A dict of lower-case keys, or None when the header is not Digest.
    """
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " ,\t":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lower()
        i = eq + 1
        if i < n and rest[i] == '"':
            end = i + 1
            value_chars: list[str] = []
            while end < n and rest[end] != '"':
                if rest[end] == "\\" and end + 1 < n:
                    end += 1
                value_chars.append(rest[end])
                end += 1
            params[key] = "".join(value_chars)
            i = end + 1
        else:
            end = rest.find(",", i)
            end = n if end < 0 else end
            params[key] = rest[i:end].strip()
            i = end
    return params


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@dataclass
class DigestGate:
    """Checks credentials for one device account and keeps its lockout.

    Attributes:
        user: the account name.
        password: its password.
        realm: ``Digest:`` + 32 hex, equal to AMT_GeneralSettings.DigestRealm.
    """

    user: str
    password: str
    realm: str
    nonces: dict[str, float] = field(default_factory=dict)
    failures: int = 0
    last_failure: float = float("-inf")
    locked_until: float = float("-inf")
    next_lock: float = FIRST_LOCK

    def challenge(self, now: float, *, stale: bool = False) -> str:
        """A new ``WWW-Authenticate`` value with a fresh 24-byte nonce."""
        nonce = base64.b64encode(secrets.token_bytes(24)).decode("ascii")
        self.nonces[nonce] = now
        while len(self.nonces) > MAX_NONCES:
            del self.nonces[next(iter(self.nonces))]
        flag = "true" if stale else "false"
        return f'Digest realm="{self.realm}", nonce="{nonce}",stale="{flag}",qop="auth"'

    def locked(self, now: float) -> bool:
        """Whether credentialed requests are refused now."""
        return now < self.locked_until

    def check(self, header: str | None, method: str, path: str, now: float) -> Verdict:
        """Judge one request's ``Authorization`` header (None when absent)."""
        if now - self.last_failure >= QUIET_RESET:
            self.failures = 0
            self.next_lock = FIRST_LOCK
        if header is None:
            return Verdict.CHALLENGE
        params = parse_authorization(header)
        if params is None:
            return Verdict.CHALLENGE
        if self.locked(now):
            return Verdict.LOCKED
        if not self._hash_matches(params, method, path):
            return self._fail(now)
        issued = self.nonces.get(params.get("nonce", ""))
        if issued is None or now - issued > NONCE_LIFETIME:
            return Verdict.STALE
        self.failures = 0
        self.next_lock = FIRST_LOCK
        return Verdict.OK

    def _hash_matches(self, params: dict[str, str], method: str, path: str) -> bool:
        response = params.get("response", "")
        if params.get("username") != self.user or params.get("realm") != self.realm:
            return False
        if params.get("algorithm", "MD5").upper() != "MD5" or params.get("uri") != path:
            return False
        ha1 = _md5(f"{self.user}:{self.realm}:{self.password}")
        ha2 = _md5(f"{method}:{path}")
        nonce = params.get("nonce", "")
        qop = params.get("qop")
        if qop is None:
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        elif qop == "auth" and params.get("nc") and params.get("cnonce"):
            expected = _md5(f"{ha1}:{nonce}:{params['nc']}:{params['cnonce']}:{qop}:{ha2}")
        else:
            return False
        return len(response) == len(expected) and hmac.compare_digest(response.lower(), expected)

    def _fail(self, now: float) -> Verdict:
        self.failures += 1
        self.last_failure = now
        if self.failures >= MAX_FAILURES:
            self.locked_until = now + self.next_lock
            self.next_lock = min(self.next_lock * 2, MAX_LOCK)
            self.failures = 0
        return Verdict.FAILED

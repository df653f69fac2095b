"""Which address, port and security a SOL session dials, from a hosts-file entry and the options."""

from __future__ import annotations

import pytest

from amtterm.config import HostEntry
from amtterm.session.endpoint import resolve_sol


@pytest.mark.parametrize(
    ("tls", "plain", "expected"),
    [
        (None, None, (2000, True)),  # the entry's port, TLS by default
        (None, True, (2000, False)),  # an entry that does not say: its port either way
        (True, None, (2000, True)),
        (True, True, (16994, False)),  # -P on a TLS entry: the plain default, not its TLS port
        (False, None, (2000, False)),
        (False, False, (16995, True)),  # forced TLS on a plain entry: the TLS default
    ],
)
def test_the_entrys_port_goes_with_its_own_tls_choice(
    tls: bool | None, plain: bool | None, expected: tuple[int, bool]
) -> None:
    entry = HostEntry(name="pc42", address="10.0.0.42", tls=tls, redir_port=2000)
    endpoint = resolve_sol(entry, "pw", plain=plain)
    assert (endpoint.port, endpoint.tls is not None) == expected


def test_an_explicit_port_wins_and_the_password_is_asked_for_the_resolved_user() -> None:
    asked: list[str] = []

    def password(user: str) -> str:
        asked.append(user)
        return "secret"

    entry = HostEntry(name="pc42", address="10.0.0.42", user="ops", tls=True, redir_port=2000)
    endpoint = resolve_sol(entry, password, port=3000)
    assert endpoint.port == 3000
    assert asked == ["ops"]
    assert endpoint.config.user == "ops" and endpoint.config.password == "secret"

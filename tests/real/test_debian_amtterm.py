"""Debian's classic amtterm (1.4, a SOL client no one here wrote) against `amtterm sim`.

It speaks legacy plain auth on the plain port, needs a terminal, and throws away
bytes that follow some messages in one read: the simulator must pace its writes so
that this client loses nothing (redirection.md section 11).
"""

from __future__ import annotations

import pytest

from tests.support.ptyproc import PtyProcess
from tests.support.simproc import SimProcess

pytestmark = pytest.mark.real

DEBIAN_AMTTERM = "/usr/bin/amtterm"
F2_VT100 = b"\x1bOQ"


def run_debian_amtterm(env: dict[str, str], port: int, password: str) -> PtyProcess:
    return PtyProcess(
        [DEBIAN_AMTTERM, "-u", "admin", "127.0.0.1", str(port)], env=dict(env, AMT_PASSWORD=password)
    )


def test_debian_amtterm_sees_post_and_enters_setup(sim: SimProcess, env: dict[str, str]) -> None:
    assert sim.plain_port
    client = run_debian_amtterm(env, sim.plain_port, sim.password)
    try:
        client.expect(b"Press F2", timeout=20)
        client.send(F2_VT100)
        client.expect(b"Save & Exit", timeout=10)
        # Arrow keys reach the setup screen and it redraws: Right moves to the next tab.
        before = len(client.output)
        client.send(b"\x1b[C")
        client.drain(1.0)
        assert len(client.output) > before, "setup did not redraw after an arrow key"
        # Ctrl-] at the start of a read ends the session the classic way.
        client.send(b"\x1d")
        assert client.wait(10) == 0
    finally:
        client.close()
    assert b"authentication failed" not in client.output
    assert b"unknown r->buf" not in client.output


def test_debian_amtterm_wrong_password_is_refused(sim: SimProcess, env: dict[str, str]) -> None:
    assert sim.plain_port
    client = run_debian_amtterm(env, sim.plain_port, "not-the-password")
    try:
        client.wait(15)
    finally:
        client.close()
    assert b"authentication failed" in client.output
    assert b"Press F2" not in client.output


def test_debian_amtterm_refused_by_amt12_profile(env: dict[str, str]) -> None:
    """AMT 12 and later refuse plain auth: the old client must fail the way it fails on real AMT 12."""
    from tests.support.simproc import start_sim

    sim = start_sim(env, "--amt-version", "12.0", tls=False)
    try:
        assert sim.plain_port
        client = run_debian_amtterm(env, sim.plain_port, sim.password)
        try:
            client.wait(15)
        finally:
            client.close()
        assert b"authentication failed" in client.output
    finally:
        sim.stop()

"""A script's `printf 'uname -a\\n' | amtterm sol -P HOST` gets the answer (issue 12).

Before, end of input ended the session at once, before the remote answered: nothing was printed.
Now the session lingers until the remote has been quiet for ``--linger`` seconds (default 1).
"""

from __future__ import annotations

import subprocess
import time

from tests.support.ptyproc import PtyProcess
from tests.support.simproc import SimProcess, amtterm_argv


def log_in(sim: SimProcess, env: dict[str, str]) -> None:
    """Boot the simulated PC to its shell with a console on a terminal, then leave it there."""
    term = PtyProcess([*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port)], env=env)
    try:
        deadline = time.monotonic() + 60
        while b"login:" not in term.drain(1.0) and time.monotonic() < deadline:
            term.send(b"\r")
        term.send(b"root\r")
        term.expect(b"Password:", timeout=10)
        since = len(term.output)
        term.send(b"secret\r")
        term.expect(b"$ ", timeout=10, since=since)
        term.send(b"\x1d")
        assert term.wait(10) == 0
    finally:
        term.close()


def test_piped_command_gets_its_answer(sim: SimProcess, env: dict[str, str]) -> None:
    run_env = dict(env, AMT_PASSWORD=sim.password)
    log_in(sim, run_env)
    started = time.monotonic()
    done = subprocess.run(
        [*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port)],
        input=b"uname -a\n",
        env=run_env,
        capture_output=True,
        timeout=60,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert b"Linux demo" in done.stdout and b"x86_64" in done.stdout, done.stdout
    assert b"Traceback" not in done.stderr
    assert took < 20


def test_linger_zero_ends_at_end_of_input(sim: SimProcess, env: dict[str, str]) -> None:
    done = subprocess.run(
        [*amtterm_argv(), "sol", "-P", "--linger", "0", "127.0.0.1", str(sim.plain_port)],
        input=b"",
        env=dict(env, AMT_PASSWORD=sim.password),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr

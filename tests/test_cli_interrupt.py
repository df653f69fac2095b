"""The first Ctrl-C at a question on the terminal quits at once, the terminal as it was (issue 12).

Before, inside asyncio.run the ^C was echoed and ignored at the password prompt and at the
certificate's [y/N] question; a second one was needed.
"""

from __future__ import annotations

import termios

from tests.support.ptyproc import PtyProcess
from tests.support.simproc import SimProcess, amtterm_argv


def interrupt_at(term: PtyProcess, question: bytes) -> int:
    term.expect(question, timeout=20)
    term.drain(0.3)
    echo_during = termios.tcgetattr(term.master)[3] & termios.ECHO
    term.send(b"\x03")
    assert term.wait(5) == 130, bytes(term.output)
    tail = bytes(term.output).rsplit(question, 1)[-1]
    assert b"amtterm: interrupted" in tail and b"Traceback" not in tail, tail
    return echo_during


def test_ctrl_c_at_the_password_prompt(sim: SimProcess, env: dict[str, str]) -> None:
    term = PtyProcess([*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port)], env=env)
    try:
        assert not interrupt_at(term, b"AMT password for admin@127.0.0.1")
        assert termios.tcgetattr(term.master)[3] & termios.ECHO  # echo is back on
    finally:
        term.close()


def test_ctrl_c_at_the_certificate_question(sim_modern: SimProcess, env: dict[str, str]) -> None:
    term = PtyProcess(
        [*amtterm_argv(), "sol", "127.0.0.1", str(sim_modern.tls_port)],
        env=dict(env, AMT_PASSWORD=sim_modern.password),
    )
    try:
        interrupt_at(term, b"[y/N]")
        assert termios.tcgetattr(term.master)[3] & termios.ECHO
    finally:
        term.close()

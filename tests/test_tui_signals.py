"""SIGTERM or SIGHUP to the console (or to raw `sol`) leaves the terminal as it found it, and the
process ends (issue 12).

Before, the default action killed the process inside the alternate screen, with mouse tracking on
and the cursor hidden.
"""

from __future__ import annotations

import signal
import termios
from pathlib import Path

import pytest

from tests.support.ptyproc import PtyProcess
from tests.support.simproc import amtterm_argv, isolated_env, sol_at_post

LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1000l"
CURSOR_ON = b"\x1b[?25h"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_restores_the_terminal(tmp_path: Path, how: signal.Signals) -> None:
    term = PtyProcess([*amtterm_argv(), "demo"], env=isolated_env(tmp_path), cols=120, rows=40)
    try:
        term.expect(b"Press F2", timeout=60)
        before = len(term.output)
        term.proc.send_signal(how)
        status = term.wait(15)
    finally:
        term.close()
    assert status == 128 + how
    after = bytes(term.output[before:])
    for sequence in (LEAVE_ALTERNATE_SCREEN, MOUSE_OFF, CURSOR_ON):
        assert sequence in after, after
    # Nothing turns them back on afterwards.
    assert after.rfind(b"\x1b[?1049h") < after.rfind(LEAVE_ALTERNATE_SCREEN)
    assert after.rfind(b"\x1b[?25l") < after.rfind(CURSOR_ON)
    assert b"Traceback" not in after


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_raw_sol_restores_the_terminal_modes(tmp_path: Path, how: signal.Signals) -> None:
    """`amtterm sol` puts the terminal in raw mode; a signal must not leave it there."""
    with sol_at_post(tmp_path) as (_, term):
        assert not termios.tcgetattr(term.master)[3] & termios.ECHO  # raw while it runs
        term.proc.send_signal(how)
        status = term.wait(15)
        local = termios.tcgetattr(term.master)[3]
    assert status == 128 + how
    assert local & termios.ECHO and local & termios.ICANON
    assert b"Traceback" not in term.output

"""The device goes away under `amtterm sol` (issue 12): one sentence and a non-zero status.

And `amtterm sim` stopped with Ctrl-C (SIGINT) while a console is attached says "stopped" without
a CancelledError traceback.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.simproc import sol_at_post


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_sol_says_the_device_went_away(tmp_path: Path, how: signal.Signals) -> None:
    with sol_at_post(tmp_path) as (sim, term):
        sim.proc.send_signal(how)
        sim.proc.wait(10)
        assert sim.proc.stdout is not None
        sim_said = sim.proc.stdout.read().decode()
        status = term.wait(15)
    assert status == 1
    said = term.output.decode("latin-1").rsplit("Press F2", 1)[-1]
    assert "amtterm: 127.0.0.1:" in said and "the device went away" in said, said
    assert said.count("amtterm:") == 1 and "Traceback" not in said
    if how != signal.SIGKILL:
        assert "amtterm sim: stopped" in sim_said
        assert "Traceback" not in sim_said and "CancelledError" not in sim_said, sim_said

"""One password rule for every command and the Python API, most specific first:
``-p``, then the host's own hosts-file entry (``password_env`` / ``password_command``), then
``AMT_PASSWORD``, then a prompt (the Python API never prompts).

Each end-to-end test gives the host's entry the right password and ``AMT_PASSWORD`` a wrong one
(an admin with one variable for the lab and a per-host secret for one machine): ``sol``,
``power``, the console and ``amtterm.expect.connect`` must all log on.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from amtterm.config import HostEntry, known_password
from amtterm.expect import connect
from tests.support.simproc import SimProcess, amtterm_argv, start_sim
from tests.support.tmux import Tmux, tmux_running

RIGHT = "Sim-Pass-123!"
WRONG = "not-the-lab-password"

Lab = tuple[SimProcess, Path, dict[str, str]]


def test_the_rule_most_specific_first() -> None:
    entry = HostEntry(name="pc", address="pc", password_env="PC_PW")
    environ = {"PC_PW": "from-entry", "AMT_PASSWORD": "from-env"}
    assert known_password(entry, "given", environ=environ) == "given"
    assert known_password(entry, None, environ=environ) == "from-entry"
    assert known_password(HostEntry(name="pc", address="pc"), None, environ=environ) == "from-env"
    assert known_password(HostEntry(name="pc", address="pc"), None, environ={}) is None


@pytest.fixture
def lab(env: dict[str, str], tmp_path: Path) -> Iterator[Lab]:
    """A plain simulator with WS-Man, a hosts file naming it ``pc`` with its own password_env."""
    sim = start_sim(env, wsman=True)
    hosts = tmp_path / "hosts.toml"
    hosts.write_text(
        "[hosts.pc]\n"
        'address = "127.0.0.1"\n'
        "tls = false\n"
        f"redir_port = {sim.plain_port}\n"
        f"wsman_port = {sim.wsman_port}\n"
        'password_env = "PC_PW"\n'
    )
    yield sim, hosts, dict(env, AMT_PASSWORD=WRONG, PC_PW=RIGHT)
    sim.stop()


def test_sol_takes_the_hosts_entry_before_amt_password(lab: Lab) -> None:
    _, hosts, env = lab
    result = subprocess.run(
        [*amtterm_argv(), "sol", "pc", "--hosts-file", str(hosts), "-v"],
        input=b"",
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert b"connected to 127.0.0.1" in result.stderr


def test_power_takes_the_hosts_entry_before_amt_password(
    lab: Lab,
) -> None:
    _, hosts, env = lab
    result = subprocess.run(
        [*amtterm_argv(), "power", "pc", "status", "--hosts-file", str(hosts)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pc: ")


def test_minus_p_wins_over_the_hosts_entry(lab: Lab) -> None:
    _, hosts, env = lab
    result = subprocess.run(
        [*amtterm_argv(), "power", "pc", "status", "--hosts-file", str(hosts), "-p", WRONG],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode != 0
    assert "password" in result.stderr.splitlines()[-1].lower()


async def test_expect_connect_takes_the_hosts_entry_before_amt_password(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, hosts, _ = lab
    monkeypatch.setenv("AMT_PASSWORD", WRONG)
    monkeypatch.setenv("PC_PW", RIGHT)
    async with connect("pc", hosts_file=hosts) as console:
        await console.expect("Press F2", timeout=30)


@pytest.mark.real
def test_the_console_takes_the_hosts_entry_before_amt_password(lab: Lab, tmp_path: Path) -> None:
    _, hosts, env = lab
    server: Iterator[Tmux] = tmux_running(env, tmp_path, [*amtterm_argv(), "pc", "--hosts-file", str(hosts)])
    tmux = next(server)
    try:
        tmux.wait_for("Press F2", timeout=30)
    finally:
        server.close()

"""Words the command line cannot use are refused with one sentence and exit 2, never run with.

Issue 12: ``--prefix nonsense`` locked the user in; a port of 70000 ended in ``internal error:
OverflowError``; ``amtterm power HOST restart`` and ``amtterm HOST 16994`` took the second word for
a second host and dialled it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.simproc import amtterm_argv


def run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*amtterm_argv(), *argv],
        env=dict(env, AMT_PASSWORD="secret"),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def one_sentence(done: subprocess.CompletedProcess[str]) -> str:
    err = done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert done.stdout == ""
    return err


@pytest.mark.parametrize("prefix", ["nonsense", "ctrl+nonsense", "escape", "f25"])
def test_a_prefix_that_is_no_usable_key_is_refused(env: dict[str, str], prefix: str) -> None:
    done = run(env, "--prefix", prefix, "127.0.0.1")
    assert done.returncode == 2
    assert "--prefix" in one_sentence(done)
    assert "needs a terminal" not in done.stderr  # refused before anything else


@pytest.mark.parametrize(
    "argv",
    [
        ["sol", "127.0.0.1", "70000"],
        ["sol", "127.0.0.1", "-1"],
        ["expect", "127.0.0.1", "70000", "--wait", "x"],
        ["expect", "127.0.0.1", "-1", "--wait", "x"],
        ["expect", "127.0.0.1", "0", "--wait", "x"],
        ["share", "127.0.0.1", "70000"],
        ["power", "127.0.0.1", "--wsman-port", "70000"],
        ["ider", "127.0.0.1", "x.iso", "--redir-port", "99999"],
        ["sim", "--redir-port", "70000"],
    ],
)
def test_a_port_out_of_range_is_refused(env: dict[str, str], argv: list[str]) -> None:
    done = run(env, *argv)
    assert done.returncode == 2, done.stderr
    assert "port" in one_sentence(done)


def test_a_hosts_file_port_out_of_range_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.toml"
    hosts.write_text('[hosts.pc42]\naddress = "127.0.0.1"\nredir_port = 70000\n')
    done = run(env, "sol", "--hosts-file", str(hosts), "pc42")
    assert done.returncode == 2
    assert "redir_port must be a port number from 1 to 65535" in one_sentence(done)


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["power", "127.0.0.1", "restart"], "amtterm power 127.0.0.1 reset"),
        (["power", "127.0.0.1", "reboot"], "amtterm power 127.0.0.1 reset"),
        (["power", "shutdown", "127.0.0.1"], "amtterm power 127.0.0.1 soft-off"),
        (["power", "127.0.0.1", "16993"], "amtterm power 127.0.0.1 --wsman-port 16993"),
        (["127.0.0.1", "16994"], "amtterm sol 127.0.0.1 16994"),
        (["tui", "127.0.0.1", "16995"], "amtterm sol 127.0.0.1 16995"),
        (["127.0.0.1", "off"], "amtterm power 127.0.0.1 off"),
        (["127.0.0.1", "restart"], "amtterm power 127.0.0.1 reset"),
    ],
)
def test_an_action_or_a_port_is_not_taken_for_a_host(
    env: dict[str, str], argv: list[str], meant: str
) -> None:
    done = run(env, *argv)
    assert done.returncode == 2, done.stderr
    err = one_sentence(done)
    assert f"did you mean `{meant}`?" in err, err
    assert err.count("amtterm:") == 1


def test_a_hosts_file_name_that_looks_like_an_action_stays_a_host(
    env: dict[str, str], tmp_path: Path
) -> None:
    hosts = tmp_path / "hosts.toml"
    hosts.write_text('[hosts.up]\naddress = "127.0.0.1"\n[hosts.pc42]\naddress = "127.0.0.1"\n')
    done = run(env, "--hosts-file", str(hosts), "pc42", "up")
    assert done.returncode == 2
    assert "needs a terminal" in one_sentence(done)

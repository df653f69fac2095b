"""`amtterm expect --jump` and ``amtterm.expect.api(jump=...)`` through real OpenSSH sshd jump hosts.

The device is a real `amtterm sim` process on loopback; what proves the jump is used is sshd's log of
the direct-tcpip request to the simulator's port. HOME, the ssh config, known_hosts and the key live
in tmp, and no SSH agent of the real user is visible (see tests/real/test_jump_cli.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from amtterm.errors import ConfigError, JumpHostKeyError
from amtterm.expect import connect
from tests.real.test_jump_cli import closed_cleanly, forwarded_to, jump_args, jump_env, run
from tests.support.simproc import SimProcess
from tests.support.sshd import SshClientFiles, Sshd

pytestmark = [pytest.mark.real, pytest.mark.timeout(90)]

INTO_SETUP = ["--wait", "Press F2", "--send", "F2", "--wait", "Save & Exit", "--timeout", "20"]


@pytest.fixture
def private_home(ssh_client: SshClientFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """For the in-process API: HOME in tmp and no agent, as the CLI tests' environment has."""
    monkeypatch.setenv("HOME", str(ssh_client.home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


def hosts_file(tmp_path: Path, sim: SimProcess, *jumps: Sshd) -> Path:
    path = tmp_path / "hosts.toml"
    hops = ", ".join(f'"{server.spec}"' for server in jumps)
    path.write_text(
        f'[hosts.lab]\naddress = "127.0.0.1"\ntls = false\nredir_port = {sim.plain_port}\njump = [{hops}]\n'
    )
    return path


# -- the command line -----------------------------------------------------------------------------


def test_expect_through_a_jump_host_enters_bios_setup(
    sim: SimProcess, env: dict[str, str], jump_a: Sshd, ssh_client: SshClientFiles
) -> None:
    ssh_client.trust(jump_a)
    port = sim.tls_port
    assert port is not None
    # The sim fixture is AMT 11.8, which speaks only TLS 1.0/1.1: --tls-legacy reaches it.
    argv = ["expect", "127.0.0.1", str(port), "--accept-new", "--tls-legacy", *jump_args(ssh_client, jump_a)]
    done = run([*argv, *INTO_SETUP, "--screen"], jump_env(env, ssh_client, sim))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "Setup Utility" in done.stdout and "Save & Exit" in done.stdout
    assert forwarded_to(jump_a, port)
    assert closed_cleanly(jump_a)
    # TLS ran end to end: the pin is the device's, under its own address and port.
    pins = (Path(env["AMTTERM_CONFIG_DIR"]) / "known_hosts").read_text()
    assert f"127.0.0.1:{port} SHA256:" in pins


def test_expect_uses_the_hosts_file_jump_and_jump_none_skips_it(
    sim: SimProcess, env: dict[str, str], jump_a: Sshd, ssh_client: SshClientFiles, tmp_path: Path
) -> None:
    ssh_client.trust(jump_a)
    run_env = jump_env(env, ssh_client, sim)
    common = ["--hosts-file", str(hosts_file(tmp_path, sim, jump_a)), "--ssh-config", str(ssh_client.config)]
    done = run(["expect", "lab", *common, *INTO_SETUP], run_env)
    assert done.returncode == 0, done.stderr
    assert forwarded_to(jump_a, int(sim.plain_port or 0))
    channels = jump_a.log.read_text().count("direct-tcpip")
    # --jump none: straight to the device (loopback), the jump host is not asked again. (The PC sits
    # in BIOS setup now, so there is no POST to wait for: a session that opens and ends is enough.)
    direct = run(["expect", "lab", *common, "--jump", "none", "--sleep", "0.2"], run_env)
    assert direct.returncode == 0, direct.stderr
    assert jump_a.log.read_text().count("direct-tcpip") == channels


def test_expect_through_a_jump_host_it_cannot_use_is_one_sentence(
    sim: SimProcess, env: dict[str, str], jump_a: Sshd, ssh_client: SshClientFiles
) -> None:
    # The jump host's key is not in known_hosts and there is no terminal to ask on.
    argv = ["expect", "127.0.0.1", str(sim.plain_port), "-P", *jump_args(ssh_client, jump_a), *INTO_SETUP]
    done = run(argv, jump_env(env, ssh_client, sim))
    assert done.returncode not in (0, 3)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"The SSH host key of jump host {jump_a.spec}" in done.stderr


# -- the Python API ---------------------------------------------------------------------------


@pytest.mark.usefixtures("private_home")
async def test_connect_through_two_jump_hosts(
    sim: SimProcess, jump_a: Sshd, jump_b: Sshd, ssh_client: SshClientFiles
) -> None:
    ssh_client.trust(jump_a, jump_b)
    options = {"plain": True, "password": sim.password, "ssh_config": ssh_client.config}
    async with connect("127.0.0.1", sim.plain_port, jump=[jump_a.spec, jump_b.spec], **options) as console:
        await console.expect("Press F2", timeout=20)
        await console.send_keys("F2")
        await console.expect("Save & Exit", timeout=15)
        assert "Setup Utility" in console.screen_text()
    assert forwarded_to(jump_a, jump_b.port) and forwarded_to(jump_b, int(sim.plain_port or 0))
    assert not forwarded_to(jump_a, int(sim.plain_port or 0))
    # Leaving the block waited for the SSH disconnect of the outer jump host. (The inner one's
    # disconnect travels through it and sometimes loses the race with the outer close: not checked.)
    assert closed_cleanly(jump_a)


@pytest.mark.usefixtures("private_home")
async def test_connect_uses_the_hosts_file_jump_and_asks_about_an_unknown_key(
    sim: SimProcess, jump_a: Sshd, ssh_client: SshClientFiles, tmp_path: Path
) -> None:
    ssh_client.write_config("StrictHostKeyChecking ask")
    questions: list[str] = []

    def ask(question: str) -> bool:
        questions.append(question)
        return True

    hosts = hosts_file(tmp_path, sim, jump_a)
    options = {"hosts_file": hosts, "password": sim.password, "ssh_config": str(ssh_client.config)}
    async with connect("lab", ask=ask, **options) as console:
        await console.expect("Press F2", timeout=20)
    assert len(questions) == 1 and "SHA256:" in questions[0]
    assert ssh_client.known_hosts.read_text().strip() == jump_a.host_key_line  # added, as ssh does on yes
    assert forwarded_to(jump_a, int(sim.plain_port or 0))
    # Nobody to ask: the same unknown key (forgotten again) is refused in one sentence.
    ssh_client.known_hosts.write_text("")
    with pytest.raises(JumpHostKeyError, match=f"jump host {jump_a.spec} is not known"):
        await connect("lab", **options)


async def test_connect_checks_the_jump_spec_before_connecting() -> None:
    # One string is one spec (not a list of letters); port 9 on loopback is never dialled.
    with pytest.raises(ConfigError, match=r"^jump: the port of jump host 'bastion:99999' must be"):
        await connect("127.0.0.1", 9, plain=True, password="x", jump="bastion:99999")


def test_expect_bad_jump_spec_exits_2(env: dict[str, str]) -> None:
    argv = ["expect", "127.0.0.1", "9", "-P", "-J", "root@host:99999", "--wait", "x"]
    done = run(argv, dict(env, AMT_PASSWORD="x"))
    assert done.returncode == 2 and done.stderr.startswith("amtterm: --jump: "), done.stderr
    assert done.stderr.count("\n") == 1

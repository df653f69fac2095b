"""`amtterm sol / power / info / doctor / ider --jump` through real OpenSSH sshd jump hosts to `amtterm sim`.

Every run has HOME, the ssh config, known_hosts and the key in tmp, and no SSH agent of the real
user, so nothing reads or writes the real ``~/.ssh``. The simulator listens on 127.0.0.1 like the
sshd instances; what proves the jump is used is sshd's log of the direct-tcpip request (and, for the
refusals, sentences that only the jump path can produce).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redir.eltorito import build_iso
from tests.support.ptyproc import PtyProcess
from tests.support.simproc import SimProcess, amtterm_argv, start_sim
from tests.support.sshd import SshClientFiles, Sshd, closed_port, keygen
from tests.test_cli_ider import stop, wait_for_text

pytestmark = [pytest.mark.real, pytest.mark.timeout(90)]

F2_VT100 = b"\x1bOQ"


@pytest.fixture
def wsim(env: dict[str, str]) -> Iterator[SimProcess]:
    """An AMT 16 simulator: redirection over TLS only, WS-Man on HTTP and HTTPS."""
    process = start_sim(env, "--amt-version", "16.1", plain=False, wsman=True)
    yield process
    process.stop()


def jump_env(env: dict[str, str], ssh_client: SshClientFiles, sim: SimProcess) -> dict[str, str]:
    return dict(ssh_client.env(env), AMT_PASSWORD=sim.password)


def jump_args(ssh_client: SshClientFiles, *servers: Sshd) -> list[str]:
    args = ["--ssh-config", str(ssh_client.config)]
    for server in servers:
        args += ["--jump", server.spec]
    return args


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*amtterm_argv(), *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def forwarded_to(server: Sshd, port: int) -> bool:
    return f"target 127.0.0.1 port {port}" in server.log.read_text()


def sessions_ended(*servers: Sshd) -> bool:
    """Every SSH login on ``servers`` has ended, by our disconnect or by the hop before it closing.

    An inner hop's disconnect travels through the outer hop's channel, and sshd may drop it when
    the outer connection goes down just after; the inner sshd then logs "Connection closed".
    """
    for _ in range(50):
        logs = [server.log.read_text() for server in servers]
        ended = ("Disconnected by application", "Connection closed by", "Connection reset by")
        if all(log.count("Accepted publickey") == sum(log.count(word) for word in ended) for log in logs):
            return all("Accepted publickey" in log for log in logs)
        time.sleep(0.1)
    return False


def closed_cleanly(*servers: Sshd) -> bool:
    """Every SSH login on ``servers`` ended with our disconnect (nothing left open or dropped)."""
    for _ in range(50):
        logs = [server.log.read_text() for server in servers]
        if all(log.count("Accepted publickey") == log.count("Disconnected by application") for log in logs):
            return all("Accepted publickey" in log for log in logs)
        time.sleep(0.1)
    return False


def test_sol_through_a_jump_host_shows_post_and_setup(
    wsim: SimProcess, env: dict[str, str], jump_a: Sshd, ssh_client: SshClientFiles
) -> None:
    ssh_client.trust(jump_a)
    port = wsim.tls_port
    assert port is not None
    term = PtyProcess(
        [
            *amtterm_argv(),
            "sol",
            "127.0.0.1",
            str(port),
            "--accept-new",
            "-v",
            *jump_args(ssh_client, jump_a),
        ],
        env=jump_env(env, ssh_client, wsim),
    )
    try:
        term.expect(f"through {jump_a.spec}".encode(), timeout=20)
        term.expect(b"Press F2", timeout=20)
        term.send(F2_VT100)
        term.expect(b"Save & Exit", timeout=10)
        term.send(b"\r~.")
        assert term.wait(10) == 0
    finally:
        term.close()
    assert b"Traceback" not in term.output
    assert forwarded_to(jump_a, port)
    assert closed_cleanly(jump_a)
    # TLS ran end to end and the pin is keyed by the device's address and port.
    pins = (Path(env["AMTTERM_CONFIG_DIR"]) / "known_hosts").read_text()
    assert f"127.0.0.1:{port} SHA256:" in pins


def test_power_over_https_through_two_jump_hosts_with_the_pin_checked(
    wsim: SimProcess, env: dict[str, str], jump_a: Sshd, jump_b: Sshd, ssh_client: SshClientFiles
) -> None:
    ssh_client.trust(jump_a, jump_b)
    run_env = jump_env(env, ssh_client, wsim)
    port = str(wsim.wsman_tls_port)
    via = jump_args(ssh_client, jump_a, jump_b)
    first = run(
        ["power", "127.0.0.1", "status", "--wsman-port", port, "--accept-new", "--json", *via], run_env
    )
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["state"] in ("on", "off")
    assert forwarded_to(jump_a, jump_b.port) and forwarded_to(jump_b, int(port))
    assert not forwarded_to(jump_a, int(port))
    pins = Path(env["AMTTERM_CONFIG_DIR"]) / "known_hosts"
    assert f"127.0.0.1:{port} SHA256:" in pins.read_text()
    # The same hops as one comma-separated word (ssh -J a,b), and the pin is used silently.
    comma = ["--ssh-config", str(ssh_client.config), "-J", f"{jump_a.spec},{jump_b.spec}"]
    again = run(["info", "127.0.0.1", "--wsman-port", port, *comma], run_env)
    assert again.returncode == 0, again.stderr
    assert "AMT version:" in again.stdout and "16.1" in again.stdout
    # A swapped certificate behind the tunnel is still caught, under the device's address.
    pins.write_text(f"127.0.0.1:{port} SHA256:{'A' * 43}\n")
    changed = one_sentence(run(["power", "127.0.0.1", "--wsman-port", port, *via], run_env))
    assert "has changed" in changed and f"127.0.0.1:{port}" in changed
    assert closed_cleanly(jump_a)
    assert sessions_ended(jump_b)


def test_hosts_file_jump_field_for_sol_and_power(
    wsim: SimProcess, env: dict[str, str], jump_a: Sshd, ssh_client: SshClientFiles, tmp_path: Path
) -> None:
    ssh_client.trust(jump_a)
    hosts = tmp_path / "hosts.toml"
    hosts.write_text(
        "[hosts.lab]\n"
        'address = "127.0.0.1"\n'
        f"redir_port = {wsim.tls_port}\n"
        f"wsman_port = {wsim.wsman_tls_port}\n"
        f'jump = ["{jump_a.spec}"]\n'
    )
    run_env = jump_env(env, ssh_client, wsim)
    common = ["--hosts-file", str(hosts), "--ssh-config", str(ssh_client.config), "--accept-new"]
    power = run(["power", "lab", "status", *common], run_env)
    assert power.returncode == 0, power.stderr
    assert power.stdout.startswith("lab: ")
    assert forwarded_to(jump_a, int(wsim.wsman_tls_port or 0))
    term = PtyProcess([*amtterm_argv(), "sol", "lab", *common], env=run_env)
    try:
        term.expect(b"Press F2", timeout=20)
        term.send(b"\x1d")
        assert term.wait(10) == 0
    finally:
        term.close()
    assert forwarded_to(jump_a, int(wsim.tls_port or 0))
    # --jump none ignores the hosts file's jump: a direct connection (it works on loopback too).
    log_before = jump_a.log.read_text().count("direct-tcpip")
    direct = run(["power", "lab", "status", *common, "--jump", "none"], run_env)
    assert direct.returncode == 0, direct.stderr
    assert jump_a.log.read_text().count("direct-tcpip") == log_before


def test_doctor_probes_the_redirection_port_through_the_jump(
    wsim: SimProcess, env: dict[str, str], jump_a: Sshd, ssh_client: SshClientFiles
) -> None:
    ssh_client.trust(jump_a)
    argv = ["doctor", "127.0.0.1", "--wsman-port", str(wsim.wsman_tls_port), "--redir-port"]
    argv += [str(wsim.tls_port), "--accept-new", *jump_args(ssh_client, jump_a)]
    result = run(argv, jump_env(env, ssh_client, wsim))
    assert "[ok  ] tcp" in result.stdout, result.stdout + result.stderr
    assert "[ok  ] log-on" in result.stdout
    assert forwarded_to(jump_a, int(wsim.tls_port or 0))


def test_ider_through_a_jump_host(
    env: dict[str, str], jump_a: Sshd, ssh_client: SshClientFiles, tmp_path: Path
) -> None:
    iso = tmp_path / "boot.iso"
    iso.write_bytes(build_iso(volume_id="JUMP_TEST", total_blocks=64))
    sim = start_sim(env, wsman=True, tls=False)
    try:
        ssh_client.trust(jump_a)
        assert sim.plain_port is not None and sim.wsman_port is not None
        argv = ["ider", "127.0.0.1", "-P", "--redir-port", str(sim.plain_port), "--wsman-port"]
        argv += [str(sim.wsman_port), "--cd", str(iso), "--boot", "--stall-after", "60"]
        proc = subprocess.Popen(
            [*amtterm_argv(), *argv, *jump_args(ssh_client, jump_a)],
            env=jump_env(env, ssh_client, sim),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        try:
            seen = wait_for_text(proc, "READ(10) LBA 20 x1", timeout=40)
            assert "The machine boots into the IDE-R CD image" in seen
        finally:
            rest = stop(proc)
        assert "Traceback" not in rest
        assert forwarded_to(jump_a, sim.plain_port) and forwarded_to(jump_a, sim.wsman_port)
        assert closed_cleanly(jump_a)  # also after Ctrl-C
    finally:
        sim.stop()


# -- refusals: one sentence each, non-zero exit ---------------------------------------------------


def test_changed_jump_host_key_is_refused(
    wsim: SimProcess, env: dict[str, str], jump_a: Sshd, ssh_client: SshClientFiles, tmp_path: Path
) -> None:
    impostor = keygen(tmp_path / "impostor", "impostor")
    algorithm, data = impostor.with_suffix(".pub").read_text().split()[:2]
    ssh_client.known_hosts.write_text(f"[127.0.0.1]:{jump_a.port} {algorithm} {data}\n")
    argv = ["sol", "127.0.0.1", str(wsim.tls_port), "--accept-new", *jump_args(ssh_client, jump_a)]
    text = one_sentence(run(argv, jump_env(env, ssh_client, wsim)))
    assert f"The SSH host key of jump host {jump_a.spec} has CHANGED" in text
    assert "ssh-keygen -R" in text


def test_unknown_jump_host_key_is_refused_without_a_terminal(
    wsim: SimProcess, env: dict[str, str], jump_a: Sshd, ssh_client: SshClientFiles
) -> None:
    ssh_client.write_config("StrictHostKeyChecking ask")
    argv = ["power", "127.0.0.1", "--wsman-port", str(wsim.wsman_tls_port), *jump_args(ssh_client, jump_a)]
    text = one_sentence(run(argv, jump_env(env, ssh_client, wsim)))
    assert f"The SSH host key of jump host {jump_a.spec} is not known" in text
    assert "StrictHostKeyChecking accept-new" in text


def test_wrong_ssh_key_is_refused(
    wsim: SimProcess, env: dict[str, str], jump_a: Sshd, ssh_client: SshClientFiles, tmp_path: Path
) -> None:
    ssh_client.trust(jump_a)
    ssh_client.write_config(key=keygen(tmp_path / "stranger", "stranger"))
    argv = ["power", "127.0.0.1", "--wsman-port", str(wsim.wsman_tls_port), *jump_args(ssh_client, jump_a)]
    text = one_sentence(run(argv, jump_env(env, ssh_client, wsim)))
    user = jump_a.spec.split("@")[0]
    assert f"SSH authentication as {user} on jump host {jump_a.spec} failed" in text


def test_device_port_closed_behind_the_jump_host(
    wsim: SimProcess, env: dict[str, str], jump_a: Sshd, ssh_client: SshClientFiles
) -> None:
    ssh_client.trust(jump_a)
    port = closed_port()
    run_env = jump_env(env, ssh_client, wsim)
    sol = one_sentence(run(["sol", "127.0.0.1", str(port), *jump_args(ssh_client, jump_a)], run_env))
    assert f"Jump host {jump_a.spec} could not reach the AMT device 127.0.0.1:{port}" in sol
    assert "refused the connection" not in sol  # not the sentence of a local refusal
    power = one_sentence(
        run(["power", "127.0.0.1", "--wsman-port", str(port), *jump_args(ssh_client, jump_a)], run_env)
    )
    assert f"could not reach the AMT device 127.0.0.1:{port}" in power


def test_unreachable_jump_host_and_bad_spec(
    wsim: SimProcess, env: dict[str, str], ssh_client: SshClientFiles
) -> None:
    run_env = jump_env(env, ssh_client, wsim)
    port = closed_port()
    argv = ["sol", "127.0.0.1", str(wsim.tls_port), "--ssh-config", str(ssh_client.config)]
    gone = one_sentence(run([*argv, "--jump", f"root@127.0.0.1:{port}"], run_env))
    assert f"Jump host root@127.0.0.1:{port} refused the connection" in gone
    bad = run([*argv, "--jump", "root@host:99999"], run_env)
    assert bad.returncode == 2 and "--jump:" in one_sentence(bad)
    debug = run([*argv, "--jump", f"root@127.0.0.1:{port}", "--debug"], run_env)
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert wsim.password not in debug.stderr  # never in argv, never in what is printed

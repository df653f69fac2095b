"""`amtterm share` and `amtterm attach` fail in one sentence: keys, addresses, ports."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import asyncssh

from tests.support.simproc import SimProcess, amtterm_argv


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*amtterm_argv(), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def authorized(tmp: Path) -> Path:
    path = tmp / "keys"
    path.write_text(
        asyncssh.generate_private_key("ssh-ed25519", comment="alice").export_public_key().decode()
    )
    return path


def test_missing_and_empty_authorized_keys_are_said_before_any_password(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run(env, "share", "-P", "127.0.0.1", "1")
    assert result.returncode == 2
    line = one_sentence(result)
    assert "No authorized-keys file" in line and "share_authorized_keys" in line
    (tmp_path / "empty").write_text("\n")
    result = run(env, "share", "127.0.0.1", "--authorized-keys", str(tmp_path / "empty"))
    assert result.returncode == 2 and "holds no public key" in one_sentence(result)
    result = run(env, "share", "127.0.0.1", "--authorized-keys", str(tmp_path))
    assert result.returncode == 2 and "Cannot read the authorized-keys file" in one_sentence(result)


def test_port_in_use_is_one_sentence_and_frees_the_sol_session(
    env: dict[str, str], sim: SimProcess, tmp_path: Path
) -> None:
    assert sim.plain_port
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        args = [
            "share",
            "-P",
            "127.0.0.1",
            str(sim.plain_port),
            "--authorized-keys",
            str(authorized(tmp_path)),
        ]
        result = run(dict(env, AMT_PASSWORD=sim.password), *args, "--listen", f"127.0.0.1:{port}")
    finally:
        busy.close()
    assert result.returncode == 2
    line = one_sentence(result)
    assert f"127.0.0.1:{port}" in line and "in use" in line and "--listen" in line
    assert sim.password not in result.stderr + result.stdout
    # The SOL session was closed: a console can have it at once.
    sol = subprocess.run(
        [*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port)],
        env=dict(env, AMT_PASSWORD=sim.password),
        input=b"",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert sol.returncode == 0, sol.stderr


def test_attach_refuses_an_address_without_port(env: dict[str, str]) -> None:
    result = run(env, "attach", "ssh://127.0.0.1")
    assert result.returncode == 2
    assert "ssh://HOST:PORT" in one_sentence(result)


def test_share_help_lists_the_hand_off_escapes(env: dict[str, str]) -> None:
    text = run(env, "share", "--help").stdout
    for word in ("--listen", "--authorized-keys", "~g", "~t", "~w", "~."):
        assert word in text


def test_malformed_jump_is_said_before_any_password(env: dict[str, str], tmp_path: Path) -> None:
    # No AMT_PASSWORD and no terminal: a password question would be a different sentence.
    keys = authorized(tmp_path)
    result = run(env, "share", "127.0.0.1", "--authorized-keys", str(keys), "-J", "bastion:99999")
    assert result.returncode == 2
    assert one_sentence(result) == (
        "amtterm: --jump: the port of jump host 'bastion:99999' must be a number from 1 to 65535."
    )

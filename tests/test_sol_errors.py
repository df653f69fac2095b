"""Bad input gives one sentence and a non-zero exit status: never a traceback."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from amtterm.redir import events as ev
from amtterm.redir.connection import DeviceConfig, RedirectionConnection
from tests.support.simproc import SimProcess, amtterm_argv


def run_sol(env: dict[str, str], *args: str, timeout: float = 40) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*amtterm_argv(), "sol", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    """The error output must be one line starting with 'amtterm: ' and no traceback."""
    err = result.stderr
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if not line.startswith("amtterm: warning:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("amtterm: "), err
    return lines[0]


def test_wrong_password(sim: SimProcess, env: dict[str, str]) -> None:
    result = run_sol(dict(env, AMT_PASSWORD="wrong"), "-P", "127.0.0.1", str(sim.plain_port))
    assert result.returncode == 1
    line = one_sentence(result)
    assert "Wrong user name or password" in line
    assert "wrong" not in line.replace("Wrong", "")  # the password itself is never printed


def test_connection_refused(env: dict[str, str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_sol(dict(env, AMT_PASSWORD="x"), "-P", "127.0.0.1", str(port))
    assert result.returncode == 1
    assert "refused the connection" in one_sentence(result)


def test_unknown_certificate_without_a_terminal(sim_modern: SimProcess, env: dict[str, str]) -> None:
    result = subprocess.run(
        [*amtterm_argv(), "sol", "127.0.0.1", str(sim_modern.tls_port)],
        env=dict(env, AMT_PASSWORD=sim_modern.password),
        capture_output=True,
        text=True,
        timeout=40,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # no controlling terminal to ask on
    )
    assert result.returncode == 1
    line = one_sentence(result)
    assert "--accept-new" in line


def test_plain_port_spoken_to_with_tls(sim: SimProcess, env: dict[str, str]) -> None:
    result = run_sol(dict(env, AMT_PASSWORD=sim.password), "127.0.0.1", str(sim.plain_port), "--accept-new")
    assert result.returncode == 1
    assert "-P" in one_sentence(result)


def test_legacy_plain_auth_refused_by_amt12(sim_modern: SimProcess, env: dict[str, str]) -> None:
    result = run_sol(
        dict(env, AMT_PASSWORD=sim_modern.password),
        "-L",
        "--accept-new",
        "127.0.0.1",
        str(sim_modern.tls_port),
    )
    assert result.returncode == 1
    line = one_sentence(result)
    assert "plain" in line and "digest" in line


def test_password_on_the_command_line_is_warned_about(sim: SimProcess, env: dict[str, str]) -> None:
    result = run_sol(env, "-P", "-p", "wrong", "127.0.0.1", str(sim.plain_port))
    assert "amtterm: warning: -p puts the password" in result.stderr
    assert result.returncode == 1


def test_no_password_and_no_terminal(sim: SimProcess, env: dict[str, str]) -> None:
    result = subprocess.run(
        [*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert result.returncode == 2
    assert "AMT_PASSWORD" in one_sentence(result)


# --- a device that misbehaves after a correct start (the device codec, then bad bytes) -------------


@contextmanager
def scripted_device(after_sol: Callable[[socket.socket], None]) -> Iterator[int]:
    """A one-connection device on loopback that speaks correctly until SOL starts, then runs ``after_sol``."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(30)
    port = server.getsockname()[1]

    def serve() -> None:
        try:
            conn_sock, _ = server.accept()
        except OSError:
            return
        with conn_sock:
            conn_sock.settimeout(30)
            codec = RedirectionConnection(DeviceConfig(users={"admin": "pw"}))
            codec.start(0.0)
            now = 0.0
            while True:
                data = conn_sock.recv(4096)
                now += 0.01
                events = codec.receive_data(data, now)
                for event in events:
                    if isinstance(event, ev.SessionRequested):
                        codec.accept_session()
                for frame in codec.frames_to_send():
                    conn_sock.sendall(frame)
                if any(isinstance(e, ev.SolStartRequested) for e in events) or not data:
                    break
            if data:
                after_sol(conn_sock)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.close()
        thread.join(35)


def test_malformed_message_from_the_device(env: dict[str, str]) -> None:
    def garbage(sock: socket.socket) -> None:
        sock.sendall(b"\x77\x00\x00\x00\x01\x02\x03\x04")
        sock.recv(100)

    with scripted_device(garbage) as port:
        result = run_sol(dict(env, AMT_PASSWORD="pw"), "-P", "127.0.0.1", str(port))
    assert result.returncode == 1
    line = one_sentence(result)
    assert "0x77" in line or "unknown" in line.lower()


def test_truncated_message_then_close(env: dict[str, str]) -> None:
    def truncated(sock: socket.socket) -> None:
        sock.sendall(b"\x2a\x00\x00\x00\x00\x00\x00\x00\x10\x00abc")  # says 16 bytes, sends 3
        sock.shutdown(socket.SHUT_WR)
        sock.recv(100)

    with scripted_device(truncated) as port:
        result = run_sol(dict(env, AMT_PASSWORD="pw"), "-P", "127.0.0.1", str(port))
    assert result.returncode == 1
    assert "in the middle of" in one_sentence(result)


def test_device_that_stops_answering(env: dict[str, str]) -> None:
    def silent(sock: socket.socket) -> None:
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass

    with scripted_device(silent) as port:
        # stdin stays open (a user who types nothing): only the device's silence may end this.
        proc = subprocess.Popen(
            [*amtterm_argv(), "sol", "-P", "--timeout", "2", "127.0.0.1", str(port)],
            env=dict(env, AMT_PASSWORD="pw"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            proc.wait(30)
            err = proc.stderr.read() if proc.stderr else ""
        finally:
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe:
                    pipe.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        result = subprocess.CompletedProcess(proc.args, proc.returncode, "", err)
    assert result.returncode == 1
    assert "stopped answering" in one_sentence(result)

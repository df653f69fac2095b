"""The jump-host transport against real OpenSSH sshd instances on loopback.

Behind the jump hosts sits a plain asyncio server (echo, or TLS with the simulator's kind of
self-signed certificate). The client side has its own key, known_hosts and ssh config in tmp;
HOME points into tmp and no agent of the real user is visible.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from amtterm.errors import JumpAuthError, JumpError, JumpForwardError, JumpHostKeyError
from amtterm.transport import tls as tlsmod
from amtterm.transport.jump import JumpRoute, parse_jumps
from amtterm.transport.known_hosts import KnownHosts
from amtterm.transport.tcp import Stream, TlsOptions, open_stream
from tests.support.sshd import SshClientFiles, Sshd, closed_port, keygen

pytestmark = pytest.mark.real


@pytest.fixture(autouse=True)
def private_home(ssh_client: SshClientFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(ssh_client.home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def route(ssh_client: SshClientFiles, *servers: Sshd, ask: Callable[[str], bool] | None = None) -> JumpRoute:
    return JumpRoute(parse_jumps(s.spec for s in servers), config=ssh_client.config, ask=ask, timeout=10)


async def roundtrip(stream: Stream, payload: bytes) -> bytes:
    stream.writer.write(payload)
    await stream.writer.drain()
    return await asyncio.wait_for(stream.reader.readexactly(len(payload)), 20)


async def test_one_jump_carries_bytes_both_ways(
    jump_a: Sshd, ssh_client: SshClientFiles, echo_port: int
) -> None:
    ssh_client.trust(jump_a)
    stream = await open_stream("127.0.0.1", echo_port, tls=None, via=route(ssh_client, jump_a))
    try:
        assert await roundtrip(stream, b"hello AMT") == b"hello AMT"
        # More than the SSH window and the socket buffers: back-pressure must hold, nothing lost.
        big = os.urandom(3 * 1024 * 1024)
        assert await roundtrip(stream, big) == big
    finally:
        stream.close()
    assert stream.writer.is_closing()


async def test_two_jumps_chained(
    jump_a: Sshd, jump_b: Sshd, ssh_client: SshClientFiles, echo_port: int
) -> None:
    ssh_client.trust(jump_a, jump_b)
    stream = await open_stream("127.0.0.1", echo_port, tls=None, via=route(ssh_client, jump_a, jump_b))
    try:
        assert await roundtrip(stream, b"through two") == b"through two"
    finally:
        stream.close()
    # B was reached through A, and only B connected to the device.
    await asyncio.sleep(0.2)
    assert f"direct_tcpip: originator  port 0, target 127.0.0.1 port {jump_b.port}" in jump_a.log.read_text()
    assert f"target 127.0.0.1 port {echo_port}" in jump_b.log.read_text()
    assert f"target 127.0.0.1 port {echo_port}" not in jump_a.log.read_text()


async def test_tls_runs_end_to_end_and_pins_the_device_address(
    jump_a: Sshd, ssh_client: SshClientFiles, tmp_path: Path
) -> None:
    cert, key = tlsmod.ensure_self_signed(tmp_path / "device")
    server = await asyncio.start_server(_echo, "127.0.0.1", 0, ssl=tlsmod.server_context(cert, key))
    port = server.sockets[0].getsockname()[1]
    ssh_client.trust(jump_a)
    pins = tmp_path / "pins"
    try:
        tls = TlsOptions(accept_new=True, known_hosts=pins)
        stream = await open_stream("127.0.0.1", port, tls=tls, via=route(ssh_client, jump_a))
        try:
            assert await roundtrip(stream, b"secret") == b"secret"
        finally:
            stream.close()
        # The pin was taken under the device's address:port, exactly as a direct connection sees it.
        direct = await open_stream("127.0.0.1", port, tls=TlsOptions(known_hosts=pins))
        direct.close()
        pinned = KnownHosts(pins).lookup("127.0.0.1", port)
        assert pinned == direct.peer_fingerprint == stream.peer_fingerprint
    finally:
        server.close()
        await server.wait_closed()


async def test_device_port_closed_behind_the_jump(jump_a: Sshd, ssh_client: SshClientFiles) -> None:
    ssh_client.trust(jump_a)
    port = closed_port()
    with pytest.raises(JumpForwardError) as caught:
        await open_stream("127.0.0.1", port, tls=None, via=route(ssh_client, jump_a))
    text = str(caught.value)
    assert f"Jump host {jump_a.spec} could not reach the AMT device 127.0.0.1:{port}" in text
    assert "refused" in text.lower()


async def test_unreachable_jump_host(ssh_client: SshClientFiles, echo_port: int) -> None:
    port = closed_port()
    gone = JumpRoute(parse_jumps([f"root@127.0.0.1:{port}"]), config=ssh_client.config, timeout=5)
    with pytest.raises(JumpError) as caught:
        await open_stream("127.0.0.1", echo_port, tls=None, via=gone)
    assert f"Jump host root@127.0.0.1:{port} refused the connection" in str(caught.value)


async def test_changed_host_key_is_refused(
    jump_a: Sshd, ssh_client: SshClientFiles, echo_port: int, tmp_path: Path
) -> None:
    other = keygen(tmp_path / "impostor", "someone-else")
    algorithm, data = other.with_suffix(".pub").read_text().split()[:2]
    ssh_client.known_hosts.write_text(f"[127.0.0.1]:{jump_a.port} {algorithm} {data}\n")
    ssh_client.write_config("StrictHostKeyChecking accept-new")  # even accept-new refuses a change
    with pytest.raises(JumpHostKeyError) as caught:
        await open_stream("127.0.0.1", echo_port, tls=None, via=route(ssh_client, jump_a))
    text = str(caught.value)
    assert "has CHANGED" in text and jump_a.spec in text
    assert f'ssh-keygen -R "[127.0.0.1]:{jump_a.port}"' in text
    assert ssh_client.known_hosts.read_text().count("\n") == 1  # nothing added


async def test_unknown_host_key_refused_by_default_without_anyone_to_ask(
    jump_a: Sshd, ssh_client: SshClientFiles, echo_port: int
) -> None:
    ssh_client.write_config("StrictHostKeyChecking ask")
    with pytest.raises(JumpHostKeyError) as caught:
        await open_stream("127.0.0.1", echo_port, tls=None, via=route(ssh_client, jump_a))
    assert "is not known" in str(caught.value) and "no terminal to ask" in str(caught.value)
    assert ssh_client.known_hosts.read_text() == ""


async def test_unknown_host_key_asked_and_added(
    jump_a: Sshd, ssh_client: SshClientFiles, echo_port: int
) -> None:
    ssh_client.write_config("StrictHostKeyChecking ask")
    questions: list[str] = []

    def ask(question: str) -> bool:
        questions.append(question)
        return True

    stream = await open_stream("127.0.0.1", echo_port, tls=None, via=route(ssh_client, jump_a, ask=ask))
    stream.close()
    assert len(questions) == 1 and "SHA256:" in questions[0]
    assert ssh_client.known_hosts.read_text().strip() == jump_a.host_key_line
    # Known now: the second connection asks nothing.
    stream = await open_stream("127.0.0.1", echo_port, tls=None, via=route(ssh_client, jump_a, ask=ask))
    stream.close()
    assert len(questions) == 1


async def test_accept_new_in_the_ssh_config_adds_hashed_keys(
    jump_a: Sshd, ssh_client: SshClientFiles, echo_port: int
) -> None:
    ssh_client.write_config("StrictHostKeyChecking accept-new", "HashKnownHosts yes")
    stream = await open_stream("127.0.0.1", echo_port, tls=None, via=route(ssh_client, jump_a))
    try:
        assert await roundtrip(stream, b"x") == b"x"
    finally:
        stream.close()
    line = ssh_client.known_hosts.read_text().strip()
    assert line.startswith("|1|") and line.split()[1:] == jump_a.host_key_line.split()[1:]
    # OpenSSH itself accepts the line we wrote.
    found = subprocess.run(
        ["ssh-keygen", "-F", f"[127.0.0.1]:{jump_a.port}", "-f", str(ssh_client.known_hosts)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert found.returncode == 0, found.stdout


async def test_wrong_ssh_key_is_refused_naming_host_and_user(
    jump_a: Sshd, ssh_client: SshClientFiles, echo_port: int, tmp_path: Path
) -> None:
    ssh_client.trust(jump_a)
    ssh_client.write_config(key=keygen(tmp_path / "stranger", "not-authorized"))
    with pytest.raises(JumpAuthError) as caught:
        await open_stream("127.0.0.1", echo_port, tls=None, via=route(ssh_client, jump_a))
    text = str(caught.value)
    user = jump_a.spec.split("@")[0]
    assert f"SSH authentication as {user} on jump host {jump_a.spec} failed" in text


@pytest.fixture
def agent(ssh_client: SshClientFiles, tmp_path: Path) -> Iterator[str]:
    """A private ssh-agent holding the client key (no key file named in the config)."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            subprocess.run(["sleep", "0.05"], check=True)
        subprocess.run(
            ["ssh-add", "-q", str(ssh_client.key)], env={"SSH_AUTH_SOCK": str(sock)}, check=True, timeout=10
        )
        yield str(sock)
    finally:
        proc.terminate()
        proc.wait(5)


async def test_the_ssh_agent_is_used(
    jump_a: Sshd, ssh_client: SshClientFiles, echo_port: int, agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssh_client.trust(jump_a)
    ssh_client.config.write_text(
        f"Host *\n  UserKnownHostsFile {ssh_client.known_hosts}\n  StrictHostKeyChecking yes\n"
    )
    monkeypatch.setenv("SSH_AUTH_SOCK", agent)
    stream = await open_stream("127.0.0.1", echo_port, tls=None, via=route(ssh_client, jump_a))
    try:
        assert await roundtrip(stream, b"agent") == b"agent"
    finally:
        stream.close()

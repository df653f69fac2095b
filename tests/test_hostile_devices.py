"""A hostile or broken device never hangs amtterm, never makes it grow, never shows a traceback.

Each test starts a small scripted server on loopback that plays a device gone wrong, then runs
`amtterm sol` or `amtterm power` against it as a separate process, bounded in time, and checks
what a user sees: exit status 1 and one sentence, well within the command's timeouts.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from amtterm.errors import WsmanTimeout
from amtterm.redir.messages import StartRedirectionSessionReply
from amtterm.wsman.client import WsmanClient
from tests.support.simproc import amtterm_argv

Script = Callable[[socket.socket], None]


@contextmanager
def scripted_device(script: Script) -> Iterator[int]:
    """Serve ``script`` to every connection on a free loopback port; yield the port."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn, suppress(OSError):  # the client hung up, as it should
            script(conn)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.settimeout(120)
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


#: Runs the command and writes its peak memory (KiB) to the file named first: this process's
#: RUSAGE_CHILDREN would also count every earlier test's children (QEMU among them).
PEAK = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def run(*args: str, env: dict[str, str], limit: float) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        peak = Path(tmp) / "peak"
        argv = [sys.executable, "-c", PEAK, str(peak), *amtterm_argv(), *args]
        with subprocess.Popen(
            argv,
            env=dict(env, AMT_PASSWORD="Hostile-Test-1!"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        ) as proc:
            try:
                out, err = proc.communicate(timeout=limit)
            finally:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the wrapper and amtterm under it
        result = subprocess.CompletedProcess(argv, proc.returncode, out, err)
        took = time.monotonic() - started
        # Peak memory of amtterm (KiB): nothing a hostile device sent was kept.
        assert int(peak.read_text()) < 400 * 1024
    return result, took


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("amtterm: warning:")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("amtterm: "), result.stderr
    return lines[0]


def endless(conn: socket.socket, chunk: bytes, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        conn.sendall(chunk)


# --------------------------------------------------------------------------------------------
# Redirection (amtterm sol)


def start_reply(conn: socket.socket) -> None:
    """Read the console's StartRedirectionSession (8 bytes) and accept it."""
    conn.recv(8)
    conn.sendall(StartRedirectionSessionReply().encode())


def four_gigabyte_auth_reply(conn: socket.socket) -> None:
    start_reply(conn)
    conn.recv(64)
    # AuthenticateSessionReply announcing 0xFFFFFFFF bytes of auth data, then data forever.
    conn.sendall(b"\x14\x00\x00\x00\x04" + b"\xff\xff\xff\xff")
    endless(conn, b"\x00" * 65536)


def no_message_boundary(conn: socket.socket) -> None:
    start_reply(conn)
    endless(conn, bytes(range(256)) * 256)


def trickle(conn: socket.socket) -> None:
    conn.recv(8)
    for byte in StartRedirectionSessionReply().encode():
        conn.sendall(bytes([byte]))
        time.sleep(60)


@pytest.mark.parametrize(
    ("script", "words"),
    [
        (four_gigabyte_auth_reply, "announces 4294967295 bytes"),
        (no_message_boundary, "cannot be followed"),
        (trickle, "127.0.0.1"),
    ],
    ids=["4-GB-length", "endless-data", "one-byte-a-minute"],
)
def test_sol_against_a_hostile_device(env: dict[str, str], script: Script, words: str) -> None:
    with scripted_device(script) as port:
        result, took = run("sol", "-P", "127.0.0.1", str(port), env=env, limit=90)
    sentence = one_sentence(result)
    assert words in sentence, sentence
    assert took < 60, took


# --------------------------------------------------------------------------------------------
# WS-Management (amtterm power)


def http_reply(conn: socket.socket, head: bytes, body: bytes = b"") -> None:
    conn.recv(65536)  # the request; its content does not matter
    conn.sendall(head + body)


BOMB = (
    b'<?xml version="1.0"?>'
    + b" " * 5000  # past any check that looks only at the start
    + b'<!DOCTYPE e [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(b"<!ENTITY %c '%s'>" % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(9))
    + b"]><Envelope>&j;</Envelope>"
)


def entity_bomb(conn: socket.socket) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: %d\r\n\r\n"
    http_reply(conn, head % len(BOMB), BOMB)


def hundred_megabytes(conn: socket.socket) -> None:
    http_reply(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n<Envelope>")
    endless(conn, b"<a/>" * 16384, seconds=30)


def endless_chunked(conn: socket.socket) -> None:
    http_reply(conn, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    endless(conn, b"10000\r\n" + b"x" * 0x10000 + b"\r\n", seconds=30)


def http_trickle(conn: socket.socket) -> None:
    conn.recv(65536)
    for byte in b"HTTP/1.1 200 OK\r\n":
        conn.sendall(bytes([byte]))
        time.sleep(60)


@pytest.mark.parametrize(
    ("script", "words"),
    [
        (entity_bomb, "DOCTYPE"),
        (hundred_megabytes, "larger than 16 MB"),
        (endless_chunked, "larger than 16 MB"),
        (http_trickle, "did not answer within 10 s"),
    ],
    ids=["entity-bomb", "100-MB-body", "endless-chunked-body", "one-byte-a-minute"],
)
def test_power_against_a_hostile_device(env: dict[str, str], script: Script, words: str) -> None:
    with scripted_device(script) as port:
        result, took = run("power", "127.0.0.1", "status", "-P", "--wsman-port", str(port), env=env, limit=90)
    sentence = one_sentence(result)
    assert words in sentence, sentence
    assert took < 40, took


async def test_a_reply_trickled_faster_than_the_timeout_still_ends() -> None:
    """Each byte comes within the read timeout, yet the whole reply has a deadline (2 x timeout)."""

    def fast_trickle(conn: socket.socket) -> None:
        conn.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100:
            conn.sendall(bytes([byte]))
            time.sleep(0.05)

    with scripted_device(fast_trickle) as port:
        client = WsmanClient("127.0.0.1", user="admin", password="x", tls=False, port=port, timeout=0.5)
        async with client:
            started = time.monotonic()
            with pytest.raises(WsmanTimeout, match=r"did not finish its reply within 1 s"):
                await client("<Envelope/>")
    assert time.monotonic() - started < 3

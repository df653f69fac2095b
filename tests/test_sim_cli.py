"""`amtterm sim` as a user starts it: listener lines, a kept certificate, a generated password,
slowed guessing."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time

from amtterm.errors import AuthError
from amtterm.redir.connection import ConsoleConfig
from amtterm.session.sol import SolClient
from amtterm.sim.app import SimOptions
from amtterm.sim.app import start_sim as start_sim_inprocess
from amtterm.transport.tcp import open_stream
from tests.support.simproc import amtterm_argv, start_sim

FINGERPRINT = re.compile(r"\(TLS, (SHA256:[A-Za-z0-9+/]+)\)")


def test_one_line_per_listener_and_the_certificate_is_kept(env: dict[str, str]) -> None:
    first = start_sim(env)
    first.stop()
    second = start_sim(env)
    second.stop()
    for sim in (first, second):
        assert any("listening on 127.0.0.1:" in line and "(plain)" in line for line in sim.lines)
        assert any("listening on 127.0.0.1:" in line and "(TLS, SHA256:" in line for line in sim.lines)
    fp1 = FINGERPRINT.search("\n".join(first.lines))
    fp2 = FINGERPRINT.search("\n".join(second.lines))
    assert fp1 and fp2 and fp1.group(1) == fp2.group(1)  # real AMT keeps its certificate too


def test_without_a_password_one_is_generated_and_printed(env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [
            *amtterm_argv(),
            "sim",
            *("--redir-port", "0", "--redir-tls-port", "off", "--wsman-port", "0", "--wsman-tls-port", "off"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not any("generated password" in line for line in lines) and len(lines) < 10:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
    text = "".join(lines)
    assert "generated password: " in text
    password = text.split("generated password: ")[1].split()[0]
    assert len(password) >= 12 and any(c.isdigit() for c in password) and any(c.isupper() for c in password)


async def _wrong_login(port: int) -> float:
    started = time.monotonic()
    stream = await open_stream("127.0.0.1", port, tls=None)
    client = SolClient(stream, ConsoleConfig(user="admin", password="guess"), target="sim")
    try:
        await client.start()
    except AuthError:
        return time.monotonic() - started
    raise AssertionError("a wrong password was accepted")


async def test_repeated_wrong_passwords_are_answered_more_slowly() -> None:
    sim = await start_sim_inprocess(
        SimOptions(redir_port=0, redir_tls_port=None, password="Right-Pass-1!"), log=lambda _: None
    )
    try:
        port = sim.listeners[0].port
        first = await _wrong_login(port)
        second = await _wrong_login(port)
        third = await _wrong_login(port)
        assert first < 0.8
        assert second >= 1.0
        assert third >= 2.0
        # The right password still works, and clears the record.
        stream = await open_stream("127.0.0.1", port, tls=None)
        client = SolClient(stream, ConsoleConfig(user="admin", password="Right-Pass-1!"), target="sim")
        await client.start()
        await client.close()
        assert await asyncio.wait_for(_wrong_login(port), 5) < 0.8
    finally:
        await sim.close()


def test_uefi_firmware_without_qemu_is_one_sentence(env: dict[str, str]) -> None:
    done = subprocess.run(
        [*amtterm_argv(), "sim", "--firmware", "uefi", "--redir-port", "0", "--redir-tls-port", "off"],
        env=dict(env, AMT_PASSWORD="Sim-Pass-123!"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert "--firmware uefi needs --qemu: the synthetic PC only has a BIOS." in done.stderr
    assert "Traceback" not in done.stderr

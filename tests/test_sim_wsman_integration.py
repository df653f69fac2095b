"""WS-Man and SOL together, as a user meets them: one `amtterm sim` process serving both sides.

The console is a real SOL session (`amtterm sol` on a pseudo-terminal, or SolClient), the power
and boot commands are real WS-Man requests over loopback; what is checked is what the person
at the console sees: the BIOS setup screen, POST again, the console going dark, the consent code.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from amtterm.errors import ConnectError, SessionRefused, WsmanReturnValueError
from amtterm.redir.connection import ConsoleConfig
from amtterm.session.sol import SolClient
from amtterm.sim import app as sim_app
from amtterm.sim.app import SimOptions
from amtterm.transport.tcp import open_stream
from amtterm.wsman import boot, operations
from amtterm.wsman.client import WsmanClient
from tests.support.ptyproc import PtyProcess
from tests.support.simproc import SimProcess, amtterm_argv, start_sim

pytestmark = pytest.mark.timeout(60)


def amtterm(env: dict[str, str], sim: SimProcess, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run a real `amtterm` process with the sim's password."""
    run_env = dict(env, AMT_PASSWORD=sim.password)
    return subprocess.run(
        [*amtterm_argv(), *argv],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def test_boot_into_bios_with_sol_shows_setup_on_the_attached_console(env: dict[str, str]) -> None:
    sim = start_sim(env, "--amt-version", "16.1", plain=False, wsman=True)
    wsman = ["--accept-new", "--wsman-port", str(sim.wsman_tls_port)]
    console = PtyProcess(
        [*amtterm_argv(), "sol", "127.0.0.1", str(sim.tls_port), "--accept-new"],
        env=dict(env, AMT_PASSWORD=sim.password),
    )
    try:
        console.expect(b"BIOS Version", timeout=20)  # the PC powered on with the first console (POST)
        # Power off is refused while the console holds the SOL session.
        off = amtterm(env, sim, "power", "127.0.0.1", "off", *wsman)
        assert off.returncode == 1
        assert off.stderr.count("\n") == 1, off.stderr
        assert "a redirection session (SOL, IDE-R or KVM) is open; close it and try again" in off.stderr
        # One command: reset into BIOS setup with SOL, and the console shows it.
        mark = len(console.output)
        result = amtterm(env, sim, "boot", "127.0.0.1", "bios", "--sol", "--then", "reset", *wsman)
        assert result.returncode == 0, result.stderr
        assert (
            result.stdout.strip()
            == "127.0.0.1: The machine boots into BIOS setup with its text on SOL now: reset."
        )
        console.expect(b"Save & Exit", timeout=15)
        assert b"Setup Utility" in console.output[mark:]
        console.send(b"\x1d")
        assert console.wait(10) == 0
        # The console left: now power off is allowed.
        assert amtterm(env, sim, "power", "127.0.0.1", "off", *wsman).returncode == 0
        assert "127.0.0.1: off (can: on)" in amtterm(env, sim, "power", "127.0.0.1", *wsman).stdout
    finally:
        console.close()
        sim.stop()
    assert b"Traceback" not in console.output


@pytest.fixture
def lms_sim(env: dict[str, str]) -> Iterator[SimProcess]:
    """AMT 16.1 with LMS in the host OS (soft-off and soft-reset offered), plain ports."""
    process = start_sim(env, "--amt-version", "16.1", "--lms", tls=False, wsman=True)
    yield process
    process.stop()


class Console:
    """A SOL session read in the background, so the test can wait for what the screen shows."""

    def __init__(self, client: SolClient) -> None:
        self.client = client
        self.output = bytearray()
        self._task = asyncio.create_task(self._read())
        self._changed = asyncio.Event()

    async def _read(self) -> None:
        while chunk := await self.client.read():
            self.output += chunk
            self._changed.set()

    async def expect(self, pattern: bytes, *, start: int = 0, timeout: float = 15.0) -> re.Match[bytes]:
        """Wait until ``pattern`` (a regex) appears in the output after ``start``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (match := re.compile(pattern).search(bytes(self.output), start)) is None:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"{pattern!r} not seen; output: {bytes(self.output[start:])[-1500:]!r}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return match

    async def close(self) -> None:
        await self.client.close()
        self._task.cancel()


@pytest.fixture
async def attached(lms_sim: SimProcess) -> AsyncIterator[tuple[Console, WsmanClient]]:
    """A SOL console attached to the sim, and a WS-Man client for it."""
    console = await open_console(lms_sim)
    client = WsmanClient(
        "127.0.0.1", user="admin", password=lms_sim.password, tls=False, port=lms_sim.wsman_port, timeout=5
    )
    yield console, client
    await client.aclose()
    await console.close()


async def open_console(sim: SimProcess) -> Console:
    port = sim.plain_port
    assert port is not None
    stream = await open_stream("127.0.0.1", port, tls=None)
    client = SolClient(stream, ConsoleConfig(user="admin", password=sim.password), target=f"127.0.0.1:{port}")
    await client.start()
    return Console(client)


async def test_the_console_follows_power_changes(attached: tuple[Console, WsmanClient]) -> None:
    console, client = attached
    await console.expect(rb"BIOS Version")
    assert console.client.power_on is True
    # Hard off is refused while SOL is open; the OS shutdown (soft-off, through LMS) is not.
    with pytest.raises(WsmanReturnValueError, match="a redirection session"):
        await operations.power_action(client, "off")
    await operations.power_action(client, "soft-off")
    for _ in range(50):
        if console.client.power_on is False:
            break
        await asyncio.sleep(0.05)
    assert console.client.power_on is False  # the 0x29 said: powered off
    dark = len(console.output)
    await asyncio.sleep(0.3)
    assert len(console.output) == dark  # the console went dark
    assert (await operations.power_status(client)).state == "off"
    # Power on: the same console, still attached, sees POST again (a terminal reset first).
    await operations.power_action(client, "on")
    await console.expect(rb"\x1bc[^\x1b]*.*BIOS Version", start=dark)
    assert console.client.power_on is True
    # Reset: POST once more, SOL still attached.
    after_on = len(console.output)
    await operations.power_action(client, "reset")
    await console.expect(rb"\x1bc[^\x1b]*.*BIOS Version", start=after_on)
    assert console.client.power_on is True


async def test_consent_code_read_off_the_sol_screen(env: dict[str, str]) -> None:
    sim = start_sim(env, "--amt-version", "16.1", "--control-mode", "client", tls=False, wsman=True)
    try:
        console = await open_console(sim)
        client = WsmanClient("127.0.0.1", user="admin", password=sim.password, tls=False, port=sim.wsman_port)
        try:
            await console.expect(rb"BIOS Version")
            assert (await operations.consent_status(client)).needed_for_boot
            start = len(console.output)
            await operations.consent_request(client)
            code = (await console.expect(rb"consent code: (\d{6})", start=start)).group(1).decode()
            assert (await operations.consent_code(client, code)).granted
            mark = len(console.output)
            await boot.boot_override(client, "bios", sol=True, then="reset")
            await console.expect(rb"Save & Exit", start=mark)
        finally:
            await client.aclose()
            await console.close()
    finally:
        sim.stop()


async def test_listener_and_sol_switches_decide_whether_sol_connects(lms_sim: SimProcess) -> None:
    client = WsmanClient(
        "127.0.0.1", user="admin", password=lms_sim.password, tls=False, port=lms_sim.wsman_port, timeout=5
    )
    try:
        await operations.set_redirection(client, False)
        with pytest.raises(ConnectError, match="refused the connection"):
            await open_console(lms_sim)
        # Listener on, SOL off: the session itself is refused.
        await operations.set_redirection(client, True, sol=False)
        with pytest.raises(SessionRefused, match="does not offer Serial-over-LAN"):
            await open_console(lms_sim)
        await operations.set_redirection(client, True)
        console = await open_console(lms_sim)
        await console.expect(rb"BIOS Version")
        await console.close()
    finally:
        await client.aclose()


def test_twenty_hosts_and_power_status_all(env: dict[str, str], tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.toml"
    sim = start_sim(env, "--hosts", "20", "--amt-version", "16.1", "--write-hosts", str(hosts), wsman=True)
    try:
        addresses = [device.address for device in sim.devices]
        assert addresses == [f"127.0.0.{i}" for i in range(1, 21)]
        started = time.monotonic()
        result = amtterm(env, sim, "power", "status", "--all", "--hosts-file", str(hosts))
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [f"sim{i:02d}  off" for i in range(1, 21)]
        assert time.monotonic() - started < 20
        # The hosts file pins each certificate, so known_hosts stayed empty.
        assert not (Path(env["AMTTERM_CONFIG_DIR"]) / "known_hosts").exists()
        on = amtterm(env, sim, "power", "sim07", "on", "--hosts-file", str(hosts))
        assert on.stdout.strip() == "sim07: Powered the machine on."
        again = amtterm(env, sim, "power", "status", "sim06", "sim07", "--hosts-file", str(hosts))
        assert again.stdout.splitlines() == ["sim06  off", "sim07  on"]
    finally:
        sim.stop()


async def power_bit(console: SolClient) -> bool | None:
    """The "powered on" bit of the first 0x29 (it follows SOL start in a frame of its own)."""
    for _ in range(100):
        if console.power_on is not None:
            break
        await asyncio.sleep(0.01)
    return console.power_on


async def test_first_console_policy_ends_with_the_first_wsman_power_action(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In-process: with no WS-Man action the first console powers the PC on; after one, it does not."""
    options = SimOptions(redir_port=0, redir_tls_port=None, wsman_port=0, password="Policy-Test-1!", hosts=3)
    monkeypatch.setattr(
        sim_app, "_addresses", lambda listen, count: None
    )  # as if 127.0.0.x could not be bound
    sim = await sim_app.start_sim(options, log=lambda _: None)
    try:
        ports = [host.port("wsman", False) for host in sim.hosts]
        assert [host.address for host in sim.hosts] == ["127.0.0.1"] * 3 and len(set(ports)) == 3
        first, second = sim.hosts[0], sim.hosts[1]
        async with WsmanClient(
            "127.0.0.1", user="admin", password="Policy-Test-1!", tls=False, port=first.port("wsman", False)
        ) as client:
            assert (await operations.power_status(client)).state == "off"  # nothing happened yet
            await operations.power_action(client, "on")
            await operations.power_action(client, "off")
        port = first.port("redirection", False)
        assert port is not None
        stream = await open_stream("127.0.0.1", port, tls=None)
        config = ConsoleConfig(user="admin", password="Policy-Test-1!")
        console = SolClient(stream, config, target="first")
        await console.start()
        assert await power_bit(console) is False  # WS-Man said off: it stays off
        assert not first.device.host.powered
        await console.close()
        other = second.port("redirection", False)
        assert other is not None
        stream = await open_stream("127.0.0.1", other, tls=None)
        console = SolClient(stream, config, target="second")
        await console.start()
        assert await power_bit(console) is True  # the policy still holds there
        assert second.device.host.powered
        await console.close()
    finally:
        await sim.close()

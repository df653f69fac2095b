"""ConsoleSession + ConsoleHub against the in-process simulator: output fan-out, keyboard, reconnection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from amtterm.redir.connection import ConsoleConfig
from amtterm.session.console import ConsoleHub, ConsoleSession, SessionState, SessionStatus
from amtterm.session.sol import SolClient
from amtterm.sim.app import RunningSim, SimOptions, start_sim

PASSWORD = "Hub-Test-1!"


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    running = await start_sim(
        SimOptions(redir_port=0, redir_tls_port=None, password=PASSWORD), log=lambda _: None
    )
    yield running
    await running.close()


def factory(sim: RunningSim, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    # The hub's fan-out, keyboard and reconnection are the point here, not the socket: the
    # console reaches the simulated device through an in-memory stream.

    async def open_client() -> SolClient:
        stream = sim.device.connect_in_memory()
        client = SolClient(stream, ConsoleConfig(user="admin", password=password), target="sim")
        await client.start()
        return client

    return open_client


async def read_until(sub: AsyncIterator[bytes], needle: bytes, seen: bytearray, timeout: float = 10) -> None:
    async def loop() -> None:
        async for chunk in sub:
            seen.extend(chunk)
            if needle in seen:
                return

    await asyncio.wait_for(loop(), timeout)


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


async def test_output_reaches_every_subscriber_and_only_the_keyboard_holder_types(sim: RunningSim) -> None:
    hub = ConsoleHub()
    owner = hub.subscribe("owner")
    viewer = hub.subscribe("viewer", lossless=False)
    session = ConsoleSession(factory(sim), hub, target="sim")
    task = asyncio.create_task(session.run())
    try:
        seen, seen_viewer = bytearray(), bytearray()
        await read_until(owner, b"Press F2", seen)
        await read_until(viewer, b"Press F2", seen_viewer)
        hub.grant_keyboard("owner")
        assert not await hub.write(b"\x1bOQ", who="viewer")  # a viewer's keys never reach the host
        assert await hub.write(b"\x1bOQ", who="owner")
        await read_until(owner, b"Save & Exit", seen)
        assert hub.status.state is SessionState.CONNECTED
        assert hub.status.power_on is True
    finally:
        await session.stop()
        await asyncio.wait_for(task, 10)
    assert hub.status.state is SessionState.CLOSED


async def test_reconnects_after_the_device_drops_the_session(sim: RunningSim) -> None:
    hub = ConsoleHub()
    states: list[SessionStatus] = []
    hub.on_status(states.append)
    sub = hub.subscribe("owner")
    session = ConsoleSession(factory(sim), hub, target="sim", sleep=no_sleep)
    task = asyncio.create_task(session.run())
    try:
        await read_until(sub, b"Press F2", bytearray())
        handler = sim.device.sol_owner
        assert handler is not None
        handler.writer.close()  # the network drops the connection
        for _ in range(100):
            if session.attempts >= 2 and hub.status.state is SessionState.CONNECTED:
                break
            await asyncio.sleep(0.1)
        assert session.attempts >= 2
        assert hub.status.state is SessionState.CONNECTED
        assert any(s.state is SessionState.RECONNECTING for s in states)
        # Typing works on the new connection.
        hub.grant_keyboard("owner")
        assert await hub.write(b"\x1bOQ", who="owner")
    finally:
        await session.stop()
        await asyncio.wait_for(task, 10)


async def test_wrong_password_is_not_retried(sim: RunningSim) -> None:
    hub = ConsoleHub()
    session = ConsoleSession(factory(sim, password="wrong"), hub, target="sim", sleep=no_sleep)
    await asyncio.wait_for(session.run(), 15)
    assert session.attempts == 1
    assert hub.status.state is SessionState.FAILED
    assert "Wrong user name or password" in hub.status.message


async def test_a_slow_viewer_is_marked_lagged_and_does_not_hold_up_the_owner() -> None:
    hub = ConsoleHub()
    owner = hub.subscribe("owner", maxsize=1000)
    viewer = hub.subscribe("viewer", lossless=False, maxsize=2)
    for n in range(10):
        await asyncio.wait_for(hub.publish(b"%d" % n), 1)
    assert viewer.lagged
    assert owner.queue.qsize() == 10

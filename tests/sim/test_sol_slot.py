"""The one SOL slot of a simulated device: claimed at session start, freed when a console leaves or stalls."""

from __future__ import annotations

import asyncio

import pytest

from amtterm.errors import SessionBusy
from amtterm.redir.connection import ConsoleConfig
from amtterm.session.sol import SolClient
from amtterm.sim import redirection as sim_redirection
from amtterm.sim.app import RunningSim, SimOptions, start_sim
from amtterm.transport.tcp import open_stream

PASSWORD = "Slot-Test-1!"


async def started_sim() -> RunningSim:
    options = SimOptions(redir_port=0, redir_tls_port=None, password=PASSWORD)
    return await start_sim(options, log=lambda _: None)


async def sol_client(port: int) -> SolClient:
    stream = await open_stream("127.0.0.1", port, tls=None)
    client = SolClient(stream, ConsoleConfig(user="admin", password=PASSWORD), target=f"127.0.0.1:{port}")
    await client.start()
    return client


async def test_console_that_stalls_before_sol_loses_the_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_redirection, "START_DEADLINE", 1.0)
    sim = await started_sim()
    port = sim.listeners[0].port
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x10\x00\x00\x00SOL ")  # claims the slot, then says nothing more
        reply = await asyncio.wait_for(reader.readexactly(13), 5)
        assert reply[:2] == b"\x11\x00"
        with pytest.raises(SessionBusy):
            await sol_client(port)
        # The staller is dropped after the deadline; the slot is free again.
        assert await asyncio.wait_for(reader.read(100), 5) == b""
        client = await sol_client(port)
        await client.close()
        writer.close()
    finally:
        await sim.close()


async def test_slot_is_free_again_after_a_console_closes() -> None:
    sim = await started_sim()
    port = sim.listeners[0].port
    try:
        first = await sol_client(port)
        output = await asyncio.wait_for(first.read(), 10)
        assert output  # the PC powered on with the first console and talks
        await first.close()
        second = await sol_client(port)
        await second.close()
    finally:
        await sim.close()

"""Who gets a KVM session on the simulated device, as AMT decides it (modern-amt.md §2.2).

Each console here is a real TCP client on loopback sending ``StartRedirectionSession`` with the
``KVMR`` tag (``10 01 00 00 4B 56 4D 52``, as MeshCommander does) and reading the 13-byte reply;
WS-Man is amtterm's own client over HTTP. What is checked is the status a console gets:
0 go on, 1 this firmware has no KVM (Standard Manageability), 2 busy, 3 KVM disabled,
0xFF user consent missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from amtterm.errors import WsmanNotSupported
from amtterm.redir import StartStatus
from amtterm.sim.app import RunningSim, SimOptions, start_sim
from amtterm.wsman import operations
from amtterm.wsman.client import WsmanClient
from tests.support.kvm_console import KvmConsole, open_kvm

pytestmark = pytest.mark.timeout(60)

KVM_START = bytes.fromhex("10010000") + b"KVMR"
SOL_START = bytes.fromhex("10000000") + b"SOL "
PASSWORD = "Sim-Pass-123!"


async def start(start_bytes: bytes, port: int) -> tuple[int, asyncio.StreamWriter]:
    """Open a session as a console does; the reply's status and the (still open) connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(start_bytes)
    reply = await asyncio.wait_for(reader.readexactly(13), 10)
    assert reply[0] == 0x11 and reply[12] == 0  # StartRedirectionSessionReply, 13 bytes, no OEM data
    return reply[1], writer


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await writer.wait_closed()


async def kvm_status(port: int) -> int:
    status, writer = await start(KVM_START, port)
    await close(writer)
    return status


async def running(**options: object) -> RunningSim:
    base: dict[str, object] = {
        "redir_port": 0,
        "redir_tls_port": None,
        "wsman_port": 0,
        "password": PASSWORD,
        "power_on": "start",
        "amt_version": (16, 1),
    }
    base.update(options)
    return await start_sim(SimOptions(**base))  # type: ignore[arg-type]


def ports(sim: RunningSim) -> tuple[int, int]:
    redir = sim.hosts[0].port("redirection", False)
    wsman = sim.hosts[0].port("wsman", False)
    assert redir is not None and wsman is not None
    return redir, wsman


@pytest.fixture
async def client_mode() -> AsyncIterator[tuple[RunningSim, WsmanClient]]:
    sim = await running(control_mode="client")
    _, wsman = ports(sim)
    client = WsmanClient("127.0.0.1", user="admin", password=PASSWORD, tls=False, port=wsman, timeout=5)
    yield sim, client
    await client.aclose()
    await sim.close()


async def test_standard_manageability_has_no_kvm() -> None:
    sim = await running(sku="ism")
    redir, wsman = ports(sim)
    client = WsmanClient("127.0.0.1", user="admin", password=PASSWORD, tls=False, port=wsman, timeout=5)
    try:
        assert await kvm_status(redir) == StartStatus.UNKNOWN_SESSION_TYPE
        # SOL is there all the same.
        status, writer = await start(SOL_START, redir)
        assert status == StartStatus.SUCCESS
        await close(writer)
        with pytest.raises(WsmanNotSupported):
            await operations.get_instance(client, "CIM_KVMRedirectionSAP")
        assert await operations.enumerate_instances(client, "IPS_KVMRedirectionSettingData") == []
    finally:
        await client.aclose()
        await sim.close()


async def test_kvm_disabled_over_wsman_is_refused_and_enabled_again() -> None:
    sim = await running()
    redir, wsman = ports(sim)
    client = WsmanClient("127.0.0.1", user="admin", password=PASSWORD, tls=False, port=wsman, timeout=5)
    try:
        sap = await operations.get_instance(client, "CIM_KVMRedirectionSAP")
        assert (sap.integer("EnabledState"), sap.integer("KVMProtocol")) == (6, 4)  # enabled, idle; VNC
        await operations.invoke(client, "CIM_KVMRedirectionSAP", "RequestStateChange", {"RequestedState": 3})
        sap = await operations.get_instance(client, "CIM_KVMRedirectionSAP")
        assert (sap.integer("EnabledState"), sap.integer("RequestedState")) == (3, 3)
        assert await kvm_status(redir) == StartStatus.UNSUPPORTED
        await operations.invoke(client, "CIM_KVMRedirectionSAP", "RequestStateChange", {"RequestedState": 2})
        assert await kvm_status(redir) == StartStatus.SUCCESS
    finally:
        await client.aclose()
        await sim.close()


async def test_a_second_kvm_console_is_busy_but_sol_is_not() -> None:
    sim = await running()
    redir, _ = ports(sim)
    try:
        first, holder = await start(KVM_START, redir)
        assert first == StartStatus.SUCCESS
        assert await kvm_status(redir) == StartStatus.BUSY
        status, sol = await start(SOL_START, redir)  # SOL has its own slot
        assert status == StartStatus.SUCCESS
        await close(sol)
        await close(holder)
        for _ in range(100):  # the slot is free once the device has seen the console leave
            if sim.device.kvm_owner is None:
                break
            await asyncio.sleep(0.02)
        assert await kvm_status(redir) == StartStatus.SUCCESS
    finally:
        await sim.close()


async def test_client_control_mode_needs_the_consent_code_for_kvm(
    client_mode: tuple[RunningSim, WsmanClient],
) -> None:
    sim, client = client_mode
    redir, _ = ports(sim)
    sim.hosts[0].state.code_source = lambda: "314159"
    assert await kvm_status(redir) == StartStatus.ERROR
    settings = await operations.get_instance(client, "IPS_KVMRedirectionSettingData")
    assert settings.text("OptInPolicy") == "true"
    await operations.consent_request(client)
    assert await kvm_status(redir) == StartStatus.ERROR  # a code on the screen is not consent yet
    assert (await operations.consent_code(client, "314159")).granted
    reader, writer = await open_kvm(redir, PASSWORD)
    console = KvmConsole(reader, writer)
    try:
        await console.wait_for("the first frame", lambda: console.client.frame_complete)
        assert (await operations.consent_status(client)).state_value == 4  # in session
    finally:
        await console.close()


async def test_admin_control_mode_asks_consent_only_when_opt_in_says_so() -> None:
    sim = await running()
    redir, wsman = ports(sim)
    client = WsmanClient("127.0.0.1", user="admin", password=PASSWORD, tls=False, port=wsman, timeout=5)
    try:
        assert await kvm_status(redir) == StartStatus.SUCCESS  # OptInRequired 0: no code needed
        # IPS_KVMRedirectionSettingData.OptInPolicy on: KVM needs consent (OptInRequired 1).
        await operations.put_instance(client, "IPS_KVMRedirectionSettingData", {"OptInPolicy": True})
        assert (await operations.consent_status(client)).required_value == 1
        assert await kvm_status(redir) == StartStatus.ERROR
    finally:
        await client.aclose()
        await sim.close()

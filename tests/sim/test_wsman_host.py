"""WS-Man power and boot control driving the synthetic PC: what a user sees on the console."""

from __future__ import annotations

from amtterm.sim.wsman import service
from amtterm.sim.wsman.state import DeviceState
from amtterm.wsman import boot, operations
from tests.sim.console import Console


def device_for(console: Console) -> tuple[DeviceState, operations.Transport]:
    state = DeviceState(host=console.host)

    async def transport(body: str) -> str:
        reply = service.handle(body, state, console.now)[1]
        console.pump()
        return reply

    return state, transport


async def test_power_on_into_bios_setup_then_a_normal_boot() -> None:
    console = Console()
    _, transport = device_for(console)
    assert (await operations.power_status(transport)).state == "off"
    result = await boot.boot_override(transport, "bios", sol=True, then="on")
    assert result.power == "on"
    console.wait_for("Setup Utility")
    await operations.power_action(transport, "reset")  # the override was used up
    console.advance(3)
    assert "Setup Utility" not in console.text()
    assert (await operations.power_status(transport)).state == "on"


async def test_reset_into_pxe_shows_the_pxe_banner() -> None:
    console = Console()
    console.power_on()
    _, transport = device_for(console)
    await boot.boot_override(transport, "pxe", then="reset")
    console.wait_for("PXE-E51", timeout=120)


async def test_power_off_darkens_the_host() -> None:
    console = Console()
    console.power_on()
    _, transport = device_for(console)
    await operations.power_action(transport, "off")
    assert not console.host.powered
    assert console.host.read_output(console.now + 5) == b""


async def test_consent_code_appears_on_the_host_screen() -> None:
    console = Console()
    console.power_on()
    state, transport = device_for(console)
    state.control_mode = "client"
    state.code_source = lambda: "271828"
    await operations.consent_request(transport)
    console.advance(0.5)
    assert "271828" in console.text()
    await operations.consent_code(transport, "271828")
    console.advance(0.5)
    assert "271828" not in console.text()

"""The simulated device's event log, its BIOS report after a boot, and its hardware classes.

The client's own reader (:mod:`amtterm.wsman.eventlog`, :mod:`amtterm.wsman.inventory`) reads
the device through its WS-Man service in memory; time is passed in.
"""

from __future__ import annotations

from amtterm.sim.host import HttpsBoot
from amtterm.sim.synthetic import SyntheticHost
from amtterm.sim.wsman import service
from amtterm.sim.wsman.eventlog import CAPACITY
from amtterm.sim.wsman.inventory import facts_for_host
from amtterm.sim.wsman.state import DeviceState
from amtterm.wsman import boot, eventlog, inventory, operations
from amtterm.wsman.operations import get_instance
from amtterm.wsman.resources import PowerState

EPOCH = 1_800_000_000.0


class Machine:
    """A synthetic PC behind a device state, its boot events wired into the log as SimDevice does."""

    def __init__(self) -> None:
        self.host = SyntheticHost()
        self.state = DeviceState(host=self.host, power_state=PowerState.OFF_SOFT, amt_version="16.1.25")
        self.state.events.epoch = EPOCH
        self.state.hardware = facts_for_host(self.host)
        self.now = 0.0
        self.host.on_boot_event = lambda kind, text: self.state.log_event(self.now, kind, text)

    async def transport(self, request: str) -> str:
        return service.handle(request, self.state, self.now)[1]

    def run(self, seconds: float) -> None:
        """Let the PC run (the device reads its serial output every 0.1 s)."""
        end = self.now + seconds
        while self.now < end:
            self.now = round(self.now + 0.1, 3)
            self.host.read_output(self.now)


async def test_a_power_on_logs_post_the_boot_device_and_the_os_boot() -> None:
    machine = Machine()
    await operations.power_action(machine.transport, "on")
    machine.run(10)
    events = await eventlog.read_events(machine.transport)
    assert [e.text for e in events] == [
        "power: powered on",
        "BIOS: primary processor initialization",
        "BIOS: memory initialization",
        "boot device selected: hard disk",
        "BIOS: starting OS boot",
    ]
    assert events[0].time == EPOCH and events[-1].time >= EPOCH + 4


async def test_bios_last_status_says_whether_the_bios_used_the_options() -> None:
    machine = Machine()
    settings = await get_instance(machine.transport, "AMT_BootSettingData")
    assert settings.integers("BIOSLastStatus") == [2, 0]
    await boot.boot_override(machine.transport, "bios", then="on")
    machine.run(6)
    settings = await get_instance(machine.transport, "AMT_BootSettingData")
    assert settings.integers("BIOSLastStatus") == [0, 0] and settings.boolean("OptionsCleared")
    assert [e.kind for e in await eventlog.read_events(machine.transport)][-1] == "setup"

    ignoring = Machine()
    ignoring.state.events.honour_boot_options = False
    await boot.boot_override(ignoring.transport, "bios", then="on")
    ignoring.run(8)
    settings = await get_instance(ignoring.transport, "AMT_BootSettingData")
    assert settings.integers("BIOSLastStatus") == [2, 0] and settings.boolean("OptionsCleared")
    kinds = [e.kind for e in await eventlog.read_events(ignoring.transport)]
    assert "setup" not in kinds and kinds[-1] == "os-boot"


async def test_the_log_is_a_bounded_ring_read_page_by_page() -> None:
    state = DeviceState()
    state.events.epoch = EPOCH
    for second in range(CAPACITY + 25):
        state.log_event(float(second), "post", "memory")
    assert len(state.events.records) == CAPACITY

    async def transport(request: str) -> str:
        return service.handle(request.replace(">390<", ">100<"), state, 0.0)[1]  # pages of 100

    records = await eventlog.read_records(transport)
    assert len(records) == CAPACITY
    assert records[0].timestamp == EPOCH + 25 and records[-1].timestamp == EPOCH + CAPACITY + 24
    log = await get_instance(transport, "AMT_MessageLog")
    assert log.integer("MaxNumberOfRecords") == CAPACITY and log.integer("CurrentNumberOfRecords") == CAPACITY
    assert await eventlog.read_records(lambda request: _handle(request, DeviceState())) == []


async def _handle(request: str, state: DeviceState) -> str:
    return service.handle(request, state, 0.0)[1]


async def test_the_hardware_classes_follow_the_host() -> None:
    machine = Machine()
    info = await inventory.read_machine(machine.transport)
    assert info.bios == "DemoTech 2.17.1249 (2024-03-14)"
    assert info.machine == "DemoTech Demo PC"
    assert info.guid == "4C4C4544-0042-3510-8052-B7C04F4D3732"  # what the synthetic POST shows
    assert info.sku == "Intel Standard Manageability (no KVM), corporate"  # a DeviceState without KVM
    assert info.features == "KVM no, SOL yes, IDE-R yes, OCR no, Platform Erase no"

    class OvmfHost:
        def set_https_boot(self, boot: HttpsBoot | None) -> None:
            pass

    facts = facts_for_host(OvmfHost())
    assert (facts.bios_vendor, facts.model) == ("EDK II", "Standard PC (Q35 + ICH9, 2009)")


async def test_a_device_without_the_hardware_classes_reads_as_unknown() -> None:
    machine = Machine()

    async def old_firmware(request: str) -> str:
        for missing in (
            "CIM_BIOSElement",
            "CIM_Chassis",
            "CIM_ComputerSystemPackage",
            "AMT_BootCapabilities",
        ):
            request = request.replace(f"/{missing}<", "/CIM_NoSuchClass<")
        return await machine.transport(request)

    info = await inventory.read_machine(old_firmware)
    assert info.bios is None and info.machine is None and info.guid is None
    assert info.features == "KVM no, SOL unknown, IDE-R unknown, OCR unknown, Platform Erase unknown"
    assert info.firmware["AMT"] == "16.1.25"

"""A real SeaBIOS's serial text, read by the firmware watcher, gives the boot events it should.

QEMU's SeaBIOS with no disk and an empty CD drive (the IDE-R drive of the QEMU host) tries the
hard disk, the CD and the network ROM, then gives up: the watcher must see each of those, so
the simulated device's event log says why nothing booted.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest

from amtterm.sim.firmware_watch import FirmwareWatcher
from amtterm.sim.qemu_host import QemuHost
from amtterm.sim.wsman.eventlog import boot_event_record
from amtterm.wsman.eventlog import describe

pytestmark = [pytest.mark.real, pytest.mark.timeout(120)]


async def test_seabios_without_a_bootable_device_reads_as_failed_boots() -> None:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail(
            "qemu-system-x86_64 is missing: install the Debian package qemu-system-x86 (.ci/run does)"
        )
    loop = asyncio.get_running_loop()
    host = QemuHost(memory_mb=256)
    watcher = FirmwareWatcher(cd="ider-cd")
    events: list[tuple[str, str]] = []
    output = b""
    try:
        host.power_on(loop.time())
        deadline = loop.time() + 90  # TCG on a shared machine: generous
        while b"No bootable device" not in output and loop.time() < deadline:
            await asyncio.sleep(0.5)
            data = host.read_output(loop.time())
            output += data
            events += watcher.feed(data)
    finally:
        host.power_off(loop.time())
        await host.aclose()
    assert b"No bootable device" in output, output[-2000:]
    said = [describe(boot_event_record(kind, text, 1_800_000_000)).text for kind, text in events]
    assert said[0] == "BIOS: primary processor initialization"
    assert "boot failed: IDE-R CD: no bootable medium" in said
    assert said.count("boot failed: no bootable medium") >= 2  # the hard disk, and nothing left at the end
    assert "boot device selected: network (PXE)" in said  # SeaBIOS handed over to iPXE's ROM

"""The redirected CD as an NBD export: QEMU's own NBD client reads the image a console serves over IDE-R.

Chain under test (all real, all loopback): ``qemu-img`` -> the device's NBD export ->
READ(10) over the IDE-R session -> :class:`amtterm.session.ider.IderSession` -> the ISO file.
This is the path SeaBIOS reads through in ``amtterm sim --qemu``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from amtterm.redir.connection import ConsoleConfig
from amtterm.redir.constants import IderStartTiming, SessionType
from amtterm.session.ider import IderSession
from amtterm.sim.app import RunningSim, SimOptions, start_sim
from amtterm.sim.ider_export import READ_AHEAD_BLOCKS, IderExport
from tests.redir.eltorito import boot_image, build_iso

pytestmark = pytest.mark.timeout(60)

PASSWORD = "Export-Test-1!"


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[RunningSim]:
    options = SimOptions(
        redir_port=0,
        redir_tls_port=None,
        wsman_port=None,
        wsman_tls_port=None,
        password=PASSWORD,
        state_dir=tmp_path / "state",
        power_on="start",
    )
    running = await start_sim(options, log=lambda line: None)
    device = running.device
    device.ider_export = IderExport(device)  # what --qemu sets up for its QEMU host
    await device.ider_export.start()
    yield running
    await device.ider_export.close()
    await running.close()


def qemu_img() -> str:
    path = shutil.which("qemu-img")
    if path is None:
        pytest.fail("qemu-img is missing: install the Debian package qemu-utils (.ci/run does)")
    return path


async def run(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def open_console(sim: RunningSim, iso: Path) -> IderSession:
    port = sim.hosts[0].port("redirection", False)
    assert port is not None
    config = ConsoleConfig(
        "admin", PASSWORD, session_type=SessionType.IDER, ider_timing=IderStartTiming.IMMEDIATELY
    )
    return await IderSession.open("127.0.0.1", port, tls=None, config=config, cd=iso)


async def test_qemu_img_copies_the_served_iso_exactly_and_the_file_is_untouched(
    sim: RunningSim, tmp_path: Path
) -> None:
    iso = tmp_path / "boot.iso"
    iso.write_bytes(build_iso(boot_image(300 * 1024), total_blocks=3000))  # 6 MB
    before = (hashlib.sha256(iso.read_bytes()).hexdigest(), os.stat(iso).st_mtime_ns)
    server = await open_console(sim, iso)
    export = sim.device.ider_export
    assert export is not None
    try:
        copy = tmp_path / "copy.img"
        status, out = await run(qemu_img(), "convert", "-f", "raw", "-O", "raw", export.url, str(copy))
        assert status == 0, out
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == before[0]
        # Read ahead: far fewer IDE-R commands than 2048-byte sectors.
        sectors = iso.stat().st_size // 2048
        assert export.source.commands <= sectors // READ_AHEAD_BLOCKS + 64
        status, out = await run(qemu_img(), "info", export.url)
        assert status == 0, out
        assert f"({iso.stat().st_size} bytes)" in out
    finally:
        await server.close()
    assert (hashlib.sha256(iso.read_bytes()).hexdigest(), os.stat(iso).st_mtime_ns) == before


async def test_without_an_ider_console_the_export_says_why(sim: RunningSim, tmp_path: Path) -> None:
    export = sim.device.ider_export
    assert export is not None
    status, out = await run(qemu_img(), "info", export.url)
    assert status != 0
    assert "the redirected drive has no medium" in out
    # A console came and went: the drive is gone again, not served stale.
    iso = tmp_path / "boot.iso"
    iso.write_bytes(build_iso(boot_image(), total_blocks=200))
    server = await open_console(sim, iso)
    status, out = await run(qemu_img(), "info", export.url)
    assert status == 0, out
    await server.close()
    for _ in range(50):
        if sim.device.ider_owner is None:
            break
        await asyncio.sleep(0.05)
    status, out = await run(qemu_img(), "info", export.url)
    assert status != 0

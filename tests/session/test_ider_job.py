"""IderJob (what `amtterm ider` and the IDE-R pane share) against an IDE-R-only device on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from amtterm.errors import ConfigError
from amtterm.redir.connection import ConsoleConfig
from amtterm.redir.constants import IderStartTiming, SessionType
from amtterm.session.ider_job import IderJob, IderRequest
from amtterm.session.ider_progress import IderProgress
from amtterm.sim.ider_firmware import IderFirmware, serve_ider_connection
from amtterm.sim.ider_host import BootReport
from tests.redir.eltorito import build_iso

USER, PASSWORD = "admin", "P@ssw0rd"
CONFIG = ConsoleConfig(USER, PASSWORD)


class Device:
    """An IDE-R device on loopback that lets one console in at a time (others: busy)."""

    def __init__(self) -> None:
        self.port = 0
        self.firmwares: list[IderFirmware] = []
        self.boots: asyncio.Queue[BootReport] = asyncio.Queue()


@pytest.fixture
async def device() -> AsyncIterator[Device]:
    found = Device()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_ider_connection(
            reader,
            writer,
            users={USER: PASSWORD},
            on_firmware=found.firmwares.append,
            on_boot=found.boots.put_nowait,
        )

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    yield found
    server.close()
    await server.wait_closed()


@pytest.fixture
def iso(tmp_path: Path) -> Path:
    path = tmp_path / "boot.iso"
    path.write_bytes(build_iso(volume_id="JOB_TEST", total_blocks=64))
    os.utime(path, (1_600_000_000, 1_600_000_000))
    return path


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_a_request_turns_a_console_config_into_an_ider_one(iso: Path) -> None:
    request = IderRequest(cd=iso, timing="now")
    config = request.console_config(CONFIG)
    assert config.session_type is SessionType.IDER and config.ider_timing is IderStartTiming.IMMEDIATELY
    assert config.user == USER and config.password == PASSWORD
    assert IderRequest(cd=iso).console_config(CONFIG).ider_timing is IderStartTiming.ON_RESET
    assert request.check() == 64 * 2048
    assert request.boot_device == "ider-cd" and IderRequest(floppy=iso).boot_device == "ider-floppy"


async def test_boot_serves_then_boots_then_stop_ends_it_politely(device: Device, iso: Path) -> None:
    before = fingerprint(iso)
    said: list[str] = []
    seen: list[IderProgress] = []
    asked: list[str] = []

    async def boot(target: str) -> str:
        asked.append(target)
        await device.firmwares[0].host_reset()  # what the reset over WS-Man makes the PC do
        return "The machine boots into the IDE-R CD image."

    job = IderJob(
        IderRequest(cd=iso, boot=True),
        "127.0.0.1",
        device.port,
        tls=None,
        config=CONFIG,
        name="pc42",
        boot=boot,
        on_progress=seen.append,
        on_message=said.append,
    )
    runner = asyncio.create_task(job.run())
    report = await asyncio.wait_for(device.boots.get(), 20)
    assert report.volume_id == "JOB_TEST" and report.bootable
    assert asked == ["ider-cd"]
    assert said == [f"Serving {iso} to pc42 over IDE-R.", "The machine boots into the IDE-R CD image."]
    assert job.state == "serving" and job.active and job.image_bytes == 64 * 2048
    await job.stop()
    await asyncio.wait_for(runner, 10)  # returns, no error
    assert job.state == "stopped" and job.finished
    assert job.progress is not None and job.progress.phase == "ended"
    assert job.progress.sectors_served == 4 and seen
    assert fingerprint(iso) == before


async def test_a_bad_image_fails_before_connecting(tmp_path: Path) -> None:
    odd = tmp_path / "odd.iso"
    odd.write_bytes(bytes(3000))
    job = IderJob(IderRequest(cd=odd), "127.0.0.1", 9, tls=None, config=CONFIG, name="pc42")
    with pytest.raises(ConfigError, match="not a whole number of 2048-byte sectors"):
        await job.run()
    assert job.state == "failed"


async def test_stop_while_connecting_gives_up_at_once(iso: Path) -> None:
    # A listener that accepts and then says nothing, like a device that hangs before answering.
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    job = IderJob(IderRequest(cd=iso), "127.0.0.1", port, tls=None, config=CONFIG, name="pc42")
    runner = asyncio.create_task(job.run())
    while job.state != "connecting":
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    await job.stop()
    await asyncio.wait_for(runner, 5)
    assert job.state == "stopped"
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_boot_needs_a_boot_step(iso: Path) -> None:
    with pytest.raises(ConfigError, match="needs WS-Management"):
        IderJob(IderRequest(cd=iso, boot=True), "127.0.0.1", 9, tls=None, config=CONFIG, name="pc42")

"""IderSession against an in-process IDE-R device (device codec + the simulator's BIOS script) on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from amtterm.errors import AuthError, ConfigError, SessionClosed
from amtterm.redir import events as ev
from amtterm.redir.connection import ConsoleConfig
from amtterm.redir.constants import IderStartTiming, SessionType
from amtterm.redir.ider import GOOD, IderDrive
from amtterm.redir.ider_drives import ServedCommand
from amtterm.session.ider import STREAM_PIECE, IderProgress, IderSession
from amtterm.session.ider_progress import ProgressMeter, describe_command
from amtterm.sim.ider_firmware import IderFirmware, IderReadError, serve_ider_connection
from amtterm.sim.ider_host import BootReport, read10
from tests.redir.eltorito import boot_image, build_iso, filler

USER, PASSWORD = "admin", "P@ssw0rd"
BOOT = boot_image(600 * 1024)  # more than one streamed piece, many 0x54 chunks


@dataclass
class Device:
    """An IDE-R-only device on loopback; what it saw."""

    port: int
    boots: asyncio.Future[BootReport]
    firmwares: list[IderFirmware] = field(default_factory=list)


@pytest.fixture
async def device() -> AsyncIterator[Device]:
    boots: asyncio.Future[BootReport] = asyncio.get_running_loop().create_future()
    found = Device(0, boots)

    def booted(report: BootReport) -> None:
        if not boots.done():
            boots.set_result(report)

    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        await serve_ider_connection(
            reader, writer, users={USER: PASSWORD}, on_boot=booted, on_firmware=found.firmwares.append
        )

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    yield found
    server.close()
    if handlers:
        # Every console in these tests ends its session, so the device side ends too.
        _, pending = await asyncio.wait(handlers, timeout=5)
        assert not pending, "the device side did not see the session end"
    await server.wait_closed()


def config(timing: IderStartTiming = IderStartTiming.IMMEDIATELY, password: str = PASSWORD) -> ConsoleConfig:
    return ConsoleConfig(USER, password, session_type=SessionType.IDER, ider_timing=timing)


async def test_serves_the_whole_boot_image_and_counts_it(device: Device, tmp_path: Path) -> None:
    iso = tmp_path / "boot.iso"
    iso.write_bytes(build_iso(BOOT, total_blocks=400))
    before = hashlib.sha256(iso.read_bytes()).hexdigest()
    seen: list[IderProgress] = []
    server = await IderSession.open(
        "127.0.0.1", device.port, tls=None, config=config(), cd=iso, on_progress=seen.append
    )
    try:
        report = await asyncio.wait_for(device.boots, 20)
        assert report.bootable and report.boot_image == BOOT and report.volume_id == "AMTTERM_TEST"
        log = device.firmwares[0].host.log
        progress = server.progress()
        boot_blocks = len(BOOT) // 2048
        assert progress.sectors_served == 3 + boot_blocks  # PVD, boot record, catalog, boot image
        assert progress.bytes_served == sum(len(result.data) for result in log)
        assert progress.commands == len(log) and progress.errors == 1  # the first TEST UNIT READY
        assert progress.last_command == f"READ(10) LBA 20 x{boot_blocks}"
        assert progress.phase == "serving" and not progress.stalled and progress.mb_per_s > 0
        assert progress.coverage == pytest.approx((3 + boot_blocks) / 400)
        # The boot image went out in pieces: a figure taken between them has an ETA.
        assert len(BOOT) > STREAM_PIECE
        assert any(p.pending_bytes > 0 and p.eta_seconds is not None for p in seen)
        # The device can go on reading blocks (what an NBD export will do).
        assert await device.firmwares[0].read(350, 2) == filler(350) + filler(351)
        with pytest.raises(IderReadError, match="failed with sense 05/21/00"):
            await device.firmwares[0].read(399, 2)
    finally:
        await server.close()
    assert server.progress().phase == "ended"
    assert hashlib.sha256(iso.read_bytes()).hexdigest() == before


async def test_waiting_for_the_reset_then_idle_once_read(device: Device, tmp_path: Path) -> None:
    iso = tmp_path / "boot.iso"
    iso.write_bytes(build_iso())
    server = await IderSession.open(
        "127.0.0.1", device.port, tls=None, config=config(IderStartTiming.ON_RESET), cd=iso, stall_after=0.3
    )
    try:
        await asyncio.sleep(0.4)
        waiting = server.progress()
        assert waiting.phase == "waiting" and not waiting.stalled and waiting.commands == 0
        await device.firmwares[0].host_reset()
        await asyncio.wait_for(device.boots, 10)
        await asyncio.sleep(0.4)
        # The BIOS has what it needs and asks for nothing more: idle, not a stall (nothing is stuck).
        idle = server.progress()
        since = idle.since_last_command
        assert idle.phase == "idle" and idle.idle and not idle.stalled and since is not None and since >= 0.3
        assert "[idle]" in idle.line()
    finally:
        await server.close()


async def test_wrong_password_is_one_sentence(device: Device, tmp_path: Path) -> None:
    iso = tmp_path / "boot.iso"
    iso.write_bytes(build_iso())
    with pytest.raises(AuthError, match=r"^Wrong user name or password for 'admin' on 127\.0\.0\.1:\d+\.$"):
        await IderSession.open("127.0.0.1", device.port, tls=None, config=config(password="nope"), cd=iso)


def _refuse_open(*args: object, **kwargs: object) -> int:
    raise PermissionError(13, "Permission denied")


@pytest.mark.parametrize(
    ("make", "kind", "match"),
    [
        (lambda p: None, "cd", r"^The ISO image \S+ does not exist; check the path\.$"),
        (lambda p: p.mkdir(), "cd", r"^\S+ is a directory, not an ISO image; give the image file\.$"),
        (lambda p: p.write_bytes(bytes(5000)), "cd", r"^The ISO image \S+ is 5000 bytes, not a whole number"),
        (
            lambda p: p.write_bytes(bytes(700)),
            "floppy",
            r"^The floppy image \S+ is 700 bytes, not a whole number",
        ),
        (
            lambda p: p.write_bytes(bytes(2048)),
            "denied",
            r"^The ISO image \S+ cannot be read \(permission denied\)",
        ),
        (lambda p: None, "none", r"^Give an ISO image \(--cd\) or a floppy image \(--floppy\) to serve\.$"),
    ],
    ids=["missing", "directory", "iso-size", "floppy-size", "permission", "nothing"],
)
async def test_bad_images_fail_before_any_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Callable[[Path], object], kind: str, match: str
) -> None:
    path = tmp_path / "image.img"
    make(path)
    if kind == "denied":
        path.chmod(0)
        if os.geteuid() == 0:
            monkeypatch.setattr("amtterm.session.images.os.open", _refuse_open)
    cd = path if kind in ("cd", "denied") else None
    floppy = path if kind == "floppy" else None
    # Port 1 would refuse a connection: a ConfigError proves none was tried.
    with pytest.raises(ConfigError, match=match) as caught:
        await IderSession.open("127.0.0.1", 1, tls=None, config=config(), cd=cd, floppy=floppy)
    assert "\n" not in str(caught.value) and str(caught.value).count(". ") == 0


def test_progress_meter_with_a_fake_clock() -> None:
    now = [100.0]
    meter = ProgressMeter(lambda: now[0], cd_blocks=10, stall_after=5.0)
    assert meter.snapshot().phase == "starting"
    meter.enabled()
    now[0] = 101.0
    command = ev.IderCommand(read10(2, 4), 0xB0, False, 0, 3)
    meter.command(command)
    meter.pending = 8192
    meter.sent(4096)
    snap = meter.snapshot()
    assert snap.pending_bytes == 4096 and snap.mb_per_s == pytest.approx(4096 / 1.0 / 1e6)
    assert snap.eta_seconds == pytest.approx(1.0)
    meter.sent(4096)
    meter.served(ServedCommand(IderDrive.CD, command.cdb, 8192, GOOD, 4), streamed=True)
    snap = meter.snapshot()
    assert (snap.bytes_served, snap.sectors_served, snap.commands, snap.coverage) == (8192, 4, 1, 0.4)
    now[0] = 107.0
    snap = meter.snapshot()
    # Everything asked for went out, and the host asks for nothing more: idle, not stalled
    # (a boot loader that has its kernel reads nothing further).
    assert snap.idle and not snap.stalled and snap.phase == "idle"
    assert snap.mb_per_s == 0 and snap.elapsed == 7.0
    assert snap.line() == "[idle] 4 sectors, 0.0 MB, 0.00 MB/s - READ(10) LBA 2 x4"
    # A read in flight whose bytes stop going out is a stall.
    meter.command(ev.IderCommand(read10(6, 2), 0xB0, False, 0, 3))
    meter.pending = 4096
    meter.sent(1024)
    now[0] = 111.0
    assert not meter.snapshot().stalled  # 4 s quiet, under stall_after
    now[0] = 113.0
    snap = meter.snapshot()
    assert snap.stalled and not snap.idle and snap.quiet_for == 6.0 and snap.pending_bytes == 3072
    assert snap.line().startswith("[STALLED] ")


@pytest.mark.parametrize(
    ("cdb", "text"),
    [
        (bytes((0x08, 0, 1, 2, 0, 0)), "READ(6) LBA 258 x256"),
        (bytes((0xA8, 0, 0, 0, 0, 9, 0, 0, 0, 3, 0, 0)), "READ(12) LBA 9 x3"),
        (bytes(6), "TEST UNIT READY"),
        (bytes((0xBB,)), "opcode 0xbb"),
    ],
)
def test_command_names(cdb: bytes, text: str) -> None:
    assert describe_command(cdb) == text


async def test_the_device_going_away_is_reported(device: Device, tmp_path: Path) -> None:
    iso = tmp_path / "boot.iso"
    iso.write_bytes(build_iso())
    server = await IderSession.open("127.0.0.1", device.port, tls=None, config=config(), cd=iso)
    await asyncio.wait_for(device.boots, 10)
    device.firmwares[0].pump.writer.close()
    with pytest.raises(SessionClosed, match=r"^127\.0\.0\.1:\d+ closed the IDE-R session\.$"):
        await asyncio.wait_for(server.wait_closed(), 10)
    await server.close()

"""IderJob, the one IDE-R flow of `amtterm ider` and the IDE-R pane, against a device on loopback.

The device is the simulator's IDE-R firmware on a loopback socket and, for a boot, the simulator's
WS-Man service in memory, so the sentences are the ones both callers show. The sentences a user
sees from both callers are written once here (:data:`IDER_DISABLED`, :func:`missing`) and checked
against the command line (tests/test_cli_ider.py) and the pane (tests/ui/test_ider_pane.py) too.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from amtterm.errors import AmtError, ConfigError, WsmanRefused
from amtterm.redir.connection import ConsoleConfig
from amtterm.redir.constants import IderStartTiming, SessionType
from amtterm.session.ider_job import IderJob, IderRequest, Question, WsmanBoot
from amtterm.session.ider_progress import IderProgress
from amtterm.sim.ider_firmware import IderFirmware, serve_ider_connection
from amtterm.sim.ider_host import BootReport
from amtterm.sim.wsman import service
from amtterm.sim.wsman.state import DeviceState
from amtterm.wsman.results import BootResult
from tests.redir.eltorito import build_iso

USER, PASSWORD = "admin", "P@ssw0rd"
CONFIG = ConsoleConfig(USER, PASSWORD)

#: What `amtterm ider --boot` and the pane say when the device's IDE-R (or its listener) is off;
#: HOST is the host's name as the caller knows it.
IDER_DISABLED = "IDE-R redirection is disabled on the device; run 'amtterm redirection HOST enable' first."
#: What both say without an image.
NO_IMAGE = "Give a CD image (ISO) or a floppy image to serve."


def missing(path: Path) -> str:
    """What both say for an ISO image that is not there."""
    return f"The ISO image {path} does not exist; check the path."


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


class FakeWsman:
    """A BootService that records the calls; the boot resets the PC as WS-Man would."""

    def __init__(self, device: Device, refuse: str | None = None) -> None:
        self.device = device
        self.refuse = refuse
        self.calls: list[tuple[str, str, bool, str | None]] = []

    async def check_boot(self, target: str, *, sol: bool = False, then: str | None = None) -> None:
        self.calls.append(("check", target, sol, then))
        if self.refuse is not None:
            raise WsmanRefused(self.refuse)

    async def boot(self, target: str, *, sol: bool = False, then: str | None = None) -> BootResult:
        self.calls.append(("boot", target, sol, then))
        await self.device.firmwares[0].host_reset()  # what the reset over WS-Man makes the PC do
        return BootResult(target, sol, "reset", "The machine boots into the IDE-R CD image.")


class Pc:
    """The PC behind the in-memory WS-Man service: a reset boots it from the IDE-R drive."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.powered = True
        self.resets: list[asyncio.Task[None]] = []

    def power_on(self, now: float) -> None:
        self.powered = True

    def power_off(self, now: float) -> None:
        self.powered = False

    def reset(self, now: float) -> None:
        self.resets.append(asyncio.get_running_loop().create_task(self.device.firmwares[0].host_reset()))

    def set_next_boot(self, target: object) -> None:
        pass

    def show_message(self, text: str | None) -> None:
        pass


def wsman_of(device: Device, **state: object) -> tuple[DeviceState, WsmanBoot]:
    """The simulator's WS-Man service for ``device``, in memory, as the command line reaches it."""
    wsman = DeviceState(host=Pc(device), **state)  # type: ignore[arg-type]

    async def transport(body: str) -> str:
        return service.handle(body, wsman, 1000.0)[1]

    return wsman, WsmanBoot(transport, label="pc42")


async def test_boot_serves_then_boots_then_stop_ends_it_politely(device: Device, iso: Path) -> None:
    before = fingerprint(iso)
    said: list[str] = []
    seen: list[IderProgress] = []
    wsman = FakeWsman(device)

    job = IderJob(
        IderRequest(cd=iso, boot=True),
        "127.0.0.1",
        device.port,
        tls=None,
        config=CONFIG,
        name="pc42",
        wsman=wsman,
        on_progress=seen.append,
        on_message=said.append,
    )
    runner = asyncio.create_task(job.run())
    report = await asyncio.wait_for(device.boots.get(), 20)
    assert report.volume_id == "JOB_TEST" and report.bootable
    asked = [target for step, target, _, _ in wsman.calls if step == "boot"]
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


# -- the one flow: ask, images, consent and redirection, connect, boot ----------------------------


def boot_job(device: Device, request: IderRequest, **options: object) -> IderJob:
    return IderJob(request, "127.0.0.1", device.port, tls=None, config=CONFIG, name="pc42", **options)  # type: ignore[arg-type]


async def test_no_to_the_question_opens_nothing_and_asks_wsman_nothing(device: Device, iso: Path) -> None:
    questions: list[Question] = []
    states: list[str] = []
    wsman = FakeWsman(device)

    async def no(question: Question) -> bool:
        questions.append(question)
        return False

    job = boot_job(device, IderRequest(cd=iso, boot=True), wsman=wsman, confirm=no, on_state=states.append)
    await job.run()
    assert [q.title for q in questions] == [f"Boot pc42 from {iso}?"] and questions[0].confirm == "Reset"
    assert job.state == "cancelled" and job.finished and states == ["cancelled"]
    assert wsman.calls == [] and device.firmwares == []


async def test_the_steps_in_order_ask_images_check_connect_boot(device: Device, iso: Path) -> None:
    steps: list[str] = []
    wsman = FakeWsman(device)

    async def yes(question: Question) -> bool:
        steps.append("asked")
        return True

    def state(name: str) -> None:
        steps.append(f"{name} ({len(wsman.calls)} WS-Man calls, {len(device.firmwares)} sessions)")

    job = boot_job(
        device,
        IderRequest(cd=iso, boot=True),
        wsman=wsman,
        confirm=yes,
        on_state=state,
        before_boot=lambda target: steps.append(f"before boot {target}"),
    )
    runner = asyncio.create_task(job.run())
    await asyncio.wait_for(device.boots.get(), 20)
    await job.stop()
    await asyncio.wait_for(runner, 10)
    assert steps == [
        "asked",
        "connecting (0 WS-Man calls, 0 sessions)",
        "serving (1 WS-Man calls, 1 sessions)",  # consent and redirection were checked first
        "before boot ider-cd",
        "stopped (2 WS-Man calls, 1 sessions)",
    ]
    assert wsman.calls == [("check", "ider-cd", True, "reset"), ("boot", "ider-cd", True, "reset")]


async def test_a_missing_image_is_refused_before_wsman_is_asked(device: Device, tmp_path: Path) -> None:
    wsman = FakeWsman(device)

    async def yes(question: Question) -> bool:
        return True

    gone = tmp_path / "gone.iso"
    job = boot_job(device, IderRequest(cd=gone, boot=True), wsman=wsman, confirm=yes)
    with pytest.raises(ConfigError) as caught:
        await job.run()
    assert str(caught.value) == missing(gone)
    assert job.state == "failed" and wsman.calls == [] and device.firmwares == []
    with pytest.raises(ConfigError) as caught:
        IderRequest().check()
    assert str(caught.value) == NO_IMAGE


@pytest.mark.parametrize("switch", ["ider_enabled", "listener_enabled"])
async def test_ider_switched_off_is_refused_before_any_session(
    device: Device, iso: Path, switch: str
) -> None:
    state, wsman = wsman_of(device, **{switch: False})
    job = boot_job(device, IderRequest(cd=iso, boot=True), wsman=wsman)
    with pytest.raises(AmtError) as caught:
        await job.run()
    assert str(caught.value) == IDER_DISABLED  # the caller names HOST (the command line, DeviceService)
    assert job.state == "failed" and device.firmwares == []
    assert state.boot.next_target() is None  # nothing was changed


async def test_consent_is_checked_before_the_redirection_switches(device: Device, iso: Path) -> None:
    _, wsman = wsman_of(device, control_mode="client", ider_enabled=False)
    job = boot_job(device, IderRequest(cd=iso, boot=True), wsman=wsman)
    with pytest.raises(AmtError, match=r"^User consent is required to change boot options"):
        await job.run()
    assert device.firmwares == []


async def test_a_boot_over_the_simulators_wsman_boots_the_pc_from_the_served_image(
    device: Device, iso: Path
) -> None:
    state, wsman = wsman_of(device)
    said: list[str] = []
    job = boot_job(device, IderRequest(cd=iso, boot=True), wsman=wsman, on_message=said.append)
    runner = asyncio.create_task(job.run())
    report = await asyncio.wait_for(device.boots.get(), 20)
    assert report.volume_id == "JOB_TEST"
    assert said[1].startswith("pc42: The machine boots into the IDE-R CD image with its text on SOL now")
    assert isinstance(state.host, Pc) and len(state.host.resets) == 1  # reset once, over WS-Man
    await job.stop()
    await asyncio.wait_for(runner, 10)

"""`amtterm HOST --record FILE`: the console app records what it shows, with markers for its actions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from amtterm.cli.main import build_parser
from amtterm.cli.recording import attach_recorders, host_path
from amtterm.session.host import HostController
from amtterm.ui.screens.confirm import ConfirmScreen
from tests.ui.appsim import PASSWORD, running_app


@pytest.fixture(scope="module")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulator certificate for the module."""
    return tmp_path_factory.mktemp("sim-state")


def read_cast(path: Path) -> tuple[dict[str, Any], list[list[Any]]]:
    header, *events = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return header, events


def recording(tmp_path: Path, *, record_input: bool = False) -> tuple[argparse.Namespace, Any]:
    args = build_parser().parse_args(
        ["tui", "sim", "--record", str(tmp_path / "sim.cast"), "--log", str(tmp_path / "sim.txt")]
        + (["--record-input"] if record_input else [])
    )

    def prepare(links: list[HostController]) -> None:
        attach_recorders(args, links)

    return args, prepare


async def test_records_the_screen_and_marks_a_reset_from_the_power_pane(
    sim_state: Path, tmp_path: Path
) -> None:
    _, prepare = recording(tmp_path)
    async with running_app(sim_state, tmp_path, prepare=prepare) as run:
        await run.wait_text("Press F2 for Setup")
        await run.pilot.press("f2")
        await run.wait_text("Save & Exit")
        await run.pilot.click("#power-reset")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        await run.pilot.press("y")
        await run.wait_text("Press F2 for Setup")
    header, events = read_cast(tmp_path / "sim.cast")
    assert header["version"] == 2 and (header["width"], header["height"]) == (80, 25)
    assert header["title"] == "amtterm sim"
    assert {event[1] for event in events} <= {"o", "m"}  # no keys without --record-input
    markers = [event[2] for event in events if event[1] == "m"]
    assert markers[:2] == ["console connected", "power on"]
    assert "power reset requested" in markers
    at = next(n for n, event in enumerate(events) if event[2] == "power reset requested")
    before = "".join(event[2] for event in events[:at] if event[1] == "o")
    after = "".join(event[2] for event in events[at:] if event[1] == "o")
    assert "Setup Utility" in before and "╔" in before  # the setup screen, CP437 decoded
    assert "Press F2 for Setup" in after  # POST again, after the marker
    assert markers[-1] == "console disconnected"  # the app closed the session
    text = (tmp_path / "sim.cast").read_text()
    assert PASSWORD not in text
    log = (tmp_path / "sim.txt").read_text()
    assert "[amtterm: power reset requested]" in log and "Save & Exit" in log and "\x1b" not in log


async def test_record_input_keeps_keys_and_marks_the_bios_reset(sim_state: Path, tmp_path: Path) -> None:
    _, prepare = recording(tmp_path, record_input=True)
    async with running_app(sim_state, tmp_path, prepare=prepare) as run:
        await run.wait_text("Press F2 for Setup")
        await run.pilot.press("f2")
        await run.wait_text("Save & Exit")
        await run.command("B")  # reset into BIOS setup, asked first
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        await run.pilot.press("y")
        await run.wait_for(
            lambda: (
                "next boot: BIOS setup with SOL, then reset requested" in (tmp_path / "sim.cast").read_text()
            ),
            "the boot marker",
        )
    _, events = read_cast(tmp_path / "sim.cast")
    typed = "".join(event[2] for event in events if event[1] == "i")
    assert "\x1b[OQ" in typed  # F2 in the intel convention
    assert PASSWORD not in (tmp_path / "sim.cast").read_text()


def test_one_file_per_host() -> None:
    assert host_path(Path("a/s.cast"), "pc42", many=False) == Path("a/s.cast")
    assert host_path(Path("a/s.cast"), "pc42", many=True) == Path("a/s-pc42.cast")
    assert host_path(Path("a/{host}.cast"), "pc42", many=True) == Path("a/pc42.cast")
    assert host_path(Path("log"), "pc42", many=True) == Path("log-pc42")


async def test_an_unwritable_recording_is_one_sentence(tmp_path: Path) -> None:
    from amtterm.errors import ConfigError
    from amtterm.redir.connection import ConsoleConfig
    from amtterm.session.host import HostProfile

    profile = HostProfile("pc42", "127.0.0.1", 16994, None, ConsoleConfig(user="admin", password="x"))
    links = [
        HostController(profile),
        HostController(HostProfile("pc43", "127.0.0.2", 16994, None, profile.console)),
    ]
    args = build_parser().parse_args(["tui", "pc42", "pc43", "--record", str(tmp_path / "{host}.cast")])
    (tmp_path / "pc43.cast").mkdir()  # the second host's file cannot be written
    with pytest.raises(ConfigError, match=r"^Cannot write the recording .*pc43\.cast"):
        attach_recorders(args, links)
    assert all(link.recorder is None for link in links)  # none half-attached

"""The status line and the screen tell the truth: whole sentences, stale screens, plain words."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from amtterm.terminal.tmux import tmux_clipboard_warning
from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.widgets.statusline import StatusLine
from tests.ui.appsim import Running, running_app

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-state")


def status_text(run: Running) -> str:
    return str(run.screen.query_one(StatusLine).render())


async def test_the_status_line_says_what_backspace_and_enter_send(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        text = status_text(run)
        assert "Bksp=BS" in text and "Enter=CR" in text
        assert "BS BS" not in text


async def test_a_failure_cut_in_the_status_line_is_readable_in_full(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, password="Wrong-Pass-1!", size=(80, 24)) as run:
        sentence = "Wrong user name or password for 'admin'"
        await run.wait_for(lambda: sentence in run.link.status.message, "the session to fail", 20)
        await run.pilot.pause(0.2)
        full = run.link.status.message
        assert full not in status_text(run)  # 80 columns cannot hold it ...
        assert "Ctrl-] m: all" in status_text(run)  # ... so the line says how to read it
        await run.command("m")
        assert any(full in note for note in run.notes())


async def test_after_power_off_the_old_screen_is_shown_as_stale(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        assert run.view.stale is None
        await run.pilot.click("#power-off")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the question")
        await run.pilot.press("y")
        await run.wait_for(lambda: run.view.stale is not None, "the screen to be marked stale", 20)
        assert run.view.has_class("-stale")
        await run.wait_for(lambda: "Not live:" in run.svg_text(), "the reason drawn on the screen")


def test_tmux_clipboard_warning_names_external_and_off() -> None:
    def fake(value: str) -> Any:
        return lambda *args, **kwargs: subprocess.CompletedProcess(args, 0, stdout=f"{value}\n", stderr="")

    tmux = {"TMUX": "/tmp/tmux-0/default,1,0"}
    assert tmux_clipboard_warning({}, run=fake("off")) is None  # not in tmux
    assert tmux_clipboard_warning(tmux, run=fake("on")) is None
    for value in ("external", "off"):
        warning = tmux_clipboard_warning(tmux, run=fake(value))
        assert warning is not None and value in warning and "set-clipboard on" in warning


async def test_copy_in_tmux_that_drops_copies_warns_once_instead_of_saying_copied(
    sim_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import amtterm.ui.screens.console as console

    monkeypatch.setattr(console, "tmux_clipboard_warning", lambda: "tmux's set-clipboard is external, ...")
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        await run.command("y")
        await run.command("y")
        notes = run.notes()
        assert sum("set-clipboard is external" in note for note in notes) == 1
        assert not any(note.startswith("Copied the screen") for note in notes)

"""Where the keyboard is: the prefix works in every focus, the status line says where keys go,
and the panes' controls are reachable from the keyboard (Left / Right, Stop one command away)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from amtterm.ui.widgets.statusline import StatusLine
from tests.redir.eltorito import build_iso
from tests.ui.appsim import Running, running_app
from tests.ui.test_ider_pane import press_button

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-state")


def status_text(run: Running) -> str:
    return str(run.screen.query_one(StatusLine).render())


async def test_the_prefix_works_in_the_panes_and_the_status_line_says_where_keys_go(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        assert "keys: console" in status_text(run)
        await run.command("f")
        off = run.screen.query_one("#power-off")
        await run.wait_for(lambda: off.has_focus, "Off to have the keyboard")
        await run.wait_for(lambda: "keys: Power pane" in status_text(run), "the status line to say so")
        theme = run.app.amt_theme.name
        await run.command("t")  # a command typed while the keyboard is in a pane
        assert run.app.amt_theme.name != theme
        assert off.has_focus  # ... and the keyboard stays where it was
        await run.pilot.press("escape")
        await run.wait_for(lambda: "keys: console" in status_text(run), "keys back on the console")


async def test_left_and_right_move_between_a_panes_buttons(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        await run.command("f")
        off, reset = run.screen.query_one("#power-off"), run.screen.query_one("#power-reset")
        await run.wait_for(lambda: off.has_focus, "Off to have the keyboard")
        await run.pilot.press("right")
        assert reset.has_focus
        await run.pilot.press("left")
        assert off.has_focus


async def test_fast_typing_in_the_ider_path_field_keeps_its_order(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        await run.command("i")
        field = run.screen.query_one("#ider-cd", Input)
        await run.wait_for(lambda: field.has_focus, "the CD field to have the keyboard")
        # As a terminal delivers fast typing: every key queued before the first is handled.
        keys = [*"~/abc", "backspace", "backspace", "backspace", *"xyz"]
        for key in keys:
            run.app.post_message(events.Key(key, key if len(key) == 1 else None))
        await run.pilot.pause(0.3)
        assert field.value == "~/xyz"


async def test_prefix_i_while_serving_says_why_and_keeps_keys_out_of_the_pc(
    sim_state: Path, tmp_path: Path
) -> None:
    image = tmp_path / "disk.iso"
    image.write_bytes(build_iso(volume_id="KEYS_TEST", total_blocks=64))
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        await run.command("i")
        field = run.screen.query_one("#ider-cd", Input)
        await run.wait_for(lambda: field.has_focus, "the CD field")
        field.value = str(image)
        await press_button(run, "#ider-serve")

        def serving() -> bool:
            job = run.link.ider
            return job is not None and job.state in ("waiting", "serving", "idle")

        await run.wait_for(serving, "the image to be served", 15)
        await run.pilot.press("escape")
        await run.command("i")
        stop = run.screen.query_one("#ider-stop")
        await run.wait_for(lambda: stop.has_focus, "Stop to have the keyboard")
        assert any("IDE-R is serving" in note for note in run.notes())
        await run.pilot.press("enter")  # Stop, one key away
        await run.wait_for(lambda: run.link.ider is not None and run.link.ider.finished, "the job to stop")

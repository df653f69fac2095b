"""The remote's first screen comes first: the side panes are built once it is drawn (issue 12).

Building the four panes and their first WS-Man requests used to run before the console's first
screen; now they follow it. What a user notices is checked: the POST text is on the console
before the panes exist, the panes then come by themselves, a command that needs them (Ctrl-] i)
works before the first screen as well, and a PC that stays off (no screen ever) still gets them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Input

from amtterm.ui.widgets.device_panes import SidePanes
from tests.ui.appsim import running_app

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-state")


async def test_the_panes_come_after_the_first_screen_by_themselves(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        panes = run.screen.query_one(SidePanes)
        shown_then: list[str] = []
        build = panes.build

        async def noting_build(*args: object, **kwargs: object) -> bool:
            shown_then.append(run.view.text())
            return await build(*args, **kwargs)  # type: ignore[arg-type]

        panes.build = noting_build  # type: ignore[method-assign]
        await run.wait_text("DemoTech BIOS Version")
        await run.panes()
        assert shown_then and "DemoTech" in shown_then[0]  # the console's screen was there first
        await run.wait_for(lambda: "● on" in run.svg_text(), "the Power pane to show the PC on")
        assert not run.screen.query_one("#power-reset", Button).disabled


async def test_prefix_i_before_the_first_screen_puts_the_keyboard_in_the_cd_field(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.command("i")  # at once, as someone who knows what they want types it
        field = run.screen.query_one("#ider-cd", Input)
        await run.wait_for(lambda: field.has_focus, "the CD field to have the keyboard")
        await run.pilot.press("x")
        await run.pilot.pause()
        assert field.value == "x"  # typed into the field, not sent to the PC
        await run.wait_text("DemoTech BIOS Version")  # and the console still comes


async def test_a_pc_that_stays_off_still_gets_its_panes(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, power_on="off") as run:
        await run.panes()
        on = run.screen.query_one("#power-on", Button)
        await run.wait_for(lambda: not on.disabled, "the Power pane to offer On")
        assert run.view.text().strip() == ""  # no screen came: the panes did not wait for one

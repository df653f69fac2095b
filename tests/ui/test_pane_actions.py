"""The panes ask, the console screen acts: confirmations, where the keyboard goes, which host acts.

The panes post messages (a power action, a boot, an IDE-R request); the console screen asks
first when it should, runs the action on the host the pane shows and reports the result. What
is checked is what a user notices: the question, that nothing happens on "no", where the
keyboard is after the dialog, and that after switching hosts the host named in the status line
is the one the panes act on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.widgets.statusline import StatusLine
from tests.ui.appsim import Running, running_app

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="session")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulator certificate for the module's runs."""
    return tmp_path_factory.mktemp("sim-state")


def status_text(run: Running) -> str:
    return str(run.screen.query_one(StatusLine).render())


def boot_count(run: Running, index: int = 0) -> int:
    return run.sim.hosts[index].device.host.boot_count  # type: ignore[attr-defined,no-any-return]


async def dialog_says(run: Running, text: str) -> None:
    """Wait until the confirmation is on screen and drawn with ``text``."""
    await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
    await run.wait_for(lambda: text in run.svg_text(), f"the question {text!r} drawn")


async def dialog_gone(run: Running) -> None:
    await run.wait_for(lambda: not isinstance(run.app.screen, ConfirmScreen), "the dialog to close")
    await run.pilot.pause()


async def test_a_power_action_from_the_keyboard_asks_and_the_keyboard_stays_in_the_panes(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        boots = boot_count(run)
        await run.command("f")  # the keyboard to the panes: the first usable button, Off
        off = run.screen.query_one("#power-off")
        await run.wait_for(lambda: off.has_focus, "Off to have the keyboard")
        await run.pilot.press("tab")
        reset = run.screen.query_one("#power-reset")
        assert reset.has_focus
        await run.pilot.press("enter")
        await dialog_says(run, "Reset sim?")
        await run.pilot.press("n")
        await dialog_gone(run)
        assert reset.has_focus  # moved there on purpose: it stays there
        await run.pilot.pause(0.3)
        assert boot_count(run) == boots  # "no" sent nothing
        await run.pilot.press("enter")
        await dialog_says(run, "Reset sim?")
        await run.pilot.press("y")
        await dialog_gone(run)
        assert reset.has_focus
        await run.wait_for(lambda: boot_count(run) == boots + 1, "the reset")
        await run.pilot.press("escape")
        assert run.view.has_focus  # Esc gives it back to the console


async def test_a_clicked_power_action_asks_and_the_console_keeps_the_keyboard(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.panes()
        boots = boot_count(run)
        await run.pilot.click("#power-reset")
        await dialog_says(run, "Reset sim?")
        await run.pilot.press("y")
        await dialog_gone(run)
        assert run.view.has_focus  # a click in a pane leaves the keyboard with the console
        await run.wait_for(lambda: boot_count(run) == boots + 1, "the reset")
        await run.wait_for(lambda: "Reset the machine" in run.svg_text(), "the pane's sentence")


async def test_reset_into_bios_from_the_prefix_asks_and_the_console_keeps_the_keyboard(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.command("B")
        await dialog_says(run, "Reset sim into BIOS setup with its screen on this console?")
        await run.pilot.press("y")
        await dialog_gone(run)
        assert run.view.has_focus
        await run.wait_text("Setup Utility", timeout=15)


async def test_after_switching_hosts_the_host_in_the_status_line_is_the_one_the_panes_act_on(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path, hosts=2) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.command("n")
        await run.wait_text("DemoTech BIOS Version")
        assert "sim2" in status_text(run) and "sim1" not in status_text(run)
        first, second = boot_count(run, 0), boot_count(run, 1)
        await run.pilot.click("#power-reset")
        await dialog_says(run, "Reset sim2?")
        await run.pilot.press("y")
        await run.wait_for(lambda: boot_count(run, 1) == second + 1, "the second host's reset")
        await run.pilot.pause(0.3)
        assert boot_count(run, 0) == first  # the first host was left alone
        assert run.link is run.screen.links[1] and run.screen.host_of(run.view) is run.link
        # Typing goes to the same host.
        await run.pilot.press("f2")
        await run.wait_text("Setup Utility", timeout=15)
        assert "Setup Utility" not in run.screen.view(0).text()
        # And back: the status line and the panes follow.
        await run.command("N")
        assert "sim1" in status_text(run)
        await run.pilot.click("#power-reset")
        await dialog_says(run, "Reset sim1?")
        await run.pilot.press("n")
        await dialog_gone(run)

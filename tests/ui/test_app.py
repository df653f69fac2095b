"""The console app against the in-process simulator: connect, POST, BIOS setup, power, hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from amtterm.session.console import SessionState
from amtterm.transport.known_hosts import KnownHosts
from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.screens.help import HelpScreen
from amtterm.ui.widgets.device_panes import SidePanes
from amtterm.ui.widgets.hostlist import HostList
from amtterm.ui.widgets.statusline import StatusLine
from tests.ui.appsim import running_app


@pytest.fixture(scope="session")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulator certificate for the whole run (making one costs time)."""
    return tmp_path_factory.mktemp("sim-state")


def status_text(run: object) -> str:
    screen = run.screen  # type: ignore[attr-defined]
    return str(screen.query_one(StatusLine).render())


async def test_connects_over_tls_shows_post_and_f2_opens_bios_setup(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        assert run.link.status.state is SessionState.CONNECTED
        assert "connected" in status_text(run)
        assert "Connected to 127.0.0.1:" in status_text(run)
        # Pinned on first use, into the known_hosts the app was given.
        port = run.link.profile.redir_port
        assert KnownHosts(run.known_hosts).lookup("127.0.0.1", port) == run.sim.fingerprint
        await run.pilot.press("f2")
        await run.wait_text("Setup Utility")
        text = run.view.text()
        assert "╔" in text and "═" in text and "║" in text  # CP437 box drawing, decoded
        assert "auto: CP437" in status_text(run)


async def test_power_reset_from_the_pane_asks_then_brings_post_back(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        await run.pilot.press("f2")
        await run.wait_text("Setup Utility")
        boots = run.sim.hosts[0].device.host.boot_count  # type: ignore[attr-defined]
        await run.pilot.click("#power-reset")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        assert "Reset sim?" in run.svg_text()
        await run.pilot.press("y")
        await run.wait_text("Press F2 for Setup")
        assert "Setup Utility" not in run.view.text()
        assert run.sim.hosts[0].device.host.boot_count == boots + 1  # type: ignore[attr-defined]
        assert run.link.status.state is SessionState.CONNECTED  # the console stayed attached


async def test_cancelled_reset_sends_nothing(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.panes()
        boots = run.sim.hosts[0].device.host.boot_count  # type: ignore[attr-defined]
        await run.pilot.click("#power-reset")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        await run.pilot.press("enter")  # Cancel has the focus: Enter by habit does nothing harmful
        await run.wait_for(lambda: not isinstance(run.app.screen, ConfirmScreen), "the dialog to close")
        await run.pilot.pause(0.3)
        assert run.sim.hosts[0].device.host.boot_count == boots  # type: ignore[attr-defined]
        assert run.view.has_focus  # a click in a pane leaves the keyboard with the console


async def test_power_off_closes_sol_for_the_change_and_reconnects(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.panes()
        await run.pilot.click("#power-off")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        await run.pilot.press("y")
        host = run.sim.hosts[0].device.host
        await run.wait_for(lambda: not host.powered, "the machine to be off")
        await run.wait_for(
            lambda: run.link.status.state is SessionState.CONNECTED and run.link.status.power_on is False,
            "the console to reconnect to the machine that is off",
        )
        await run.wait_for(lambda: "Powered the machine off" in run.svg_text(), "the pane's sentence")
        await run.wait_for(lambda: not run.screen.query_one("#power-on").disabled, "On to be offered")


async def test_reset_into_bios_setup_in_one_action(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.panes()
        await run.pilot.click("#boot-bios-now")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        await run.pilot.press("y")
        await run.wait_text("Setup Utility", timeout=15)  # no F2 pressed: the boot override did it


async def test_switching_hosts_keeps_every_session_alive(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, hosts=2) as run:
        first = run.screen.links[0]
        second = run.screen.links[1]
        hosts = run.screen.query_one(HostList)
        assert hosts.display and hosts.option_count == 2
        await run.wait_text("Press F2 for Setup")
        assert not second.started  # a host's SOL slot is taken only when it is shown
        await run.command("n")
        assert run.screen.current == 1
        await run.wait_text("Press F2 for Setup")
        await run.pilot.press("f2")
        await run.wait_text("Setup Utility")
        assert first.status.state is SessionState.CONNECTED and first.running
        assert second.status.state is SessionState.CONNECTED
        assert all(host.device.sol_owner is not None for host in run.sim.hosts)
        await run.command("1")
        assert run.screen.current == 0
        assert "Setup Utility" not in run.view.text()  # host 1's own screen, kept up to date
        assert run.screen.view(1).text().count("Setup Utility") == 1
        assert "1 ● sim1" in str(hosts.get_option_at_index(0).prompt)


async def test_prefix_commands_help_panes_encoding_keys(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.command("h")
        assert isinstance(run.app.screen, HelpScreen)
        help_text = run.svg_text()
        for needle in ("Ctrl-] q", "Quit amtterm", "Ctrl-] p", "Ctrl-] /", "Ctrl-] r", "Ctrl-] Ctrl-]"):
            assert needle in help_text
        await run.pilot.press("escape")
        assert not isinstance(run.app.screen, HelpScreen)
        panes = run.screen.query_one(SidePanes)
        assert panes.display
        width = run.view.size.width
        await run.command("p")
        await run.pilot.pause()
        assert not panes.display and run.view.size.width > width  # the console gets the width
        await run.command("e")
        assert run.view.encoding == "cp437"
        await run.command("k")
        assert run.view.key_mode == "alternate"
        assert "Alternate" in status_text(run)
        await run.command("x")  # not a command: a warning, nothing else
        assert any("Ctrl-] x is not a command" in note for note in run.notes())
        assert run.view.has_focus


async def test_ctrl_q_ctrl_c_and_ctrl_p_reach_the_remote(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        sent: list[bytes] = []
        run.link.send_key = sent.append  # type: ignore[method-assign]
        await run.pilot.press("ctrl+q", "ctrl+c", "ctrl+p", "tab", "escape")
        await run.pilot.pause()
        assert sent == [b"\x11", b"\x03", b"\x10", b"\t", b"\x1b"]
        assert run.app.is_running


async def test_quit_command_closes_every_session_politely(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.command("q")
        await run.wait_for(lambda: run.link.closed, "the link to close")
        assert run.sim.hosts[0].device.sol_owner is None  # the SOL slot is free again
        assert run.link.status.state is SessionState.CLOSED


async def test_wrong_password_is_one_sentence_in_the_status_line(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, password="wrong") as run:
        await run.wait_for(lambda: run.link.status.state is SessionState.FAILED, "the failure")
        await run.pilot.pause()
        text = status_text(run)
        assert "failed" in text and "Wrong user name or password" in text
        assert "Traceback" not in run.svg_text()


async def test_search_highlights_and_counts_matches(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.command("slash")
        await run.pilot.press(*"DemoTech")
        await run.pilot.pause()
        assert "matches" in str(run.screen.query_one("#search-count").render())
        await run.pilot.press("escape")
        assert not run.screen.query_one("#search-bar").display
        assert run.view.has_focus

"""More of the console against the simulator: key bar, paste, reconnects, trust, themes, narrow terminals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from amtterm.session.console import SessionState
from amtterm.session.host import TrustPrompt
from amtterm.transport.known_hosts import KnownHosts
from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.widgets.device_panes import SidePanes
from amtterm.ui.widgets.hostlist import HostList
from tests.ui.appsim import running_app


@pytest.fixture(scope="session")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulator certificate for the whole run."""
    return tmp_path_factory.mktemp("sim-state")


async def test_key_bar_f2_opens_setup_for_terminals_that_eat_f_keys(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.pilot.click("#key-f2")
        await run.wait_text("Setup Utility")
        assert run.view.has_focus  # the console keeps the keyboard


async def test_paste_is_typed_in_paced_pieces(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        typed: list[tuple[list[bytes], bytes]] = []
        run.link.send_paced = lambda chunks, enter=b"\r": typed.append((list(chunks), enter))  # type: ignore[method-assign]
        run.view.post_message(events.Paste("Sup3r-Secret-Passw0rd!\nsecond line"))
        await run.pilot.pause()
        assert typed == [([b"Sup3r-Secret-Pas", b"sw0rd!\r", b"second line"], b"\r")]


async def test_console_reconnects_by_itself_after_the_connection_drops(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        seen: list[SessionState] = []
        run.link.on_status(lambda status: seen.append(status.state))
        owner = run.sim.hosts[0].device.sol_owner
        assert owner is not None
        owner.writer.close()  # the network drops the session
        await run.wait_for(
            lambda: SessionState.RECONNECTING in seen and run.link.status.state is SessionState.CONNECTED,
            "a reconnection",
        )
        assert run.sim.hosts[0].device.sol_owner not in (None, owner)


async def test_reconnect_command_connects_again_at_once(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        owner = run.sim.hosts[0].device.sol_owner
        await run.command("r")
        await run.wait_for(
            lambda: (
                run.sim.hosts[0].device.sol_owner not in (None, owner)
                and run.link.status.state is SessionState.CONNECTED
            ),
            "a new session",
        )


async def test_unknown_certificate_is_asked_about_in_the_console(sim_state: Path, tmp_path: Path) -> None:
    trust = TrustPrompt()
    async with running_app(sim_state, tmp_path, accept_new=False, trust=trust) as run:
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the question")
        assert run.link.status.state is SessionState.FAILED
        # The dialog is pushed before it is drawn: wait for its text, not for the push alone.
        await run.wait_for(lambda: "Trust this device's certificate?" in run.svg_text(), "the question drawn")
        question = run.svg_text()
        assert "Trust this device's certificate?" in question
        assert (run.sim.fingerprint or "")[:20] in question
        port = run.link.profile.redir_port
        assert KnownHosts(run.known_hosts).lookup("127.0.0.1", port) is None  # not before the answer
        await run.pilot.press("y")
        await run.wait_text("DemoTech BIOS Version")
        assert KnownHosts(run.known_hosts).lookup("127.0.0.1", port) == run.sim.fingerprint


async def test_theme_command_recolours_app_and_console(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        assert run.app.theme == "amtterm-dark"
        await run.command("t")
        assert run.app.theme == "amtterm-light"
        assert run.view.palette.default_background == "#fbfbfc"
        await run.command("t")
        assert run.app.theme == "bios-blue"
        assert run.view.palette.default_background == "#0000aa"


async def test_copy_screen_command_puts_the_screen_on_the_clipboard(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.command("y")
        assert "DemoTech BIOS Version" in run.app.clipboard


async def test_narrow_terminal_gives_the_console_the_width(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, hosts=2, size=(100, 32)) as run:
        await run.wait_text("DemoTech BIOS Version")
        panes = run.screen.query_one(SidePanes)
        assert not panes.display and not run.screen.query_one(HostList).display
        assert run.view.size.width >= 80  # the whole remote line is on screen
        await run.command("p")
        assert panes.display  # asked for: shown, the console scrolls sideways
        await run.command("l")
        assert run.screen.query_one(HostList).display


async def test_host_list_click_switches(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, hosts=2) as run:
        await run.wait_text("DemoTech BIOS Version")
        hosts = run.screen.query_one(HostList)
        await run.pilot.click(HostList, offset=(4, 2))  # the second row
        await run.wait_for(lambda: run.screen.current == 1, "the switch")
        await run.wait_text("DemoTech BIOS Version")
        assert hosts.highlighted == 1


async def test_client_control_mode_consent_code_is_read_off_the_console(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path, control_mode="client") as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.panes()
        consent = run.screen.query_one("#boot-consent")
        await run.wait_for(lambda: consent.has_class("needed"), "the consent row")
        await run.pilot.click("#consent-request")
        await run.wait_text("user consent code:")
        match = re.search(r"user consent code: (\d{6})", run.view.text())
        assert match is not None
        run.screen.query_one("#consent-code", Input).focus()
        await run.pilot.press(*match[1], "enter")
        await run.wait_for(lambda: not consent.has_class("needed"), "the consent row to go")
        assert any("User consent is given" in note for note in run.notes())
        await run.pilot.click("#boot-bios-now")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        await run.pilot.press("y")
        await run.wait_text("Setup Utility", timeout=15)

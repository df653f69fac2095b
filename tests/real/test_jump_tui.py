"""The full-screen console through a real sshd jump host (Textual Pilot, simulator in-process).

The jump host's key is unknown and the ssh config says ``StrictHostKeyChecking ask``: the console
asks inside the UI (as it does for an unknown certificate), and once trusted, the SOL session and
the WS-Man panes both go through the jump host.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from amtterm.cli.tui import Display, make_link
from amtterm.config import HostEntry
from amtterm.session.console import SessionState
from amtterm.session.host import TrustPrompt
from amtterm.sim.app import start_sim
from amtterm.ui.app import AmtApp
from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.wsman.target import resolve_target
from tests.support.sshd import SshClientFiles, Sshd
from tests.ui.appsim import PASSWORD, SIZE, Running, sim_options, svg_text

pytestmark = [pytest.mark.real, pytest.mark.timeout(90)]


async def test_console_and_panes_through_a_jump_host_after_trusting_its_key(
    jump_a: Sshd, ssh_client: SshClientFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(ssh_client.home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    ssh_client.write_config("StrictHostKeyChecking ask")
    sim = await start_sim(sim_options(tmp_path / "sim"), log=lambda _: None)
    try:
        host = sim.hosts[0]
        redir, wsman = host.port("redirection", True), host.port("wsman", True)
        entry = HostEntry(
            name="lab",
            address=host.address,
            tls=True,
            redir_port=redir,
            wsman_port=wsman,
            jump=(jump_a.spec,),
        )
        trust = TrustPrompt()
        link = make_link(
            resolve_target(entry),
            PASSWORD,
            Display(),
            trust=trust,
            known_hosts=tmp_path / "pins",
            accept_new=True,
            ssh_config=ssh_client.config,
        )
        app = AmtApp([link], trust=trust, check_tmux=False, power_poll=0)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            run = Running(sim, app, pilot, tmp_path / "pins")
            try:
                await run.wait_for(lambda: isinstance(app.screen, ConfirmScreen), "the question", 20)
                await pilot.pause(0.2)
                question = svg_text(app.export_screenshot())
                assert "Trust this jump host's SSH key?" in question
                assert "SHA256:" in question
                assert run.link.status.state is SessionState.FAILED
                assert ssh_client.known_hosts.read_text() == ""  # not before the answer
                await pilot.press("y")
                await run.wait_text("DemoTech BIOS Version", timeout=30)
                assert ssh_client.known_hosts.read_text().strip() == jump_a.host_key_line
                service = run.link.service
                assert service is not None
                status = await service.power()
                assert status.state == "on"
            finally:
                await app.close_links()
        log = jump_a.log.read_text()
        assert f"target {host.address} port {redir}" in log and f"target {host.address} port {wsman}" in log
    finally:
        await sim.close()

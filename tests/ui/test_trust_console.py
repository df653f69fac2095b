"""Trust in the console: one question per device and fingerprint, no stale errors, and a
changed certificate accepted from the console after both fingerprints were shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from amtterm.session import SessionState
from amtterm.session.host import HostController, TrustPrompt
from amtterm.transport.known_hosts import KnownHosts
from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.widgets.device_panes import PowerPane
from amtterm.wsman.services import DeviceService
from tests.ui.appsim import PASSWORD, Running, running_app

pytestmark = pytest.mark.timeout(90)

OTHER = "SHA256:" + "A" * 43


@pytest.fixture(scope="module")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-state")


def power_message(run: Running) -> str:
    return "\n".join(str(w.render()) for w in run.screen.query_one(PowerPane).query(".message").results())


async def test_first_trust_is_asked_once_per_device_and_the_panes_do_not_say_refused(
    sim_state: Path, tmp_path: Path
) -> None:
    trust = TrustPrompt()
    asked: list[str] = []
    trust.listeners.append(asked.append)

    def wsman_asks_too(links: list[HostController]) -> None:
        # The simulator's links pin WS-Man's certificate by themselves; here WS-Man asks, as
        # `amtterm pc42` does for a device seen for the first time.
        for link in links:
            service = link.profile.service
            assert service is not None
            known = KnownHosts(tmp_path / "known_hosts")
            link.profile.service = DeviceService(service.target, PASSWORD, known_hosts=known, ask=trust)

    async with running_app(sim_state, tmp_path, accept_new=False, trust=trust, prepare=wsman_asks_too) as run:
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the question")
        await run.panes()  # built under the question, a moment after the console opened
        run.screen.query_one(PowerPane).refresh_power()  # WS-Man (16993) meets the same certificate
        await run.pilot.pause(1.0)
        assert len(asked) == 1, asked  # 16995 and 16993: one device, one certificate, one question
        assert "not trusted" not in power_message(run)
        await run.pilot.press("y")
        await run.wait_for(lambda: run.link.status.state is SessionState.CONNECTED, "the console")
        run.screen.poll_power()
        await run.wait_for(lambda: "● " in run.svg_text() and "not trusted" not in power_message(run), "pane")
        await run.pilot.pause(0.5)
        assert not isinstance(run.app.screen, ConfirmScreen)  # no second question
        assert len(asked) == 1
        pins = KnownHosts(run.known_hosts).entries()
        assert len(pins) == 2 and {fp for _, fp in pins} == {run.sim.fingerprint}


async def test_a_changed_certificate_can_be_accepted_after_seeing_both_fingerprints(
    sim_state: Path, tmp_path: Path
) -> None:
    known = KnownHosts(tmp_path / "known_hosts")

    def pin_another(links: list[object]) -> None:
        link = links[0]
        known.add("127.0.0.1", link.profile.redir_port, OTHER)  # type: ignore[attr-defined]

    async with running_app(sim_state, tmp_path, accept_new=False, prepare=pin_another) as run:  # type: ignore[arg-type]
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the question")
        await run.wait_for(lambda: "has changed" in run.svg_text(), "the question drawn")
        shown = run.svg_text()
        assert OTHER[:20] in shown and (run.sim.fingerprint or "")[:20] in shown
        await run.pilot.press("y")
        await run.wait_text("DemoTech BIOS Version", timeout=20)
        assert known.lookup("127.0.0.1", run.link.profile.redir_port) == run.sim.fingerprint

"""The Info pane says what the machine is; the Boot pane says what the last boot did.

Against the in-process simulator (synthetic PC, HTTPS WS-Man): the Info pane's rows come from
CIM_SoftwareIdentity, CIM_BIOSElement and CIM_Chassis; after "Set + reset" into BIOS setup the
Boot pane follows the event log and shows the outcome, as ``amtterm boot ... --wait`` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.widgets.device_panes import BootPane, InfoPane
from tests.ui.appsim import running_app

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="session")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulator certificate for the module's runs."""
    return tmp_path_factory.mktemp("sim-state")


async def test_info_shows_the_machine_and_boot_shows_the_last_outcome(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        info = run.screen.query_one(InfoPane)
        await run.wait_for(lambda: "SKU" in dict(info.facts()), "the machine facts in the Info pane")
        facts = dict(info.facts())
        assert facts["SKU"] == "Intel AMT (full manageability), corporate"
        assert facts["Features"] == "KVM yes, SOL yes, IDE-R yes, OCR no, Platform Erase no"
        assert facts["BIOS"] == "DemoTech 2.17.1249 (2024-03-14)"
        assert facts["Machine"] == "DemoTech Demo PC"
        info.scroll_visible(animate=False)
        await run.wait_for(lambda: "DemoTech Demo PC" in run.svg_text(), "the Info pane drawn")

        boot = run.screen.query_one(BootPane)
        boot.scroll_visible(animate=False)
        await run.pilot.pause()
        await run.pilot.click("#boot-set-reset")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        await run.pilot.press("y")
        await run.wait_for(lambda: "entered BIOS setup" in boot.outcome_text().plain, "the outcome", 60)
        assert boot.outcome_text().plain.startswith("Last boot (")
        boot.scroll_visible(animate=False)
        await run.wait_for(lambda: "Last boot (" in run.svg_text(), "the Boot pane drawn")
        assert "entered BIOS setup" in run.svg_text()
        await run.wait_text("Setup Utility", timeout=15)

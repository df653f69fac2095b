"""The IDE-R pane against the in-process simulator: pick an ISO, boot from it, watch the progress.

What is checked is what a user sees: the console shows the simulated PC booting from the
redirected CD while the pane's figures move, a bad image or a busy device is one sentence in
the pane, and the image file is left exactly as it was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from amtterm.redir.connection import ConsoleConfig
from amtterm.session.console import SessionState
from amtterm.session.ider import IderSession
from amtterm.session.ider_job import IderRequest
from amtterm.sim.ider_firmware import IderFirmware
from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.screens.image_picker import ImagePickerScreen, complete_path
from amtterm.ui.widgets.device_panes import BootPane
from amtterm.ui.widgets.ider_pane import IderPane
from tests.redir.eltorito import build_iso
from tests.session.test_ider_job import IDER_DISABLED, missing
from tests.ui.appsim import Running, running_app

pytestmark = pytest.mark.timeout(90)

BLOCKS = 64


@pytest.fixture(scope="session")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulator certificate for the module's runs."""
    return tmp_path_factory.mktemp("sim-state")


@pytest.fixture
def iso(tmp_path: Path) -> Path:
    path = tmp_path / "images" / "install.iso"
    path.parent.mkdir()
    path.write_bytes(build_iso(volume_id="PANE_TEST", total_blocks=BLOCKS))
    os.utime(path, (1_600_000_000, 1_600_000_000))
    return path


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def pane_of(run: Running) -> IderPane:
    return run.screen.query_one(IderPane)


def pane_text(run: Running) -> str:
    """Everything the pane says: phase, figures, stall line and message."""
    pane = pane_of(run)
    parts = [str(widget.render()) for widget in pane.query("Static").results()]
    return "\n".join(parts)


async def type_into(run: Running, selector: str, text: str) -> None:
    """Click a field of the pane and type ``text`` key by key."""
    for _ in range(3):  # the panes can still move as their facts arrive: click again if it missed
        await on_screen(run, selector)
        await run.pilot.click(selector)
        await run.pilot.pause()
        if pane_of(run).query_one(selector).has_focus:
            break
    assert pane_of(run).query_one(selector).has_focus, f"a click on {selector} gave it the keyboard"
    await run.pilot.press(*["space" if char == " " else char for char in text])
    await run.pilot.pause()


async def on_screen(run: Running, selector: str) -> None:
    """Scroll the side column until the pane's ``selector`` is on screen."""
    await run.panes()
    widget = pane_of(run).query_one(selector)
    pane_of(run).scroll_visible(animate=False)
    await run.pilot.pause(0.1)
    widget.scroll_visible(animate=False)
    screen = run.app.screen.region
    await run.wait_for(lambda: screen.contains_region(widget.region), f"{selector} to be on screen")


async def fill(run: Running, selector: str, text: str) -> None:
    """Put ``text`` into a field of the pane and give it the keyboard (typing it is slow)."""
    await run.panes()
    field = pane_of(run).query_one(selector, Input)
    field.value = text
    field.focus()
    await run.pilot.pause()


async def press_button(run: Running, selector: str) -> None:
    """Scroll the pane's button into view and click it."""
    await on_screen(run, selector)
    await run.pilot.click(selector)
    await run.pilot.pause()


def firmware_of(run: Running) -> IderFirmware:
    owner = run.sim.hosts[0].device.ider_owner
    assert owner is not None and owner.ider is not None
    return owner.ider


async def test_boot_from_it_shows_the_boot_on_the_console_and_the_progress_in_the_pane(
    sim_state: Path, tmp_path: Path, iso: Path
) -> None:
    before = fingerprint(iso)
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        # Typed with completion: the directory, then "ins" and Right completes the file name.
        await type_into(run, "#ider-cd", f"{iso.parent}/ins")
        await run.pilot.press("right")
        field = pane_of(run).query_one("#ider-cd")
        assert field.value == str(iso)  # type: ignore[attr-defined]
        await press_button(run, "#ider-boot")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        # The dialog is pushed before it is drawn: wait for its text, not for the push alone.
        await run.wait_for(lambda: "Boot sim from" in run.svg_text(), "the question drawn")
        await run.pilot.press("y")
        # The console, a separate SOL session, shows the PC booting from the redirected CD.
        await run.wait_text("Booting from IDE-R CD-ROM: PANE_TEST", timeout=30)
        await run.wait_text("El Torito boot image loaded over IDE-R")
        job = run.link.ider
        assert job is not None
        await run.wait_for(lambda: "4 sectors" in pane_text(run), "the pane to count the boot reads")
        text = pane_text(run)
        assert "0.0 MB served" in text and "MB/s" in text
        assert "The machine boots into the IDE-R CD image" in text
        # Now an OS reads the whole image: the bar reaches the end.
        data = await firmware_of(run).read(0, BLOCKS)
        assert data == iso.read_bytes()
        bar = pane_of(run).query_one("#ider-bar")
        await run.wait_for(lambda: bar.percentage == 1.0, "the bar to reach the end")  # type: ignore[attr-defined]
        await run.wait_for(lambda: "0.1 MB served" in pane_text(run), "the figures to follow")
        assert "Traceback" not in run.svg_text()
        await press_button(run, "#ider-stop")
        await run.wait_for(lambda: job.state == "stopped", "the session to stop")
        await run.wait_for(lambda: "Stopped serving" in pane_text(run), "the sentence")
        assert run.sim.hosts[0].device.ider_owner is None  # the device's IDE-R slot is free again
        assert run.link.status.state is SessionState.CONNECTED  # SOL went on beside IDE-R
    assert fingerprint(iso) == before


async def test_the_picker_lists_images_and_sets_the_field(sim_state: Path, tmp_path: Path, iso: Path) -> None:
    (iso.parent / "notes.txt").write_text("not an image")
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await fill(run, "#ider-cd", str(iso.parent) + "/")
        await press_button(run, "#ider-browse-cd")
        await run.wait_for(lambda: isinstance(run.app.screen, ImagePickerScreen), "the picker")
        await run.wait_for(lambda: "install.iso" in run.svg_text(), "the tree to list the directory")
        shown = run.svg_text()
        assert "install.iso" in shown and "notes.txt" not in shown
        await run.pilot.press("down", "enter")  # the tree's root, then its only image
        await run.wait_for(lambda: not isinstance(run.app.screen, ImagePickerScreen), "the picker to close")
        field = pane_of(run).query_one("#ider-cd")
        assert field.value == str(iso)  # type: ignore[attr-defined]
        assert f"{iso} can be served." in pane_text(run)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (bytes(5000), "is 5000 bytes, not a whole number of 2048-byte sectors, so it is not an ISO."),
        (None, "does not exist; check the path."),
        ("dir", "is a directory, not an ISO image; give the image file."),
    ],
    ids=["wrong-size", "missing", "directory"],
)
async def test_a_bad_image_is_one_sentence_in_the_pane(
    sim_state: Path, tmp_path: Path, content: bytes | str | None, expected: str
) -> None:
    image = tmp_path / "bad.iso"
    if content == "dir":
        image.mkdir()
    elif isinstance(content, bytes):
        image.write_bytes(content)
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await fill(run, "#ider-cd", str(image))
        await run.pilot.press("enter")
        await run.wait_for(lambda: expected in pane_text(run), "the sentence at Enter")
        await press_button(run, "#ider-serve")
        assert expected in pane_text(run)
        assert run.link.ider is None  # nothing connected
        assert run.sim.hosts[0].device.ider_owner is None
        assert "Traceback" not in run.svg_text()


async def test_a_second_console_is_told_busy(sim_state: Path, tmp_path: Path, iso: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        profile = run.link.profile
        assert profile.tls is not None
        # Another console (as `amtterm ider` elsewhere would) holds the device's IDE-R session.
        other = await IderSession.open(
            profile.address,
            profile.redir_port,
            tls=dataclasses.replace(profile.tls),
            config=IderRequest(cd=iso).console_config(ConsoleConfig(profile.console.user, run.sim.password)),
            cd=iso,
        )
        try:
            await fill(run, "#ider-cd", str(iso))
            await press_button(run, "#ider-serve")
            busy = "is busy: another console holds its IDE-R session."
            await run.wait_for(lambda: busy in pane_text(run), "the busy sentence")
            job = run.link.ider
            assert job is not None and job.state == "failed"
            assert not pane_of(run).query_one("#ider-serve").disabled  # free to try again
            assert run.view.text()  # the console still shows its screen
        finally:
            await other.close()


async def test_a_wrong_password_is_one_sentence_in_the_pane(
    sim_state: Path, tmp_path: Path, iso: Path
) -> None:
    async with running_app(sim_state, tmp_path, password="Wrong-Pass-1!") as run:
        await fill(run, "#ider-cd", str(iso))
        await press_button(run, "#ider-serve")
        sentence = "Wrong user name or password for 'admin'"
        await run.wait_for(lambda: sentence in pane_text(run), "the sentence", timeout=20)
        assert "Traceback" not in run.svg_text()


def test_path_completion_offers_directories_and_images_only(tmp_path: Path) -> None:
    (tmp_path / "isos").mkdir()
    (tmp_path / "install.iso").write_bytes(b"")
    (tmp_path / "install.txt").write_text("")
    (tmp_path / ".hidden.iso").write_bytes(b"")
    (tmp_path / "FLOPPY.IMA").write_bytes(b"")
    base = f"{tmp_path}/"
    assert complete_path(base + "ins") == base + "install.iso"
    assert complete_path(base + "is") == base + "isos/"
    assert complete_path(base + "i") == base + "isos/"  # directories first
    assert complete_path(base + "FL") == base + "FLOPPY.IMA"
    assert complete_path(base + ".h") == base + ".hidden.iso"  # hidden only once a dot is typed
    assert complete_path(base + "install.t") is None
    assert complete_path(base + "install.iso") is None  # already complete
    assert complete_path(f"{tmp_path}/nowhere/x") is None
    assert complete_path("") is None


async def test_a_boot_that_needs_consent_is_refused_before_anything_is_served(
    sim_state: Path, tmp_path: Path, iso: Path
) -> None:
    async with running_app(sim_state, tmp_path, control_mode="client") as run:
        await run.wait_text("DemoTech BIOS Version")
        await fill(run, "#ider-cd", str(iso))
        await press_button(run, "#ider-boot")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        await run.pilot.press("y")
        await run.wait_for(lambda: "consent" in pane_text(run).lower(), "the consent sentence")
        job = run.link.ider
        assert job is not None and job.state == "failed"
        assert run.sim.hosts[0].device.ider_owner is None  # no IDE-R session was opened
        assert "Traceback" not in run.svg_text()


async def test_prefix_i_puts_the_keyboard_in_the_cd_field(sim_state: Path, tmp_path: Path, iso: Path) -> None:
    """Keyboard only, as over SSH at 3 a.m.: Ctrl-] i, type the path, and the keys land in the field."""
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        await run.command("i")
        field = pane_of(run).query_one("#ider-cd", Input)
        await run.wait_for(lambda: field.has_focus, "the CD field to have the keyboard")
        await run.pilot.press(*str(iso))
        await run.pilot.pause()
        assert field.value == str(iso)
        assert "/" not in run.view.text()  # nothing typed went to the remote console


# -- the same refusals as `amtterm ider --boot` (tests/test_cli_ider.py), sentence for sentence -----


def message_line(run: Running) -> str:
    """The pane's message line: the one sentence of a result or a refusal."""
    return str(pane_of(run).query_one(".message", Static).render())


async def test_boot_refuses_a_missing_image_with_the_cli_sentence(sim_state: Path, tmp_path: Path) -> None:
    gone = tmp_path / "gone.iso"
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        await fill(run, "#ider-cd", str(gone))
        await press_button(run, "#ider-boot")
        await run.wait_for(lambda: message_line(run) == missing(gone), "the sentence")
        assert not isinstance(run.app.screen, ConfirmScreen)  # refused before asking
        assert run.link.ider is None
        assert run.view.has_focus  # the click left the keyboard with the console


async def test_boot_refuses_a_disabled_listener_with_the_cli_sentence(
    sim_state: Path, tmp_path: Path, iso: Path
) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        state = run.sim.hosts[0].device.state
        state.listener_enabled = False  # as `amtterm redirection sim disable` leaves it
        state.notify_changed()
        await fill(run, "#ider-cd", str(iso))
        await press_button(run, "#ider-boot")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        await run.wait_for(lambda: "Boot sim from" in run.svg_text(), "the question drawn")
        await run.pilot.press("y")
        sentence = IDER_DISABLED.replace("HOST", "sim")
        await run.wait_for(lambda: message_line(run) == sentence, "the sentence")
        job = run.link.ider
        assert job is not None and job.state == "failed"
        assert run.sim.hosts[0].device.ider_owner is None  # no IDE-R session was opened
        assert any(sentence in note for note in run.notes())
        assert run.view.has_focus  # after the dialog the keyboard is back with the console


# -- the same pane, booting over One Click Recovery HTTPS boot (`amtterm reinstall`'s flow) --------


async def test_https_boot_from_the_pane_serves_the_image_and_cleans_up(
    sim_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_cli_reinstall import StandInFirmware

    monkeypatch.setenv("AMTTERM_STATE_DIR", str(tmp_path / "state"))  # amtterm's CA is made there
    image = tmp_path / "boot.efi"
    image.write_bytes(b"MZ" + os.urandom(1_500_000))
    before = fingerprint(image)
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        firmware = StandInFirmware(report=run.sim.hosts[0].device.host.on_boot_event)  # type: ignore[attr-defined]
        # The synthetic PC gets a UEFI firmware's one extra duty, so the device offers HTTPS boot.
        run.sim.hosts[0].device.host.set_https_boot = firmware.set_https_boot  # type: ignore[attr-defined]
        state = run.sim.hosts[0].device.state
        await fill(run, "#ider-cd", str(image))
        pane = pane_of(run)
        assert pane.query_one("#ider-method").value == "auto"  # type: ignore[attr-defined]
        await press_button(run, "#ider-boot")
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the confirmation")
        await run.wait_for(lambda: "Boot sim from" in run.svg_text(), "the question drawn")
        await run.pilot.press("y")
        await run.wait_for(
            lambda: firmware.fetched is not None, "the firmware to fetch the image", timeout=30
        )
        assert firmware.fetched == image.read_bytes() and firmware.error is None
        [boot] = firmware.boots
        assert boot is not None and len(boot.trusted_roots) == 1  # amtterm's CA, synced with the boot
        job = run.link.reinstall
        assert job is not None and job.method == "https" and job.url == boot.url
        await run.wait_for(lambda: "1.5 of 1.5 MB fetched" in pane_text(run), "the figures")
        assert boot.url in pane_text(run) or job.state == "ended"
        # The job ends once the firmware has gone quiet (settle): everything undone.
        await run.wait_for(lambda: job.state == "ended", "the job to end", timeout=30)
        await run.wait_for(lambda: "has fetched the image and boots it" in pane_text(run), "the sentence")
        assert state.ocr.trusted_roots == {} and state.ocr.parameters == ""
        assert run.link.ider is None  # no IDE-R session was opened
        assert "Traceback" not in run.svg_text()
    assert fingerprint(image) == before


async def test_a_refused_certificate_is_the_panes_sentence_and_the_boot_panes_last_boot(
    sim_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.https_boot import make_ca
    from tests.test_cli_reinstall import StandInFirmware

    monkeypatch.setenv("AMTTERM_STATE_DIR", str(tmp_path / "state"))
    image = tmp_path / "boot.efi"
    image.write_bytes(b"MZ" + os.urandom(100_000))
    before = fingerprint(image)
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        host = run.sim.hosts[0].device.host
        firmware = StandInFirmware(report=host.on_boot_event, trust=make_ca().pem.decode())  # type: ignore[attr-defined]
        host.set_https_boot = firmware.set_https_boot  # type: ignore[attr-defined]
        state = run.sim.hosts[0].device.state
        await fill(run, "#ider-cd", str(image))
        await press_button(run, "#ider-boot")
        await run.wait_for(lambda: "Boot sim from" in run.svg_text(), "the question drawn")
        await run.pilot.press("y")
        sentence = "sim: HTTPS boot failed: the firmware refused the server certificate."
        await run.wait_for(lambda: message_line(run) == sentence, "the sentence", timeout=30)
        assert firmware.fetched is None and "CERTIFICATE_VERIFY_FAILED" in (firmware.error or "")
        assert state.ocr.trusted_roots == {} and state.ocr.parameters == ""  # cleaned up first
        boot = run.screen.query_one(BootPane)
        assert boot.outcome_text().plain.endswith(
            "HTTPS boot failed: the firmware refused the server certificate"
        ), boot.outcome_text().plain
        assert "Traceback" not in run.svg_text()
    assert fingerprint(image) == before


async def test_quitting_during_an_https_boot_cleans_up_first(
    sim_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMTTERM_STATE_DIR", str(tmp_path / "state"))
    image = tmp_path / "boot.efi"
    image.write_bytes(b"MZ" + os.urandom(100_000))
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("DemoTech BIOS Version")
        boots: list[object] = []
        run.sim.hosts[0].device.host.set_https_boot = boots.append  # type: ignore[attr-defined]  # never fetches
        state = run.sim.hosts[0].device.state
        await fill(run, "#ider-cd", str(image))
        await press_button(run, "#ider-boot")
        await run.wait_for(lambda: "Boot sim from" in run.svg_text(), "the question drawn")
        await run.pilot.press("y")
        await run.wait_for(lambda: len(boots) == 1, "the reset into the HTTPS boot", timeout=30)
        assert len(state.ocr.trusted_roots) == 1
        await run.wait_for(lambda: "The firmware has fetched nothing yet" in pane_text(run), "the hint")
        await run.app.close_links()  # what quitting does, while the device is still there
        assert state.ocr.trusted_roots == {} and state.ocr.parameters == ""

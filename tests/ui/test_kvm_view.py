"""The KVM view in the console, against the simulator's synthetic PC (its text screen drawn as VGA pixels).

Everything here runs the real pieces a user meets: the app at 80x24 (the tmux default), TLS to the
simulated AMT 16.1 device, the KVMR redirection session, RFB with ZRLE at 16 bits, half-blocks.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.widgets import Input

from amtterm.rfb import AMT_16, ClientInitReceived, RfbServer
from amtterm.session import KvmState
from amtterm.sim import redirection as sim_redirection
from amtterm.sim.kvm.screens import SyntheticScreen
from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.widgets.kvm_view import KvmView, fit_size
from amtterm.ui.widgets.statusline import StatusLine
from amtterm.ui.widgets.terminal import TerminalView
from tests.support.kvm_console import open_kvm
from tests.ui.appsim import PASSWORD, Running, running_app

pytestmark = pytest.mark.timeout(120)

SMALL = (80, 24)
#: The blue of BIOS setup's background in VGA text mode (colour 1, 0x0000AA), after RGB565.
SETUP_BLUE = (0, 0, 173)

Cell = tuple[tuple[int, int, int], tuple[int, int, int]]
Writer = Callable[[bytes], Awaitable[None]]


@pytest.fixture(scope="module")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-state")


def status_text(run: Running) -> str:
    return str(run.screen.query_one(StatusLine).render())


def kvm_view(run: Running) -> KvmView:
    return run.screen.kvm.views[run.link]


def device_screen(run: Running) -> SyntheticScreen:
    screen = run.sim.hosts[0].device.kvm_screen
    assert isinstance(screen, SyntheticScreen)
    return screen


async def show_kvm(run: Running, *, at_post: bool = True) -> KvmView:
    """Ctrl-] v (at POST unless told otherwise), then wait until the PC's screen is drawn."""
    if at_post:
        await run.wait_text("Press F2 for Setup", timeout=20)
    await run.command("v")
    view = kvm_view(run)
    await run.wait_for(lambda: run.link.kvm.state is KvmState.CONNECTED, "KVM to connect", 20)
    await run.wait_for(lambda: run.link.kvm.frame_complete and view.cells() != [], "a KVM frame", 20)
    return view


def expected_cells(rgb: bytes, width: int, height: int, out_w: int, out_h: int) -> list[list[Cell]]:
    """The device's screen averaged down to ``out_w`` x ``out_h`` pixels, as half-block cells."""
    pixels: list[list[tuple[int, int, int]]] = []
    for oy in range(out_h):
        y0, y1 = oy * height // out_h, max(oy * height // out_h + 1, (oy + 1) * height // out_h)
        row = []
        for ox in range(out_w):
            x0, x1 = ox * width // out_w, max(ox * width // out_w + 1, (ox + 1) * width // out_w)
            sums = [0, 0, 0]
            for y in range(y0, y1):
                at = (y * width + x0) * 3
                for x in range(x1 - x0):
                    sums[0] += rgb[at + 3 * x]
                    sums[1] += rgb[at + 3 * x + 1]
                    sums[2] += rgb[at + 3 * x + 2]
            count = (y1 - y0) * (x1 - x0)
            row.append((sums[0] // count, sums[1] // count, sums[2] // count))
        pixels.append(row)
    return [list(zip(pixels[2 * r], pixels[2 * r + 1], strict=True)) for r in range(out_h // 2)]


def close(a: tuple[int, int, int], b: tuple[int, int, int], slack: int = 24) -> bool:
    return all(abs(x - y) <= slack for x, y in zip(a, b, strict=True))


def share_of(cells: list[list[Cell]], colour: tuple[int, int, int]) -> float:
    flat = [half for row in cells for cell in row for half in cell]
    return sum(close(half, colour, 8) for half in flat) / len(flat)


def matches_device(run: Running, view: KvmView) -> float:
    """The share of the cells that differ from setup's blue on the PC whose colours the view shows alike."""
    text = device_screen(run).text
    assert text is not None
    fb = text.framebuffer
    width, height = fit_size(fb.width, fb.height, view.size.width, view.size.height)
    want = expected_cells(bytes(fb.rgb), fb.width, fb.height, width, height)
    cells = view.cells()
    if len(cells) != len(want):
        return 0.0
    pairs = [
        (got, wanted)
        for got_row, want_row in zip(cells, want, strict=True)
        for got, wanted in zip(got_row, want_row, strict=False)
    ]
    drawn = [(got, wanted) for got, wanted in pairs if not close(wanted[0], SETUP_BLUE, 8)]
    if len(drawn) <= len(pairs) // 5:
        return 0.0  # too little besides the blue background to compare
    return sum(close(got[0], wanted[0]) and close(got[1], wanted[1]) for got, wanted in drawn) / len(drawn)


async def test_the_kvm_view_at_80x24_draws_the_pcs_screen_fitted_in_half_blocks(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path, size=SMALL) as run:
        await run.wait_text("Press F2 for Setup", timeout=20)
        await run.pilot.press("f2")  # over SOL: setup's many colours are worth comparing
        await run.wait_text("Setup Utility")
        view = await show_kvm(run, at_post=False)
        await run.pilot.pause(0.3)
        text = device_screen(run).text
        assert text is not None
        fb = text.framebuffer
        assert (fb.width, fb.height) == (720, 400)  # 80x25 VGA text, 9x16 cells
        width, height = fit_size(fb.width, fb.height, view.size.width, view.size.height)
        cells = view.cells()
        assert len(cells) == height // 2 and all(len(row) == width for row in cells)
        assert width == 80  # the whole width of the terminal is used
        # Where the PC shows more than the blue background (text, frames, the menu bar), the
        # cell shows the same colours.
        assert matches_device(run, view) > 0.95
        assert share_of(cells, SETUP_BLUE) > 0.5
        assert "▀" in run.svg_text()  # half-blocks on the terminal, not a picture protocol


async def test_f2_typed_in_the_kvm_view_opens_setup_and_sol_keeps_its_screen(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path, size=SMALL) as run:
        view = await show_kvm(run)
        assert share_of(view.cells(), SETUP_BLUE) < 0.2  # POST: a black screen
        assert isinstance(run.screen.focused, KvmView)
        await run.pilot.press("f2")  # the KVM view has the keyboard: a keysym to the PC
        await run.wait_for(lambda: share_of(view.cells(), SETUP_BLUE) > 0.5, "setup's blue to dominate", 20)
        text = status_text(run)
        assert "720x400" in text and "fps" in text and "KVM connected" in text
        await run.command("v")  # back to SOL: its screen followed along
        assert isinstance(run.screen.focused, TerminalView)
        await run.wait_text("Setup Utility")
        assert "720x400" not in status_text(run)
        await run.pilot.press("right")  # SOL keys work again; the KVM view follows the PC
        await run.wait_text("CPU Configuration")
        await run.command("v")
        assert isinstance(run.screen.focused, KvmView)
        assert run.link.kvm.state is KvmState.CONNECTED  # the session stayed open meanwhile
        # Shown again, the view draws the screen as it is now (the Advanced menu), not as it was.
        await run.wait_for(lambda: matches_device(run, view) > 0.95, "the KVM view to show the PC's screen")


async def test_zoom_1_to_1_shows_pixels_unscaled_and_pans(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, size=SMALL) as run:
        view = await show_kvm(run)
        await run.command("z")
        assert view.zoom == "1:2"
        client_fb = run.link.kvm.framebuffer
        assert len(view.cells()[0]) == 80  # 80 cells, 160 screen pixels across
        await run.command("z")
        assert view.zoom == "1:1"

        def unscaled(x0: int, y0: int) -> list[list[Cell]]:
            return [
                [
                    (client_fb.pixel(x0 + c, y0 + 2 * r), client_fb.pixel(x0 + c, y0 + 2 * r + 1))
                    for c in range(80)
                ]
                for r in range(len(view.cells()))
            ]

        assert view.cells() == unscaled(0, 0)  # every cell: two screen pixels, as they are
        assert len({cell for row in view.cells() for cell in row}) > 2  # POST's text is in there
        await run.pilot.press("shift+right", "shift+down")
        assert view.pan == (8, 16)
        assert view.cells() == unscaled(8, 16)
        for _ in range(90):  # never past the screen's edge
            await run.pilot.press("shift+right")
        assert view.pan[0] == client_fb.width - view.size.width
        await run.command("z")
        assert str(view.zoom) == "fit"
        assert len(view.cells()[0]) == 80


async def test_a_click_reaches_the_pc_at_the_pixel_under_the_mouse(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, size=SMALL) as run:
        view = await show_kvm(run)
        screen = device_screen(run)
        seen: list[tuple[int, int, int]] = []
        screen.pointer = lambda x, y, buttons: seen.append((x, y, buttons))  # type: ignore[method-assign]
        await run.pilot.click(view, offset=(40, 10))
        await run.wait_for(lambda: len(seen) >= 2, "the click on the device", 10)
        fb = run.link.kvm.framebuffer
        x, y, buttons = seen[-2]
        assert buttons == 1 and seen[-1][2] == 0
        # Cell (40, 10) of an 80-column picture of 720x400: the middle of its pixels.
        assert abs(x - 40 * fb.width // 80) <= fb.width // 80
        assert abs(y - 10 * fb.height * 2 // (2 * len(view.cells()))) <= fb.height // len(view.cells())


async def test_ctrl_alt_del_from_the_key_bar_reaches_the_pc(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await show_kvm(run)
        keys: list[tuple[int, bool]] = []
        screen = device_screen(run)
        real_key = screen.key

        def spy(keysym: int, down: bool, now: float) -> None:
            keys.append((keysym, down))
            real_key(keysym, down, now)

        screen.key = spy  # type: ignore[method-assign]
        await run.pilot.click("#key-ctrl-alt-delete")
        await run.wait_for(lambda: len(keys) >= 6, "the keys on the device", 10)
        assert keys[:3] == [(0xFFE3, True), (0xFFE9, True), (0xFFFF, True)]
        assert isinstance(run.screen.focused, KvmView)


async def test_no_kvm_on_standard_manageability_is_said_in_the_view(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, size=SMALL, sku="ism") as run:
        await run.wait_text("Press F2 for Setup", timeout=20)
        await run.command("v")
        view = kvm_view(run)
        await run.wait_for(lambda: run.link.kvm.state is KvmState.FAILED, "the refusal", 20)
        assert view.reason is not None and "has no KVM" in view.reason
        assert "Standard Manageability" in run.link.kvm.message
        assert "KVM failed" in status_text(run)
        await run.wait_for(lambda: "has no KVM" in run.svg_text(), "the reason drawn on the view")
        await run.command("v")
        await run.wait_text("Press F2")  # SOL works on that SKU


async def test_a_busy_kvm_is_one_sentence(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, size=SMALL) as run:
        port = run.sim.hosts[0].port("redirection", True)
        assert port is not None
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        _, writer = await open_kvm(port, PASSWORD, tls=tls)  # another console holds KVM
        try:
            await run.wait_text("Press F2 for Setup", timeout=20)
            await run.command("v")
            await run.wait_for(lambda: run.link.kvm.state is KvmState.FAILED, "the refusal", 20)
            assert "busy" in run.link.kvm.message
            assert "busy" in (kvm_view(run).reason or "")
        finally:
            writer.close()


async def test_kvm_waiting_for_consent_connects_once_the_code_is_typed_in_the_boot_pane(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path, control_mode="client") as run:
        await run.wait_text("Press F2 for Setup", timeout=20)
        await run.command("v")
        await run.wait_for(lambda: run.link.kvm.state is KvmState.FAILED, "the refusal", 20)
        assert "user consent" in run.link.kvm.message
        assert "user consent" in (kvm_view(run).reason or "")
        consent = run.screen.query_one("#boot-consent")
        await run.wait_for(lambda: consent.has_class("needed"), "the consent row")
        await run.pilot.click("#consent-request")  # the code appears on the PC's screen
        await run.wait_for(lambda: "user consent code:" in run.view.text(), "the code on the PC")
        match = re.search(r"user consent code: (\d{6})", run.view.text())
        assert match is not None
        run.screen.query_one("#consent-code", Input).focus()
        await run.pilot.press(*match[1], "enter")
        await run.wait_for(lambda: run.link.kvm.state is KvmState.CONNECTED, "KVM after consent", 20)
        assert kvm_view(run).reason is None


async def test_closing_the_host_closes_its_kvm_session(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, size=SMALL) as run:
        await show_kvm(run)
        device = run.sim.hosts[0].device
        assert device.kvm_owner is not None
        await run.app.close_links()
        for _ in range(100):
            if device.kvm_owner is None:
                break
            await asyncio.sleep(0.05)
        assert device.kvm_owner is None  # the device is free for the next console


async def test_reset_into_bios_setup_shows_the_setup_in_the_kvm_view(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        view = await show_kvm(run)
        await run.command("B")  # the Boot pane's one-step "Reset into BIOS setup", asked first
        await run.wait_for(lambda: isinstance(run.app.screen, ConfirmScreen), "the question")
        await run.pilot.press("y")
        await run.wait_for(lambda: share_of(view.cells(), SETUP_BLUE) > 0.5, "setup in the KVM view", 30)
        assert run.link.kvm.state is KvmState.CONNECTED  # the KVM session lived through the reset


async def test_an_rfb_stream_amtterm_cannot_read_is_one_sentence(
    sim_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class BrokenViewer:
        """A device whose RFB goes wrong after the handshake: a message type RFB does not have."""

        def __init__(
            self, screen: object, version: object, write: Callable[[bytes], Awaitable[None]], *_: object
        ):
            self.server = RfbServer(64, 64, variant=AMT_16)
            self.write = write

        async def start(self) -> None:
            await self.write(self.server.data_to_send())

        async def receive(self, data: bytes) -> None:
            events = self.server.receive_data(data, 0.0)
            out = self.server.data_to_send()
            if any(isinstance(event, ClientInitReceived) for event in events):
                out += b"\x63"
            await self.write(out)

        async def close(self) -> None:
            pass

    monkeypatch.setattr(sim_redirection, "KvmViewer", BrokenViewer)
    async with running_app(sim_state, tmp_path, size=SMALL) as run:
        await run.wait_text("Press F2 for Setup", timeout=20)
        await run.command("v")
        await run.wait_for(lambda: run.link.kvm.state is KvmState.FAILED, "the failure", 20)
        message = run.link.kvm.message
        assert "KVM data amtterm cannot read" in message and "message type 99" in message
        assert "Traceback" not in run.svg_text()
        assert (kvm_view(run).reason or "").startswith(message[:30])
        await run.command("v")
        assert run.link.status.state.value == "connected"  # SOL is not touched by KVM's failure

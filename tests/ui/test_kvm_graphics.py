"""Half-blocks or Sixel: what the terminal says decides (``--kvm-graphics auto``), and the view draws so.

The terminal questions are asked on a real pseudo-terminal, the test answering as a terminal
would: xterm as a VT340 lists Sixel (4) in its device attributes, tmux 3.3 and most terminals do
not. The views run against the simulator's synthetic PC, as in test_kvm_view.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from amtterm.session import KvmState
from amtterm.ui.kvm_graphics import KvmGraphics, choose, encode_sixel
from amtterm.ui.widgets.kvm_view import KvmView
from amtterm.ui.widgets.statusline import StatusLine
from tests.support.ptyproc import PtyProcess
from tests.ui.appsim import Running, running_app

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
CHOOSE = "from amtterm.ui.kvm_graphics import choose; g = choose('auto'); print('MODE', g.mode, g.cell)"
#: Device attributes (DA1) as tmux 3.3 answers them (no 4: no Sixel) and as xterm -ti vt340 does.
NO_SIXEL = b"\x1b[?62;22c"
VT340 = b"\x1b[?63;1;2;4;6;9;15;16;22;28c"


def choose_on_a_terminal(attributes: bytes, cell_reply: bytes = b"") -> bytes:
    """``choose('auto')`` in a child on a pty; this side answers its questions as a terminal."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    term = PtyProcess([sys.executable, "-c", CHOOSE], env=env)
    try:
        term.expect(b"\x1b[c", timeout=30)  # what it asks first: the device attributes
        term.send(attributes)
        if cell_reply:
            term.expect(b"\x1b[16t", timeout=10)  # the cell size in pixels (the pty says 0)
            term.send(cell_reply)
        assert term.wait(30) == 0
        return bytes(term.output)
    finally:
        term.close()


def test_a_terminal_without_sixel_gets_half_blocks() -> None:
    assert b"MODE halfblock" in choose_on_a_terminal(NO_SIXEL)


def test_a_vt340_gets_sixel_with_its_cell_size() -> None:
    assert b"MODE sixel (6, 13)" in choose_on_a_terminal(VT340, b"\x1b[6;13;6t")


def test_not_a_terminal_gets_half_blocks_and_forcing_works() -> None:
    assert choose("auto").mode == "halfblock"  # pytest's output is not a terminal
    assert choose("halfblock").mode == "halfblock"
    assert choose("sixel") == KvmGraphics("sixel", (10, 20))  # a VT340's cells, when not told


def test_the_sixel_encoder_defines_every_colour_before_the_pixels() -> None:
    from PIL import Image

    image = Image.new("RGB", (20, 12), (0, 0, 170))
    image.paste((0, 170, 170), (0, 6, 20, 12))
    data = encode_sixel(image)
    assert data.startswith('\x1bP0;1;0q"1;1;20;12#') and data.endswith("\x1b\\")
    header, _, bands = data.partition("!20")
    assert header.count(";2;") == 2 and ";2;0;0;66" in header and ";2;0;66;66" in header
    assert bands.count("-") == 1 and "#" in bands and ";2;" not in bands


@pytest.fixture(scope="module")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-state")


def status_text(run: Running) -> str:
    return str(run.screen.query_one(StatusLine).render())


async def show_kvm(run: Running) -> KvmView:
    await run.wait_text("Press F2 for Setup", timeout=20)
    await run.command("v")
    view = run.screen.kvm.views[run.link]
    await run.wait_for(lambda: run.link.kvm.state is KvmState.CONNECTED, "KVM to connect", 20)
    await run.wait_for(lambda: run.link.kvm.frame_complete and view.draws > 0, "a KVM frame", 20)
    await run.pilot.pause(0.3)
    return view


async def test_the_default_is_half_blocks_and_the_status_line_says_so(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path, size=(120, 30)) as run:
        view = await show_kvm(run)
        assert view.graphics.mode == "halfblock" and not view.pixels and view.sixel == ""
        assert view.cells() != []
        assert "▀" in run.svg_text()  # the POST screen's text in half-blocks
        assert "half-blocks" in status_text(run)


async def test_sixel_draws_the_frame_as_one_picture_and_half_blocks_under_a_reason(
    sim_state: Path, tmp_path: Path
) -> None:
    graphics = KvmGraphics("sixel", (6, 13))
    async with running_app(sim_state, tmp_path, size=(120, 30), kvm_graphics=graphics) as run:
        view = await show_kvm(run)
        assert view.pixels and view.sixel.startswith('\x1bP0;1;0q"1;1;')
        width, height = view._picture
        columns, rows = view.size
        # Fitted to the view's pixels, proportions kept (720x400).
        assert width == columns * 6 or height == (rows - 1) * 13  # the last line carries it
        assert abs(width / height - 720 / 400) < 0.02
        assert view.cells() == []  # no half-blocks
        assert "sixel" in status_text(run)
        lines = view.render_lines(view.size.region)
        assert view.sixel in "".join(segment.text for segment in lines[-1])
        # The middle of the picture is the middle of the PC's screen.
        left, top = view._offset
        middle = view.pixel_at(left + width // 12, top + height // 26)
        assert middle is not None and abs(middle[0] - 360) <= 8 and abs(middle[1] - 200) <= 16
        view.reason = "KVM closed"  # not live: dimmed half-blocks under the sentence
        await run.pilot.pause(0.1)
        assert not view.pixels and view.cells() != [] and view.sixel == ""

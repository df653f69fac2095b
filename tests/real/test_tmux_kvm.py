"""The KVM view in tmux at 80x24: `amtterm demo`, Ctrl-] v, F2 typed on the KVM screen.

Half-blocks are the one form of pictures every terminal shows, tmux included (Sixel and Kitty
graphics do not pass through it unconfigured). tmux itself draws the cells here, so this is what a
tmux user sees: the synthetic PC's BIOS setup, blue, in half-blocks, with the status line's KVM numbers.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.tmux import Tmux, tmux_running

# tmux is installed by .ci/run; without it this test fails rather than skips.
pytestmark = [pytest.mark.real]

DEMO = [sys.executable, "-m", "amtterm", "demo"]
#: A background colour in tmux's SGR output: truecolor (48;2;r;g;b) or the 256-colour palette (48;5;n).
BACKGROUND = re.compile(r"48;(?:2;(\d+);(\d+);(\d+)|5;(\d+))")


@pytest.fixture
def tmux(env: dict[str, str], tmp_path: Path) -> Iterator[Tmux]:
    yield from tmux_running(dict(env, COLORTERM="truecolor"), tmp_path, DEMO)


def blue_backgrounds(screen: str) -> float:
    """The share of background colours set on the screen that are a BIOS blue."""
    found = BACKGROUND.findall(screen)
    blue = 0
    for r, g, b, index in found:
        if index:
            blue += index in ("4", "18", "19", "20")  # the xterm palette's dark blues
        else:
            blue += int(r) < 60 and int(g) < 60 and int(b) > 140
    return blue / max(1, len(found))


def test_kvm_in_tmux_at_80x24_shows_setup_in_half_blocks(tmux: Tmux) -> None:
    tmux.run("resize-window", "-t", tmux.session, "-x", "80", "-y", "24")
    deadline = time.monotonic() + 5
    while tmux.size() != (80, 24) and time.monotonic() < deadline:
        time.sleep(0.05)
    tmux.wait_for("Press F2 for Setup")
    tmux.keys("C-]", "v")
    screen = tmux.wait_for("KVM connected", timeout=30)
    assert "720x400" in screen and "fps" in screen
    time.sleep(0.5)
    assert blue_backgrounds(tmux.screen(escapes=True)) < 0.2  # POST: a black screen
    tmux.keys("F2")  # typed on the KVM screen: a keysym to the PC
    deadline = time.monotonic() + 30
    while blue_backgrounds(tmux.screen(escapes=True)) < 0.5:
        assert time.monotonic() < deadline, f"no blue setup screen on KVM:\n{tmux.screen()}"
        time.sleep(0.2)
    assert "▀" in tmux.screen()
    tmux.keys("C-]", "v")  # back to SOL: setup as text
    tmux.wait_for("Select Menu")  # setup as text (its title row is above the 24 rows)
    tmux.keys("C-]", "q")
    assert "Traceback" not in tmux.wait_for("AMTTERM-EXIT=0")

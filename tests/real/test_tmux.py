"""The console in tmux: `amtterm demo` in a detached session, keys by send-keys, screen by capture-pane.

tmux is how people share a console (and where Esc gets held back by escape-time), so the app
must draw the BIOS there, take keys from there, and survive the window changing size when two
clients of different sizes share the session. Everything runs on a private tmux server
(``-L``) with an empty config, so it neither sees nor touches the user's tmux.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ptyproc import PtyProcess
from tests.support.tmux import Tmux, plain, tmux_running

# tmux is installed by .ci/run; without it this test fails rather than skips.
pytestmark = [pytest.mark.real]

#: The README's first command.
DEMO = [sys.executable, "-m", "amtterm", "demo"]


@pytest.fixture
def tmux(env: dict[str, str], tmp_path: Path) -> Iterator[Tmux]:
    """`amtterm demo` in a detached 132x42 tmux session on a private server."""
    yield from tmux_running(env, tmp_path, DEMO)


@pytest.fixture
def tmux_qemu(env: dict[str, str], tmp_path: Path) -> Iterator[Tmux]:
    """`amtterm demo --qemu`: a real SeaBIOS PC behind the simulated AMT device."""
    yield from tmux_running(env, tmp_path, [*DEMO, "--qemu"])


def test_demo_in_tmux_shows_post_then_bios_setup_with_box_drawing(tmux: Tmux) -> None:
    screen = tmux.wait_for("Press F2 for Setup")
    assert "Ctrl-] then" in screen  # the console's footer: this is the TUI, not the raw client
    assert "connected" in screen
    tmux.keys("F2")
    screen = tmux.wait_for("Setup Utility")
    assert "╔═══" in screen and "╚═══" in screen and "║" in screen
    coloured = tmux.screen(escapes=True)
    assert "\x1b[" in coloured and "╔" in plain(coloured)
    # tmux holds Esc for 500 ms by default (empty config): the app says so once.
    tmux.wait_for("escape-time")
    # The prefix key reaches the app through tmux: Ctrl-] h opens the help.
    tmux.keys("C-]", "h")
    tmux.wait_for("amtterm console commands")
    tmux.keys("Escape")
    time.sleep(0.7)  # an Esc followed at once by Ctrl-] would read as Alt+Ctrl-] (as in any terminal app)
    tmux.keys("C-]", "q")
    assert "Traceback" not in tmux.wait_for("AMTTERM-EXIT=0")


def test_at_80x24_the_post_prompt_and_the_cursor_line_stay_on_screen(tmux: Tmux) -> None:
    tmux.run("resize-window", "-t", tmux.session, "-x", "80", "-y", "24")
    deadline = time.monotonic() + 5
    while tmux.size() != (80, 24) and time.monotonic() < deadline:
        time.sleep(0.05)
    screen = tmux.wait_for("Press F2 for Setup")  # the remote's row 24 of 25, in a 24-row terminal
    assert "keys: console" in screen and "connected" in screen  # the status line is kept
    assert "Ctrl-] then" not in screen  # the footer folded away for the remote screen
    # Typing at the login prompt (the last remote row): the line being typed on stays on view.
    screen = tmux.wait_for("login:", timeout=30)
    tmux.keys("r", "o", "o", "t")
    screen = tmux.wait_for("login: root")
    tmux.keys("C-]", "q")
    assert "Traceback" not in tmux.wait_for("AMTTERM-EXIT=0")


def test_two_clients_of_different_sizes_share_the_console(tmux: Tmux) -> None:
    tmux.wait_for("Press F2 for Setup")
    tmux.keys("F2")
    tmux.wait_for("Setup Utility")
    attach = ["tmux", "-L", tmux.socket, "attach-session", "-t", tmux.session]
    big = PtyProcess(attach, env=tmux.env, cols=140, rows=45)
    small = None
    try:
        big.expect(b"Setup", timeout=10)
        small = PtyProcess(attach, env=tmux.env, cols=90, rows=28)
        small.expect(b"Setup", timeout=10)
        # tmux sizes the shared window for one client at a time; the app follows every size.
        for width, height in ((90, 28), (140, 45), (80, 24), (132, 42)):
            tmux.run("resize-window", "-t", tmux.session, "-x", str(width), "-y", str(height))
            deadline = time.monotonic() + 5
            while tmux.size() != (width, height) and time.monotonic() < deadline:
                time.sleep(0.05)
            wanted = width >= 118  # the side panes only where the remote screen still fits
            footer = height >= 28  # 80x25 and the chrome; shorter, the key bar and footer fold

            def redrawn(screen: str, wanted: bool = wanted, footer: bool = footer) -> bool:
                # The fixed 80-column remote screen (not reflowed), the footer where it fits, and
                # the panes only where there is room: the app has caught up with the new size.
                return (
                    "║" in screen
                    and ("Ctrl-] then" in screen) == footer
                    and "keys: console" in screen
                    and ("Power" in screen) == wanted
                )

            deadline = time.monotonic() + 5
            screen = tmux.wait_for("Setup Utility")
            while not redrawn(screen) and time.monotonic() < deadline:
                time.sleep(0.1)
                screen = tmux.wait_for("Setup Utility")
            assert redrawn(screen), (width, height, screen)
        # Keys still reach the BIOS through the shared session: Right moves to the next menu.
        tmux.keys("Right")
        time.sleep(0.5)
        assert tmux.alive()
        assert "Traceback" not in tmux.screen()
    finally:
        for client in (small, big):
            if client is not None:
                client.close()


def test_seabios_boot_menu_reached_by_esc_typed_in_the_console(tmux_qemu: Tmux) -> None:
    """A real BIOS no one here wrote, in the console: Esc typed in the TUI opens SeaBIOS's boot menu."""
    tmux_qemu.wait_for("SeaBIOS", timeout=30)
    tmux_qemu.wait_for("Press ESC for boot menu", timeout=30)
    tmux_qemu.keys("Escape")
    tmux_qemu.wait_for("Select boot device", timeout=20)
    tmux_qemu.wait_for("DVD/CD", timeout=10)  # the menu's entries follow its title
    tmux_qemu.keys("C-]", "q")
    tmux_qemu.wait_for("AMTTERM-EXIT=0", timeout=20)

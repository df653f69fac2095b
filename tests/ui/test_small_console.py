"""The console at the sizes people have: the remote screen comes first, the chrome folds.

The remote screen is 80x25 and the console adds a key bar, a status line and a footer; in an
80x24 or 80x25 terminal the key bar and the footer fold away, the status line keeps one row and
the view follows the remote cursor, so the line being typed on and the POST prompt stay on
screen. Shift-PgUp / Shift-PgDn scroll the view and the scrollback from the keyboard.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from amtterm.ui.widgets.terminal import TerminalView
from tests.ui.appsim import Running, running_app

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-state")


def visible_rows(view: TerminalView) -> range:
    """The remote screen rows the view shows now (live screen)."""
    top = round(view.scroll_y) - view._pad_top()
    return range(max(0, top), min(view.emulator.rows, top + view.size.height))


def on_screen(run: Running, text: str) -> bool:
    return text in run.svg_text()


@pytest.mark.parametrize("size", [(80, 24), (80, 25), (100, 30), (200, 50)])
async def test_the_cursor_row_and_the_post_prompt_are_on_screen(
    sim_state: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    async with running_app(sim_state, tmp_path, size=size) as run:
        await run.wait_text("Press F2 for Setup")
        await run.pilot.pause(0.2)
        view = run.view
        assert view.size.width >= 80, "the remote screen gets its 80 columns"
        assert on_screen(run, "Press F2 for Setup"), run.svg_text()
        assert view.cursor[0] in visible_rows(view)
        assert "connected" in run.svg_text()  # the status line is kept


async def test_the_panes_lie_over_a_small_console_instead_of_squeezing_it(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path, size=(80, 24)) as run:
        await run.wait_text("Press F2 for Setup")
        await run.command("p")
        await run.pilot.pause(0.2)
        assert run.screen.query_one("#panes").display
        assert "Power" in run.svg_text()
        assert run.view.size.width == 80  # not squeezed to 44 columns
        await run.command("p")
        await run.pilot.pause(0.2)
        assert "Press F2 for Setup" in run.svg_text()


async def test_shift_pgup_shows_the_rows_above_and_typing_follows_the_cursor_again(
    sim_state: Path, tmp_path: Path
) -> None:
    async with running_app(sim_state, tmp_path, size=(80, 24)) as run:
        await run.wait_text("Press F2 for Setup")
        view = run.view
        await run.wait_for(lambda: round(view.scroll_y) > 0, "the view to follow the cursor down")
        await run.pilot.press("shift+pageup")
        await run.pilot.pause(0.1)
        assert round(view.scroll_y) == 0 and 0 in visible_rows(view)
        await run.pilot.press("shift+pagedown")
        await run.pilot.pause(0.1)
        assert view.cursor[0] in visible_rows(view)

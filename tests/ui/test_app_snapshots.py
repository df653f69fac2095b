"""Snapshot-like checks: what an exported screenshot says and which colours it uses (no pixels)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from amtterm.ui.commands import COMMANDS
from tests.ui.appsim import running_app, svg_text


@pytest.fixture(scope="session")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulator certificate for the whole run."""
    return tmp_path_factory.mktemp("sim-state")


def colours(svg: str) -> set[str]:
    """Every fill colour the screenshot uses, lower case."""
    return {match.lower() for match in re.findall(r"fill:\s*(#[0-9a-fA-F]{6})", svg)}


async def test_post_screen_with_panes_status_and_footer(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        await run.wait_for(lambda: "16.1.0, admin" in run.svg_text(), "the Info pane's facts")
        text = run.svg_text()
        for needle in (
            "DemoTech BIOS Version",  # the console
            "Power",
            "● on",
            "Reset into BIOS setup (SOL)",
            "Next boot only:",
            "Info",
            "listener on, SOL",
            "IDE-R",
            "sim connected",  # the status line
            "auto: CP437",
            "Ctrl-] then",  # the footer
            "F12",  # the key bar
        ):
            assert needle in text, needle
        assert "Traceback" not in text


async def test_bios_setup_keeps_box_drawing_and_vga_blue(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path) as run:
        await run.wait_text("Press F2 for Setup")
        await run.pilot.press("f2")
        await run.wait_text("Setup Utility")
        svg = run.app.export_screenshot()
        text = svg_text(svg)
        assert "╔════" in text and "╚════" in text and "╤" in text
        assert "#0000aa" in colours(svg)  # the BIOS's own blue (VGA palette)


async def test_light_theme_colours_app_and_terminal(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, theme="amtterm-light") as run:
        await run.wait_text("DemoTech BIOS Version")
        svg = run.app.export_screenshot()
        used = colours(svg)
        assert "#fbfbfc" in used  # the remote screen's default background
        assert "#14171c" not in used  # nothing of the dark theme's background


async def test_help_screen_lists_every_command(sim_state: Path, tmp_path: Path) -> None:
    async with running_app(sim_state, tmp_path, size=(132, 50)) as run:
        await run.wait_text("DemoTech BIOS Version")
        await run.command("h")
        text = run.svg_text()
        for command in COMMANDS:
            assert command.help in text, command.help

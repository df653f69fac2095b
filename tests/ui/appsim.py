"""Running the console app (AmtApp) against the in-process simulator, for the Pilot tests."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from amtterm.cli.tui import Display, demo_links
from amtterm.session.host import HostController, TrustPrompt
from amtterm.sim.app import RunningSim, SimOptions, start_sim
from amtterm.ui.app import AmtApp
from amtterm.ui.kvm_graphics import HALF_BLOCKS, KvmGraphics
from amtterm.ui.screens.console import ConsoleScreen
from amtterm.ui.widgets.terminal import TerminalView

SIZE = (132, 42)
PASSWORD = "App-Test-1!"


def sim_options(state_dir: Path, **changes: Any) -> SimOptions:
    """TLS redirection and HTTPS WS-Man on free ports, AMT 16, like ``amtterm demo``."""
    options = SimOptions(
        redir_port=None,
        redir_tls_port=0,
        wsman_port=None,
        wsman_tls_port=0,
        amt_version=(16, 1),
        password=PASSWORD,
        state_dir=state_dir,
    )
    return replace(options, **changes)


@dataclass
class Running:
    """A simulator, the app on it, and its pilot."""

    sim: RunningSim
    app: AmtApp
    pilot: Pilot[int]
    known_hosts: Path

    @property
    def screen(self) -> ConsoleScreen:
        screen = self.app.console_screen
        assert screen is not None
        return screen

    @property
    def view(self) -> TerminalView:
        return self.screen.view()

    @property
    def link(self) -> HostController:
        return self.screen.link

    async def wait_for(self, check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        """Let the app run until ``check()`` holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not check():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{self.view.text()}")
            await self.pilot.pause(0.05)

    async def panes(self) -> None:
        """Wait until the side panes are built (once the remote's first screen is drawn, or a
        moment after the console opened when none comes)."""
        await self.wait_for(lambda: self.screen.panes_built, "the side panes")

    async def wait_text(self, text: str, timeout: float = 10.0) -> None:
        """Wait until the console on screen shows ``text``."""
        await self.wait_for(lambda: text in self.view.text(), repr(text), timeout)

    async def command(self, key: str) -> None:
        """The prefix key, then ``key``."""
        await self.pilot.press("ctrl+right_square_bracket", key)
        await self.pilot.pause()

    def notes(self) -> list[str]:
        """The notifications (toasts) shown so far and not yet expired."""
        return [note.message for note in self.app._notifications]

    def svg_text(self) -> str:
        """The text of an exported screenshot (tags dropped, entities decoded)."""
        return svg_text(self.app.export_screenshot())


def svg_text(svg: str) -> str:
    """What a Textual SVG screenshot says, as plain text (one string, spaces kept)."""
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


@contextlib.asynccontextmanager
async def running_app(
    state_dir: Path,
    tmp: Path,
    *,
    hosts: int = 1,
    password: str | None = None,
    accept_new: bool = True,
    trust: TrustPrompt | None = None,
    size: tuple[int, int] = SIZE,
    theme: str | None = None,
    prepare: Callable[[list[HostController]], None] | None = None,
    kvm_graphics: KvmGraphics = HALF_BLOCKS,
    **sim_changes: Any,
) -> AsyncIterator[Running]:
    """Start the simulator and the app on it; stop both afterwards.

    ``prepare`` gets the links before the app starts (e.g. to record them).
    """
    sim = await start_sim(sim_options(state_dir, hosts=hosts, **sim_changes), log=lambda _: None)
    try:
        known_hosts = tmp / "known_hosts"
        links = demo_links(sim, Display(), known_hosts=known_hosts, trust=trust)
        if password is not None or not accept_new:
            links = [_relink(link, password, accept_new) for link in links]
        if prepare is not None:
            prepare(links)
        app = AmtApp(
            links, trust=trust, check_tmux=False, power_poll=0, theme=theme, kvm_graphics=kvm_graphics
        )
        async with app.run_test(size=size, notifications=True) as pilot:
            try:
                yield Running(sim, app, pilot, known_hosts)
            finally:
                await app.close_links()
    finally:
        await sim.close()


def _relink(link: HostController, password: str | None, accept_new: bool) -> HostController:
    profile = link.profile
    console = replace(profile.console, password=password) if password is not None else profile.console
    tls = replace(profile.tls, accept_new=accept_new) if profile.tls is not None else None
    return HostController(replace(profile, console=console, tls=tls))

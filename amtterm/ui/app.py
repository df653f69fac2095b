"""AmtApp: the Textual application of ``amtterm HOST``, ``amtterm tui`` and ``amtterm demo``.

The app owns the hosts (one :class:`~amtterm.session.host.HostController` each), the themes and the
certificate questions; the :class:`~amtterm.ui.screens.console.ConsoleScreen` does the rest.

Textual's own keys are gone: Ctrl-Q, Ctrl-C and Ctrl-P (quit, copy, command palette) belong to
the remote machine. The app's commands sit behind the prefix key (Ctrl-] by default); quitting
is prefix ``q``, which ends every SOL session politely so that the one SOL slot of each machine
is free again at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import App
from textual.binding import BindingType
from textual.worker import NoActiveWorker, Worker, get_current_worker

from amtterm.session import HostController, TrustPrompt
from amtterm.terminal.tmux import tmux_escape_time_warning
from amtterm.ui.kvm_graphics import HALF_BLOCKS, KvmGraphics
from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.screens.console import ConsoleScreen
from amtterm.ui.themes import AmtTheme, load_themes, next_theme, pick_theme
from amtterm.ui.widgets.terminal import DEFAULT_PREFIX

#: Seconds a pane's WS-Man request under way gets to finish when the app closes its hosts.
REQUEST_GRACE = 0.5
#: Seconds the cancelled workers (pane requests, console pumps) get to end.
CLOSE_WORKERS_TIMEOUT = 2.0


class AmtApp(App[int], inherit_bindings=False):
    """The console application.

    Args:
        links: the hosts, in list order.
        themes: the themes by name (the shipped and the user's when None).
        theme: the theme to start with (the default when None).
        prefix: the prefix key, as a Textual key name.
        show_panes: start with the side panes shown.
        power_poll: seconds between WS-Man power polls (0: never).
        trust: the certificate prompt the hosts' TLS options use, if any.
        warnings: sentences to show once at start (e.g. a skipped user theme).
        check_tmux: warn when tmux would hold Esc back.
    """

    TITLE = "amtterm"
    ENABLE_COMMAND_PALETTE: ClassVar[bool] = False
    BINDINGS: ClassVar[list[BindingType]] = []
    #: Show Textual's traceback when a bug ends the app (``--debug``); otherwise one sentence.
    show_tracebacks = False

    def _fatal_error(self) -> None:
        # A bug, not an AmtError (those are shown in the UI): say it in one sentence, as
        # every other amtterm command does, unless --debug asked for the traceback.
        if self.show_tracebacks:
            super()._fatal_error()
            return
        error = self._exception
        name = type(error).__name__ if error is not None else "error"
        self.bell()
        self._exit_renderables.append(
            Text(f"amtterm: internal error: {name}: {error} (run with --debug for details)")
        )
        self._close_messages_no_wait()

    def __init__(
        self,
        links: Sequence[HostController],
        *,
        themes: Mapping[str, AmtTheme] | None = None,
        theme: str | None = None,
        prefix: str = DEFAULT_PREFIX,
        show_panes: bool = True,
        power_poll: float = 10.0,
        trust: TrustPrompt | None = None,
        warnings: Sequence[str] = (),
        check_tmux: bool = True,
        kvm_graphics: KvmGraphics = HALF_BLOCKS,
    ) -> None:
        super().__init__()
        self.links = list(links)
        #: How KVM views draw the PC's screen (chosen before the app starts: ``--kvm-graphics``).
        self.kvm_graphics = kvm_graphics
        problems: list[str] = []
        if themes is None:
            themes, problems = load_themes()
        self.themes = dict(themes)
        self.amt_theme = pick_theme(self.themes, theme)
        self.prefix = prefix
        self.show_panes = show_panes
        self.power_poll = power_poll
        self.trust = trust
        self.start_warnings = [*warnings, *problems]
        self.check_tmux = check_tmux
        self.console_screen: ConsoleScreen | None = None
        self._links_closed = False

    def on_mount(self) -> None:
        """Register the themes, open the console, show the start-up warnings."""
        for theme in self.themes.values():
            self.register_theme(theme.textual)
        self.theme = self.amt_theme.name
        self.console_screen = ConsoleScreen(
            self.links,
            prefix=self.prefix,
            palette=self.amt_theme.palette,
            show_panes=self.show_panes,
            power_poll=self.power_poll,
        )
        self.push_screen(self.console_screen)
        for warning in self.start_warnings:
            self.notify(warning, severity="warning", timeout=15)
        if self.trust is not None:
            self.trust.listeners.append(self._trust_asked)
            for question in list(self.trust.pending):
                self._trust_asked(question)
        if self.check_tmux:
            self.run_worker(self._warn_about_tmux(), exit_on_error=False)

    async def _warn_about_tmux(self) -> None:
        warning = await asyncio.to_thread(tmux_escape_time_warning)
        if warning:
            self.notify(warning, severity="warning", timeout=20)

    # -- certificates -----------------------------------------------------------------------

    def _trust_asked(self, question: str) -> None:
        self.call_later(self._ask_trust, question)

    def _ask_trust(self, question: str) -> None:
        trust = self.trust
        if trust is None:
            return

        ssh = "SSH host key" in question  # a jump host's key, not a device's certificate
        what = "Jump host key" if ssh else "Certificate"

        def answered(yes: bool | None) -> None:
            if yes:
                trust.approve(question)
                self.notify(f"{what} trusted and pinned; connecting again.", timeout=5)
                for link in self.links:
                    if link.started and not link.running:
                        self.run_worker(link.reconnect_now(), exit_on_error=False)
                if self.console_screen is not None:
                    self.console_screen.poll_power()
            else:
                trust.forget(question)
                self.notify(f"{what} not trusted: nothing was recorded.", severity="warning")

        title = "Trust this jump host's SSH key?" if ssh else "Trust this device's certificate?"
        self.push_screen(ConfirmScreen(title, question, "Trust and pin", danger=False), answered)

    # -- themes -----------------------------------------------------------------------------

    def set_amt_theme(self, name: str) -> None:
        """Switch to the theme ``name`` (app colours and terminal palette)."""
        theme = pick_theme(self.themes, name)
        self.amt_theme = theme
        self.theme = theme.name
        if self.console_screen is not None:
            self.console_screen.apply_palette(theme.palette)

    def cycle_theme(self) -> None:
        """The next theme, and say which."""
        theme = next_theme(self.themes, self.amt_theme.name)
        self.set_amt_theme(theme.name)
        self.notify(f"Theme: {theme.label}.", timeout=3)

    # -- leaving ----------------------------------------------------------------------------

    async def close_links(self) -> None:
        """End every host's session politely (idempotent)."""
        if self._links_closed:
            return
        self._links_closed = True
        # A pane's WS-Man request still under way ends first (a moment to finish, then cut off):
        # left running while its client closes, or until the app is gone, it would leave its
        # connection to the garbage collector. IDE-R jobs end politely with their hosts, below.
        await self._end_workers(
            lambda worker: not worker.group.startswith(("ider", "output")), grace=REQUEST_GRACE
        )
        if self.console_screen is not None:
            await self.console_screen.sharing.close()
        await asyncio.gather(*(link.close() for link in self.links), return_exceptions=True)
        await self._end_workers(lambda worker: True)

    async def _end_workers(self, which: Callable[[Worker[object]], bool], *, grace: float = 0.0) -> None:
        """End the workers ``which`` picks (not the one calling): ``grace`` seconds to finish on
        their own, then cancelled and waited for."""
        try:
            current: Worker[object] | None = get_current_worker()
        except NoActiveWorker:
            current = None
        workers = [worker for worker in self.workers if worker is not current and which(worker)]
        if not workers:
            return
        ending = asyncio.gather(*(worker.wait() for worker in workers), return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(ending), grace)
        for worker in workers:
            worker.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ending, CLOSE_WORKERS_TIMEOUT)

    async def action_quit(self) -> None:
        """Close every console, then exit."""
        await self.close_links()
        self.exit(0)

"""ConsoleScreen: the remote console in the centre, the host list left, the panes right.

    ┌hosts─┐┌──────────── TerminalView (one per host) ───────────┐┌ Power ┐
    │1 ● pc││                                                     ││ Boot  │
    │2 ○ pc││                                                     ││ Info  │
    └──────┘└─────────────────────────────────────────────────────┘│ IDE-R │
            [search bar]  [key bar: F1..F12 Esc Ctrl-Alt-Del  send text]
    status line: host, session state and sentence │ encoding │ keys │ size
    footer: the prefix key and its commands

Every key typed on the console goes to the remote; the commands sit behind the prefix key and
are dispatched from :data:`amtterm.ui.commands.COMMANDS`. The prefix works wherever the keyboard
is (a pane, the host list, the key bar: :meth:`ConsoleScreen.on_key` hands the next key to the
console as a command and the keyboard goes back), and the status line says where keys go.

The remote screen comes first (:meth:`ConsoleScreen._fit`): shorter than the screen and its
chrome, the key bar and the footer fold away and the view follows the remote cursor; without room
beside it, the side column lies over the console when shown rather than squeezing it. A screen
that is no longer live (session down, PC off) is dimmed with its reason (:func:`stale_reason`).

Each host has its own TerminalView (in a ContentSwitcher) fed by its own HostController, so
switching hosts shows a screen that kept updating while it was hidden. A host's console is
connected the first time it is shown. Beside it each host has a KVM view (the PC's graphics in
half-blocks), shown instead of the SOL view by the prefix command ``v``
(:class:`~amtterm.ui.screens.kvm_control.KvmControl`); its KVM session connects when first shown.

The remote's first screen comes first: the side panes (and their WS-Man requests) are built only
once it is drawn, or once none is coming (the session failed, the PC is off), or after
:data:`PANES_AT_LATEST` seconds, or at once when the user asks for them
(:meth:`ConsoleScreen.ensure_panes`).

Which host a view shows is a map made with the views (:meth:`ConsoleScreen.host_of`); no widget id
is read for meaning. Widgets post messages and this screen acts: a view's key goes to its host, a
pane's request to :class:`~amtterm.ui.screens.actions.DeviceActions` (asks, runs, reports back).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, ContentSwitcher, Input, Select, Static

from amtterm.errors import AmtError, TlsPinMismatch
from amtterm.session import HostController, SessionState, SessionStatus
from amtterm.share.sharing import Sharing
from amtterm.terminal.keymap import ENTER_BYTES, KEY_MODE_LABELS, KEY_MODES, paste_chunks
from amtterm.terminal.keynames import describe_key
from amtterm.terminal.tmux import tmux_clipboard_warning
from amtterm.ui.commands import HOST_DIGITS, find_command
from amtterm.ui.screens.actions import DeviceActions
from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.screens.help import HelpScreen
from amtterm.ui.screens.kvm_control import KvmControl
from amtterm.ui.widgets.device_panes import BootPane, InfoPane, PowerPane, SidePanes
from amtterm.ui.widgets.emulator import SCREEN_SIZES, TerminalPalette
from amtterm.ui.widgets.hostlist import HostList
from amtterm.ui.widgets.keybar import KeyBar
from amtterm.ui.widgets.kvm_view import KvmView
from amtterm.ui.widgets.pane_base import Pane, PaneRequest
from amtterm.ui.widgets.statusline import ENCODING_NAMES, PrefixFooter, StatusLine
from amtterm.ui.widgets.terminal import TerminalView

ENCODINGS = ("auto", "cp437", "utf-8")
#: Columns of the side column (host list and panes); see console.tcss.
SIDE_WIDTH = 36
#: Rows around the remote screen: key bar, status line, footer.
CHROME_ROWS = 3
#: Seconds after the console opens by which the side panes are built even if the remote has
#: shown nothing yet (a certificate question, a slow device, a PC whose OS is silent on serial).
PANES_AT_LATEST = 1.5


def screen_coming(status: SessionStatus) -> bool:
    """Whether the remote's first screen may still be on its way (the side panes wait for it)."""
    if status.state in (SessionState.IDLE, SessionState.CONNECTING):
        return True
    return status.state is SessionState.CONNECTED and status.power_on is not False


def stale_reason(link: HostController, view: TerminalView) -> str | None:
    """Why ``view`` no longer shows ``link``'s live screen (None: live, or nothing shown yet)."""
    if not link.started or not view.text().strip():
        return None
    status = link.status
    if status.state is SessionState.CONNECTED:
        return "the PC is off (this is its last screen)" if status.power_on is False else None
    if status.state is SessionState.CONNECTING:
        return None
    return status.message  # cut to the view's width; Ctrl-] m shows it whole


class SearchInput(Input):
    """The search field; Esc closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "close search", show=False)]

    def action_close(self) -> None:
        """Hide the search bar and give the keyboard back to the console."""
        screen = self.screen
        if isinstance(screen, ConsoleScreen):
            screen.close_search()


class ConsoleScreen(Screen[None]):
    """The console and everything around it.

    Args:
        links: the hosts, in list order (at least one).
        prefix: the prefix key (a Textual key name).
        palette: the terminal colours of the current theme.
        show_panes: start with the side panes shown.
        power_poll: seconds between WS-Man power polls (0: never poll).
    """

    CSS_PATH = "console.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "focus_console", "back to the console", show=False),
    ]

    def __init__(
        self,
        links: Sequence[HostController],
        *,
        prefix: str,
        palette: TerminalPalette,
        show_panes: bool = True,
        power_poll: float = 10.0,
    ) -> None:
        super().__init__()
        if not links:
            raise ValueError("the console needs at least one host")
        self.links = list(links)
        self.prefix = prefix
        self.palette = palette
        self.show_panes = show_panes
        self.power_poll = power_poll
        self.current = 0
        #: The view -> host map, and back (made in compose).
        self._host_of: dict[TerminalView, HostController] = {}
        self._view_of: dict[HostController, TerminalView] = {}
        self._readers: set[HostController] = set()
        self._guessed: set[HostController] = set()
        self._matches: list[tuple[int, int]] = []
        self._match_index = -1
        #: The user's choice of showing the panes / host list (None: as room allows).
        self._panes_choice: bool | None = None
        self._hosts_choice: bool | None = None
        #: The keyboard was moved to the side column on purpose (prefix f): it stays there.
        self._side_keyboard = False
        #: Shares of hosts over SSH (prefix S), and whether the owner was told whose keyboard it is.
        self.sharing = Sharing(self._share_note, self._share_changed)
        self._told_keyboard = False
        #: The failure sentence last shown in full per host, and the hosts asked about a changed certificate.
        self._told_failure: dict[HostController, str] = {}
        self._asked_mismatch: set[HostController] = set()
        #: Why copies cannot reach the desktop clipboard ("" none, None: not asked yet), told once.
        self._clipboard_problem: str | None = None
        self._told_clipboard = False
        #: Where the keyboard goes back to after a command typed outside the console.
        self._return_focus: Widget | None = None
        #: What the panes ask for is done here: asked, run, reported.
        self.actions = DeviceActions(self)
        #: The KVM views, one per host, and what they do.
        self.kvm = KvmControl(self)
        #: The side panes were asked to be built (first remote screen drawn, or their time came).
        self._panes_due = False

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Host list, consoles, search bar, key bar, panes, status line, footer."""
        with Horizontal(id="body"):
            with Vertical(id="console-column"):
                with ContentSwitcher(id="consoles", initial="console-0"):
                    for index, link in enumerate(self.links):
                        profile = link.profile
                        view = TerminalView(
                            columns=profile.screen[0],
                            rows=profile.screen[1],
                            encoding=profile.encoding,
                            palette=self.palette,
                            key_mode=profile.key_mode,
                            enter=profile.enter,
                            backspace=profile.backspace,
                            prefix_key=self.prefix,
                            id=f"console-{index}",
                        )
                        self._host_of[view] = link
                        self._view_of[link] = view
                        yield view
                        yield self.kvm.make_view(link, index)
                with Horizontal(id="search-bar"):
                    yield SearchInput(
                        placeholder="search screen and scrollback; Enter: next, Esc: close",
                        id="search-input",
                        compact=True,
                    )
                    yield Static(id="search-count")
                yield KeyBar(id="keybar")
            with Vertical(id="side"):
                yield HostList(id="hosts")
                yield SidePanes(id="panes")
        yield StatusLine(id="status")
        yield PrefixFooter(self.prefix, id="footer")

    def on_mount(self) -> None:
        """Show the first host, start polling power."""
        for link in self.links:
            link.on_status(functools.partial(self._status_changed, link))
        hosts = self.query_one(HostList)
        hosts.border_title = "Hosts"
        hosts.show_hosts(self.links, 0)
        self.query_one("#search-bar").display = False
        self._fit()
        self.show_host(0)
        self.kvm.on_mount()
        if self.power_poll > 0:
            self.set_interval(self.power_poll, self.poll_power)
        self.set_timer(PANES_AT_LATEST, self._build_panes_soon)

    # -- the side panes, built after the first remote screen ---------------------------------

    @property
    def panes_built(self) -> bool:
        """Whether the side panes (Power, Boot, Info, IDE-R) exist yet."""
        return self.query_one(SidePanes).built

    def _build_panes_soon(self) -> None:
        """The remote's first screen is on its way to the terminal, or none is coming: the
        side panes are built once it is drawn."""
        if not self._panes_due:
            self._panes_due = True
            self.call_after_refresh(self.ensure_panes)

    async def ensure_panes(self) -> SidePanes:
        """The side panes, built now if they are not yet (showing the host on screen, power asked)."""
        panes = self.query_one(SidePanes)
        self._panes_due = True
        if await panes.build(self.link):
            self.poll_power()
        return panes

    def _power_pane(self) -> PowerPane | None:
        panes = self.query_one(SidePanes)
        return self.query_one(PowerPane) if panes.built else None

    # -- fitting the side column ------------------------------------------------------------

    def on_resize(self) -> None:
        """A new terminal size: the side column goes when the remote screen would not fit."""
        self._fit()

    def _fit(self) -> None:
        """The remote screen first: the chrome folds and the side column overlays when room is short.

        Shown as chosen, or, unless the user chose, as room allows: the host list and the panes.
        Shown without room (prefix l or p), they lie over the console instead of squeezing it.
        Shorter than the remote screen plus the key bar, status line and footer: the key bar and
        the footer fold away (the status line stays, one row).
        """
        hosts = self.query_one(HostList)
        panes = self.query_one(SidePanes)
        columns, rows = self.view().screen_size
        width, height = self.size.width, self.size.height
        room = width >= columns + SIDE_WIDTH + 2 if width else True
        hosts.display = len(self.links) > 1 and (room if self._hosts_choice is None else self._hosts_choice)
        panes.display = (room and self.show_panes) if self._panes_choice is None else self._panes_choice
        side = self.query_one("#side")
        side.display = hosts.display or panes.display
        side.set_class(not room, "-overlay")
        if not room and width:
            side.styles.offset = (max(0, width - SIDE_WIDTH), 0)
        else:
            side.styles.offset = (0, 0)
        folded = bool(height) and height < rows + CHROME_ROWS
        self.set_class(folded, "-folded")
        self.query_one(KeyBar).display = not folded
        self.query_one(PrefixFooter).display = not folded

    # -- hosts --------------------------------------------------------------------------------

    @property
    def link(self) -> HostController:
        """The host on screen."""
        return self.links[self.current]

    def view(self, index: int | None = None) -> TerminalView:
        """The TerminalView of host ``index`` (the current one by default)."""
        return self._view_of[self.links[self.current if index is None else index]]

    def host_of(self, view: TerminalView) -> HostController:
        """The host ``view`` shows."""
        return self._host_of[view]

    def shown(self) -> TerminalView | KvmView:
        """The view on screen for the current host: its SOL view, or its KVM view (prefix v)."""
        link = self.link
        return self.kvm.views[link] if self.kvm.is_shown(link) else self._view_of[link]

    def show_host(self, index: int) -> None:
        """Put host ``index`` on screen; connect its console the first time."""
        self.current = index
        link = self.links[index]
        view = self._view_of[link]
        self.query_one(ContentSwitcher).current = self.shown().id
        if not link.started:
            link.start()
        if link not in self._readers:
            self._readers.add(link)
            self.run_worker(self._pump(link, view), group=f"output-{index}", exit_on_error=False)
        keybar = self.query_one(KeyBar)
        keybar.mode = view.key_mode
        keybar.enter = view.enter
        keybar.backspace = view.backspace
        keybar.encoding = view.active_encoding
        self.query_one(SidePanes).bind(link)
        power = self._power_pane()
        if power is not None:
            power.refresh_power()
        hosts = self.query_one(HostList)
        hosts.highlighted = index
        hosts.refresh_hosts()
        self.close_search()
        self.update_status()
        self._show_view()

    def _show_view(self) -> None:
        """The keyboard to the view shown; a KVM view is drawn afresh (it draws nothing while hidden)."""
        shown = self.shown()
        shown.focus()
        if isinstance(shown, KvmView):
            self.call_after_refresh(shown.redraw)

    async def _pump(self, link: HostController, view: TerminalView) -> None:
        async for chunk in link.output():
            view.feed(chunk)
            if not self._panes_due:
                self._build_panes_soon()

    def _status_changed(self, link: HostController, status: SessionStatus) -> None:
        if not self.is_attached:
            return
        self.query_one(HostList).refresh_hosts()
        self._view_of[link].stale = stale_reason(link, self._view_of[link])
        if link is self.link:
            self.update_status()
            power = self._power_pane()
            if power is not None:
                power.show_link()
            if not self._panes_due and not screen_coming(status):
                self._build_panes_soon()
            if status.state is SessionState.FAILED and status.message != self._told_failure.get(link):
                self._told_failure[link] = status.message  # the whole sentence, once
                self.app.notify(f"{link.name}: {status.message}", severity="error", timeout=20)
            if status.state is SessionState.CONNECTED:
                self._told_failure.pop(link, None)
            if isinstance(status.error, TlsPinMismatch) and link not in self._asked_mismatch:
                self._asked_mismatch.add(link)
                self.call_later(self._offer_new_certificate, link)

    def update_status(self, note: str = "") -> None:
        """Repaint the status line for the host on screen."""
        shared = self.sharing.summary(self.link)
        if self.kvm.is_shown(self.link):
            self.query_one(StatusLine).show_kvm(
                self.link,
                self.kvm.views[self.link],
                note,
                shared=shared,
                keys=self.keyboard_place(),
                more=f"{describe_key(self.prefix)} m: all",
            )
            return
        self.query_one(StatusLine).show(
            self.link,
            self.view(),
            note,
            shared=shared,
            keys=self.keyboard_place(),
            more=f"{describe_key(self.prefix)} m: all",
        )

    def keyboard_place(self) -> str:
        """Where typed keys go: ``console``, ``Power pane``, ``host list``, ``search`` ..."""
        focused = self.focused
        if focused is None or isinstance(focused, TerminalView | KvmView):
            return "console"
        for node in focused.ancestors_with_self:
            if isinstance(node, Pane):
                return f"{node.BORDER_TITLE} pane"
            if isinstance(node, HostList):
                return "host list"
            if isinstance(node, KeyBar):
                return "key bar"
            if node.id == "search-bar":
                return "search"
        return "console"

    def poll_power(self) -> None:
        """Ask every host with WS-Man for its power state (the list and the Power pane show it)."""
        if not self.is_attached:
            return
        power = self._power_pane()
        if power is not None:
            power.refresh_power()
        if len(self.links) < 2:
            return
        for index, link in enumerate(self.links):
            if link is self.link or link.service is None or link.closed:
                continue
            self.run_worker(self._poll_one(link), group=f"poll-{index}", exclusive=True, exit_on_error=False)

    async def _poll_one(self, link: HostController) -> None:
        service = link.service
        if service is None:
            return
        try:
            await service.power()
        except Exception:  # the list shows "?"; the Power pane shows the sentence for the host on screen
            service.last_power = None
        if self.is_attached:
            self.query_one(HostList).refresh_hosts()

    # -- messages from the console, key bar, list and panes -----------------------------------

    def on_terminal_view_send(self, message: TerminalView.Send) -> None:
        """A key for the remote (not while a viewer of the shared console holds the keyboard)."""
        self.query_one(PrefixFooter).waiting(False)
        back, self._return_focus = self._return_focus, None
        if back is not None and back.is_attached and back.focusable:
            back.focus()
        link = self.host_of(message.terminal)
        holder = self.sharing.holder(link)
        if holder is not None:
            if not self._told_keyboard:
                self._told_keyboard = True
                shown = describe_key(self.prefix)
                self.app.notify(f"The keyboard is with {holder}: {shown} K takes it back.")
            return
        self._told_keyboard = False
        link.send_key(message.data)

    def on_terminal_view_prefix(self, message: TerminalView.Prefix) -> None:
        """The prefix key: the footer waits for the command key."""
        self.query_one(PrefixFooter).waiting(True)
        self.update_status(f"{describe_key(self.prefix)} ... waiting for a command key")

    def on_key(self, event: events.Key) -> None:
        """The prefix key pressed where the keyboard is not on the console (panes, host list, key bar).

        The console takes the next key as the command, and the keyboard goes back where it was.
        """
        if event.key != self.prefix:
            return
        event.stop()
        event.prevent_default()
        focused = self.focused
        view = self.shown()
        if focused is view:
            return
        self._return_focus = focused
        view.arm_prefix()
        view.focus()

    def on_kvm_view_prefix(self, message: KvmView.Prefix) -> None:
        """The prefix key in a KVM view: as in the SOL view."""
        self.query_one(PrefixFooter).waiting(True)
        self.update_status(f"{describe_key(self.prefix)} ... waiting for a command key")

    async def on_kvm_view_command(self, message: KvmView.Command) -> None:
        """The key after the prefix in a KVM view: as in the SOL view."""
        await self.run_command(message.key)

    def on_kvm_view_keys(self, message: KvmView.Keys) -> None:
        """Keys typed in a KVM view go to that host's PC as keysyms."""
        self.query_one(PrefixFooter).waiting(False)
        back, self._return_focus = self._return_focus, None
        if back is not None and back.is_attached and back.focusable:
            back.focus()
        self.kvm.keys(message)

    def on_kvm_view_pointer(self, message: KvmView.Pointer) -> None:
        """The mouse on a KVM view."""
        self.kvm.pointer(message)

    async def on_terminal_view_command(self, message: TerminalView.Command) -> None:
        """The key after the prefix: run its command (where the keyboard was, it stays)."""
        await self.run_command(message.key)

    async def run_command(self, key: str) -> None:
        """Run the command of ``key`` (the key after the prefix); the keyboard goes back where it was."""
        self.query_one(PrefixFooter).waiting(False)
        back, self._return_focus = self._return_focus, None
        if back is not None and back.is_attached and back.focusable:
            back.focus()
        self.update_status()
        if key in HOST_DIGITS:
            index = int(key) - 1
            if index < len(self.links):
                self.show_host(index)
            return
        command = find_command(key)
        if command is None:
            shown = describe_key(self.prefix)
            self.app.notify(
                f"{shown} {describe_key(key)} is not a command: {shown} h lists them.", severity="warning"
            )
            return
        await self.run_action(command.action)

    def on_terminal_view_paste(self, message: TerminalView.Paste) -> None:
        """Pasted text is typed at a pace BIOS fields can follow."""
        view = message.terminal
        enter = ENTER_BYTES[view.enter]
        chunks = paste_chunks(message.text, enter, encoding=view.active_encoding)
        self.host_of(view).send_paced(chunks, enter)
        if len(chunks) > 4:
            self.app.notify(
                f"Typing {len(message.text)} pasted characters slowly (BIOS fields drop fast input)."
            )

    def on_terminal_view_encoding_guessed(self, message: TerminalView.EncodingGuessed) -> None:
        """Say once per host what the automatic encoding guessed."""
        self.query_one(KeyBar).encoding = self.view().active_encoding
        self.update_status()
        link = self.host_of(message.terminal)
        if message.encoding == "cp437" and link not in self._guessed:
            self._guessed.add(link)
            self.app.notify(
                f"{link.name} sends CP437 (BIOS box drawing): shown as such. "
                f"{describe_key(self.prefix)} e switches the encoding.",
                timeout=6,
            )

    def on_terminal_view_copied(self, message: TerminalView.Copied) -> None:
        """Confirm a mouse copy."""
        lines = message.text.count("\n") + 1
        self._say_copied(f"Copied {lines} line{'s' if lines != 1 else ''} to the clipboard.")

    def _say_copied(self, sentence: str) -> None:
        """ "Copied", unless tmux drops copies: then say that, once (and later nothing false)."""
        if self._clipboard_problem is None:
            self._clipboard_problem = tmux_clipboard_warning() or ""
        if not self._clipboard_problem:
            self.app.notify(sentence, timeout=3)
        elif not self._told_clipboard:
            self._told_clipboard = True
            self.app.notify(self._clipboard_problem, severity="warning", timeout=20)
        else:
            self.app.notify("Copied inside amtterm only (tmux's set-clipboard).", timeout=3)

    def on_key_bar_send(self, message: KeyBar.Send) -> None:
        """Key bar buttons and its text field (keysyms while the KVM view is shown)."""
        link = self.link
        if self.kvm.key_bar(link, message):
            return
        if len(message.chunks) == 1:
            link.send_key(message.chunks[0])
        else:
            link.send_paced(message.chunks, ENTER_BYTES[self.view().enter])
        self.shown().focus()

    def on_host_list_picked(self, message: HostList.Picked) -> None:
        """A host chosen in the list."""
        self.show_host(self.links.index(message.host))

    @on(PaneRequest)
    def _pane_request(self, message: PaneRequest[Any]) -> None:
        """A pane asks for something (power, boot, consent, IDE-R): asked, run and reported there."""
        message.stop()
        self.actions.handle(message)

    @on(HostList.Leave)
    @on(SidePanes.Leave)
    def _leave(self) -> None:
        self.action_focus_console()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """A click on a pane's button must not take the keyboard away from the console."""
        if not self._side_keyboard and isinstance(event.widget, Button | Checkbox):
            self.call_later(self._refocus_console)
        self.call_later(self.update_status)

    @on(Select.Changed)
    @on(Input.Submitted, "#consent-code")
    def _pane_input_done(self) -> None:
        if not self._side_keyboard:
            self.call_later(self._refocus_console)

    def _refocus_console(self) -> None:
        if self.app.screen is self and not self._side_keyboard:
            self.shown().focus()

    @on(Input.Changed, "#search-input")
    def _search_changed(self, event: Input.Changed) -> None:
        self._matches = self.view().search(event.value) if event.value else []
        if not event.value:
            self.view().clear_search()
        self._match_index = len(self._matches)  # Enter goes to the newest match first
        self._show_count()

    @on(Input.Submitted, "#search-input")
    def _search_next(self, event: Input.Submitted) -> None:
        event.stop()
        if not self._matches:
            return
        self._match_index = (self._match_index - 1) % len(self._matches)
        line, _ = self._matches[self._match_index]
        self.view().show_line(line)
        self._show_count()

    def _show_count(self) -> None:
        count = len(self._matches)
        shown = f"{count - self._match_index}/{count}" if 0 <= self._match_index < count else f"{count}"
        self.query_one("#search-count", Static).update(f" {shown} matches " if count else " no match ")

    def close_search(self) -> None:
        """Hide the search bar and its highlight; the console takes the keyboard."""
        bar = self.query_one("#search-bar")
        if bar.display:
            bar.display = False
            self.query_one(SearchInput).value = ""
            for view in self._host_of:
                view.clear_search()
        self.shown().focus()

    # -- commands (the key after the prefix) ----------------------------------------------------

    def action_help(self) -> None:
        """The help screen."""
        self.app.push_screen(HelpScreen(self.prefix))

    async def action_quit(self) -> None:
        """Close every console politely and leave."""
        await self.app.run_action("quit")

    def action_focus_console(self) -> None:
        """Give the keyboard back to the console."""
        self._side_keyboard = False
        if self.query_one("#search-bar").display:
            self.close_search()
        self.shown().focus()

    async def action_toggle_panes(self) -> None:
        """Show or hide the side panes."""
        panes = self.query_one(SidePanes)
        self._panes_choice = not panes.display
        self._fit()
        if panes.display:
            await self.ensure_panes()
            panes.bind(self.link)
        self.shown().focus()

    async def action_focus_panes(self, selector: str | None = None) -> None:
        """Move the keyboard to the side panes (to ``selector``'s widget, else the first control)."""
        panes = await self.ensure_panes()
        if not panes.display:
            self._panes_choice = True
            self._fit()
        panes.bind(self.link)
        self._side_keyboard = True
        if not panes.focus_first(selector) and selector is not None:
            panes.focus_first()  # the control asked for is disabled: the keyboard still leaves the PC

    async def action_focus_ider(self) -> None:
        """The keyboard to the boot-from-image pane's image field: one step to "boot from this".

        While an image is being served the fields are locked: the keyboard goes to Stop instead,
        and the status line says why (never back to the PC without a word).
        """
        boot = self.link.reinstall
        if boot is not None and boot.active and boot.method != "ider":
            await self.action_focus_panes("#ider-stop")
            self.app.notify(
                f"{self.link.name} is booting from {boot.request.image}: the image cannot change until "
                "Stop (the keyboard is on Stop; Esc goes back to the console).",
                timeout=8,
            )
            return
        job = self.link.ider
        if job is not None and not job.finished:
            await self.action_focus_panes("#ider-stop")
            served = job.request.served
            self.app.notify(
                f"IDE-R is serving {served} to {self.link.name}: the image cannot change until Stop "
                "(the keyboard is on Stop; Esc goes back to the console).",
                timeout=8,
            )
            return
        await self.action_focus_panes("#ider-cd")

    def action_toggle_hosts(self) -> None:
        """Show or hide the host list; shown, it takes the keyboard."""
        hosts = self.query_one(HostList)
        if len(self.links) < 2:
            self.app.notify("This console has one host; the host list appears with more.", timeout=3)
            return
        self._hosts_choice = not hosts.display
        self._fit()
        if hosts.display:
            self._side_keyboard = True
            hosts.focus()
        else:
            self.shown().focus()

    def action_next_host(self) -> None:
        """The next host."""
        if len(self.links) > 1:
            self.show_host((self.current + 1) % len(self.links))
        else:
            self.app.notify("This console has one host; name more on the command line or in the hosts file.")

    def action_previous_host(self) -> None:
        """The previous host."""
        if len(self.links) > 1:
            self.show_host((self.current - 1) % len(self.links))

    def action_cycle_encoding(self) -> None:
        """auto -> CP437 -> UTF-8."""
        view = self.view()
        view.encoding = ENCODINGS[(ENCODINGS.index(view.encoding) + 1) % len(ENCODINGS)]
        self.query_one(KeyBar).encoding = view.active_encoding
        self.update_status()
        self.app.notify(f"Encoding: {ENCODING_NAMES[view.encoding]}.", timeout=3)

    def action_cycle_key_mode(self) -> None:
        """Intel -> alternate -> VT100+ -> xterm."""
        view = self.view()
        view.key_mode = KEY_MODES[(KEY_MODES.index(view.key_mode) + 1) % len(KEY_MODES)]
        self.query_one(KeyBar).mode = view.key_mode
        self.update_status()
        self.app.notify(f"F-keys: {KEY_MODE_LABELS[view.key_mode]}.", timeout=3)

    def action_toggle_enter(self) -> None:
        """Enter as CR or CR LF."""
        view = self.view()
        view.enter = "crlf" if view.enter == "cr" else "cr"
        self.query_one(KeyBar).enter = view.enter
        self.update_status()
        self.app.notify(f"Enter sends {'CR LF' if view.enter == 'crlf' else 'CR'}.", timeout=3)

    def action_toggle_backspace(self) -> None:
        """Backspace as BS or DEL."""
        view = self.view()
        view.backspace = "del" if view.backspace == "bs" else "bs"
        self.query_one(KeyBar).backspace = view.backspace
        self.update_status()
        self.app.notify(
            f"Backspace sends {'DEL (0x7F)' if view.backspace == 'del' else 'BS (0x08)'}.", timeout=3
        )

    def action_cycle_screen(self) -> None:
        """80x25 -> 80x24 -> 100x30 (what the remote draws for)."""
        view = self.view()
        sizes = list(SCREEN_SIZES)
        size = view.screen_size
        view.screen_size = sizes[(sizes.index(size) + 1) % len(sizes)] if size in sizes else sizes[0]
        self.update_status()
        columns, rows = view.screen_size
        self.app.notify(f"Remote screen: {columns}x{rows}.", timeout=3)

    def action_toggle_kvm(self) -> None:
        """Show the host's KVM screen instead of its SOL console, or back; KVM connects when first shown."""
        link = self.link
        kvm = self.kvm.toggle(link)
        self.query_one(ContentSwitcher).current = self.shown().id
        self.close_search()
        self.update_status()
        self._show_view()
        shown = describe_key(self.prefix)
        if kvm:
            self.app.notify(f"{link.name}: KVM screen ({shown} z: zoom, {shown} v: back to SOL).", timeout=4)
        else:
            self.app.notify(f"{link.name}: SOL console.", timeout=3)

    def action_kvm_zoom(self) -> None:
        """KVM view: the whole screen fitted, 1:2 or 1:1 (Shift-arrows and the wheel pan)."""
        if not self._kvm_only("Zoom"):
            return
        zoom = self.kvm.views[self.link].toggle_zoom()
        self.update_status()
        if zoom == "fit":
            self.app.notify("KVM: the whole screen.", timeout=3)
        else:
            self.app.notify(
                f"KVM {zoom}: Shift-arrows or the mouse wheel pan (Shift-wheel sideways).", timeout=5
            )

    def _kvm_only(self, what: str) -> bool:
        """True when the KVM view is shown; else say that ``what`` is KVM's."""
        if self.kvm.is_shown(self.link):
            return True
        shown = describe_key(self.prefix)
        self.app.notify(f"{what} is for the KVM screen: {shown} v shows it.", timeout=4)
        return False

    def _sol_only(self, what: str) -> bool:
        """True when the SOL view is shown; else say that ``what`` works on the SOL console."""
        if not self.kvm.is_shown(self.link):
            return True
        shown = describe_key(self.prefix)
        self.app.notify(f"{what} works on the SOL console: {shown} v shows it.", timeout=4)
        return False

    def action_search(self) -> None:
        """Open the search bar."""
        if not self._sol_only("Search"):
            return
        bar = self.query_one("#search-bar")
        bar.display = True
        self.query_one(SearchInput).focus()

    def _offer_new_certificate(self, link: HostController) -> None:
        """A changed known_hosts pin: show both fingerprints; on yes pin the new one and connect."""
        change = link.changed_certificate()
        if change is None:  # a hosts-file tls_pin: only editing the hosts file changes it
            return

        def answered(yes: bool | None) -> None:
            self._asked_mismatch.discard(link)
            if not yes:
                self.app.notify(f"{link.name}: the pinned certificate was kept.", severity="warning")
                return
            try:
                link.accept_certificate(change)
            except AmtError as exc:
                self.app.notify(str(exc), severity="error", timeout=15)
                return
            self.app.notify(f"{link.name}: the new certificate is pinned; connecting again.", timeout=5)
            self.run_worker(link.reconnect_now(), exit_on_error=False)
            self.poll_power()

        text = (
            f"Pinned:    {change.pinned}\nPresented: {change.presented}\n\n"
            "Accept it only if the device was re-provisioned or given a new certificate on purpose; "
            "otherwise someone may be in the middle."
        )
        title = f"The certificate of {change.host} has changed. Accept the new one?"
        self.app.push_screen(ConfirmScreen(title, text, "Accept new certificate"), answered)

    def action_show_message(self) -> None:
        """The status line's whole sentence (and the host's last failure), readable in full."""
        status = self.link.status
        sentence = status.message if self.link.started else "Not connected yet."
        self.app.notify(f"{self.link.name} {status.state.value}: {sentence}", timeout=30)

    def action_copy_screen(self) -> None:
        """The whole screen as text to the clipboard."""
        if not self._sol_only("Copying the screen as text"):
            return
        text = self.view().text()
        self.app.copy_to_clipboard(text)
        self._say_copied("Copied the screen to the clipboard.")

    async def action_reconnect(self) -> None:
        """Connect the console (or the KVM screen, when shown) again now."""
        if self.kvm.is_shown(self.link):
            self.app.notify(f"Reconnecting KVM to {self.link.name}...", timeout=3)
            await self.kvm.reconnect(self.link)
            self.update_status()
            return
        self.app.notify(f"Reconnecting to {self.link.name}...", timeout=3)
        await self.link.reconnect_now()
        self.update_status()

    async def action_reset_to_bios(self) -> None:
        """Reset into BIOS setup with SOL (the Boot pane asks first)."""
        if self.link.service is None:
            self.app.notify(
                "Reset into BIOS setup needs WS-Management, which is not set up for this host.",
                severity="error",
            )
            return
        await self.ensure_panes()
        self.actions.boot(self.query_one(BootPane), self.link, "bios", sol=True, then="reset")

    def action_cycle_theme(self) -> None:
        """The next theme (app colours and the terminal palette)."""
        cycle = getattr(self.app, "cycle_theme", None)
        if cycle is not None:
            cycle()

    async def action_share(self) -> None:
        """Share the host on screen over SSH (or stop sharing it)."""
        try:
            sentence = await self.sharing.toggle(self.link, self.view().emulator.screen)
        except AmtError as exc:
            self.app.notify(str(exc), severity="error", timeout=10)
            return
        self.app.notify(sentence, timeout=30)

    def action_hand_keyboard(self) -> None:
        """The keyboard to the viewer who asked for it, or back."""
        self.app.notify(self.sharing.hand(self.link), timeout=6)
        self.update_status()

    def _share_note(self, sentence: str) -> None:
        if self.is_attached:
            self.app.notify(sentence, timeout=6)

    def _share_changed(self) -> None:
        if self.is_attached:
            self.call_later(self.update_status)

    def apply_palette(self, palette: TerminalPalette) -> None:
        """Recolour every console (theme change)."""
        self.palette = palette
        for view in self._host_of:
            view.palette = palette

    def info_pane(self) -> InfoPane:
        """The Info pane (tests, screenshots; once :attr:`panes_built`)."""
        return self.query_one(InfoPane)

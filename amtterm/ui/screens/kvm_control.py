"""KvmControl: the console screen's KVM views, one per host, beside each host's SOL view.

The console screen owns one :class:`KvmControl`; it makes a :class:`~amtterm.ui.widgets.kvm_view.KvmView`
per host (in the same ContentSwitcher as the SOL views), and the prefix command ``v`` switches the
host on screen between its SOL view and its KVM view. The first time a host's KVM view is shown its
KVM session (:attr:`amtterm.session.HostController.kvm`) is started; it stays connected while the
user switches views or hosts, and closes with the host. The side panes, the key bar and the status
line keep working: the key bar sends keysyms to the KVM screen, the status line shows the screen's
size, encoding, frames and kB per second (:meth:`StatusLine.show_kvm`).

Sharing, recording, search and copy are SOL's: they act on the SOL console whichever view is shown.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from amtterm.session import HostController, KvmState
from amtterm.terminal.keynames import describe_key
from amtterm.ui.kvm_graphics import HALF_BLOCKS
from amtterm.ui.widgets.device_panes import BootPane
from amtterm.ui.widgets.keybar import KeyBar
from amtterm.ui.widgets.kvm_keys import key_keysyms, text_keysyms
from amtterm.ui.widgets.kvm_view import KvmView

if TYPE_CHECKING:
    from amtterm.session import KvmLink
    from amtterm.ui.screens.console import ConsoleScreen

#: Seconds between status line repaints while a KVM view is shown (frames and kB per second move).
STATUS_INTERVAL = 1.0


def kvm_reason(kvm: KvmLink) -> str | None:
    """Why a KVM view is not showing a live screen (None: it is)."""
    if kvm.state is KvmState.CONNECTED:
        return None
    return kvm.message


class KvmControl:
    """The KVM views of a console screen and what their messages do (see the module docstring)."""

    def __init__(self, screen: ConsoleScreen) -> None:
        self.screen = screen
        self.views: dict[HostController, KvmView] = {}
        self._host_of: dict[KvmView, HostController] = {}
        #: Hosts whose KVM view is the one shown (instead of their SOL view).
        self.shown: set[HostController] = set()
        self._told_down: set[HostController] = set()

    def make_view(self, link: HostController, index: int) -> KvmView:
        """The KVM view of ``link`` (made in compose, hidden until asked for)."""
        graphics = getattr(self.screen.app, "kvm_graphics", HALF_BLOCKS)
        view = KvmView(prefix_key=self.screen.prefix, graphics=graphics, id=f"kvm-{index}")
        self.views[link] = view
        self._host_of[view] = link
        return view

    def host_of(self, view: KvmView) -> HostController:
        """The host ``view`` shows."""
        return self._host_of[view]

    def is_shown(self, link: HostController) -> bool:
        """Whether ``link``'s KVM view is the one shown for it."""
        return link in self.shown

    def on_mount(self) -> None:
        """Keep the status line's frames per second current while a KVM view is shown."""
        self.screen.set_interval(STATUS_INTERVAL, self._tick)

    def _tick(self) -> None:
        if self.screen.is_attached and self.is_shown(self.screen.link):
            self.screen.update_status()

    # -- showing --------------------------------------------------------------------------------

    def toggle(self, link: HostController) -> bool:
        """Show ``link``'s KVM view instead of its SOL view, or back; True when KVM is now shown."""
        if link in self.shown:
            self.shown.discard(link)
            return False
        self.shown.add(link)
        self.connect(link)
        return True

    def connect(self, link: HostController) -> None:
        """Start ``link``'s KVM session the first time (and after it failed or closed)."""
        kvm = link.kvm
        view = self.views[link]
        if not kvm.started:
            kvm.listeners.append(functools.partial(self._changed, link))
        if kvm.state in (KvmState.IDLE, KvmState.FAILED, KvmState.CLOSED):
            kvm.start()
        view.show(kvm.framebuffer)
        view.reason = kvm_reason(kvm)

    def consent_granted(self, link: HostController) -> None:
        """The user's consent code was accepted: a KVM view that waited for it connects again."""
        kvm = link.kvm
        if link in self.shown and kvm.state is KvmState.FAILED and kvm.needs_consent:
            self.connect(link)

    async def reconnect(self, link: HostController) -> None:
        """Close ``link``'s KVM session and open it again."""
        self._told_down.discard(link)
        await link.kvm.close()
        self.connect(link)

    def _changed(self, link: HostController, screen: bool) -> None:
        view = self.views.get(link)
        if view is None or not view.is_attached:
            return
        kvm = link.kvm
        if view.framebuffer is not kvm.framebuffer:
            view.show(kvm.framebuffer)  # a new session's screen (after ServerInit)
        if screen:
            view.frame_arrived()
            return
        view.reason = kvm_reason(kvm)
        if link is self.screen.link:
            self.screen.update_status()
            if kvm.state is KvmState.FAILED and kvm.needs_consent:
                self.screen.query_one(BootPane).need_consent()  # where the code is asked for and typed
            if kvm.state is KvmState.FAILED and link in self.shown and link not in self._told_down:
                self._told_down.add(link)
                self.screen.app.notify(f"{link.name}: {kvm.message}", severity="error", timeout=20)
        if kvm.state is KvmState.CONNECTED:
            self._told_down.discard(link)

    # -- input ----------------------------------------------------------------------------------

    def send(self, link: HostController, keys: list[tuple[int, bool]]) -> None:
        """Keysyms to ``link``'s PC; said once when KVM is not connected."""
        if link.kvm.send_keys(keys):
            return
        shown = describe_key(self.screen.prefix)
        self.screen.app.notify(
            f"{link.name}: KVM is not connected, the key was not sent ({shown} r connects again).",
            severity="warning",
            timeout=5,
        )

    def keys(self, message: KvmView.Keys) -> None:
        """Keys typed in a KVM view."""
        self.send(self.host_of(message.view), message.keys)

    def pointer(self, message: KvmView.Pointer) -> None:
        """The mouse on a KVM view."""
        self.host_of(message.view).kvm.send_pointer(message.x, message.y, message.buttons)

    def key_bar(self, link: HostController, message: KeyBar.Send) -> bool:
        """The key bar while ``link``'s KVM view is shown: its key or text as keysyms (True: handled)."""
        if link not in self.shown:
            return False
        if message.key is not None:
            keys = key_keysyms(message.key)
        elif message.text is not None:
            keys = text_keysyms(message.text)
        else:
            keys = None
        if keys:
            self.send(link, keys)
        self.views[link].focus()
        return True

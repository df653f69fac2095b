"""ShareServer: an SSH server that lets colleagues watch a live console, and type when allowed.

    server = ShareServer(hub, owner="owner", owner_name="joe", title="pc42",
                         host_key=load_host_key(), authorized=AuthorizedKeys.load(path))
    host, port = await server.start("127.0.0.1", 0)
    server.listeners.append(print)         # sentences for the owner: who came, left, asked
    server.give(server.viewers[0])         # the keyboard to a viewer ...
    server.take()                          # ... and back to the owner
    await server.close()

Data flow: the hub's output feeds one :class:`~amtterm.share.screen.ShareScreen` (a lossless
subscription: the screen model must be right, and feeding pyte is fast), and each viewer's
session draws frames from it on its own time, so a slow viewer misses intermediate screens but
never slows the console. Keys flow back only through :meth:`ConsoleHub.write` with the viewer's
own name, which the hub refuses unless that viewer holds the keyboard.

Who may attach: public-key authentication only, against the authorized-keys file; an unknown
key gets "Permission denied". No password, keyboard-interactive, port forwarding, agent or X11
forwarding, and no commands: a session is the shared console or nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import Callable
from typing import TYPE_CHECKING

import asyncssh

from amtterm.errors import ConfigError
from amtterm.session import ConsoleHub, SessionState, Subscription
from amtterm.share.keys import AuthorizedKeys
from amtterm.share.screen import ShareScreen

if TYPE_CHECKING:
    from amtterm.share.viewer import ViewerSession

__all__ = ["ShareServer"]

#: A viewer's name on the hub is prefixed, so that no key comment can pass for the owner.
VIEWER_PREFIX = "ssh:"


class ShareServer:
    """Serves one ConsoleHub to SSH viewers.

    Args:
        hub: the console being shared (its owner keeps the SOL session).
        owner: who the owner is on the hub (the name its keys are written with).
        owner_name: how viewers see the owner.
        title: the host's name, for status lines.
        host_key: the server's own key.
        authorized: the keys that may attach.
        screen: the remote screen model (80x25, auto encoding when None).
    """

    def __init__(
        self,
        hub: ConsoleHub,
        *,
        owner: str,
        owner_name: str,
        title: str,
        host_key: asyncssh.SSHKey,
        authorized: AuthorizedKeys,
        screen: ShareScreen | None = None,
    ) -> None:
        self.hub = hub
        self.owner = owner
        self.owner_name = owner_name
        self.title = title
        self.host_key = host_key
        self.authorized = authorized
        self.screen = screen or ShareScreen()
        self.viewers: list[ViewerSession] = []
        #: Called with one sentence for the owner when something happens (joins, asks, hand-offs).
        self.listeners: list[Callable[[str], None]] = []
        #: Called with no argument whenever viewers or the keyboard change (status lines).
        self.changed: list[Callable[[], None]] = []
        self.address: tuple[str, int] | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._feeder: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._names: set[str] = set()
        self.hub.on_status(lambda _status: self.refresh())

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on ``host:port`` (0: any free port); returns the address actually bound.

        Raises:
            ConfigError: the address is in use or cannot be bound.
        """
        from amtterm.share.viewer import ShareSSHServer

        subscription = self._subscription = self.hub.subscribe("share")
        try:
            self._acceptor = await asyncssh.listen(
                host,
                port,
                server_factory=lambda: ShareSSHServer(self),
                server_host_keys=[self.host_key],
                config=None,
                encoding=None,
                line_editor=False,
                allow_pty=True,
                agent_forwarding=False,
                x11_forwarding=False,
                allow_scp=False,
                reuse_address=True,
                keepalive_interval=30,
            )
        except OSError as exc:
            subscription.close()
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"Cannot share on {shown}: the port is in use; pick another with --listen "
                    f"{host}:PORT (0 picks a free one)."
                ) from exc
            raise ConfigError(f"Cannot share on {shown}: {exc.strerror or exc}.") from exc
        sockname = self._acceptor.sockets[0].getsockname() if self._acceptor.sockets else (host, port)
        self.address = (str(sockname[0]), int(sockname[1]))

        async def feed() -> None:
            async for chunk in subscription:
                self.screen.feed(chunk)
                for viewer in list(self.viewers):
                    viewer.wake()

        self._feeder = asyncio.create_task(feed(), name="share-screen")
        return self.address

    async def close(self) -> None:
        """Disconnect every viewer, stop listening, give the keyboard back to the owner."""
        if self._acceptor is not None:
            self._acceptor.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._acceptor.wait_closed(), 2)
            self._acceptor = None
        for viewer in list(self.viewers):
            viewer.disconnect("The owner stopped sharing.")
        if self._feeder is not None:
            self._feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feeder
            self._feeder = None
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        if self.hub.keyboard != self.owner:
            self.hub.grant_keyboard(self.owner)

    # -- viewers ------------------------------------------------------------------------------

    def unique_name(self, name: str) -> str:
        """``name``, or ``name#2`` when someone of that name is attached already."""
        candidate, n = name, 1
        while candidate in self._names:
            n += 1
            candidate = f"{name}#{n}"
        self._names.add(candidate)
        return candidate

    def joined(self, viewer: ViewerSession) -> None:
        """A viewer's session started."""
        self.viewers.append(viewer)
        self._say(f"{viewer.name} is watching ({self._watching()}).")
        self.refresh()

    def left(self, viewer: ViewerSession) -> None:
        """A viewer's session ended."""
        if viewer not in self.viewers:
            return
        self.viewers.remove(viewer)
        self._names.discard(viewer.name)
        if self.hub.keyboard == viewer.hub_name:
            self.hub.grant_keyboard(self.owner)
            self._say(f"{viewer.name} left with the keyboard: it is back with you ({self._watching()}).")
        else:
            self._say(f"{viewer.name} left ({self._watching()}).")
        self.refresh()

    def _watching(self) -> str:
        count = len(self.viewers)
        return "nobody watching" if not count else f"{count} watching"

    # -- the keyboard -------------------------------------------------------------------------

    @property
    def holder(self) -> str:
        """Who holds the keyboard, as people see it."""
        keyboard = self.hub.keyboard
        if keyboard == self.owner:
            return self.owner_name
        for viewer in self.viewers:
            if viewer.hub_name == keyboard:
                return viewer.name
        return "nobody"

    def asked(self, viewer: ViewerSession) -> None:
        """A viewer asks for the keyboard."""
        viewer.asked = True
        number = self.viewers.index(viewer) + 1 if viewer in self.viewers else 0
        self._say(f"{viewer.name} asks for the keyboard (viewer {number}).")
        self.refresh()

    def pick(self, number: int | None) -> ViewerSession | None:
        """Viewer ``number`` (1-based), or with None the last who asked, or the only viewer."""
        if number is not None:
            return self.viewers[number - 1] if 0 < number <= len(self.viewers) else None
        asking = [viewer for viewer in self.viewers if viewer.asked]
        if asking:
            return asking[-1]
        return self.viewers[0] if len(self.viewers) == 1 else None

    def give(self, viewer: ViewerSession) -> None:
        """Hand the keyboard to ``viewer``; the owner's keys are refused until :meth:`take`."""
        for other in self.viewers:
            other.asked = False
        self.hub.grant_keyboard(viewer.hub_name)
        self._say(f"The keyboard is with {viewer.name} now.")
        self.refresh()

    def take(self) -> bool:
        """Take the keyboard back for the owner; False if the owner had it."""
        if self.hub.keyboard == self.owner:
            return False
        self.hub.grant_keyboard(self.owner)
        self._say("You have the keyboard again.")
        self.refresh()
        return True

    def released(self, viewer: ViewerSession) -> None:
        """A viewer gives the keyboard back."""
        if self.hub.keyboard == viewer.hub_name:
            self.hub.grant_keyboard(self.owner)
            self._say(f"{viewer.name} gave the keyboard back.")
            self.refresh()

    # -- telling people -----------------------------------------------------------------------

    def status_line(self, viewer: ViewerSession) -> str:
        """The last row of ``viewer``'s window: host, who types, who watches, their own role (or a note)."""
        names = ", ".join(v.name for v in self.viewers)
        if viewer.hub_name == self.hub.keyboard:
            role = "you have the keyboard: Ctrl-] k gives it back"
        elif viewer.asked:
            role = "you asked for the keyboard"
        else:
            role = "read-only: Ctrl-] k asks for the keyboard"
        state = self.hub.status
        session = "" if state.state is SessionState.CONNECTED else f" ({state.state.value})"
        return (
            f" {self.title}{session} | keyboard: {self.holder} | watching: {names} | {viewer.note or role} "
        )

    def refresh(self) -> None:
        """Redraw everyone's status line, and tell the owner's screen."""
        for viewer in list(self.viewers):
            viewer.wake()
        for listener in list(self.changed):
            listener()

    def _say(self, sentence: str) -> None:
        for listener in list(self.listeners):
            listener(sentence)

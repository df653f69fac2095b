"""Sharing from the console: Ctrl-] S shares the host on screen over SSH, Ctrl-] K hands the keyboard.

    sharing = Sharing(say=app.notify, changed=screen.update_status)
    sentence = await sharing.toggle(link)       # start sharing (or stop, when shared already)
    sentence = sharing.hand(link)               # keyboard to the viewer who asked, or back
    sharing.summary(link)                       # "shared on 127.0.0.1:40123, 2 watching ..."
    await sharing.close()

No Textual here either: the console screen calls these and shows the sentences. The server is
:class:`amtterm.share.server.ShareServer` on the host's own ConsoleHub, so the console keeps its
one SOL session and viewers see the same bytes; the TUI is the owner (:data:`TUI`).
"""

from __future__ import annotations

import contextlib
import getpass
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amtterm.errors import AmtError
from amtterm.session import TUI, HostController

if TYPE_CHECKING:
    from amtterm.share.server import ShareServer


class Sharing:
    """The console's shares, at most one per host.

    Args:
        say: shows one sentence to the owner (a notification).
        changed: called when viewers or the keyboard change (repaint the status line).
        listen: where viewers connect (loopback, a free port by default).
        authorized_keys: the keys allowed (``share_authorized_keys`` in the config directory).
    """

    def __init__(
        self,
        say: Callable[[str], None],
        changed: Callable[[], None],
        *,
        listen: tuple[str, int] = ("127.0.0.1", 0),
        authorized_keys: Path | None = None,
    ) -> None:
        self.say = say
        self.changed = changed
        self.listen = listen
        self.authorized_keys = authorized_keys
        self.servers: dict[str, ShareServer] = {}
        # asyncssh logs each connection; under a full-screen UI that would scribble on it.
        logger = logging.getLogger("asyncssh")
        logger.addHandler(logging.NullHandler())
        logger.propagate = False

    def server(self, link: HostController) -> ShareServer | None:
        """The share of ``link``, if it is shared."""
        return self.servers.get(link.name)

    async def toggle(self, link: HostController, shown: Any = None) -> str:
        """Share ``link`` (or stop sharing it); returns the sentence for the owner.

        Args:
            link: the host.
            shown: the pyte screen the console shows for it now, so that the first viewer does
                not wait for the remote to draw again.

        Raises:
            AmtError: the keys or the address are unusable (one sentence).
        """
        server = self.servers.pop(link.name, None)
        if server is not None:
            count = len(server.viewers)
            await server.close()
            self.changed()
            return f"Stopped sharing {link.name}" + (f"; {count} viewer(s) disconnected." if count else ".")
        # asyncssh (and so the SSH server) loads when the first share starts, not with the console.
        from amtterm.share.keys import AuthorizedKeys, default_authorized_keys, fingerprint, load_host_key
        from amtterm.share.screen import ShareScreen
        from amtterm.share.server import ShareServer

        authorized = AuthorizedKeys.load(self.authorized_keys or default_authorized_keys())
        host_key = load_host_key()
        profile = link.profile
        server = ShareServer(
            link.hub,
            owner=TUI,
            owner_name=f"{getpass.getuser()} (owner)",
            title=link.name,
            host_key=host_key,
            authorized=authorized,
            screen=ShareScreen(*profile.screen, encoding=profile.encoding),
        )
        if shown is not None:
            server.screen.seed(shown)
        host, port = await server.start(*self.listen)
        server.listeners.append(self.say)
        server.changed.append(self.changed)
        self.servers[link.name] = server
        self.changed()
        shown = f"[{host}]" if ":" in host else host
        return (
            f"Sharing {link.name}: ssh -p {port} {shown} (or amtterm attach ssh://{shown}:{port}); "
            f"host key {fingerprint(host_key)}. Viewers are read-only until Ctrl-] K."
        )

    def hand(self, link: HostController) -> str:
        """The keyboard to the viewer who asked (or the only one), or back to the owner."""
        server = self.servers.get(link.name)
        if server is None:
            return f"{link.name} is not shared: Ctrl-] S shares it."
        if server.take():
            return "You have the keyboard again."
        viewer = server.pick(None)
        if viewer is None:
            if not server.viewers:
                return "Nobody is watching, so there is nobody to give the keyboard to."
            names = ", ".join(v.name for v in server.viewers)
            return f"Nobody asked for the keyboard ({names} watching): they ask with Ctrl-] k."
        server.give(viewer)
        return f"The keyboard is with {viewer.name}; Ctrl-] K takes it back."

    def summary(self, link: HostController) -> str:
        """A few words for the status line, or "" when not shared."""
        server = self.servers.get(link.name)
        if server is None or server.address is None:
            return ""
        host, port = server.address
        count = len(server.viewers)
        keyboard = "" if link.hub.keyboard == TUI else f", keyboard: {server.holder}"
        return f"shared on {host}:{port}, {count} watching{keyboard}"

    def holder(self, link: HostController) -> str | None:
        """Who has the keyboard when it is not the owner, else None."""
        server = self.servers.get(link.name)
        if server is None or link.hub.keyboard == TUI:
            return None
        return server.holder

    async def close(self) -> None:
        """Stop every share (app exit)."""
        servers, self.servers = list(self.servers.values()), {}
        for server in servers:
            with contextlib.suppress(AmtError):
                await server.close()

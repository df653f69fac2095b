"""One SSH connection to a shared console: who it is (authentication) and what it sees (a session).

:class:`ShareSSHServer` is asyncssh's per-connection server object: it accepts only the public
keys of the authorized-keys file and names the viewer. :class:`ViewerSession` is the one
session channel (a shell with a pty): it draws frames of the shared screen into the viewer's
window, follows window changes, and turns their keys into commands or, while they hold the
keyboard, into keys for the remote.

Frames are drawn by one task per viewer, at most every :data:`FRAME_GAP` seconds and only
while the channel can take more (asyncssh's flow control), so a viewer behind a slow link is
sent fewer, newer screens rather than a growing backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import asyncssh

from amtterm.share.commands import VIEWER_HELP, ViewerKeys
from amtterm.share.screen import ENTER, LEAVE, Canvas

if TYPE_CHECKING:
    from amtterm.share.server import ShareServer

#: Seconds between two frames for one viewer (changes in between are drawn together).
FRAME_GAP = 0.03
#: Seconds a note ("read-only", help) stays in a viewer's status line.
NOTE_SECONDS = 4.0


class ShareSSHServer(asyncssh.SSHServer):
    """Authentication for one connection: authorized public keys, nothing else."""

    def __init__(self, share: ShareServer) -> None:
        self.share = share
        self.name: str | None = None

    def begin_auth(self, username: str) -> bool:
        """Authentication is always required."""
        return True

    def password_auth_supported(self) -> bool:
        """Never: passwords are not what a shared console is opened with."""
        return False

    def kbdint_auth_supported(self) -> bool:
        """Never."""
        return False

    def public_key_auth_supported(self) -> bool:
        """The only way in."""
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        """Accept a key of the authorized-keys file; remember who it names."""
        name = self.share.authorized.name_of(key, username)
        if name is None:
            return False
        self.name = name
        return True

    def session_requested(self) -> ViewerSession:
        """Each session channel is the shared console."""
        return ViewerSession(self.share, self.name or "viewer")


class ViewerSession(asyncssh.SSHServerSession[bytes]):
    """One viewer's window on the shared console."""

    def __init__(self, share: ShareServer, name: str) -> None:
        self.share = share
        self.name = share.unique_name(name)
        self.hub_name = f"ssh:{self.name}"
        self.asked = False
        self.note = ""
        self.keys = ViewerKeys()
        self.canvas = Canvas(share.screen, 80, share.screen.rows + 1)
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None
        self._wake = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._task: asyncio.Task[None] | None = None
        self._note_timer: asyncio.TimerHandle | None = None
        self._closing = False

    # -- asyncssh callbacks -------------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        """The channel is open."""
        self._chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes: object) -> bool:
        """A terminal: its size is what frames are drawn for."""
        width, height = term_size[0], term_size[1]
        if width and height:
            self.canvas.resize(width, height)
        return True

    def shell_requested(self) -> bool:
        """``ssh -p PORT host``: the shared console."""
        return True

    def exec_requested(self, command: str) -> bool:
        """Commands are refused: a session is the shared console or nothing."""
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        """No sftp or other subsystems."""
        return False

    def session_started(self) -> None:
        """Start drawing."""
        self.share.joined(self)
        self._write(ENTER.encode())
        self._task = asyncio.get_running_loop().create_task(self._draw(), name=f"share-{self.name}")

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        """The viewer's window changed size: redraw for the new one."""
        if width and height:
            self.canvas.resize(width, height)
            self.wake()

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        """Keys from the viewer."""
        share = self.share
        holding = share.hub.keyboard == self.hub_name
        result = self.keys.feed(data, holding=holding)
        if result.remote:
            asyncio.get_running_loop().create_task(self._send(result.remote))
        for action in result.actions:
            if action == "leave":
                self.disconnect("")
                return
            if action == "ask":
                if not self.asked:
                    share.asked(self)
                self.show_note("asked the owner for the keyboard")
            elif action == "release":
                share.released(self)
            elif action == "help":
                self.show_note(VIEWER_HELP)
            elif action == "refused":
                self.show_note("read-only: your keys were not sent")

    def eof_received(self) -> bool:
        """The viewer closed their input: end the session."""
        self.disconnect("")
        return False

    def pause_writing(self) -> None:
        """The channel is full: stop drawing until it drains."""
        self._writable.clear()

    def resume_writing(self) -> None:
        """The channel drained."""
        self._writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        """The viewer is gone."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
        if self._note_timer is not None:
            self._note_timer.cancel()
        self.share.left(self)

    # -- drawing ------------------------------------------------------------------------------

    def wake(self) -> None:
        """Something changed: draw a frame soon."""
        self._wake.set()

    def show_note(self, note: str) -> None:
        """A few seconds of ``note`` in this viewer's status line."""
        self.note = note
        if self._note_timer is not None:
            self._note_timer.cancel()
        self._note_timer = asyncio.get_running_loop().call_later(NOTE_SECONDS, self._clear_note)
        self.wake()

    def _clear_note(self) -> None:
        self.note = ""
        self._note_timer = None
        self.wake()

    async def _draw(self) -> None:
        self.wake()
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            await self._writable.wait()
            data = self.canvas.frame(self.share.status_line(self))
            if data:
                self._write(data)
            await asyncio.sleep(FRAME_GAP)

    def _write(self, data: bytes) -> None:
        chan = self._chan
        if chan is not None and not self._closing:
            with contextlib.suppress(Exception):
                chan.write(data)

    async def _send(self, data: bytes) -> None:
        with contextlib.suppress(Exception):
            await self.share.hub.write(data, who=self.hub_name)

    def disconnect(self, message: str) -> None:
        """End this viewer's session (their terminal is restored)."""
        chan = self._chan
        if chan is None or self._closing:
            return
        self._closing = True
        text = f"\r\namtterm share: {message}\r\n" if message else ""
        with contextlib.suppress(Exception):
            chan.write(LEAVE.encode() + text.encode())
            chan.exit(0)

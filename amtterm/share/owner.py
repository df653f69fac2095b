"""The owner's terminal while sharing: the console as ``amtterm sol`` shows it, plus hand-off escapes.

    await run_owner(hub, server, owner="owner")      # until ~. / Ctrl-] / end of input / session end

Remote bytes go to stdout decoded as the console decodes them (``charset``; ``raw`` as they are); the
owner's keys go to the hub under the owner's name, so they reach the remote only while the
owner holds the keyboard. Notes (a viewer came, left, asks for the keyboard; the session
reconnects) go to stderr, each on a line of its own: what viewers see is only the console.
The ``~`` escapes are those of :mod:`amtterm.share.commands`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
import termios
import tty
from typing import Any

from amtterm.errors import AmtError
from amtterm.session import ConsoleHub, SessionState, SessionStatus
from amtterm.share.commands import OWNER_HELP, OwnerKeys
from amtterm.share.server import ShareServer
from amtterm.terminal.decoder import terminal_converter

ENTER_BYTES = {"cr": b"\r", "crlf": b"\r\n", "lf": b"\n"}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_quietly(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):
        _write_all(fd, data)


class OwnerConsole:
    """The owner's side of a shared console on this terminal.

    Args:
        hub: the console.
        server: the share (viewers, hand-offs).
        owner: the owner's name on the hub.
        enter: what Enter sends (``cr``, ``crlf``, ``lf``).
        charset: ``auto``, ``cp437`` or ``utf-8`` (decoded as the console decodes), or ``raw``.
        stdin_fd / stdout_fd / stderr_fd: the terminal (tests pass others).
    """

    def __init__(
        self,
        hub: ConsoleHub,
        server: ShareServer,
        *,
        owner: str,
        enter: str = "cr",
        charset: str = "auto",
        stdin_fd: int | None = None,
        stdout_fd: int | None = None,
        stderr_fd: int | None = None,
    ) -> None:
        self.hub = hub
        self.server = server
        self.owner = owner
        self.in_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
        self.out_fd = sys.stdout.fileno() if stdout_fd is None else stdout_fd
        self.err_fd = sys.stderr.fileno() if stderr_fd is None else stderr_fd
        self.is_tty = os.isatty(self.in_fd)
        self.keys = OwnerKeys(enter=ENTER_BYTES[enter], translate_lf=not self.is_tty)
        self.convert = terminal_converter(charset)
        self._told_refused = False
        self._ended: asyncio.Future[AmtError | None] | None = None

    def note(self, sentence: str) -> None:
        """One line on the owner's stderr, between the console's bytes.

        Written from a thread: a terminal that does not read (scroll lock, a stopped pager)
        must not stop the event loop, and with it every viewer.
        """
        data = f"\r\n[amtterm share: {sentence}]\r\n".encode()
        asyncio.get_running_loop().run_in_executor(None, _write_quietly, self.err_fd, data)

    def _status(self, status: SessionStatus) -> None:
        if status.state in (SessionState.RECONNECTING, SessionState.CONNECTING):
            self.note(status.message)
        elif status.state in (SessionState.FAILED, SessionState.CLOSED):
            ended = self._ended
            if ended is not None and not ended.done():
                ended.set_result(status.error)

    def _who(self) -> None:
        server = self.server
        if not server.viewers:
            self.note(f"nobody is watching; the keyboard is with {server.holder}.")
            return
        listed = "; ".join(
            f"{n} {v.name}{' (asks for the keyboard)' if v.asked else ''}"
            for n, v in enumerate(server.viewers, 1)
        )
        self.note(f"watching: {listed}; the keyboard is with {server.holder}.")

    def _give(self, number: int | None) -> None:
        viewer = self.server.pick(number)
        if viewer is not None:
            self.server.give(viewer)
        elif not self.server.viewers:
            self.note("nobody is watching, so there is nobody to give the keyboard to.")
        elif number is not None:
            self.note(f"there is no viewer {number}: ~w lists them.")
        else:
            self.note("nobody asked for the keyboard: ~w lists the viewers, ~1..~9 gives it to one.")

    async def _send(self, data: bytes) -> None:
        if self.hub.keyboard != self.owner:
            if not self._told_refused:
                self._told_refused = True
                self.note(f"the keyboard is with {self.server.holder}: ~t takes it back.")
            return
        self._told_refused = False
        await self.hub.write(data, who=self.owner)

    async def run(self) -> AmtError | None:
        """Show the console and take keys until the owner quits or the session ends.

        Returns:
            The error that ended the session, if one did (the terminal is restored first).
        """
        loop = asyncio.get_running_loop()
        self._ended = loop.create_future()
        self.server.listeners.append(self.note)
        self.hub.on_status(self._status)
        sub = self.hub.subscribe(self.owner)
        keys: asyncio.Queue[bytes] = asyncio.Queue()
        saved = termios.tcgetattr(self.in_fd) if self.is_tty else None

        def on_stdin() -> None:
            try:
                chunk = os.read(self.in_fd, 4096)
            except OSError:
                chunk = b""
            keys.put_nowait(chunk)
            if not chunk:
                loop.remove_reader(self.in_fd)

        async def output() -> None:
            async for chunk in sub:
                await loop.run_in_executor(None, _write_all, self.out_fd, self.convert(chunk))

        async def typing() -> None:
            while True:
                chunk = await keys.get()
                if not chunk:
                    return
                result = self.keys.feed(chunk)
                if result.remote:
                    await self._send(result.remote)
                for action, number in result.actions:
                    if action == "quit":
                        return
                    if action == "help":
                        self.note(OWNER_HELP)
                    elif action == "who":
                        self._who()
                    elif action == "give":
                        self._give(number)
                    elif action == "take" and not self.server.take():
                        self.note("you have the keyboard already.")

        watched = not stat.S_ISREG(os.fstat(self.in_fd).st_mode)
        tasks: list[asyncio.Future[Any]] = []
        try:
            if saved is not None:
                tty.setraw(self.in_fd)
            if watched:
                loop.add_reader(self.in_fd, on_stdin)
            else:
                keys.put_nowait(await loop.run_in_executor(None, os.read, self.in_fd, 1 << 20))
                keys.put_nowait(b"")
            tasks = [asyncio.ensure_future(output()), asyncio.ensure_future(typing()), self._ended]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return self._ended.result() if self._ended in done else None
        finally:
            for task in tasks:
                task.cancel()
            sub.close()
            if watched:
                loop.remove_reader(self.in_fd)
            self.server.listeners.remove(self.note)
            if saved is not None:
                termios.tcsetattr(self.in_fd, termios.TCSADRAIN, saved)

"""The demo OS on the serial console: a login prompt and a small shell.

Line editing is done here, as a tty in cooked mode would: printable ASCII is echoed, Backspace
(BS or DEL) erases with ``BS SP BS``, Ctrl-U erases the line, Ctrl-C abandons it (``^C``),
Ctrl-L clears the screen, Ctrl-D on an empty line logs out. A line never grows past the screen
width, so the editor never has to follow a wrap (the terminal bell rings instead).

Any user name and any password are accepted; the password is not echoed.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Final

from amtterm.sim.synthetic.commands import COMMANDS, crlf
from amtterm.sim.synthetic.flood import MAX_FLOOD, flood
from amtterm.sim.synthetic.keys import Key, KeyName
from amtterm.sim.synthetic.stage import Context, Script, ScriptStep, Stage

OS_NAME: Final = "Demo Linux 12"
_BELL: Final = b"\x07"
_ERASE: Final = b"\x08 \x08"
_OK: Final = "\x1b[0;32m  OK  \x1b[0m"


class LineEditor:
    """One input line with echo (or without, for passwords).

    Args:
        ctx: where the echo goes.
        limit: the longest line accepted.
        echo: echo typed characters.
    """

    def __init__(self, ctx: Context, limit: int, *, echo: bool = True) -> None:
        self.ctx = ctx
        self.limit = max(1, limit)
        self.echo = echo
        self.text = ""

    def key(self, key: Key) -> bool:
        """Edit with ``key``; True when it was an editing key (handled)."""
        if key.name is KeyName.BACKSPACE:
            if self.text:
                self.text = self.text[:-1]
                if self.echo:
                    self.ctx.write(_ERASE)
            return True
        if key.name is KeyName.CHAR and key.char == "\x15":  # Ctrl-U
            if self.echo:
                self.ctx.write(_ERASE * len(self.text))
            self.text = ""
            return True
        if key.name is KeyName.CHAR and " " <= key.char <= "~":
            if len(self.text) >= self.limit:
                self.ctx.write(_BELL)
            else:
                self.text += key.char
                if self.echo:
                    self.ctx.write(key.char.encode("ascii"))
            return True
        return False


class LoginStage(Stage):
    """``demo-host login:`` then ``Password:``, then the shell."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._user: str | None = None
        self._line = LineEditor(ctx, 32)

    @property
    def prompt(self) -> str:
        """The login prompt."""
        return f"{self.ctx.hardware.hostname} login: "

    def enter(self, now: float) -> None:
        self.ctx.write(f"\r\n{OS_NAME} {self.ctx.hardware.hostname} ttyS4\r\n\r\n{self.prompt}".encode())

    def on_key(self, key: Key, now: float) -> None:
        if self._line.key(key):
            return
        if key.name is KeyName.CHAR and key.char == "\x03":  # Ctrl-C: start again
            self._user = None
            self._line = LineEditor(self.ctx, 32)
            self.ctx.write(f"^C\r\n\r\n{self.prompt}".encode())
            return
        if key.name is not KeyName.ENTER:
            return
        self.ctx.write(b"\r\n")
        if self._user is None:
            if not self._line.text:
                self.ctx.write(self.prompt.encode())
                return
            self._user = self._line.text
            self._line = LineEditor(self.ctx, 64, echo=False)
            self.ctx.write(b"Password: ")
            return
        self.ctx.go(ShellStage(self.ctx, self._user), now)


class ShellStage(Stage):
    """A shell prompt ``user@demo-host:~$`` with the commands of ``commands.py`` and a few more.

    Args:
        ctx: the machine.
        user: who logged in.
    """

    def __init__(self, ctx: Context, user: str) -> None:
        super().__init__(ctx)
        self.user = user
        visible = len(self._prompt_text())
        self._line = LineEditor(ctx, ctx.columns - visible - 1)
        self._script: Script | None = None
        self._then: str = ""  # what to do when the script ends: "reboot" | "poweroff"

    def _prompt_text(self) -> str:
        return f"{self.user}@{self.ctx.hardware.hostname}:~$ "

    def _prompt(self) -> bytes:
        host = self.ctx.hardware.hostname
        return f"\x1b[1;32m{self.user}@{host}\x1b[0m:\x1b[1;34m~\x1b[0m$ ".encode()

    def enter(self, now: float) -> None:
        moment = self.ctx.clock(now)
        lines = [
            f"Last login: {moment:%a %b} {moment.day:2d} {moment:%H:%M:%S} {moment.year} on ttyS4",
            f"{OS_NAME} on a synthetic PC behind a simulated Intel(R) AMT device.",
            "Type 'help' for the commands it knows.",
            "",
        ]
        self.ctx.write(crlf(lines) + self._prompt())

    # -- time (shutdown and reboot messages) --------------------------------------------------

    def deadline(self) -> float | None:
        return None if self._script is None else self._script.deadline()

    def tick(self, now: float) -> None:
        script = self._script
        if script is None or not script.run(now):
            return
        if self._then == "poweroff":
            self.ctx.shut_down(script.wake)
        else:
            self.ctx.reboot(script.wake)

    # -- keys ---------------------------------------------------------------------------------

    def on_key(self, key: Key, now: float) -> None:
        if self._script is not None:
            return  # shutting down
        if self._line.key(key):
            return
        char = key.char if key.name is KeyName.CHAR else ""
        if key.name is KeyName.ENTER:
            line, self._line.text = self._line.text, ""
            self.ctx.write(b"\r\n")
            if self._run(line.strip(), now):
                self.ctx.write(self._prompt())
        elif char == "\x03":  # Ctrl-C
            self._line.text = ""
            self.ctx.write(b"^C\r\n" + self._prompt())
        elif char == "\x04" and not self._line.text:  # Ctrl-D
            self.ctx.write(b"logout\r\n")
            self.ctx.go(LoginStage(self.ctx), now)
        elif char == "\x0c":  # Ctrl-L
            self.ctx.clear_screen()
            self.ctx.write(self._prompt() + self._line.text.encode("ascii"))
        elif key.name is KeyName.TAB:
            self.ctx.write(_BELL)

    def _run(self, line: str, now: float) -> bool:
        """Run one command line; False when no prompt should follow (the shell is leaving)."""
        try:
            words = shlex.split(line)
        except ValueError:
            self.ctx.write(b"-sh: syntax error: unterminated quoted string\r\n")
            return True
        if words[:1] == ["sudo"]:
            words = words[1:]
        if not words:
            return True
        name, args = words[0], words[1:]
        ctx = self.ctx
        if name in COMMANDS:
            ctx.write(COMMANDS[name](ctx, args, now))
        elif name == "whoami":
            ctx.write(crlf([self.user]))
        elif name == "pwd":
            ctx.write(crlf([f"/home/{self.user}"]))
        elif name in ("true", ":"):
            pass
        elif name == "clear":
            ctx.clear_screen()
        elif name == "flood":
            self._flood(args)
        elif name in ("exit", "logout"):
            ctx.write(b"logout\r\n")
            ctx.go(LoginStage(ctx), now)
            return False
        elif name in ("reboot", "poweroff", "halt") or (name == "shutdown" and args):
            action = "reboot" if name == "reboot" or "-r" in args else "poweroff"
            self._then = action
            self._script = Script(ctx, self._shutdown_steps(action), now)
            self._script.run(now)
            return False
        else:
            ctx.write(f"-sh: {name}: command not found\r\n".encode("ascii", "replace"))
        return True

    def _flood(self, args: list[str]) -> None:
        if len(args) != 1 or not args[0].isdigit() or not 0 <= int(args[0]) <= MAX_FLOOD:
            self.ctx.write(crlf([f"usage: flood N   (0 <= N <= {MAX_FLOOD} bytes)"]))
            return
        self.ctx.write_lazy(flood(int(args[0]), self.ctx.columns, self.ctx.rows))

    def _shutdown_steps(self, action: str) -> Iterator[ScriptStep]:
        verb = "reboot" if action == "reboot" else "power off"
        yield f"\r\nBroadcast message from root@{self.ctx.hardware.hostname} on ttyS4:\r\n\r\n"
        yield f"The system will {verb} now!\r\n\r\n"
        steps = (
            "Stopped target multi-user.target - Multi-User System.",
            "Stopped ssh.service - OpenBSD Secure Shell server.",
            "Stopped networking.service - Raise network interfaces.",
            "Unmounted home.mount - /home.",
            "Reached target shutdown.target - System Shutdown.",
            "Reached target final.target - Late Shutdown Services.",
        )
        for text in steps:
            yield 0.15
            yield f"[{_OK}] {text}\r\n"
        yield 0.3
        yield "reboot: Restarting system\r\n" if action == "reboot" else "reboot: Power down\r\n"
        yield 0.3

"""``amtterm ider``: serve an ISO (and / or a floppy image) to an AMT host over IDE-R.

    amtterm ider HOST --cd debian.iso                  # serve until Ctrl-C or the session ends
    amtterm ider HOST --cd debian.iso --boot           # ... and boot the PC from it now (with SOL)

The flow is :class:`amtterm.session.ider_job.IderJob`'s, the same as the console's IDE-R pane's;
this module only presents it. The images are checked (opened read-only) before any password is
asked or any connection made, so a missing, unreadable or wrongly sized image is one sentence
and exit status 2. With ``--boot`` (the user's yes: nothing is asked) user consent and the
redirection switches are checked over WS-Man before the IDE-R session opens; the one-time IDE-R
boot (with SOL) is set once the device has enabled the drives, then the PC is reset (or powered
on). Progress goes to stderr: one updating line on a terminal, plain lines otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from amtterm.errors import ConfigError

if TYPE_CHECKING:
    from amtterm.session import IderProgress

#: Shortest time between two redraws of the progress line on a terminal (seconds).
TTY_INTERVAL = 0.2
#: Shortest time between two plain progress lines while serving (seconds).
PLAIN_INTERVAL = 5.0


class ProgressPrinter:
    """Shows IDE-R progress on ``stream``: one line redrawn in place on a terminal, else plain lines.

    Plain lines are written when the phase changes and at most every ``PLAIN_INTERVAL``
    seconds otherwise, so a log stays short.
    """

    def __init__(self, stream: TextIO, *, tty: bool | None = None, clock: Any = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self._last_at = float("-inf")
        self._last_phase = ""
        self._last: IderProgress | None = None
        self._drawn = False
        self._shown: IderProgress | None = None

    @staticmethod
    def text(progress: IderProgress) -> str:
        """The progress line without prefix: phase, MB served, MB/s, sectors, ETA, last command."""
        state = "STALLED" if progress.stalled else progress.phase
        eta = f", ETA {progress.eta_seconds:.0f} s" if progress.eta_seconds is not None else ""
        stalled = ""
        if progress.stalled:
            waited = progress.quiet_for or 0.0
            stalled = f", {progress.pending_bytes / 1e6:.3f} MB of a read not taken for {waited:.0f} s"
        elif progress.idle and progress.since_last_command is not None:
            stalled = f", the PC has asked for nothing for {progress.since_last_command:.0f} s"
        return (
            f"IDE-R [{state}] {progress.bytes_served / 1e6:.3f} MB served, {progress.mb_per_s:.2f} MB/s, "
            f"{progress.sectors_served} sectors{eta}{stalled} - {progress.last_command or 'no command yet'}"
        )

    def update(self, progress: IderProgress) -> None:
        """Called by the server after each command and every second."""
        if progress.phase == "starting" or (progress.phase == "ended" and self._last is None):
            return  # not enabled yet: a failure to start is one sentence, not progress
        self._last = progress
        now = self.clock()
        changed = progress.phase != self._last_phase
        interval = TTY_INTERVAL if self.tty else PLAIN_INTERVAL
        if not changed and now - self._last_at < interval:
            return
        self._last_at = now
        self._last_phase = progress.phase
        self._draw(progress)

    def _draw(self, progress: IderProgress) -> None:
        self._shown = progress
        if self.tty:
            self.stream.write(f"\r\x1b[K{self.text(progress)}")
            self._drawn = True
        else:
            self.stream.write(f"amtterm: {self.text(progress)}\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """A line of its own (the progress line is drawn again below it)."""
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
        self.stream.write(f"amtterm: {text}\n")
        self.stream.flush()
        if self.tty and self._last is not None:
            self._draw(self._last)

    def finish(self) -> None:
        """The session is over: leave the last figures on screen."""
        if self._last is not None and (self._shown is None or _key(self._shown) != _key(self._last)):
            self._draw(self._last)
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def _key(progress: IderProgress) -> tuple[str, int, int]:
    return (progress.phase, progress.commands, progress.bytes_served)


def add_ider_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``amtterm ider`` on ``sub`` (the main parser's ``add_subparsers()``)."""
    from amtterm.cli.wsman import connection_options

    ider = sub.add_parser(
        "ider",
        parents=[common, connection_options()],
        help="serve an ISO or floppy image to HOST over IDE-R (optionally boot from it)",
        description="Serve an ISO (--cd) and / or a floppy image (--floppy) to HOST as a redirected "
        "drive until interrupted or the session ends. The images are only read. With --boot, also "
        "set the one-time IDE-R boot with SOL over WS-Management and reset (or power on) the PC.",
    )
    for action in ider._actions:
        if "--json" in action.option_strings:
            action.help = argparse.SUPPRESS  # shared connection option; ider prints progress, not JSON
    ider.add_argument("host", help="a name from the hosts file, or an AMT host name or address")
    ider.add_argument("--cd", type=Path, metavar="ISO", help="ISO image served as the CD-ROM")
    ider.add_argument("--floppy", type=Path, metavar="IMG", help="floppy image served as the floppy drive")
    ider.add_argument(
        "--boot",
        action="store_true",
        help="boot HOST from the image now: one-time IDE-R boot with SOL, then reset (or power on)",
    )
    timing = ider.add_mutually_exclusive_group()
    timing.add_argument(
        "--now", dest="timing", action="store_const", const="now", help="show the drives to the host at once"
    )
    timing.add_argument(
        "--on-reset",
        dest="timing",
        action="store_const",
        const="on-reset",
        help="show the drives to the host at its next reset (the default)",
    )
    ider.add_argument(
        "--stall-after",
        type=float,
        default=10.0,
        help="after this many quiet seconds say 'idle' (the host asks for nothing) or 'stalled' (a read "
        "in flight is not taken) (default 10)",
    )
    ider.set_defaults(func=ider_command, timing="on-reset")


async def ider_command(args: argparse.Namespace) -> int:
    """``amtterm ider``: the IDE-R flow of :mod:`amtterm.session.ider_job`, shown on stderr.

    ``--boot`` is the user's yes: the flow asks nothing here.
    """
    from amtterm.cli import common as cli
    from amtterm.cli.common import Passwords
    from amtterm.cli.wsman import _hosts_file, _target, connect
    from amtterm.redir import ConsoleConfig
    from amtterm.session import IderJob, IderRequest, WsmanBoot

    request = IderRequest(
        cd=args.cd, floppy=args.floppy, timing=args.timing, boot=args.boot, stall_after=args.stall_after
    )
    # Check the images before asking for anything: one sentence, nothing opened for writing.
    request.check()
    if args.stall_after <= 0:
        raise ConfigError("--stall-after must be a positive number of seconds.")

    target = _target(args, _hosts_file(args), args.host)
    passwords = Passwords(args)
    password = passwords.for_entry(target.entry, target.user)
    ask = cli.ask_on_terminal if cli.terminal_available() else None
    tls = target.endpoint.tls_options(accept_new=args.accept_new, ask=ask)
    printer = ProgressPrinter(sys.stderr)
    async with contextlib.AsyncExitStack() as stack:
        wsman = None
        if args.boot:
            connection = await stack.enter_async_context(connect(args, target, passwords))
            wsman = WsmanBoot(connection.client, label=connection.label)
        job = IderJob(
            request,
            target.address,
            target.redir_port,
            tls=tls,
            config=ConsoleConfig(user=target.user, password=password),
            name=target.name,
            via=target.endpoint.route(ssh_config=args.ssh_config, ask=ask),
            wsman=wsman,
            on_progress=printer.update,
            on_message=printer.message,
            hint="; stop with Ctrl-C",
        )
        try:
            await job.run()
        finally:
            printer.finish()
    return 0


__all__ = ["ProgressPrinter", "add_ider_command", "ider_command"]

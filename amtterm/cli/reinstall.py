"""``amtterm reinstall``: boot a PC from an ISO or a UEFI executable, one command for the whole job.

    amtterm reinstall HOST --image debian.iso             # HTTPS boot when offered, else IDE-R
    amtterm reinstall HOST --image ipxe.efi --method https --serve-on 192.0.2.5:8443

The flow is :class:`amtterm.session.reinstall.ReinstallJob`'s, the same as the console's "boot
from image" pane's; this module only presents it. The image is checked (opened read-only) before
any password is asked or any connection made. With One Click Recovery the image is served over
HTTPS by this process (amtterm's CA, kept in the state directory, goes into AMT's trusted roots
for the job), the HTTPS boot is set and the PC reset; without it (AMT before 16, or switched off
in the BIOS) an ISO is served over IDE-R instead, and one sentence says why. The console's
Serial-over-LAN output is shown on stdout from just before the reset (``--no-sol``: not), keys
go to it when stdin is a terminal (quit with Ctrl-]). Progress and sentences go to stderr.

The job ends, and cleans up the boot settings and the CA, at the first of: the firmware has
fetched the whole image and gone quiet, Ctrl-C (or Ctrl-] on the console), the SOL session
ending, ``--timeout``. On a terminal the console then stays until Ctrl-].
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from amtterm.cli.common import add_connection_options, port
from amtterm.errors import AmtError, ConfigError

if TYPE_CHECKING:
    from amtterm.session import ImageProgress, ReinstallProgress, SolClient

#: Seconds to wait for each WS-Man reply.
REPLY_TIMEOUT = 10.0
#: Shortest time between two redraws of the progress line on a terminal, and between plain lines.
TTY_INTERVAL = 0.2
PLAIN_INTERVAL = 5.0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def add_reinstall_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``amtterm reinstall`` on ``sub`` (the main parser's ``add_subparsers()``).

    ``--method`` is checked by :meth:`ReinstallRequest.check` (the one list of methods), so that
    building the parser loads no session code.
    """
    parser = sub.add_parser(
        "reinstall",
        parents=[common],
        help="boot HOST from an ISO or a UEFI executable: HTTPS boot (One Click Recovery) or IDE-R",
        description="Boot HOST from --image: over One Click Recovery HTTPS boot when the machine offers "
        "it (the image served by this command, its CA put into AMT's trusted roots for the job), else "
        "over IDE-R (an ISO only). The console's Serial-over-LAN output is shown here. The boot settings "
        "and the CA are cleaned up when the firmware has fetched the image, at Ctrl-C, when the console "
        "session ends, or at --timeout. The image is only read.",
    )
    parser.add_argument("host", help="a name from the hosts file, or an AMT host name or address")
    parser.add_argument("--image", type=Path, required=True, metavar="FILE", help="an ISO or a .efi file")
    parser.add_argument(
        "--method",
        metavar="auto|https|ider",
        default="auto",
        help="auto: HTTPS boot when offered, else IDE-R (the default); https or ider: only that",
    )
    parser.add_argument(
        "--serve-on",
        metavar="ADDR:PORT",
        help="where to serve the image over HTTPS (default: the local address that reaches HOST, "
        "a free port)",
    )
    parser.add_argument(
        "--url-host",
        metavar="HOST",
        help="the name or address HOST reaches this machine by, when not the --serve-on address (NAT, "
        "port forwarding): it goes into the URL and the certificate",
    )
    parser.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="give up (and clean up) after this long"
    )
    parser.add_argument(
        "--settle",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="end the job when the whole image is fetched and the server has been quiet this long "
        "(default 10)",
    )
    parser.add_argument("--no-sol", action="store_true", help="do not show the console's SOL output")
    group = parser.add_argument_group("connection")
    add_connection_options(group, plain="plain HTTP on 16992 and redirection on 16994", legacy_auth=None)
    group.add_argument("--wsman-port", type=port, help="WS-Management port (default 16993, or 16992 with -P)")
    group.add_argument("--redir-port", type=port, help="redirection port (default 16995, or 16994 with -P)")
    parser.set_defaults(func=reinstall_command)


class ReinstallPrinter:
    """Shows the job on ``stream``: sentences, and progress redrawn in place or as plain lines.

    While the console's output is shown (``sol``), progress is plain lines at most every
    ``PLAIN_INTERVAL`` seconds, each with ``\\r\\n`` (the terminal may be in raw mode).
    """

    def __init__(self, stream: TextIO, *, tty: bool | None = None, clock: Any = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self.sol = False
        self._last_at = float("-inf")
        self._drawn = False
        self._last: ReinstallProgress | None = None

    @staticmethod
    def text(progress: ReinstallProgress) -> str:
        """The progress line: HTTPS's bytes, share, rate and ETA, or IDE-R's line."""
        from amtterm.cli.ider import ProgressPrinter
        from amtterm.session import ImageProgress

        if not isinstance(progress, ImageProgress):
            return ProgressPrinter.text(progress)
        return https_text(progress)

    @property
    def _eol(self) -> str:
        return "\r\n" if self.sol and self.tty else "\n"

    def update(self, progress: ReinstallProgress) -> None:
        """Called with every progress snapshot."""
        self._last = progress
        now = self.clock()
        in_place = self.tty and not self.sol
        if now - self._last_at < (TTY_INTERVAL if in_place else PLAIN_INTERVAL):
            return
        self._last_at = now
        self._draw(progress)

    def _draw(self, progress: ReinstallProgress) -> None:
        if self.tty and not self.sol:
            self.stream.write(f"\r\x1b[K{self.text(progress)}")
            self._drawn = True
        else:
            start = "\r\n" if self.sol and self.tty else ""
            self.stream.write(f"{start}amtterm: {self.text(progress)}{self._eol}")
        self.stream.flush()

    def message(self, text: str) -> None:
        """A sentence on a line of its own (below the console's cursor while it is shown)."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False
        start = "\r\n" if self.sol and self.tty else ""
        self.stream.write(f"{start}amtterm: {text}{self._eol}")
        self.stream.flush()

    def finish(self) -> None:
        """The job is over: the last figures on a line of their own."""
        if self._last is not None:
            if self._drawn:
                self.stream.write("\r\x1b[K")
                self._drawn = False
            self.stream.write(f"amtterm: {self.text(self._last)}{self._eol}")
            self.stream.flush()


def https_text(progress: ImageProgress) -> str:
    """``HTTPS [serving] 12.345 of 600.000 MB (2%), 45.67 MB/s, ETA 13 s, 1 request``."""
    state = "fetched" if progress.complete else "serving" if progress.active else "waiting"
    share = 100 * progress.covered // progress.size if progress.size else 0
    eta = f", ETA {progress.eta_seconds:.0f} s" if progress.eta_seconds is not None else ""
    requests = f"{progress.requests} request{'s' if progress.requests != 1 else ''}"
    return (
        f"HTTPS [{state}] {progress.covered / 1e6:.3f} of {progress.size / 1e6:.3f} MB ({share}%), "
        f"{progress.mb_per_s:.2f} MB/s{eta}, {requests}, {progress.bytes_sent / 1e6:.3f} MB sent"
    )


async def _pump_output(client: SolClient) -> None:
    """The console's output to stdout, as is, until the session ends (no keys: stdin is no terminal)."""
    loop = asyncio.get_running_loop()
    fd = sys.stdout.fileno()
    while True:
        chunk = await client.read()
        if not chunk:
            return
        await loop.run_in_executor(None, _write_all, fd, chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


async def reinstall_command(args: argparse.Namespace) -> int:
    """``amtterm reinstall``: the flow of :mod:`amtterm.session.reinstall`, shown on the terminal."""
    from amtterm.cli import common as cli
    from amtterm.cli.common import Passwords
    from amtterm.cli.rawmode import run_raw
    from amtterm.cli.wsman import _hosts_file, _target, connect
    from amtterm.redir import ConsoleConfig
    from amtterm.session import (
        IderJob,
        IderRequest,
        ReinstallJob,
        ReinstallRequest,
        SolEndpoint,
        WsmanBoot,
        WsmanRecovery,
        console_config,
        open_sol,
        parse_serve_on,
    )

    serve_on = parse_serve_on(args.serve_on) if args.serve_on else None
    request = ReinstallRequest(
        args.image,
        method=args.method,
        serve_on=serve_on,
        url_host=args.url_host,
        timeout=args.timeout,
        settle=args.settle,
    )
    # The image first: one sentence before any password is asked or connection made.
    request.check()

    target = _target(args, _hosts_file(args), args.host)
    ask = cli.ask_on_terminal if cli.terminal_available() else None
    route = target.endpoint.route(ssh_config=args.ssh_config, ask=ask)
    if route is not None and serve_on is None and request.method != "ider":
        # The PC fetches the image itself: it cannot come back through the SSH tunnel.
        raise ConfigError(
            "Through a jump host the PC cannot reach this machine by itself: give --serve-on (and "
            "--url-host) with an address it reaches, or use --method ider."
        )
    passwords = Passwords(args)
    password = passwords.for_entry(target.entry, target.user)
    tls = target.endpoint.tls_options(accept_new=args.accept_new, ask=ask)
    printer = ReinstallPrinter(sys.stderr)
    interactive = os.isatty(sys.stdin.fileno()) and os.isatty(sys.stdout.fileno())
    wsman_args = argparse.Namespace(**vars(args))
    wsman_args.timeout = REPLY_TIMEOUT
    sol_task: asyncio.Task[object] | None = None
    sol_client: SolClient | None = None
    job: ReinstallJob | None = None

    async with contextlib.AsyncExitStack() as stack:
        connection = await stack.enter_async_context(connect(wsman_args, target, passwords))
        boot = WsmanBoot(connection.client, label=connection.label)

        def make_ider(ider_request: IderRequest) -> IderJob:
            return IderJob(
                ider_request,
                target.address,
                target.redir_port,
                tls=tls,
                config=ConsoleConfig(user=target.user, password=password),
                name=target.name,
                via=route,
                wsman=boot,
                on_progress=printer.update,
                on_message=printer.message,
                hint="; stop with Ctrl-C",
            )

        async def attach_sol() -> None:
            nonlocal sol_task, sol_client
            if args.no_sol:
                return
            endpoint = SolEndpoint(
                endpoint=target.endpoint,
                tls=tls,
                config=console_config(target.user, password, peer_timeout=max(120.0, args.timeout or 0)),
                route=route,
            )
            sol_client = await open_sol(endpoint)
            printer.sol = True
            if interactive:
                printer.message("The console follows; quit with Ctrl-].")
                sol_task = asyncio.ensure_future(run_raw(sol_client, linger=0))
            else:
                sol_task = asyncio.ensure_future(_pump_output(sol_client))
            sol_task.add_done_callback(sol_ended)

        stopping: list[asyncio.Future[None]] = []

        def sol_ended(_: object) -> None:
            # Ctrl-] or the session's end ends the job too (it cleans up).
            if job is not None:
                stopping.append(asyncio.ensure_future(job.stop()))

        recovery = WsmanRecovery.over(connection.client, label=connection.label)
        job = ReinstallJob(
            request,
            name=target.name,
            device=target.address,
            recovery=recovery,
            boot_log=recovery,
            ider=make_ider,
            before_boot=attach_sol,
            on_progress=printer.update,
            on_message=printer.message,
        )
        try:
            await job.run()
        finally:
            printer.finish()
            if sol_task is not None and not sol_task.done() and job.state == "ended" and interactive:
                printer.message("The job is done; the console stays until Ctrl-].")
                with contextlib.suppress(Exception):
                    await sol_task
            if sol_task is not None and not sol_task.done():
                sol_task.cancel()
                with contextlib.suppress(BaseException):
                    await sol_task
            elif sol_task is not None and not sol_task.cancelled():
                ended = sol_task.exception()
                if isinstance(ended, AmtError):  # the device ended SOL: say so, it ended the job
                    printer.message(str(ended))
            if sol_client is not None:
                with contextlib.suppress(Exception):
                    await sol_client.close(timeout=1.0)
    if job.state == "timed out":
        raise AmtError(f"{target.name} did not finish within --timeout {args.timeout:g} s.")
    return 0


__all__ = ["ReinstallPrinter", "add_reinstall_command", "https_text", "reinstall_command"]

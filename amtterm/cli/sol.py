"""``amtterm sol``: the raw Serial-over-LAN console on this terminal, like classic amtterm."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amtterm.cli.common import (
    ENTER_CHOICES,
    add_connection_options,
    ask_on_terminal,
    cli_password,
    non_negative_seconds,
    port,
    terminal_available,
)
from amtterm.cli.recording import open_console_recorder
from amtterm.errors import AmtError

if TYPE_CHECKING:
    from amtterm.config import HostEntry
    from amtterm.session import SolEndpoint


def resolve_cli_sol(args: argparse.Namespace, entry: HostEntry, **choices: Any) -> SolEndpoint:
    """The SOL endpoint of ``sol`` and ``share``: their connection options over the hosts file.

    The one resolver (:func:`amtterm.transport.resolver.resolve_endpoint`) does the merging; a
    malformed ``--jump`` is said before the password is asked for.
    """
    from amtterm.session import resolve_sol

    return resolve_sol(
        entry,
        cli_password(args, entry),
        user=args.user,
        plain=True if args.plain else None,
        port=args.port,
        cafile=args.cafile,
        tls_legacy=args.tls_legacy,
        accept_new=args.accept_new,
        ask=ask_on_terminal if terminal_available() else None,
        legacy_auth=args.legacy,
        jump=args.jump,
        ssh_config=args.ssh_config,
        **choices,
    )


async def _sol(args: argparse.Namespace) -> int:
    from amtterm.cli.rawmode import run_raw
    from amtterm.config import load_hosts
    from amtterm.session import open_sol

    entry = load_hosts(args.hosts_file).lookup(args.host)
    endpoint = resolve_cli_sol(args, entry, peer_timeout=args.timeout)
    client = await open_sol(endpoint)
    if args.verbose:
        route = endpoint.route
        through = f" through {route}" if route is not None else ""
        note = f"amtterm: connected to {endpoint.address}:{endpoint.port}{through}; quit with Ctrl-] or ~.\r"
        print(note, file=sys.stderr, flush=True)
    charset = args.charset or entry.encoding or "auto"
    try:
        recorder = open_console_recorder(args, charset, title=f"amtterm sol {entry.name}")
    except AmtError:
        await client.close()
        raise
    try:
        return await run_raw(client, enter=args.enter, charset=charset, recorder=recorder, linger=args.linger)
    finally:
        if recorder is not None:
            recorder.close()


def add_sol_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``sol`` sub-command."""
    sol = sub.add_parser(
        "sol",
        parents=[common],
        help="raw Serial-over-LAN console on this terminal (like classic amtterm)",
        description="Open the Serial-over-LAN console of HOST on this terminal. "
        "TLS on 16995 with digest auth by default; quit with Ctrl-] or ~. after Enter.",
    )
    sol.add_argument("host", help="a name from the hosts file, or an AMT host name or address")
    sol.add_argument("port", nargs="?", type=port, help="redirection port (default 16995, or 16994 with -P)")
    add_connection_options(sol)
    sol.add_argument("--enter", choices=ENTER_CHOICES, default="cr", help="what Enter sends (default cr)")
    sol.add_argument(
        "--charset",
        choices=["auto", "cp437", "utf-8", "raw"],
        help="how the remote's bytes are shown on this UTF-8 terminal (default: the hosts file's "
        "encoding, else auto: CP437 or UTF-8 guessed from the stream, as the console does); "
        "raw: pass the bytes through untouched, as classic amtterm",
    )
    sol.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        help="give up after this many seconds without a byte from the device (default 20)",
    )
    sol.add_argument(
        "--linger",
        type=non_negative_seconds,
        default=1.0,
        metavar="SECONDS",
        help="at end of input (a script), stay until the remote has been quiet this long, so that "
        "its answer arrives (default 1; 0 ends at once)",
    )
    sol.add_argument("-v", "--verbose", action="store_true", help="say when connected")
    sol.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="record the console as asciicast v2 (asciinema play FILE, or amtterm replay FILE)",
    )
    sol.add_argument(
        "--record-input",
        action="store_true",
        help="also record the keys typed in --record FILE (off by default; never the password)",
    )
    sol.add_argument(
        "--log", type=Path, metavar="FILE", help="write the console as plain text (escapes stripped)"
    )
    sol.add_argument(
        "--record-encoding",
        choices=["auto", "cp437", "utf-8"],
        help="how --record and --log read the console's bytes (default: as --charset reads them; "
        "auto for raw)",
    )
    sol.set_defaults(func=_sol)

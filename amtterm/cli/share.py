"""``amtterm share HOST`` and ``amtterm attach ssh://HOST:PORT``: one console, several people.

    amtterm share pc42                          the console here, shared on 127.0.0.1 (a free port)
    amtterm share pc42 --listen 0.0.0.0:2222    ... on every address, port 2222
    ssh -p 2222 buildhost                       a colleague watches (read-only until given the keyboard)
    amtterm attach ssh://buildhost:2222         ... or watches in amtterm's own console

The owner holds the one SOL session AMT allows; viewers attach over SSH with a key from the
authorized-keys file. The owner's password is asked before sharing starts and goes nowhere
else. Wiring (amtterm.cli): ``add_share_commands(sub, common)``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from pathlib import Path

from amtterm.errors import AmtError, ConfigError

#: The owner's name on the hub (viewers are ``ssh:NAME``, so no viewer can be it).
OWNER = "owner"


def listen_address(text: str) -> tuple[str, int]:
    """``ADDR:PORT``, ``[v6]:PORT``, ``PORT`` or ``ADDR`` (port 0) for --listen (argparse type)."""
    host, port_text = "127.0.0.1", "0"
    if text.startswith("["):
        inside, _, rest = text[1:].partition("]")
        host, port_text = inside, rest.lstrip(":") or "0"
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        host = host or "127.0.0.1"
    elif text.isdigit():
        port_text = text
    else:
        host = text
    try:
        port = int(port_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not ADDR:PORT: {text!r} (e.g. 127.0.0.1:2222)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return host, port


def add_share_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``share`` and ``attach``."""
    from amtterm.cli.common import ENTER_CHOICES, add_connection_options, port, screen_size

    share = sub.add_parser(
        "share",
        parents=[common],
        help="show a console here and share it over SSH (read-only viewers, hand-off of the keyboard)",
        description="Open the Serial-over-LAN console of HOST on this terminal, as 'amtterm sol' does, and "
        "let colleagues watch it with plain 'ssh -p PORT ADDR' (or 'amtterm attach'). Viewers are "
        "read-only until you give them the keyboard. After Enter: ~? lists your escapes, ~w who is "
        "watching, ~g gives the keyboard to whoever asked, ~t takes it back, ~. quits.",
    )
    share.add_argument("host", help="a name from the hosts file, or an AMT host name or address")
    share.add_argument(
        "port", nargs="?", type=port, help="redirection port (default 16995, or 16994 with -P)"
    )
    add_connection_options(share)
    share.add_argument(
        "--listen",
        type=listen_address,
        default=("127.0.0.1", 0),
        metavar="ADDR:PORT",
        help="where viewers connect (default 127.0.0.1:0, loopback on a free port; the port is printed)",
    )
    share.add_argument(
        "--authorized-keys",
        type=Path,
        metavar="FILE",
        help="public keys allowed to watch, OpenSSH format; the comment names the viewer "
        "(default: share_authorized_keys in the config directory)",
    )
    share.add_argument("--enter", choices=ENTER_CHOICES, default="cr", help="what Enter sends (default cr)")
    share.add_argument(
        "--charset",
        choices=["auto", "cp437", "utf-8", "raw"],
        help="how this terminal shows the console, as amtterm sol: auto (default, or the hosts file's "
        "encoding) guesses CP437 or UTF-8 as the console does; raw passes the bytes through",
    )
    share.add_argument(
        "--encoding",
        choices=["auto", "cp437", "utf-8"],
        help="how viewers' screens read the console's bytes (default: the hosts file's, else auto)",
    )
    share.add_argument(
        "--screen",
        type=screen_size,
        help="remote screen size viewers see: 80x25 (default, or the hosts file's), 80x24 or 100x30",
    )
    share.set_defaults(func=run_share)

    attach = sub.add_parser(
        "attach",
        parents=[common],
        help="watch a console someone shares (amtterm share), in amtterm's console",
        description="Attach to a console shared with 'amtterm share' (or the console's Ctrl-] S) and show "
        "it in the terminal widget. Read-only until its owner gives you the keyboard: Ctrl-] k asks for "
        "it (and gives it back), Ctrl-] q leaves.",
    )
    attach.add_argument("url", metavar="ssh://[USER@]HOST:PORT", help="where the console is shared")
    attach.add_argument(
        "-i",
        "--identity",
        type=Path,
        action="append",
        metavar="FILE",
        help="private key (default: ssh's own)",
    )
    attach.add_argument(
        "--known-hosts",
        type=Path,
        metavar="FILE",
        help="host keys of shares seen before (default: share_known_hosts in the config directory)",
    )
    attach.add_argument(
        "--accept-new", action="store_true", help="remember an unknown share's host key without asking"
    )
    from amtterm.cli.common import prefix_key

    attach.add_argument(
        "--prefix",
        type=prefix_key,
        default="ctrl+right_square_bracket",
        metavar="KEY",
        help="the command key",
    )
    attach.add_argument(
        "--fkeys",
        choices=("intel", "alternate", "vt100+", "xterm"),
        default="intel",
        help="F-key convention of the remote's BIOS (default intel: ESC [ O P ...)",
    )
    attach.set_defaults(func=run_attach)


def _quiet_asyncssh(debug: bool) -> None:
    # asyncssh logs every connection and failed log-on; on the owner's console that is noise.
    logger = logging.getLogger("asyncssh")
    if not debug:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


async def run_share(args: argparse.Namespace) -> int:
    """``amtterm share HOST``: the console here, and an SSH server for viewers.

    Raises:
        AmtError: the console could not be opened, the address is in use, the keys are unusable.
    """
    from amtterm.cli.sol import resolve_cli_sol
    from amtterm.config import load_hosts
    from amtterm.session import ConsoleHub, ConsoleSession, SolClient, open_sol
    from amtterm.share.keys import AuthorizedKeys, default_authorized_keys, fingerprint, load_host_key
    from amtterm.share.owner import OwnerConsole
    from amtterm.share.screen import ShareScreen
    from amtterm.share.server import ShareServer

    _quiet_asyncssh(args.debug)
    entry = load_hosts(args.hosts_file).lookup(args.host)
    # Keys first: a missing file is said before anyone types a password.
    authorized = AuthorizedKeys.load(args.authorized_keys or default_authorized_keys())
    host_key = load_host_key()
    endpoint = resolve_cli_sol(args, entry)
    first: list[SolClient] = [await open_sol(endpoint)]  # a wrong password or a busy session ends here

    async def reopen() -> SolClient:
        return first.pop() if first else await open_sol(endpoint)

    hub = ConsoleHub()
    hub.grant_keyboard(OWNER)
    columns, rows = args.screen or entry.screen or (80, 25)
    encoding = args.encoding or entry.encoding or "auto"
    server = ShareServer(
        hub,
        owner=OWNER,
        owner_name=f"{getpass.getuser()} (owner)",
        title=entry.name,
        host_key=host_key,
        authorized=authorized,
        screen=ShareScreen(columns, rows, encoding=encoding),
    )
    session = ConsoleSession(reopen, hub, target=endpoint.target)
    try:
        listen_host, listen_port = await server.start(*args.listen)
    except AmtError:
        await first[0].close()
        raise
    task = asyncio.create_task(session.run())
    shown = f"[{listen_host}]" if ":" in listen_host else listen_host
    print(
        f"amtterm share: sharing {entry.name} on {shown}:{listen_port} (ssh -p {listen_port} {listen_host}), "
        f"host key {fingerprint(host_key)}, {len(authorized)} authorized key"
        f"{'s' if len(authorized) != 1 else ''}; after Enter, ~? lists your escapes.\r",
        file=sys.stderr,
        flush=True,
    )
    charset = args.charset or entry.encoding or "auto"
    console = OwnerConsole(hub, server, owner=OWNER, enter=args.enter, charset=charset)
    try:
        error = await console.run()
    finally:
        await server.close()
        await session.stop()
        try:
            await asyncio.wait_for(task, 5)
        except (TimeoutError, AmtError):
            task.cancel()
    if error is not None:
        raise error
    return 0


async def run_attach(args: argparse.Namespace) -> int:
    """``amtterm attach ssh://HOST:PORT``: a shared console in amtterm's terminal widget.

    Raises:
        AmtError: a bad address, the share refused the key, an unknown or changed host key.
    """
    from amtterm.cli.common import ask_on_terminal, run_app, terminal_available
    from amtterm.share.client import ShareAddress, ShareClient

    _quiet_asyncssh(args.debug)
    address = ShareAddress.parse(args.url)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError("amtterm attach needs a terminal; without one, use 'ssh -p PORT HOST'.")
    client = await ShareClient.connect(
        address,
        identities=args.identity,
        known_hosts=args.known_hosts,
        accept_new=args.accept_new,
        ask=ask_on_terminal if terminal_available() else None,
    )
    from amtterm.ui.attach import AttachApp

    app = AttachApp(client, prefix=args.prefix, key_mode=args.fkeys)
    app.show_tracebacks = args.debug
    try:
        return await run_app(app)
    finally:
        await client.close()

"""Command line: argument parsing, then one of the sub-commands.

    amtterm HOST | tui HOST...  the full-screen console (Textual) with power, boot and info panes
    amtterm demo                start the simulator in this process and open its console
    amtterm sol HOST [PORT]     raw Serial-over-LAN console (drop-in for classic amtterm)
    amtterm sim                 run a simulated AMT device
    amtterm power|boot|redirection|consent|info|doctor HOST ...   WS-Management (cli_wsman.py)
    amtterm known-hosts ...     list or forget pinned TLS certificates
    amtterm expect HOST STEP... wait for screen text and send keys (cli_expect.py)

Every failure is printed as one sentence, ``amtterm: ...``, with a non-zero exit
status; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amtterm import __version__
from amtterm.cli_expect import add_expect_command
from amtterm.cli_ider import add_ider_command
from amtterm.cli_jump import add_jump_options, jump_hops
from amtterm.cli_replay import add_replay_command
from amtterm.cli_share import add_share_commands
from amtterm.cli_tui import (
    add_demo_arguments,
    add_tui_arguments,
    first_word,
    run_demo_tui,
    run_tui,
    tui_argv,
    value_options,
)
from amtterm.cli_wsman import _positive, add_wsman_commands
from amtterm.errors import AmtError, ConfigError

if TYPE_CHECKING:
    from amtterm.config import HostEntry
    from amtterm.session.connect import SolEndpoint
    from amtterm.session.recorder import ConsoleRecorder

PASSWORD_ENV = "AMT_PASSWORD"


# -- shared helpers -----------------------------------------------------------------------------


def warn(message: str) -> None:
    """Print a one-line warning on stderr."""
    print(f"amtterm: warning: {message}", file=sys.stderr, flush=True)


def read_password(args: argparse.Namespace, user: str, host: str) -> str:
    """The password from -p (warned about), AMT_PASSWORD, or a prompt on the terminal."""
    if getattr(args, "password", None):
        warn("-p puts the password where other users can read it (ps); prefer AMT_PASSWORD or the prompt.")
        return str(args.password)
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    try:
        with open("/dev/tty", "r+b", buffering=0):
            pass
    except OSError:
        raise ConfigError(
            f"No password for {user}@{host}: set {PASSWORD_ENV}, or run on a terminal to be asked."
        ) from None
    return getpass.getpass(f"AMT password for {user}@{host}: ")


def ask_on_terminal(question: str) -> bool:
    """Ask a yes/no question on the controlling terminal (works while stdin is a pipe)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    try:
        os.write(fd, f"{question} [y/N] ".encode())
        answer = b""
        while not answer.endswith((b"\n", b"\r")):
            chunk = os.read(fd, 64)
            if not chunk:
                break
            answer += chunk
        return answer.strip().lower() in (b"y", b"yes")
    finally:
        os.close(fd)


def terminal_available() -> bool:
    """Whether a controlling terminal exists to ask questions on."""
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return False


# -- sol ----------------------------------------------------------------------------------------


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-u", "--user", help="AMT user name (default: the hosts file's, else admin)")
    parser.add_argument(
        "-p",
        "--password",
        help=f"AMT password (discouraged: visible to other users; use {PASSWORD_ENV} or the prompt)",
    )
    parser.add_argument("-P", "--plain", action="store_true", help="plain TCP on port 16994 instead of TLS")
    parser.add_argument("-C", "--cafile", type=Path, help="verify the device's TLS certificate with this CA")
    parser.add_argument(
        "--accept-new", action="store_true", help="pin an unknown TLS certificate without asking"
    )
    parser.add_argument(
        "--tls-legacy", action="store_true", help="allow TLS 1.0/1.1 for old AMT firmware (before AMT 12)"
    )
    add_jump_options(parser)


def cli_password(args: argparse.Namespace, entry: HostEntry) -> Callable[[str], str]:
    """The password of ``sol``, ``share`` and ``expect`` for the resolved user: -p (warned about),
    AMT_PASSWORD, the hosts file's password_env / password_command, else a prompt."""
    from amtterm.config import stored_password

    def password(user: str) -> str:
        stored = None if (args.password or os.environ.get(PASSWORD_ENV)) else stored_password(entry)
        return stored or read_password(args, user, entry.name)

    return password


def resolve_cli_sol(args: argparse.Namespace, entry: HostEntry, **choices: Any) -> SolEndpoint:
    """The SOL endpoint of ``sol`` and ``share``: their connection options over the hosts file.

    A malformed ``--jump`` is said before the password is asked for.
    """
    from amtterm.session.connect import resolve_sol

    hops = jump_hops(args.jump, entry.jump)
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
        hops=hops,
        ssh_config=args.ssh_config,
        **choices,
    )


async def _sol(args: argparse.Namespace) -> int:
    from amtterm.config import load_hosts
    from amtterm.rawmode import run_raw
    from amtterm.session.connect import open_sol

    entry = load_hosts(args.hosts_file).lookup(args.host)
    endpoint = resolve_cli_sol(args, entry, peer_timeout=args.timeout)
    client = await open_sol(endpoint)
    if args.verbose:
        route = endpoint.route
        through = f" through {route}" if route is not None else ""
        note = f"amtterm: connected to {endpoint.address}:{endpoint.port}{through}; quit with Ctrl-] or ~.\r"
        print(note, file=sys.stderr, flush=True)
    charset = args.charset or ("cp437" if entry.encoding == "cp437" else "raw")
    try:
        recorder = _open_recorder(args, charset, title=f"amtterm sol {entry.name}")
    except AmtError:
        await client.close()
        raise
    try:
        await run_raw(client, enter=args.enter, charset=charset, recorder=recorder)
    finally:
        if recorder is not None:
            recorder.close()
    return 0


def _open_recorder(args: argparse.Namespace, charset: str, *, title: str) -> ConsoleRecorder | None:
    """The --record / --log files as one recorder, or None. Opened after the password prompt,
    and keys are kept only with --record-input: a password never lands in a recording."""
    from amtterm.session.recorder import AsciicastWriter, ConsoleRecorder, PlainLogWriter

    if args.record is None and args.log is None:
        if args.record_input:
            warn("--record-input does nothing without --record FILE.")
        return None
    encoding = args.record_encoding or ("cp437" if charset == "cp437" else "auto")
    cast = log = None
    try:
        if args.record is not None:
            cast = AsciicastWriter.open(
                args.record, encoding=encoding, record_input=args.record_input, title=title
            )
        if args.log is not None:
            log = PlainLogWriter.open(args.log, encoding=encoding)
    except AmtError:
        if cast is not None:
            cast.close()
        raise
    return ConsoleRecorder(cast, log)


# -- sim and demo -------------------------------------------------------------------------------


def _version(text: str) -> tuple[int, int]:
    try:
        major, _, minor = text.partition(".")
        return int(major), int(minor or 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an AMT version: {text!r} (e.g. 11.8 or 16)") from None


def port_or_off(text: str) -> int | None:
    """A port number, 0 for any free port, or off/none for no listener (argparse type)."""
    if text in ("off", "none"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def _size(text: str) -> tuple[int, int]:
    cols, _, rows = text.partition("x")
    try:
        size = int(cols), int(rows)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a screen size: {text!r} (e.g. 80x25)") from None
    if size not in ((80, 25), (80, 24), (100, 30)):
        raise argparse.ArgumentTypeError("screen size must be 80x25, 80x24 or 100x30")
    return size


async def _sim(args: argparse.Namespace) -> int:
    from amtterm.sim.app import SimOptions, serve

    if args.password:
        warn("--password puts the password where other users can read it (ps); prefer AMT_PASSWORD.")
    options = SimOptions(
        listen=args.listen,
        redir_port=args.redir_port,
        redir_tls_port=args.redir_tls_port,
        wsman_port=args.wsman_port,
        wsman_tls_port=args.wsman_tls_port,
        user=args.user,
        password=args.password or os.environ.get(PASSWORD_ENV) or None,
        amt_version=args.amt_version,
        power_on=args.power_on,
        columns=args.size[0],
        rows=args.size[1],
        tls_legacy=args.tls_legacy,
        flood_on_attach=args.flood_on_attach,
        qemu=args.qemu,
        qemu_memory=args.qemu_memory,
        control_mode=args.control_mode,
        hosts=args.hosts,
        lms=args.lms,
        write_hosts=args.write_hosts,
        wsman_delay=max(0.0, args.wsman_delay),
    )
    return await serve(options)


# -- known-hosts --------------------------------------------------------------------------------


async def _known_hosts(args: argparse.Namespace) -> int:
    from amtterm.known_hosts import KnownHosts, parse_host_port

    known = KnownHosts.default()
    if args.action == "list":
        for (host, port), fp in known.entries():
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            print(f"{shown} {fp}")
        return 0
    host, port = parse_host_port(args.target)
    if known.remove(host, port):
        print(f"amtterm: forgot the certificate of {args.target}; the next connection will ask again.")
        return 0
    raise ConfigError(f"No pinned certificate for {args.target}.")


# -- parser -------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks of errors")

    parser = argparse.ArgumentParser(
        prog="amtterm",
        description="Terminal console for Intel AMT: Serial-over-LAN, power and boot control.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"amtterm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sol = sub.add_parser(
        "sol",
        parents=[common],
        help="raw Serial-over-LAN console on this terminal (like classic amtterm)",
        description="Open the Serial-over-LAN console of HOST on this terminal. "
        "TLS on 16995 with digest auth by default; quit with Ctrl-] or ~. after Enter.",
    )
    sol.add_argument("host", help="a name from the hosts file, or an AMT host name or address")
    sol.add_argument("port", nargs="?", type=int, help="redirection port (default 16995, or 16994 with -P)")
    _add_connection_options(sol)
    sol.add_argument("-L", "--legacy", action="store_true", help="legacy plain auth (AMT 11 and older)")
    sol.add_argument(
        "--enter", choices=sorted(ENTER_CHOICES), default="cr", help="what Enter sends (default cr)"
    )
    sol.add_argument(
        "--charset",
        choices=["raw", "cp437"],
        help="raw: pass bytes through (default, or the hosts file's encoding); "
        "cp437: show BIOS box drawing on a UTF-8 terminal",
    )
    sol.add_argument(
        "--hosts-file", type=Path, help="hosts file (default: hosts.toml in the config directory)"
    )
    sol.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        help="give up after this many seconds without a byte from the device (default 20)",
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
        help="how --record and --log read the console's bytes (default: cp437 with --charset cp437, "
        "else auto: UTF-8 where valid, CP437 otherwise)",
    )
    sol.set_defaults(func=_sol)

    sim = sub.add_parser(
        "sim",
        parents=[common],
        help="run a simulated AMT device on this machine",
        description="Serve a simulated AMT device: the redirection port, plain and TLS, with a synthetic "
        f"PC behind it. Password from {PASSWORD_ENV}; without one a password is generated and printed.",
    )
    sim.add_argument("--listen", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument(
        "--redir-port", type=port_or_off, default=16994, help="plain port, 0 = any free, off = none"
    )
    sim.add_argument(
        "--redir-tls-port", type=port_or_off, default=16995, help="TLS port, 0 = any free, off = none"
    )
    sim.add_argument("--user", default="admin", help="AMT user name (default admin)")
    sim.add_argument("--password", help=f"password (discouraged: use {PASSWORD_ENV})")
    sim.add_argument(
        "--amt-version",
        type=_version,
        default=(11, 8),
        help="firmware version: 11.x accepts legacy plain auth, 12 and later digest only (default 11.8)",
    )
    sim.add_argument(
        "--power-on",
        choices=["first-console", "start", "off"],
        default="first-console",
        help="when the simulated PC powers on (default: when the first SOL console attaches)",
    )
    sim.add_argument("--size", type=_size, default=(80, 25), help="remote screen: 80x25, 80x24 or 100x30")
    sim.add_argument("--tls-legacy", action="store_true", help="also offer TLS 1.0/1.1, like old firmware")
    sim.add_argument(
        "--flood-on-attach",
        type=int,
        default=0,
        metavar="BYTES",
        help="benchmarks: send each console that starts SOL BYTES of ANSI test output first",
    )
    sim.add_argument(
        "--qemu",
        action="store_true",
        help="the PC is a real QEMU machine (SeaBIOS; its serial port is the SOL console) instead of "
        "the synthetic one; needs qemu-system-x86_64",
    )
    sim.add_argument(
        "--qemu-memory",
        type=_positive,
        default=1024,
        metavar="MB",
        help="memory of the QEMU machine (default 1024: an installer's initrd needs room)",
    )
    sim.add_argument(
        "--wsman-port", type=port_or_off, default=16992, help="WS-Man HTTP port (0 = free, off)"
    )
    sim.add_argument(
        "--wsman-tls-port", type=port_or_off, default=16993, help="WS-Man HTTPS port (0 = free, off)"
    )
    sim.add_argument(
        "--control-mode",
        choices=("admin", "client"),
        default="admin",
        help="client: boot options need user consent, with the code shown on the host's screen",
    )
    sim.add_argument(
        "--hosts",
        type=_positive,
        default=1,
        metavar="N",
        help="serve N devices on 127.0.0.1, 127.0.0.2, ... (same ports), or on free ports",
    )
    sim.add_argument(
        "--lms", action="store_true", help="Intel LMS in the host OS: offer soft-off and soft-reset"
    )
    sim.add_argument(
        "--write-hosts", type=Path, metavar="FILE", help="write a hosts file naming the simulated devices"
    )
    sim.add_argument(
        "--wsman-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="benchmarks: answer each WS-Man request this much later, like a busy ME or a far network",
    )
    sim.set_defaults(func=_sim)

    tui = sub.add_parser(
        "tui",
        parents=[common],
        help="the full-screen console of one or more hosts (also: amtterm HOST)",
        description="Open the console of each HOST (hosts-file names or addresses; default: every host in "
        "the hosts file) with power, boot and info panes. Commands sit behind Ctrl-]; Ctrl-] h lists them.",
    )
    add_tui_arguments(tui)
    tui.set_defaults(func=run_tui)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="start a simulated AMT machine and open its console",
        description="Start a simulated AMT 16 machine in this process and open its console over TLS with "
        "digest auth. Press F2 during POST for BIOS setup; Ctrl-] h lists the commands, Ctrl-] q quits.",
    )
    add_demo_arguments(demo)
    demo.set_defaults(func=run_demo_tui)

    kh = sub.add_parser(
        "known-hosts",
        parents=[common],
        help="list or forget pinned TLS certificates",
        description="Pinned device certificates (trust on first use), kept in the config directory.",
    )
    kh_sub = kh.add_subparsers(dest="action", metavar="ACTION", required=True)
    kh_sub.add_parser("list", help="show every pinned certificate")
    remove = kh_sub.add_parser("remove", help="forget the certificate of HOST:PORT")
    remove.add_argument("target", metavar="HOST:PORT")
    kh.set_defaults(func=_known_hosts)
    add_wsman_commands(sub, common)
    add_ider_command(sub, common)
    add_replay_command(sub, common)
    add_expect_command(sub, common)
    add_share_commands(sub, common)
    return parser


ENTER_CHOICES = {"cr", "crlf", "lf"}


def _named_host(args: argparse.Namespace) -> str | None:
    """The one host the command line names, as the user wrote it (for fix-it commands)."""
    host = getattr(args, "host", None)
    if isinstance(host, str):
        return host
    words = getattr(args, "words", None)  # amtterm power HOST ACTION, or power status HOST
    if isinstance(words, list) and len(words) == 2:
        return str(words[1] if words[0] == "status" else words[0])
    return None


def _parse(
    parser: argparse.ArgumentParser, commands: dict[str, argparse.ArgumentParser], words: list[str]
) -> argparse.Namespace:
    """Parse with options anywhere among a sub-command's words (``amtterm power pc42 -P on``).

    Plain argparse stops filling positionals at the first option, so ``power pc42 -P on`` would
    leave ``on`` over; the sub-command's own ``parse_intermixed_args`` takes them in any order.
    Sub-commands it cannot handle (nested sub-commands) are parsed the usual way. Options before
    the command word are read with the ``tui`` parser's (as :func:`tui_argv` does), so that the
    value of one (``amtterm -J bastion tui pc42``) is not taken for the command.
    """
    tui = commands.get("tui")
    index = first_word(words, value_options(tui) if tui is not None else ())
    if index is None or words[index] not in commands or any(w in ("-h", "--help") for w in words[:index]):
        return parser.parse_args(words)
    command = words[index]
    try:
        args = commands[command].parse_intermixed_args([*words[:index], *words[index + 1 :]])
    except TypeError:  # argparse: this sub-command's shape cannot be intermixed
        return parser.parse_args(words)
    args.command = command
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``amtterm`` command."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    # `amtterm HOST` is `amtterm tui HOST`.
    args = _parse(parser, commands, tui_argv(list(sys.argv[1:] if argv is None else argv), commands))
    if args.command is None:
        parser.print_help()
        return 2
    func: Callable[[argparse.Namespace], Coroutine[Any, Any, int]] = args.func
    try:
        result = asyncio.run(func(args))
    except KeyboardInterrupt:
        print("amtterm: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say, as other Unix tools.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 141
    except AmtError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"amtterm: {exc.naming(_named_host(args))}", file=sys.stderr, flush=True)
        return exc.exit_status
    except Exception as exc:  # a bug: still one sentence unless --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"amtterm: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
                file=sys.stderr,
            )
        return 70
    return result


if __name__ == "__main__":
    sys.exit(main())

"""Command line: argument parsing, then one of the sub-commands.

    amtterm HOST | tui HOST...  the full-screen console (Textual) with power, boot and info panes
    amtterm demo                start the simulator in this process and open its console
    amtterm sol HOST [PORT]     raw Serial-over-LAN console (drop-in for classic amtterm)
    amtterm sim                 run a simulated AMT device
    amtterm power|boot|redirection|consent|info|doctor HOST ...   WS-Management (wsman.py)
    amtterm ider HOST ...       serve an image over IDE-R (ider.py)
    amtterm kvm HOST --screenshot FILE.png   the remote screen over KVM as a picture (kvm.py)
    amtterm reinstall HOST --image FILE   boot from an ISO / .efi: HTTPS boot or IDE-R (reinstall.py)
    amtterm known-hosts ...     list or forget pinned TLS certificates (pins.py)
    amtterm expect HOST STEP... wait for screen text and send keys (expect.py)
    amtterm share / attach      share a console over SSH, or watch one (share.py)
    amtterm replay FILE         play a recording (replay.py)

Every failure is printed as one sentence, ``amtterm: ...``, with a non-zero exit
status; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from amtterm import __version__
from amtterm.cli.expect import add_expect_command
from amtterm.cli.ider import add_ider_command
from amtterm.cli.kvm import add_kvm_command
from amtterm.cli.pins import add_known_hosts_command
from amtterm.cli.reinstall import add_reinstall_command
from amtterm.cli.replay import add_replay_command
from amtterm.cli.share import add_share_commands
from amtterm.cli.sim import add_sim_command
from amtterm.cli.sol import add_sol_command
from amtterm.cli.tui import (
    add_demo_arguments,
    add_tui_arguments,
    first_word,
    run_demo_tui,
    run_tui,
    tui_argv,
    value_options,
)
from amtterm.cli.wsman import add_wsman_commands
from amtterm.errors import AmtError


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

    add_sol_command(sub, common)
    add_sim_command(sub, common)
    tui = sub.add_parser(
        "tui",
        parents=[common],
        help="the full-screen console of one or more hosts (also: amtterm HOST)",
        description="Open the console of each HOST (hosts-file names or addresses; default: every host in "
        "the hosts file) with power, boot and info panes. Commands sit behind Ctrl-]; Ctrl-] h lists them, "
        "Ctrl-] v shows the PC's screen over KVM.",
    )
    add_tui_arguments(tui)
    tui.set_defaults(func=run_tui)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="start a simulated AMT machine and open its console",
        description="Start a simulated AMT 16 machine in this process and open its console over TLS with "
        "digest auth. Press F2 during POST for BIOS setup; Ctrl-] h lists the commands, Ctrl-] v shows its "
        "screen over KVM, Ctrl-] q quits.",
    )
    add_demo_arguments(demo)
    demo.set_defaults(func=run_demo_tui)

    add_known_hosts_command(sub, common)
    add_wsman_commands(sub, common)
    add_ider_command(sub, common)
    add_kvm_command(sub, common)
    add_reinstall_command(sub, common)
    add_replay_command(sub, common)
    add_expect_command(sub, common)
    add_share_commands(sub, common)
    return parser


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

"""``amtterm expect HOST [PORT] STEP...``: wait for text on a console and send keys, from a script.

    amtterm expect pc42 --wait "Press F2" --send F2 --wait "Save & Exit" --screen
    amtterm expect pc42 --script enter-setup.txt --timeout 60
    amtterm expect pc42 -J admin@bastion --wait "Press F2"     # through SSH jump hosts, as sol -J

The steps run in the order given on the command line:

    --wait TEXT      wait until TEXT shows up (see :mod:`amtterm.expect` for what counts)
    --wait-re REGEX  the same with a Python regular expression
    --send KEYS      press keys by name, several separated by spaces: F2, "Down Down Enter"
    --type TEXT      type text at a BIOS-safe pace; <enter>, <f2>, <esc> inside it are keys
    --sleep SECONDS  pause
    --script FILE    the steps of FILE, one per line: "wait Press F2", "send F2", "type admin<enter>",
                     "wait-re ...", "sleep 1", and "timeout 60" for the waits after it; # comments

``--timeout`` is how long each wait may take (default 30 s, wherever it stands). Exit status 0
when every step passed; 3 with one sentence when a wait timed out (``--screen`` then shows the
screen as it was); the usual sentences and statuses for connection, password and TLS failures.
Keys and steps are checked before anything connects.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amtterm.errors import ConfigError, ExpectTimeout

DEFAULT_TIMEOUT = 30.0
_KINDS = ("wait", "wait-re", "send", "type", "sleep")


@dataclass(frozen=True)
class Step:
    """One step of a script: what to do, its argument, and (waits) how long it may take."""

    kind: str
    value: str
    timeout: float | None = None
    where: str = "the command line"

    def describe(self) -> str:
        """The step as a person would write it."""
        return f"{self.kind} {self.value}"


class _StepAction(argparse.Action):
    """Appends (kind, value) to ``namespace.steps``, keeping the command line's order."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: Any = None
    ) -> None:
        steps = list(getattr(namespace, "steps", None) or [])
        steps.append((self.dest, str(values)))
        namespace.steps = steps


def _seconds(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(f"{where}: {text!r} is not a number of seconds.")
    return value


def read_script(path: Path) -> list[Step]:
    """The steps of a script file.

    Raises:
        ConfigError: missing or unreadable file, or a line that is no step (with its number).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"No script at {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Cannot read the script {path}: {getattr(exc, 'strerror', None) or exc}."
        ) from None
    steps: list[Step] = []
    timeout: float | None = None
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        kind, _, value = text.partition(" ")
        where = f"{path} line {number}"
        value = value.strip()
        if kind == "timeout":
            timeout = _seconds(value, where)
        elif kind in _KINDS and value:
            steps.append(Step(kind, value, timeout, where))
        else:
            raise ConfigError(
                f"{where} is not a step: write wait, wait-re, send, type, sleep or timeout and its argument."
            )
    return steps


def plan(args: argparse.Namespace) -> list[Step]:
    """The steps in order, script files expanded, everything checked before connecting.

    Raises:
        ConfigError: no steps, an unknown key, a bad regex, a bad number, a broken script.
    """
    from amtterm.expect import key_bytes
    from amtterm.terminal.keymap import check_mode

    steps: list[Step] = []
    for kind, value in getattr(args, "steps", None) or []:
        if kind == "script":
            steps += read_script(Path(value))
        else:
            name = kind.replace("_", "-")
            steps.append(Step(name, value, where=f"--{name} {value}"))
    if not steps:
        raise ConfigError("Nothing to do: give steps such as --wait TEXT --send KEY (see amtterm expect -h).")
    mode = check_mode(args.fkeys or "intel")
    for step in steps:
        if step.kind == "send":
            for name in step.value.split():
                try:
                    key_bytes(name, mode)
                except ConfigError as exc:
                    raise ConfigError(f"{step.where}: {exc}") from None
        elif step.kind == "wait-re":
            try:
                re.compile(step.value)
            except re.error as exc:
                raise ConfigError(
                    f"{step.where}: {step.value!r} is not a regular expression ({exc})."
                ) from None
        elif step.kind == "sleep":
            _seconds(step.value, step.where)
    return steps


async def run_steps(console: Any, steps: Sequence[Step], *, timeout: float, verbose: bool = False) -> None:
    """Run ``steps`` on an :class:`amtterm.expect.Console`.

    Raises:
        ExpectTimeout: a wait ran out of time.
        SessionError: the session ended.
    """
    for step in steps:
        if step.kind in ("wait", "wait-re"):
            pattern = re.compile(step.value) if step.kind == "wait-re" else step.value
            found = await console.expect(pattern, step.timeout if step.timeout is not None else timeout)
            where = f"at row {found.row + 1}" if found.row is not None else "in the output"
            _say(verbose, f"found {found.text!r} {where}")
        elif step.kind == "send":
            await console.send_keys(*step.value.split())
            _say(verbose, f"sent {step.value}")
        elif step.kind == "type":
            await console.type_text(step.value)
            _say(verbose, f"typed {len(step.value)} characters")
        elif step.kind == "sleep":
            await asyncio.sleep(_seconds(step.value, step.where))


def _say(verbose: bool, text: str) -> None:
    if verbose:
        print(f"amtterm expect: {text}", file=sys.stderr, flush=True)


def _print_screen(console: Any) -> None:
    lines = console.screen_text().split("\n")
    while lines and not lines[-1]:
        lines.pop()
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


async def run_expect(args: argparse.Namespace) -> int:
    """``amtterm expect``: connect, run the steps, print the screen if asked."""
    from amtterm.cli import common
    from amtterm.cli.recording import open_console_recorder
    from amtterm.config import load_hosts
    from amtterm.expect import ConnectOptions, open_console
    from amtterm.transport.jump import jump_hops

    steps = plan(args)
    jump_hops(args.jump)  # a malformed --jump is its own sentence, before anything connects
    entry = load_hosts(args.hosts_file).lookup(args.host)
    user = args.user or entry.user or "admin"
    password = common.cli_password(args, entry)(user)
    recorder = open_console_recorder(args, args.encoding or "auto", title=f"amtterm expect {entry.name}")
    options = ConnectOptions(
        port=args.port,
        user=user,
        password=password,
        plain=True if args.plain else None,
        cafile=args.cafile,
        accept_new=args.accept_new,
        ask=common.ask_on_terminal if common.terminal_available() else None,
        tls_legacy=args.tls_legacy,
        legacy_auth=args.legacy,
        hosts_file=args.hosts_file,
        size=args.size,
        encoding=args.encoding,
        fkeys=args.fkeys,
        enter=args.enter,
        recorder=recorder,
        jump=args.jump,
        ssh_config=args.ssh_config,
    )
    try:
        console = await open_console(args.host, options)
    except BaseException:
        if recorder is not None:
            recorder.close()
        raise
    try:
        await run_steps(console, steps, timeout=args.timeout, verbose=args.verbose)
    except ExpectTimeout as exc:
        if args.screen:
            _print_screen(console)
        if args.debug:
            traceback.print_exc()
        print(f"amtterm: {exc.sentence}", file=sys.stderr, flush=True)
        return exc.exit_status
    finally:
        await console.close()
    if args.screen:
        _print_screen(console)
    return 0


def add_expect_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``amtterm expect`` on ``sub`` (the main parser's ``add_subparsers()``)."""
    from amtterm.cli.common import add_connection_options, port, positive_seconds, screen_size

    parser = sub.add_parser(
        "expect",
        parents=[common],
        help="wait for text on a console and send keys, from the command line or a script",
        description="Connect to HOST's Serial-over-LAN console and run the steps in the order given: "
        '--wait "Press F2" --send F2 --wait "Save & Exit". A wait passes when the text shows up on the '
        "screen (text that was already there when keys were last sent does not count) or in the output "
        "that came since. Exit status 0 when every step passed, 3 when a wait timed out.",
        epilog='Script files hold one step per line: "wait TEXT", "wait-re REGEX", "send KEYS", '
        '"type TEXT", "sleep SECONDS", and "timeout SECONDS" for the waits after it; # starts a comment.',
    )
    parser.add_argument("host", help="a name from the hosts file, or an AMT host name or address")
    parser.add_argument(
        "port", nargs="?", type=port, help="redirection port (default 16995, or 16994 with -P)"
    )
    add_connection_options(parser)
    steps = parser.add_argument_group("steps (run in the order given)")
    steps.add_argument("--wait", action=_StepAction, metavar="TEXT", help="wait until TEXT shows up")
    steps.add_argument("--wait-re", action=_StepAction, metavar="REGEX", help="wait for a regular expression")
    steps.add_argument(
        "--send", action=_StepAction, metavar="KEYS", help='press keys: F2, Enter, Esc, "Down Down Enter"'
    )
    steps.add_argument(
        "--type", action=_StepAction, metavar="TEXT", help="type text slowly; <enter>, <f2>... are keys"
    )
    steps.add_argument("--sleep", action=_StepAction, metavar="SECONDS", help="pause")
    steps.add_argument("--script", action=_StepAction, metavar="FILE", help="the steps in FILE, one per line")
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long each wait may take (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--screen", action="store_true", help="print the screen at the end (also on timeout)")
    parser.add_argument("-v", "--verbose", action="store_true", help="say what each step found or sent")
    console = parser.add_argument_group("console")
    console.add_argument("--size", type=screen_size, help="remote screen: 80x25 (default), 80x24 or 100x30")
    console.add_argument("--encoding", choices=("auto", "cp437", "utf-8"), help="how the bytes are read")
    console.add_argument(
        "--fkeys", choices=("intel", "alternate", "vt100+", "xterm"), help="F-key convention (default intel)"
    )
    console.add_argument(
        "--enter", choices=("cr", "crlf"), default="cr", help="what Enter sends (default cr)"
    )
    record = parser.add_argument_group("recording")
    record.add_argument("--record", type=Path, metavar="FILE", help="record the session as asciicast v2")
    record.add_argument(
        "--record-input", action="store_true", help="also record the keys sent (never the password)"
    )
    record.add_argument("--log", type=Path, metavar="FILE", help="write the console as plain text")
    parser.set_defaults(func=run_expect, steps=[], record_encoding=None)

"""What every command of the command line shares, written once.

Prompts and questions on the controlling terminal, the password rule, the connection options
(``-u``, ``-p``, ``-P``, ``-C``, ``--accept-new``, ``--tls-legacy``, ``-J``), and the argparse types
for ports, numbers, screen sizes and the prefix key. Nothing here imports another ``cli`` module.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from amtterm.config import PASSWORD_ENV
from amtterm.errors import ConfigError

if TYPE_CHECKING:
    from amtterm.config import HostEntry


ENTER_CHOICES = ("cr", "crlf", "lf")
POWER_ACTIONS = ("status", "on", "off", "cycle", "reset", "soft-off", "soft-reset")
# Words people say for a power action, and the action amtterm calls it.
POWER_SYNONYMS = {
    "restart": "reset",
    "reboot": "reset",
    "powercycle": "cycle",
    "power-cycle": "cycle",
    "start": "on",
    "poweron": "on",
    "power-on": "on",
    "boot": "on",
    "up": "on",
    "stop": "off",
    "poweroff": "off",
    "power-off": "off",
    "halt": "off",
    "down": "off",
    "shutdown": "soft-off",
    "state": "status",
}
SCREENS = ("80x25", "80x24", "100x30")

JUMP_HELP = (
    "reach the device through this SSH jump host, [USER@]HOST[:PORT]; repeat it or separate hops with "
    "commas, outermost first (like ssh -J); 'none' ignores the hosts file's jump"
)


# -- the terminal ---------------------------------------------------------------------------------


def warn(message: str) -> None:
    """Print a one-line warning on stderr."""
    print(f"amtterm: warning: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Let the first Ctrl-C stop a blocking question on the terminal at once.

    Inside ``asyncio.run`` a Ctrl-C only asks the main task to stop at its next ``await``; a
    prompt blocked in ``read()`` never reaches one, so the ^C was echoed and ignored. Here Ctrl-C
    raises KeyboardInterrupt in the read itself (the CLI says "interrupted", exit 130); getpass
    turns echo back on as it leaves.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            print(file=sys.stderr, flush=True)  # past the ^C the terminal echoed
        raise
    finally:
        signal.signal(signal.SIGINT, previous)


def prompt_password(user: str, host: str) -> str:
    """Ask for the password on the controlling terminal.

    Raises:
        ConfigError: there is no terminal to ask on.
    """
    try:
        with open("/dev/tty", "r+b", buffering=0):
            pass
    except OSError:
        raise ConfigError(
            f"No password for {user}@{host}: set {PASSWORD_ENV}, or run on a terminal to be asked."
        ) from None
    with interruptible():
        return getpass.getpass(f"AMT password for {user}@{host}: ")


class Passwords:
    """Every command's passwords, by the one rule of :func:`amtterm.config.known_password`: ``-p``
    (warned about once), the host's own hosts-file entry, ``AMT_PASSWORD``, else one prompt whose
    answer serves every host of the command."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.given: str | None = getattr(args, "password", None) or None
        self._prompted: str | None = None
        self._commands: dict[str, str] = {}
        self._warned = False

    def for_entry(self, entry: HostEntry, user: str, *, prompt_host: str | None = None) -> str:
        """The password of ``user`` on ``entry``.

        Raises:
            ConfigError: the hosts file's reference is broken, or no password and no terminal.
        """
        from amtterm.config import known_password

        if self.given and not self._warned:
            self._warned = True
            warn(f"-p puts the password where other users can read it (ps); prefer {PASSWORD_ENV}.")
        password = known_password(entry, self.given, cache=self._commands)
        if password is not None:
            return password
        if self._prompted is None:
            self._prompted = prompt_password(user, prompt_host or entry.name)
        return self._prompted


def ask_on_terminal(question: str) -> bool:
    """Ask a yes/no question on the controlling terminal (works while stdin is a pipe)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    with contextlib.ExitStack() as stack:
        stack.callback(os.close, fd)
        stack.enter_context(interruptible())
        os.write(fd, f"{question} [y/N] ".encode())
        answer = b""
        while not answer.endswith((b"\n", b"\r")):
            chunk = os.read(fd, 64)
            if not chunk:
                break
            answer += chunk
        return answer.strip().lower() in (b"y", b"yes")


def terminal_available() -> bool:
    """Whether a controlling terminal exists to ask questions on."""
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return False


# -- full-screen apps ------------------------------------------------------------------------------

# Signals that end a full-screen app the orderly way: Textual leaves the alternate screen, turns
# mouse tracking off and shows the cursor again. Killed by the default action instead, the
# terminal would stay as the app left it.
ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class FullScreenApp(Protocol):
    """What :func:`run_app` needs of a Textual app (the command line does not import Textual)."""

    @property
    def return_code(self) -> int | None: ...

    def exit(self, result: Any = None, return_code: int = 0) -> None: ...

    async def run_async(self) -> Any: ...


async def run_app(app: FullScreenApp) -> int:
    """Run a Textual app until it quits, crashes or a signal asks it to stop; the terminal restored.

    Returns:
        The app's exit status; 128 + the signal's number after SIGTERM, SIGHUP or SIGINT.
    """
    loop = asyncio.get_running_loop()
    caught: list[int] = []

    def stop(signum: int) -> None:
        caught.append(signum)
        app.exit(return_code=128 + signum)

    for signum in ENDING_SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    try:
        await app.run_async()
    finally:
        for signum in ENDING_SIGNALS:
            loop.remove_signal_handler(signum)
    if caught:
        return 128 + caught[0]
    return app.return_code or 0


# -- words that are not hosts ---------------------------------------------------------------------


def power_action_for(word: str) -> str | None:
    """The power action ``word`` means (``restart`` -> ``reset``), or None for a word that is no action."""
    lowered = word.lower()
    if lowered in POWER_ACTIONS:
        return lowered
    return POWER_SYNONYMS.get(lowered)


def is_port_number(word: str) -> bool:
    """Whether ``word`` reads as a port number (a host name is never all digits)."""
    return word.isdigit() and 0 < int(word) <= 65535


def check_host_words(command: str, words: list[str], known: Sequence[str]) -> None:
    """Refuse a word among HOSTs that is an action or a port number, with the command meant.

    ``amtterm 127.0.0.1 16994`` is taken for two hosts, the second called "16994"; ``amtterm power
    127.0.0.1 restart`` for two hosts, the second called "restart". Names of the hosts file stay hosts.

    Args:
        command: ``tui`` or ``power`` (what the words were given to).
        words: the words taken for hosts.
        known: the hosts file's names.

    Raises:
        ConfigError: one sentence with the usage meant.
    """
    for word in words:
        if word in known:
            continue
        others = [w for w in words if w != word] or ["HOST"]
        host = others[0]
        action = power_action_for(word)
        if is_port_number(word):
            if command == "power":
                fix = f"amtterm power {host} --wsman-port {word}"
            else:
                fix = f"amtterm sol {host} {word}"
            raise ConfigError(f"{word!r} is a port number, not a host: did you mean `{fix}`?")
        if action is not None:
            named = "a power action" if action == word.lower() else f"the power action {action!r}"
            fix = f"amtterm power {host} {action}"
            raise ConfigError(f"{word!r} is {named}, not a host: did you mean `{fix}`?")


# -- argparse types -------------------------------------------------------------------------------


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


def port(text: str) -> int:
    """A port number from 1 to 65535 (argparse type)."""
    value = port_or_off(text)
    if value is None or value == 0:
        raise argparse.ArgumentTypeError(f"not a port: {text!r} (1-65535)")
    return value


def whole_number(low: int = 1, high: int | None = None) -> Callable[[str], int]:
    """An argparse type for a whole number from ``low`` to ``high`` (no upper bound when None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < low or (high is not None and value > high):
            limits = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {limits}: {value}")
        return value

    return parse


positive = whole_number(1)


def positive_seconds(text: str) -> float:
    """A number of seconds above 0 (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


def non_negative_seconds(text: str) -> float:
    """A number of seconds, 0 or more (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def screen_size(text: str) -> tuple[int, int]:
    """A remote screen size: 80x25, 80x24 or 100x30 (argparse type)."""
    if text not in SCREENS:
        raise argparse.ArgumentTypeError(f"screen size must be one of {', '.join(SCREENS)}, not {text!r}")
    columns, _, rows = text.partition("x")
    return int(columns), int(rows)


def prefix_key(text: str) -> str:
    """The console's command prefix key, as Textual names it (argparse type)."""
    from amtterm.terminal.keynames import parse_prefix

    try:
        return parse_prefix(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- connection options ---------------------------------------------------------------------------


def add_jump_options(parser: Any) -> None:
    """Add ``-J/--jump`` and ``--ssh-config`` to a parser or an argument group."""
    parser.add_argument("-J", "--jump", action="append", metavar="[USER@]HOST[:PORT]", help=JUMP_HELP)
    parser.add_argument(
        "--ssh-config",
        type=Path,
        metavar="FILE",
        help="OpenSSH client config for the jump hosts (default ~/.ssh/config; like ssh -F)",
    )


def add_connection_options(
    parser: Any,
    *,
    plain: str = "plain TCP on port 16994 instead of TLS",
    legacy_auth: str | None = "legacy plain auth (AMT 11 and older)",
) -> None:
    """The options every command that connects to a device takes, on a parser or an argument group.

    Args:
        parser: where to add them.
        plain: the help of ``-P`` (which ports it means differs by command).
        legacy_auth: the help of ``-L``; None for commands without a redirection session.
    """
    parser.add_argument("-u", "--user", help="AMT user name (default: the hosts file's, else admin)")
    parser.add_argument(
        "-p",
        "--password",
        help=f"AMT password (discouraged: visible to other users; use {PASSWORD_ENV} or the prompt)",
    )
    parser.add_argument("-P", "--plain", action="store_true", help=plain)
    parser.add_argument("-C", "--cafile", type=Path, help="verify the device's TLS certificate with this CA")
    parser.add_argument(
        "--accept-new", action="store_true", help="pin an unknown TLS certificate without asking"
    )
    parser.add_argument(
        "--tls-legacy", action="store_true", help="allow TLS 1.0/1.1 for old AMT firmware (before AMT 12)"
    )
    if legacy_auth is not None:
        parser.add_argument("-L", "--legacy", action="store_true", help=legacy_auth)
    parser.add_argument(
        "--hosts-file", type=Path, help="hosts file (default: hosts.toml in the config directory)"
    )
    add_jump_options(parser)


def cli_password(args: argparse.Namespace, entry: HostEntry) -> Callable[[str], str]:
    """One host's password for the user it resolves to (see :class:`Passwords`)."""
    passwords = Passwords(args)
    return lambda user: passwords.for_entry(entry, user)

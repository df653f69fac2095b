"""The full-screen console from the command line: ``amtterm HOST``, ``amtterm tui``, ``amtterm demo``.

    amtterm pc42                      the console of one host (a hosts-file name or an address)
    amtterm tui pc42 pc43             several hosts, with a host list; each console stays connected
    amtterm tui                       every host of the hosts file
    amtterm demo [--hosts 3]          a simulated AMT 16 machine in this process, over TLS + digest

Passwords are found before the screen opens (``-p``, the hosts file's reference,
``AMT_PASSWORD``, else one prompt). Certificates are pinned on first use as ``amtterm sol`` and
``amtterm power`` do; an unknown one is asked about inside the console.

Wiring (amtterm.cli): ``add_tui_arguments(tui_parser)`` + ``set_defaults(func=run_tui)``,
``add_demo_arguments(demo_parser)`` + ``set_defaults(func=run_demo_tui)``, and
``argv = tui_argv(argv, commands)`` before parsing (``commands``: the sub-parsers by name), so that
``amtterm HOST`` means ``amtterm tui HOST``, with options before HOST too.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from amtterm.cli.common import (
    add_connection_options,
    check_host_words,
    prefix_key,
    run_app,
    screen_size,
    whole_number,
)
from amtterm.cli.recording import add_recording_arguments, attach_recorders
from amtterm.errors import ConfigError

if TYPE_CHECKING:
    from amtterm.config import HostEntry, HostsFile
    from amtterm.session import HostController, TrustPrompt
    from amtterm.sim.app import RunningSim
    from amtterm.ui.app import AmtApp
    from amtterm.wsman.target import Target

DEMO_AMT_VERSION = (16, 1)


# -- options ---------------------------------------------------------------------------------------


def add_display_arguments(parser: argparse.ArgumentParser) -> None:
    """How the console shows and types (shared by ``tui`` and ``demo``)."""
    group = parser.add_argument_group("console")
    group.add_argument(
        "--encoding",
        choices=("auto", "cp437", "utf-8"),
        help="how the remote's bytes are read (default: the hosts file's, else auto: CP437 or UTF-8 "
        "guessed from the stream)",
    )
    group.add_argument(
        "--fkeys",
        choices=("intel", "alternate", "vt100+", "xterm"),
        help="F-key convention of the BIOS (default: the hosts file's, else intel: ESC [ O P ...)",
    )
    group.add_argument("--enter", choices=("cr", "crlf"), default="cr", help="what Enter sends (default cr)")
    group.add_argument(
        "--backspace", choices=("bs", "del"), default="bs", help="what Backspace sends (default bs, 0x08)"
    )
    group.add_argument(
        "--screen", type=screen_size, help="remote screen size: 80x25, 80x24 or 100x30 (default 80x25)"
    )
    group.add_argument("--theme", help="amtterm-dark (default), amtterm-light, bios-blue, or your own")
    group.add_argument(
        "--prefix",
        type=prefix_key,
        default="ctrl+right_square_bracket",
        metavar="KEY",
        help="the key before the console's own commands (default ctrl+], like telnet; e.g. ctrl+a)",
    )
    group.add_argument("--no-panes", action="store_true", help="start with the side panes hidden")
    group.add_argument(
        "--kvm-graphics",
        choices=("auto", "sixel", "halfblock"),
        default="halfblock",
        help="how the KVM view draws the PC's screen: halfblock (the default: any terminal, tmux "
        "included), sixel (pixels), or auto (sixel when the terminal says it has it; asking it costs "
        "about 0.3 s at start)",
    )


def add_tui_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``amtterm tui [HOST...]`` (and of ``amtterm HOST``)."""
    parser.add_argument(
        "hosts",
        nargs="*",
        metavar="HOST",
        help="hosts-file names or addresses (default: every host in the file)",
    )
    group = parser.add_argument_group("connection")
    add_connection_options(
        group,
        plain="plain TCP (16994 / 16992) instead of TLS (16995 / 16993)",
        legacy_auth="legacy plain SOL auth (AMT 11 and older)",
    )
    group.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for WS-Man replies")
    add_display_arguments(parser)
    add_recording_arguments(parser)


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``amtterm demo``."""
    parser.add_argument(
        "--hosts",
        type=whole_number(1, 50),
        default=1,
        metavar="N",
        help="simulate N machines (a host list appears)",
    )
    parser.add_argument(
        "--qemu",
        action="store_true",
        help="the simulated PC is a real QEMU machine with SeaBIOS (needs qemu-system-x86_64)",
    )
    parser.add_argument(
        "--firmware",
        choices=("bios", "uefi"),
        default="bios",
        help="with --qemu: bios = SeaBIOS (default), uefi = OVMF on a q35 machine (needs the ovmf package)",
    )
    add_display_arguments(parser)
    add_recording_arguments(parser)


def value_options(parser: argparse.ArgumentParser) -> frozenset[str]:
    """The option strings of ``parser`` that take a value (``-J``, ``--hosts-file``), from its actions."""
    return frozenset(
        option for action in parser._actions if action.nargs != 0 for option in action.option_strings
    )


def first_word(words: Sequence[str], takes_value: Collection[str]) -> int | None:
    """The index of the first word that is neither an option nor the value of one, or None.

    Args:
        words: command-line words.
        takes_value: the option strings whose value is the next word (see :func:`value_options`);
            ``--opt=value`` and ``-Jvalue`` carry theirs inside, and in ``-PJ host`` the last
            letter's option takes the next word.
    """
    skip = False
    for index, word in enumerate(words):
        if skip:
            skip = False
        elif not word.startswith("-") or word == "-":
            return index
        elif word.startswith("--"):
            skip = "=" not in word and word in takes_value
        else:  # -J, -Jvalue, -PJ (flags, then one that takes the next word)
            for at in range(1, len(word)):
                if f"-{word[at]}" in takes_value:
                    skip = at == len(word) - 1
                    break
    return None


def tui_argv(
    argv: Sequence[str], commands: Mapping[str, argparse.ArgumentParser] | Collection[str]
) -> list[str]:
    """``amtterm HOST ...`` is ``amtterm tui HOST ...``: insert ``tui`` when the first word is no command.

    Options may stand before HOST (``amtterm -J bastion pc42``): the values of the ``tui``
    parser's options that take one are skipped, so ``bastion`` is not taken for the host.

    Args:
        argv: the arguments after the program name.
        commands: the sub-commands by name (the ``tui`` one tells which options take a value);
            a plain collection of names skips no values.
    """
    words = list(argv)
    tui = commands.get("tui") if isinstance(commands, Mapping) else None
    first = first_word(words, value_options(tui) if tui is not None else ())
    if first is None:
        # Options alone (amtterm --prefix C-a): the console's, unless only the program's own.
        own = ("-h", "--help", "--debug", "--version")
        console = any(w.startswith("-") and w.split("=", 1)[0] not in own for w in words)
        return ["tui", *words] if console and tui is not None else words
    if words[first] in commands:
        return words
    # Options before HOST (amtterm --debug pc42) stay in front of "tui".
    return [*words[:first], "tui", *words[first:]]


# -- building the hosts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Display:
    """How one host's console is shown and typed into."""

    screen: tuple[int, int] = (80, 25)
    encoding: str = "auto"
    key_mode: str = "intel"
    enter: str = "cr"
    backspace: str = "bs"

    @classmethod
    def from_args(cls, args: argparse.Namespace, entry: HostEntry | None = None) -> Display:
        """Command line first, then the hosts file, then the defaults."""
        return cls(
            screen=getattr(args, "screen", None) or (entry.screen if entry else None) or (80, 25),
            encoding=getattr(args, "encoding", None) or (entry.encoding if entry else None) or "auto",
            key_mode=getattr(args, "fkeys", None) or (entry.fkeys if entry else None) or "intel",
            enter=getattr(args, "enter", None) or "cr",
            backspace=getattr(args, "backspace", None) or "bs",
        )


def make_link(
    target: Target,
    password: str,
    display: Display,
    *,
    trust: TrustPrompt | None,
    known_hosts: Path | None = None,
    accept_new: bool = False,
    tls_legacy: bool = False,
    legacy_auth: bool = False,
    timeout: float = 10.0,
    wsman: bool = True,
    ssh_config: Path | None = None,
) -> HostController:
    """One host's HostController: SOL over TLS or plain TCP, and WS-Man for the panes.

    Both reach the device by the one resolved endpoint (``target.endpoint``) and check its
    certificate by the one rule (:func:`amtterm.transport.trust.check_certificate`): a hosts-file
    ``tls_pin`` is compared as it is, without known_hosts.

    Args:
        target: the resolved host.
        password: its AMT password.
        display: how its console is shown.
        trust: asks about unknown certificates and jump-host keys inside the UI.
        known_hosts: the pin file (the user's default when None).
        accept_new: pin unknown certificates without asking.
        tls_legacy: allow TLS 1.0/1.1 (also when the target's own choice does not say so).
        legacy_auth: legacy plain SOL auth (AMT 11 and older).
        timeout: WS-Man reply timeout.
        wsman: give the panes WS-Man (False: the panes say it is not set up).
        ssh_config: the OpenSSH client config for the target's jump hosts (default ~/.ssh/config).
    """
    from amtterm.session import HostController, HostProfile, console_config
    from amtterm.terminal.keymap import check_mode
    from amtterm.transport.known_hosts import KnownHosts
    from amtterm.wsman.services import DeviceService

    endpoint = target.endpoint
    if tls_legacy and endpoint.tls is not None and not endpoint.tls.legacy:
        endpoint = dataclasses.replace(endpoint, tls=dataclasses.replace(endpoint.tls, legacy=True))
        target = dataclasses.replace(target, endpoint=endpoint)
    # An unknown jump-host key is asked about inside the UI, like an unknown certificate.
    route = endpoint.route(ssh_config=ssh_config, ask=trust)
    service = (
        DeviceService(
            target,
            password,
            known_hosts=KnownHosts(known_hosts) if known_hosts is not None else None,
            accept_new=accept_new,
            ask=trust,
            timeout=timeout,
            via=route,
        )
        if wsman
        else None
    )
    profile = HostProfile(
        name=endpoint.name,
        address=endpoint.address,
        redir_port=endpoint.redir_port,
        tls=endpoint.tls_options(accept_new=accept_new, ask=trust, known_hosts=known_hosts),
        console=console_config(endpoint.user, password, legacy_auth=legacy_auth),
        screen=display.screen,
        encoding=display.encoding,
        key_mode=check_mode(display.key_mode),
        enter="crlf" if display.enter == "crlf" else "cr",
        backspace="del" if display.backspace == "del" else "bs",
        service=service,
        via=route,
    )
    return HostController(profile)


def demo_links(
    sim: RunningSim,
    display: Display,
    *,
    known_hosts: Path,
    user: str = "admin",
    trust: TrustPrompt | None = None,
) -> list[HostController]:
    """Controllers for every device of a running simulator: TLS where it serves TLS, pinned on first use."""
    from amtterm.config import HostEntry
    from amtterm.wsman.target import resolve_target

    links = []
    for host in sim.hosts:
        redir_tls = host.port("redirection", True)
        tls = redir_tls is not None
        redir = redir_tls if tls else host.port("redirection", False)
        wsman = host.port("wsman", tls)
        entry = HostEntry(
            name=host.name, address=host.address, user=user, tls=tls, redir_port=redir, wsman_port=wsman
        )
        links.append(
            make_link(
                resolve_target(entry),
                sim.password,
                display,
                trust=trust,
                known_hosts=known_hosts,
                accept_new=True,
                wsman=wsman is not None,
            )
        )
    return links


def tui_hosts(args: argparse.Namespace) -> tuple[HostsFile, list[str]]:
    """The hosts file and the names the console shows (every host of the file when none is named).

    Raises:
        ConfigError: a broken hosts file, or no host at all.
    """
    from amtterm.config import load_hosts

    hosts_file = load_hosts(args.hosts_file)
    check_host_words("tui", args.hosts, hosts_file.names)
    names = list(dict.fromkeys(args.hosts)) or hosts_file.names
    if not names:
        raise ConfigError(
            f"Name a host: 'amtterm HOST', or list machines in {hosts_file.path} "
            "('amtterm sim --write-hosts FILE' writes an example)."
        )
    return hosts_file, names


def tui_links(
    args: argparse.Namespace,
    trust: TrustPrompt | None,
    hosts: tuple[HostsFile, list[str]] | None = None,
) -> list[HostController]:
    """The console's hosts from the command line: each resolved by the one resolver, passwords found.

    Args:
        args: the parsed ``amtterm tui`` options.
        trust: asks about unknown certificates and jump-host keys inside the UI.
        hosts: from :func:`tui_hosts` (read again when None).

    Raises:
        ConfigError: no host, a broken hosts file, a malformed ``--jump``, no password.
    """
    from amtterm.cli.common import Passwords
    from amtterm.wsman.target import resolve_target

    hosts_file, names = hosts if hosts is not None else tui_hosts(args)
    passwords = Passwords(args)
    prompt_host = names[0] if len(names) == 1 else f"{len(names)} hosts"
    links = []
    for name in names:
        entry = hosts_file.lookup(name)
        target = resolve_target(
            entry,
            user=args.user,
            plain=args.plain,
            cafile=args.cafile,
            jump=args.jump,
            tls_legacy=args.tls_legacy,
        )
        password = passwords.for_entry(target.entry, target.user, prompt_host=prompt_host)
        links.append(
            make_link(
                target,
                password,
                Display.from_args(args, entry),
                trust=trust,
                accept_new=args.accept_new,
                legacy_auth=args.legacy,
                timeout=args.timeout,
                ssh_config=args.ssh_config,
            )
        )
    return links


def _need_terminal() -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError(
            "The console needs a terminal (stdin and stdout): run it in one, or use 'amtterm sol HOST' "
            "for a raw console on pipes."
        )


def _app(args: argparse.Namespace, links: list[HostController], trust: TrustPrompt | None) -> AmtApp:
    from amtterm.ui.app import AmtApp
    from amtterm.ui.kvm_graphics import choose
    from amtterm.ui.themes import load_themes, pick_theme

    themes, problems = load_themes()
    pick_theme(themes, args.theme)  # an unknown theme is a ConfigError before the screen opens
    return AmtApp(
        links,
        themes=themes,
        theme=args.theme,
        prefix=args.prefix,
        show_panes=not args.no_panes,
        trust=trust,
        warnings=problems,
        kvm_graphics=choose(getattr(args, "kvm_graphics", "auto") or "auto"),
    )


async def _run(app: AmtApp, *, debug: bool = False) -> int:
    app.show_tracebacks = debug
    try:
        return await run_app(app)
    finally:
        await app.close_links()


# -- the commands ----------------------------------------------------------------------------------


async def run_tui(args: argparse.Namespace) -> int:
    """``amtterm tui [HOST...]`` / ``amtterm HOST``: the full-screen console.

    Raises:
        ConfigError: no host, a broken hosts file, no password, no terminal, unknown theme.
    """
    from amtterm.session import TrustPrompt

    hosts = tui_hosts(args)  # "Name a host" comes before "needs a terminal"
    _need_terminal()
    trust = TrustPrompt()
    links = tui_links(args, trust, hosts)
    app = _app(args, links, trust)
    attach_recorders(args, links)
    return await _run(app, debug=args.debug)


async def run_demo_tui(args: argparse.Namespace) -> int:
    """``amtterm demo``: simulated AMT 16 machines in this process, their consoles in the TUI.

    The simulator serves redirection over TLS and WS-Man over HTTPS on free loopback ports with
    a generated password; the console connects with digest auth and pins the certificate into
    a temporary known_hosts (the user's own pins are not touched).
    """
    from amtterm.session import TrustPrompt
    from amtterm.sim.app import SimOptions, start_sim

    _need_terminal()
    display = Display.from_args(args)
    options = SimOptions(
        redir_port=None,
        redir_tls_port=0,
        wsman_port=None,
        wsman_tls_port=0,
        amt_version=DEMO_AMT_VERSION,
        power_on="first-console",
        columns=display.screen[0],
        rows=display.screen[1],
        hosts=getattr(args, "hosts", 1) or 1,
        qemu=bool(getattr(args, "qemu", False)),
        firmware=getattr(args, "firmware", "bios") or "bios",
        paced=False,  # amtterm's own console reads exactly: no gaps before the first POST screen
    )
    quiet: list[str] = []  # the simulator's diagnostics would scribble over the screen
    sim = await start_sim(options, log=quiet.append)
    try:
        with tempfile.TemporaryDirectory(prefix="amtterm-demo-") as scratch:
            trust = TrustPrompt()
            links = demo_links(sim, display, known_hosts=Path(scratch) / "known_hosts", trust=trust)
            app = _app(args, links, trust)
            attach_recorders(args, links)
            return await _run(app, debug=args.debug)
    finally:
        await sim.close()

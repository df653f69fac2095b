"""The WS-Management sub-commands: power, boot, redirection, consent, info, doctor.

    amtterm power HOST status|on|off|cycle|reset|soft-off|soft-reset
    amtterm power status HOST1 HOST2 ...     amtterm power status --all
    amtterm boot HOST bios|bios-pause|pxe|disk|cd|ider-cd|ider-floppy|clear [--sol] [--then on|reset]
    amtterm boot HOST https https://SERVER/IMAGE.efi [--ca CA.pem] [--then on|reset]
    amtterm redirection HOST status|enable|disable
    amtterm consent HOST status|request|code NNNNNN
    amtterm info HOST
    amtterm doctor HOST

HOST is a name from the hosts file (amtterm.config) or an address. The connection options
mean what they mean for ``amtterm sol``: ``-u``, ``AMT_PASSWORD`` (or the hosts file's
credential reference, or a prompt), ``-P`` plain HTTP on 16992, ``-C`` a CA file, and
``--accept-new``; TLS certificates are pinned in the same known_hosts, under HOST:16993.
Every command prints people's output, or JSON with ``--json``; every failure is one sentence
(raised as an AmtError for ``amtterm.cli.main``).

This module also adds the WS-Man options of ``amtterm sim`` (``--wsman-port`` and friends).
Imports of the heavy modules (httpx) happen inside the commands, so ``amtterm --help`` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import ssl
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amtterm.cli import common
from amtterm.cli.common import (
    POWER_ACTIONS,
    Passwords,
    add_connection_options,
    port,
    positive,
    whole_number,
)
from amtterm.errors import AmtError, ConfigError, name_host

if TYPE_CHECKING:
    from amtterm.config import HostsFile
    from amtterm.transport.ssh import JumpChain
    from amtterm.wsman.client import WsmanClient
    from amtterm.wsman.target import CertificatePinner, Target

BOOT_TARGETS = ("bios", "bios-pause", "pxe", "disk", "cd", "ider-cd", "ider-floppy", "https", "clear")
#: Where ``boot HOST https`` takes the HTTP password of ``https://USER@server/...`` from.
BOOT_HTTP_PASSWORD_ENV = "AMT_BOOT_HTTP_PASSWORD"
DEFAULT_CONCURRENCY = 16


# -- options ---------------------------------------------------------------------------------------


def connection_options() -> argparse.ArgumentParser:
    """The parent parser of the WS-Man commands (and ``ider``): connection options, ports, ``--json``."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection")
    add_connection_options(group, plain="plain HTTP on 16992 instead of HTTPS on 16993", legacy_auth=None)
    group.add_argument("--wsman-port", type=port, help="WS-Management port (default 16993, or 16992 with -P)")
    group.add_argument("--redir-port", type=port, help="redirection port (default 16995, or 16994 with -P)")
    group.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for each reply (default 10)"
    )
    parent.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parent


def add_wsman_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the WS-Man sub-commands on ``sub`` and the WS-Man options of ``amtterm sim``.

    Args:
        sub: the ``add_subparsers()`` object of the main parser.
        common: the parent parser with the options every command has (``--debug``).
    """
    conn = connection_options()
    parents = [common, conn]

    power = sub.add_parser(
        "power",
        parents=parents,
        help="power status and control of one host, or status of many",
        usage="amtterm power HOST [ACTION] | amtterm power status HOST... | amtterm power status --all",
        description="Read or change the power state. ACTION is one of "
        f"{', '.join(POWER_ACTIONS)} (default status). Several hosts, or --all from the hosts file, "
        "are queried concurrently (status only), one line per host.",
    )
    power.add_argument("words", nargs="*", metavar="HOST|ACTION", help="HOST ACTION, or status HOST...")
    power.add_argument("--all", action="store_true", help="every host in the hosts file")
    power.add_argument(
        "--concurrency",
        type=positive,
        default=DEFAULT_CONCURRENCY,
        help=f"hosts queried at once (default {DEFAULT_CONCURRENCY})",
    )
    power.set_defaults(func=power_command)

    boot = sub.add_parser(
        "boot",
        parents=parents,
        help="one-time boot override: BIOS setup, PXE, disk, CD, IDE-R, UEFI HTTPS (One Click Recovery)",
        usage="amtterm boot HOST TARGET [--sol] [--then on|reset] | "
        "amtterm boot HOST https URL [--ca FILE] [--then on|reset]",
        description="Set the next boot only. With --then, power on or reset right away; with --sol the "
        "BIOS text goes to Serial-over-LAN too, so 'boot HOST bios --sol --then reset' resets into BIOS "
        "setup with the console showing it. 'boot HOST https URL' is One Click Recovery (AMT 16+, "
        "WS-Man over TLS, HTTPS boot enabled in the BIOS): the UEFI firmware fetches the EFI image at "
        "URL; --ca first adds the root CA of that HTTPS server to AMT's trusted roots, which the "
        "firmware is told to trust. The HTTP password of https://USER@server/... comes from "
        f"{BOOT_HTTP_PASSWORD_ENV} or a prompt.",
    )
    boot.add_argument("host", metavar="HOST")
    boot.add_argument("target", choices=BOOT_TARGETS, metavar="TARGET", help=", ".join(BOOT_TARGETS))
    boot.add_argument(
        "url", nargs="?", metavar="URL", help="with https: https://[USER@]SERVER[:PORT]/IMAGE.efi"
    )
    boot.add_argument(
        "--sol", action="store_true", help="redirect BIOS text to SOL (bios, bios-pause, ider-*)"
    )
    boot.add_argument("--then", choices=("on", "reset"), help="power on (when off) or reset right away")
    boot.add_argument(
        "--ca",
        type=Path,
        metavar="FILE",
        help="with https: add this root CA (PEM or DER) of the HTTPS server to AMT's trusted roots first",
    )
    boot.add_argument(
        "--https-timeout",
        type=whole_number(0, 65535),
        metavar="SECONDS",
        help="with https: the firmware's HTTPS request timeout (sent to AMT 17 and later)",
    )
    boot.set_defaults(func=boot_command)

    redirection = sub.add_parser(
        "redirection",
        parents=parents,
        help="redirection listener, SOL and IDE-R: status, enable, disable",
        description="The redirection listener (ports 16994/16995) and its SOL and IDE-R features.",
    )
    redirection.add_argument("host", metavar="HOST")
    redirection.add_argument("action", choices=("status", "enable", "disable"), nargs="?", default="status")
    redirection.set_defaults(func=redirection_command)

    consent = sub.add_parser(
        "consent",
        parents=parents,
        help="user consent (client control mode): status, request, code",
        description="In client control mode boot options and IDE-R need the user's consent: 'request' "
        "shows a 6-digit code on the host's screen, 'code NNNNNN' sends it back.",
    )
    consent.add_argument("host", metavar="HOST")
    consent.add_argument("action", choices=("status", "request", "code"), nargs="?", default="status")
    consent.add_argument("code", nargs="?", metavar="NNNNNN", help="the code shown on the host's screen")
    consent.set_defaults(func=consent_command)

    info = sub.add_parser(
        "info",
        parents=parents,
        help="AMT version, control mode, host name, power, redirection, TLS fingerprint",
        description="What the device says about itself.",
    )
    info.add_argument("host", metavar="HOST")
    info.set_defaults(func=info_command)

    doctor = sub.add_parser(
        "doctor",
        parents=parents,
        help="check TCP, TLS, log-on, listener, SOL/IDE-R, consent and power; say what to fix",
        description="Probe HOST step by step and print a checklist with the fix for whatever is wrong.",
    )
    doctor.add_argument("host", metavar="HOST")
    doctor.set_defaults(func=doctor_command)


# -- connecting ------------------------------------------------------------------------------------


@dataclass
class Connection:
    """An open WS-Man connection to one host (through ``chain`` when it has jump hosts)."""

    target: Target
    client: WsmanClient
    pinner: CertificatePinner | None
    chain: JumpChain | None = None

    @property
    def label(self) -> str:
        """The host as the user named it."""
        return self.target.name


def _hosts_file(args: argparse.Namespace) -> HostsFile:
    from amtterm.config import load_hosts

    return load_hosts(args.hosts_file)


def _target(args: argparse.Namespace, hosts: HostsFile, name: str) -> Target:
    """The one resolver (:func:`amtterm.wsman.target.resolve_target`) over the command's options."""
    from amtterm.wsman.target import resolve_target

    return resolve_target(
        hosts.lookup(name),
        user=args.user,
        plain=args.plain,
        cafile=args.cafile,
        wsman_port=args.wsman_port,
        redir_port=args.redir_port,
        jump=getattr(args, "jump", None),
        tls_legacy=args.tls_legacy,
    )


@contextlib.asynccontextmanager
async def connect(
    args: argparse.Namespace,
    target: Target,
    passwords: Passwords,
    *,
    interactive: bool = True,
    contexts: dict[Path | None, ssl.SSLContext] | None = None,
    prompt_host: str | None = None,
) -> AsyncIterator[Connection]:
    """Open a WS-Man client for ``target`` with its password and certificate checks.

    Args:
        args: the parsed options.
        target: the host.
        passwords: where passwords come from.
        interactive: may ask on the terminal about an unknown certificate.
        contexts: TLS contexts shared between hosts, by CA file.
        prompt_host: what the password prompt calls the host(s).
    """
    from amtterm.wsman.target import CertificatePinner, client_tls_context, open_client

    password = passwords.for_entry(target.entry, target.user, prompt_host=prompt_host)
    pinner = None
    context = None
    ask = common.ask_on_terminal if interactive and common.terminal_available() else None
    if target.tls:
        pinner = CertificatePinner(target, accept_new=args.accept_new, ask=ask)
        if contexts is not None:
            context = contexts.get(target.cafile)
            if context is None:
                context = contexts[target.cafile] = client_tls_context(target.cafile, legacy=target.legacy)
    async with contextlib.AsyncExitStack() as stack:
        chain, uds = None, None
        route = target.endpoint.route(ssh_config=getattr(args, "ssh_config", None), ask=ask)
        if route is not None:
            from amtterm.transport.ssh import unix_forward

            chain, uds = await stack.enter_async_context(
                unix_forward(route, target.address, target.wsman_port)
            )
        client = open_client(
            target,
            password,
            pinner=pinner,
            context=context,
            timeout=args.timeout,
            uds=uds,
        )
        async with client:
            yield Connection(target, client, pinner, chain)


@contextlib.asynccontextmanager
async def connect_one(args: argparse.Namespace, name: str) -> AsyncIterator[Connection]:
    """Open the one host a single-host command names."""
    target = _target(args, _hosts_file(args), name)
    async with connect(args, target, Passwords(args)) as connection:
        yield connection


def emit(args: argparse.Namespace, text: str | Sequence[str], data: Any) -> None:
    """Print ``text`` (a line or lines), or ``data`` as JSON with ``--json``.

    A reader that went away (``| head``) is not an error: the rest of the output is dropped.
    """
    lines = [text] if isinstance(text, str) else list(text)
    output = json.dumps(data, indent=2) if args.json else "\n".join(lines)
    try:
        print(output, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _fix_command(args: argparse.Namespace, name: str) -> Any:
    """A formatter of commands for the doctor's fixes, repeating the options that matter."""
    extra: list[str] = []
    if args.plain:
        extra.append("-P")
    if args.user:
        extra += ["-u", args.user]
    if args.wsman_port:
        extra += ["--wsman-port", str(args.wsman_port)]
    if args.hosts_file:
        extra += ["--hosts-file", str(args.hosts_file)]

    def command(*words: str) -> str:
        return shlex.join(["amtterm", words[0], name, *words[1:], *extra])

    return command


# -- power -----------------------------------------------------------------------------------------


def _power_words(args: argparse.Namespace) -> tuple[str, list[str]]:
    words: list[str] = list(args.words)
    if words and words[0] in POWER_ACTIONS:
        action, hosts = words[0], words[1:]
    elif words and words[-1] in POWER_ACTIONS:
        action, hosts = words[-1], words[:-1]
    else:
        action, hosts = "status", words
    if any(common.is_port_number(w) or common.power_action_for(w) for w in hosts):
        common.check_host_words("power", hosts, _hosts_file(args).names)
    if args.all and hosts:
        raise ConfigError("Give either --all or host names, not both.")
    if not args.all and not hosts:
        raise ConfigError(
            "Name a HOST (amtterm power HOST status), or use --all for every host in the hosts file."
        )
    if (args.all or len(hosts) > 1) and action != "status":
        raise ConfigError(
            f"Only 'status' works on several hosts at once; run 'amtterm power HOST {action}' per host."
        )
    return action, hosts


def _status_line(state: str, actions: Sequence[str]) -> str:
    return f"{state} (can: {', '.join(actions)})" if actions else state


async def power_command(args: argparse.Namespace) -> int:
    """``amtterm power``."""
    from amtterm.wsman import operations

    action, names = _power_words(args)
    if args.all or len(names) > 1:
        return await _power_status_many(args, names)
    async with connect_one(args, names[0]) as conn:
        if action == "status":
            status = await operations.power_status(conn.client)
            data = {"host": conn.label, **status.to_json()}
            emit(args, f"{conn.label}: {_status_line(status.state, status.actions)}", data)
            return 0
        result = await operations.power_action(conn.client, action)
        emit(args, f"{conn.label}: {result.message}", {"host": conn.label, **result.to_json()})
    return 0


async def _power_status_many(args: argparse.Namespace, names: list[str]) -> int:
    from amtterm.wsman import operations

    hosts = _hosts_file(args)
    if args.all:
        names = hosts.names
        if not names:
            where = "is empty" if hosts.exists else "does not exist"
            raise ConfigError(
                f"--all needs hosts: the hosts file {hosts.path} {where} (see 'Many hosts' in the README)."
            )
    passwords = Passwords(args)
    contexts: dict[Path | None, ssl.SSLContext] = {}
    limit = asyncio.Semaphore(args.concurrency)

    async def one(name: str) -> dict[str, Any]:
        async with limit:
            try:
                target = _target(args, hosts, name)
                async with connect(
                    args, target, passwords, interactive=False, contexts=contexts, prompt_host="these hosts"
                ) as conn:
                    status = await operations.power_status(conn.client)
            except AmtError as exc:
                return {"host": name, "error": str(exc.naming(name))}
            return {"host": name, "address": target.address, **status.to_json()}

    results = await asyncio.gather(*(one(name) for name in names))
    width = max(len(name) for name in names)
    lines = [
        f"{r['host']:<{width}}  " + (f"error: {r['error']}" if "error" in r else str(r["state"]))
        for r in results
    ]
    emit(args, lines, results)
    return 1 if any("error" in r for r in results) else 0


# -- boot, redirection, consent ----------------------------------------------------------------------


async def boot_command(args: argparse.Namespace) -> int:
    """``amtterm boot``."""
    from amtterm.wsman import boot

    if args.target == "https":
        return await _https_boot_command(args)
    if args.url is not None or args.ca is not None or args.https_timeout is not None:
        given = "a URL" if args.url is not None else "--ca" if args.ca is not None else "--https-timeout"
        raise ConfigError(f"{given} goes with 'boot HOST https URL' only, not with {args.target}.")
    async with connect_one(args, args.host) as conn:
        result = await boot.boot_override(conn.client, args.target, sol=args.sol, then=args.then)
        emit(args, f"{conn.label}: {result.message}", {"host": conn.label, **result.to_json()})
    return 0


def _boot_url(args: argparse.Namespace) -> str:
    """The URL with the HTTP password in it, taken from the environment or a prompt if needed."""
    from urllib.parse import quote

    from amtterm.wsman.uefi_params import https_boot_params, split_credentials

    if not args.url:
        raise ConfigError("Give the boot URL: amtterm boot HOST https https://SERVER/IMAGE.efi.")
    url: str = args.url
    clean, user, password = split_credentials(url)
    if password is not None:
        common.warn(
            "a password in the URL is visible to other users (ps); "
            f"prefer https://USER@... with {BOOT_HTTP_PASSWORD_ENV}."
        )
    elif user is not None:
        password = os.environ.get(BOOT_HTTP_PASSWORD_ENV)
        if password is None:
            if not common.terminal_available():
                raise ConfigError(
                    f"No HTTP password for {user} at the boot server: set {BOOT_HTTP_PASSWORD_ENV}, "
                    "or run on a terminal to be asked."
                )
            import getpass

            with common.interruptible():
                password = getpass.getpass(f"HTTP password for {user} at the boot server: ")
        scheme, rest = clean.split("://", 1)
        url = f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}"
    https_boot_params(url, timeout=args.https_timeout)  # every URL rule, before connecting
    return url


async def _https_boot_command(args: argparse.Namespace) -> int:
    """``amtterm boot HOST https URL [--ca FILE] [--then on|reset]``: One Click Recovery."""
    from amtterm.wsman import ocr

    if args.sol:
        raise ConfigError(
            "--sol goes with bios, bios-pause, ider-cd and ider-floppy only: AMT refuses SOL "
            "redirection together with a boot source (open 'amtterm sol HOST' to watch the boot)."
        )
    url = _boot_url(args)
    ca: bytes | None = None
    if args.ca is not None:
        try:
            ca = ocr.certificate_der(args.ca.read_bytes())
        except OSError as exc:
            raise ConfigError(f"Cannot read the CA file {args.ca}: {exc.strerror or exc}.") from None
    async with connect_one(args, args.host) as conn:
        support = await ocr.ocr_support(conn.client)
        ocr.check_https_boot(support)
        root_json = None
        if ca is not None:
            root = await ocr.add_trusted_root(conn.client, ca)
            done = "added" if root.added else "already had"
            root_json = root.to_json()
            if not args.json:  # said at once: it stays even if a later step is refused
                emit(
                    args,
                    f"{conn.label}: {done} the CA certificate {root.subject or args.ca} in AMT's trusted "
                    f"roots ({root.instance_id}).",
                    None,
                )
        result = await ocr.set_https_boot(
            conn.client, url, then=args.then, timeout=args.https_timeout, support=support
        )
        emit(
            args, f"{conn.label}: {result.message}", {"host": conn.label, "ca": root_json, **result.to_json()}
        )
    return 0


def _on_off(value: bool) -> str:
    return "on" if value else "off"


async def redirection_command(args: argparse.Namespace) -> int:
    """``amtterm redirection``."""
    from amtterm.wsman import operations

    async with connect_one(args, args.host) as conn:
        if args.action == "status":
            status = await operations.redirection_status(conn.client)
            head = "redirection"
        else:
            status = await operations.set_redirection(conn.client, args.action == "enable")
            head = f"redirection {args.action}d"
        text = (
            f"{conn.label}: {head}: listener {_on_off(status.listener)}, SOL {_on_off(status.sol)}, "
            f"IDE-R {_on_off(status.ider)}"
        )
        emit(args, text, {"host": conn.label, **status.to_json()})
    return 0


async def consent_command(args: argparse.Namespace) -> int:
    """``amtterm consent``."""
    from amtterm.wsman import operations

    if args.action == "code" and not args.code:
        raise ConfigError(
            "Give the code: amtterm consent HOST code NNNNNN (the 6 digits on the host's screen)."
        )
    if args.action != "code" and args.code:
        raise ConfigError(
            f"'consent {args.action}' takes no code; did you mean 'consent HOST code {args.code}'?"
        )
    async with connect_one(args, args.host) as conn:
        if args.action == "status":
            status = await operations.consent_status(conn.client)
        elif args.action == "request":
            status = await operations.consent_request(conn.client)
        else:
            status = await operations.consent_code(conn.client, args.code)
        text = f"{conn.label}: consent required: {status.required}; state: {status.state}"
        message = None if status.message is None else name_host(status.message, args.host)
        lines = [text] if message is None else [text, f"{conn.label}: {message}"]
        emit(args, lines, {"host": conn.label, **status.to_json()})
    return 0


# -- info and doctor -------------------------------------------------------------------------------


async def info_command(args: argparse.Namespace) -> int:
    """``amtterm info``: Identify first (no credentials), then every part it can read."""
    from amtterm.errors import AuthError
    from amtterm.transport.tls import fingerprint
    from amtterm.wsman import operations

    async with connect_one(args, args.host) as conn:
        identity = await operations.identify(conn.client)
        try:
            info = await operations.device_report(conn.client, identity)
        except AuthError:
            if identity is None or identity.amt_version is None:
                raise
            raise AuthError(
                f"AMT {identity.amt_version} answers at {conn.client.where}, but the log-on failed: "
                "wrong user name or password, or the account is locked after repeated failures "
                "(AMT locks it for a while after 10 in a row)."
            ) from None
        der = conn.client.peer_certificate
        fp = fingerprint(der) if der else None
        target = conn.target
    red = info.redirection
    fields: list[tuple[str, str | None]] = [
        ("AMT version", info.amt_version or "unknown"),
        ("control mode", info.control_mode),
        ("host name", None if "host name" in info.unreadable else info.fqdn or "not set"),
        ("power", _status_line(info.power.state, info.power.actions) if info.power else None),
        (
            "redirection",
            f"listener {_on_off(red.listener)}, SOL {_on_off(red.sol)}, IDE-R {_on_off(red.ider)}"
            if red
            else None,
        ),
    ]
    rows = [("host", f"{conn.label} ({target.wsman_where}, {'HTTPS' if target.tls else 'plain HTTP'})")]
    rows += [(key, value or f"not read: {info.unreadable.get(key, 'unknown.')}") for key, value in fields]
    rows += [
        ("TLS certificate", fp or "none (plain HTTP)"),
        (
            "digest realm",
            info.digest_realm or ("unknown" if "host name" not in info.unreadable else "not read"),
        ),
    ]
    data = {"host": conn.label, "address": target.address, "port": target.wsman_port, "tls": target.tls}
    data |= info.to_json() | {"fqdn": info.fqdn, "tls_fingerprint": fp}
    data["identify"] = identity.to_json() if identity is not None else None
    emit(args, [f"{key + ':':<17}{value}" for key, value in rows], data)
    return 0


async def _probe_tcp(address: str, port: int, timeout: float, chain: JumpChain | None = None) -> None:
    from amtterm.transport.tcp import open_stream

    if chain is not None:
        await chain.probe(address, port)
        return
    stream = await open_stream(address, port, tls=None, timeout=timeout, what="AMT")
    stream.close()
    with contextlib.suppress(Exception):
        await stream.writer.wait_closed()


MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


async def doctor_command(args: argparse.Namespace) -> int:
    """``amtterm doctor``."""
    from amtterm.wsman.doctor import Doctor, problems

    target = _target(args, _hosts_file(args), args.host)
    async with connect(args, target, Passwords(args)) as conn:
        doctor = Doctor(
            target,
            conn.client,
            conn.pinner,
            lambda address, port: _probe_tcp(address, port, args.timeout, conn.chain),
            _fix_command(args, args.host),
        )
        checks = await doctor.run()
    failed = problems(checks)
    scheme = "HTTPS" if target.tls else "plain HTTP"
    head = f"{target.name} ({target.wsman_where}, {scheme}; redirection port {target.redir_port})"
    lines = [f"amtterm doctor: {head}"]
    for check in checks:
        lines.append(f"  [{MARKS[check.status]}] {check.name:<16} {check.detail}")
        if check.fix and check.status in ("fail", "warn"):
            lines.append(f"  {'':6} {'':<16} fix: {check.fix}")
    lines.append(
        "No problems found." if not failed else f"{failed} problem{'s' if failed > 1 else ''} found."
    )
    data = {"host": target.name, "problems": failed, "checks": [check.to_json() for check in checks]}
    emit(args, lines, data)
    return 1 if failed else 0

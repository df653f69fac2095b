"""Jump-host specifications: ``[user@]host[:port]`` as ``ssh -J`` takes them, and a route of them.

Pure: no asyncssh, no sockets, so the hosts file (:mod:`amtterm.config`) and the command line can
check a spec without importing the SSH code. :mod:`amtterm.transport.ssh` opens the route.

Accepted forms, outermost jump host first (the order of ``ssh -J a,b``)::

    bastion                      the user, port and host name come from ~/.ssh/config (or 22 / you)
    admin@bastion.example.net:2222
    [2001:db8::7]:2222           IPv6 with a port needs brackets
    ssh://admin@bastion:2222     the URI form ssh -J also accepts
    a,b                          several hops in one word, as in ssh -J

A missing user or port stays None so that the SSH config's ``User`` and ``Port`` apply, as with
OpenSSH. The word ``none`` (alone) means "no jump host", to override the hosts file's ``jump``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from amtterm.errors import ConfigError

__all__ = [
    "NO_JUMP",
    "JumpHost",
    "JumpRoute",
    "jump_hops",
    "jump_route",
    "parse_jump",
    "parse_jumps",
    "route_through",
]

#: The spec that switches the hosts file's jump hosts off (as ``ssh -J none``).
NO_JUMP = "none"

_HOST_RE = re.compile(r"[A-Za-z0-9_.%-]+")
_USER_RE = re.compile(r"[^\s:/]+")  # ssh splits at the last '@': a user may contain one


@dataclass(frozen=True)
class JumpHost:
    """One SSH jump host.

    Attributes:
        host: the name or address to connect to (an ``~/.ssh/config`` alias works too).
        port: the SSH port, or None for the SSH config's (default 22).
        user: the SSH user, or None for the SSH config's (default: the local user).
    """

    host: str
    port: int | None = None
    user: str | None = None

    def __str__(self) -> str:
        """The spec as a user would type it (``user@host:port``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"{user}{host}{port}"


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"the port of jump host {spec!r} must be a number from 1 to 65535")
    return int(text)


def parse_jump(spec: str) -> JumpHost:
    """Parse one ``[user@]host[:port]`` (or ``ssh://[user@]host[:port]``).

    Args:
        spec: the text, without commas.

    Returns:
        The jump host.

    Raises:
        ValueError: the spec is empty or malformed; the text says what is wrong.
    """
    text = spec.strip()
    if text.startswith("ssh://"):
        text = text[len("ssh://") :].rstrip("/")
    user: str | None = None
    if "@" in text:
        user, _, text = text.rpartition("@")
        if not _USER_RE.fullmatch(user):
            raise ValueError(f"jump host {spec!r} has an empty or odd user name before '@'")
    port: int | None = None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"jump host {spec!r}: write an IPv6 address as [address] or [address]:port")
        if rest:
            port = _port(rest[1:], spec)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, spec)
    elif ":" in text:
        host = text  # a bare IPv6 address, no port
    else:
        host = text
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"jump host {spec!r}: {host!r} is not an IPv6 address") from None
    elif not _HOST_RE.fullmatch(host):
        raise ValueError(f"jump host {spec!r} needs a host name, like admin@bastion.example.net:22")
    return JumpHost(host=host, port=port, user=user)


def parse_jumps(specs: Iterable[str]) -> tuple[JumpHost, ...]:
    """Parse repeated and comma-separated specs into hops, outermost first.

    Args:
        specs: e.g. ``["a,b", "c"]`` from ``--jump a,b --jump c``. A lone ``none`` gives no hops.

    Raises:
        ValueError: a spec is malformed, or ``none`` is mixed with hosts.
    """
    words = [word.strip() for spec in specs for word in spec.split(",")]
    if NO_JUMP in words:
        if len(words) > 1:
            raise ValueError("'--jump none' switches jump hosts off; it cannot be combined with hosts")
        return ()
    return tuple(parse_jump(word) for word in words)


@dataclass(frozen=True)
class JumpRoute:
    """How to reach a device: through these SSH jump hosts, with this SSH configuration.

    Attributes:
        hops: the jump hosts, outermost first (at least one).
        config: the OpenSSH client config file (``ssh -F``); None = ``~/.ssh/config`` if present.
        ask: asks the user whether to trust an unknown jump-host key (``StrictHostKeyChecking ask``);
            None = nobody to ask, so an unknown key is refused unless the config says otherwise.
        timeout: seconds for each SSH connection and for opening the channel to the device.
    """

    hops: tuple[JumpHost, ...]
    config: Path | None = None
    ask: Callable[[str], bool] | None = field(default=None, compare=False)
    timeout: float = 15.0

    def __str__(self) -> str:
        """The hops as ``ssh -J`` writes them: ``a,b``."""
        return ",".join(str(hop) for hop in self.hops)

    @property
    def last(self) -> JumpHost:
        """The jump host that connects to the device."""
        return self.hops[-1]


def route_through(
    hops: Iterable[JumpHost],
    *,
    config: str | Path | None = None,
    ask: Callable[[str], bool] | None = None,
    timeout: float = 15.0,
) -> JumpRoute | None:
    """The route through ``hops``, or None when there are none (connect directly).

    Args:
        hops: the jump hosts, outermost first.
        config: the OpenSSH client config (``~`` is expanded); None = ``~/.ssh/config``.
        ask: asks about an unknown jump-host key; None = refuse it.
        timeout: seconds for each SSH step.
    """
    route = tuple(hops)
    if not route:
        return None
    path = Path(config).expanduser() if config is not None else None
    return JumpRoute(route, config=path, ask=ask, timeout=timeout)


def jump_hops(
    cli: Sequence[str] | None, from_file: Sequence[str] = (), *, name: str = "--jump"
) -> tuple[JumpHost, ...]:
    """The hops to use: ``--jump`` when given, else the hosts file's ``jump``.

    Args:
        cli: the ``--jump`` values (None when the option was not given).
        from_file: the host's ``jump`` in the hosts file (already checked there).
        name: what the user wrote ``cli`` as, for the sentence (``jump=`` from Python).

    Raises:
        ConfigError: a ``--jump`` value is malformed.
    """
    try:
        return parse_jumps(cli if cli else from_file)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}.") from None


def jump_route(
    args: object,
    hops: Sequence[JumpHost],
    *,
    ask: Callable[[str], bool] | None,
    timeout: float = 15.0,
) -> JumpRoute | None:
    """The route for ``hops`` with the command's ssh config, or None when there are no hops.

    Args:
        args: the parsed options, or anything else with an ``ssh_config`` attribute
            (:class:`amtterm.expect.ConnectOptions`); None or missing = ``~/.ssh/config``.
        hops: from :func:`jump_hops` (or a resolved target's ``jump``).
        ask: asks about an unknown jump-host key (``StrictHostKeyChecking ask``); None = refuse it.
        timeout: seconds for each SSH step.
    """
    return route_through(hops, config=getattr(args, "ssh_config", None), ask=ask, timeout=timeout)

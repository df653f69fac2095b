"""The one endpoint resolver: a host (hosts-file name or address) and a command's choices -> where and how.

Every way of reaching a device starts here: ``amtterm sol``, ``share`` and ``expect``
(:func:`amtterm.session.endpoint.resolve_sol`), the WS-Man commands and ``ider``
(:func:`amtterm.wsman.target.resolve_target`), the console (:func:`amtterm.cli.tui.make_link`)
and the Python API (:func:`amtterm.expect.connect`)::

    endpoint = resolve_endpoint(hosts.lookup("pc42"), user=args.user, plain=True if args.plain else None)
    tls = endpoint.tls_options(accept_new=args.accept_new, ask=ask)    # the command's trust policy
    route = endpoint.route(ssh_config=args.ssh_config, ask=ask)        # SSH jump hosts, or None

The rules, the explicit choice first, then the hosts file, then the defaults:

* user: ``-u``, the entry's ``user``, ``admin``;
* TLS: ``plain=True`` (``-P``) is plain, ``plain=False`` forces TLS, None takes the entry's ``tls``
  (TLS unless it says false);
* ports: the explicit port, else the entry's ``redir_port`` / ``wsman_port`` *when the entry's own
  ``tls`` agrees with the TLS choice* (``-P`` on a TLS entry dials the plain defaults, not the TLS
  ports in plain), else 16995 / 16993 over TLS and 16994 / 16992 plain;
* trust: the entry's ``tls_pin`` (checked also beside a CA file), a CA file (``-C``, else the
  entry's ``cafile``), else known_hosts; see :mod:`amtterm.transport.trust`;
* jump hosts: ``--jump`` replaces the entry's ``jump``; ``none`` switches them off.

Pure: no sockets, no files, no prompts. The trust *policy* (``--accept-new``, who to ask, which
known_hosts file) and the ssh config are not part of the endpoint: the commands add them when they
connect, because they differ by command (a console asks in a dialog, ``power status --all`` asks
nobody). Transport may not import :mod:`amtterm.config`, so the entry is any object with the
hosts-file fields (:class:`HostSettings`; :class:`amtterm.config.HostEntry` is one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from amtterm.errors import ConfigError
from amtterm.transport.jump import JumpHost, JumpRoute, parse_jumps, route_through
from amtterm.transport.tls import format_endpoint
from amtterm.transport.trust import PinSource, TlsOptions

__all__ = [
    "REDIRECTION_PLAIN_PORT",
    "REDIRECTION_TLS_PORT",
    "WSMAN_PLAIN_PORT",
    "WSMAN_TLS_PORT",
    "Endpoint",
    "HostSettings",
    "resolve_endpoint",
]

#: AMT's ports (the same numbers as :mod:`amtterm.redir.constants` and :mod:`amtterm.wsman.client`,
#: which transport may not import; a test holds them equal).
REDIRECTION_PLAIN_PORT = 16994
REDIRECTION_TLS_PORT = 16995
WSMAN_PLAIN_PORT = 16992
WSMAN_TLS_PORT = 16993


class HostSettings(Protocol):
    """What the resolver reads of a hosts-file entry (:class:`amtterm.config.HostEntry`)."""

    @property
    def name(self) -> str:
        """The name the user gave (the address itself when not from the file)."""

    @property
    def address(self) -> str:
        """Where to connect."""

    @property
    def user(self) -> str | None:
        """The AMT user, if the file gives one."""

    @property
    def tls(self) -> bool | None:
        """True TLS, False plain, None the default (TLS)."""

    @property
    def tls_pin(self) -> str | None:
        """The expected certificate fingerprint."""

    @property
    def cafile(self) -> Path | None:
        """A CA file to verify the certificate with."""

    @property
    def wsman_port(self) -> int | None:
        """The WS-Management port, if not the default."""

    @property
    def redir_port(self) -> int | None:
        """The redirection port, if not the default."""

    @property
    def jump(self) -> tuple[str, ...]:
        """SSH jump hosts, outermost first."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one device, for every kind of connection to it.

    Attributes:
        name: the name the user gave (a hosts-file name, or the address).
        address: where to connect (also the key of known_hosts pins).
        user: the AMT user.
        redir_port: the redirection port (SOL, IDE-R, the console).
        wsman_port: the WS-Management port (power, boot, the console's panes).
        tls: the TLS choice (CA file, hosts-file pin, legacy); None for plain TCP / HTTP.
            Its policy fields (``accept_new``, ``ask``, ``known_hosts``) are left at their
            defaults: :meth:`tls_options` adds the command's.
        jump: SSH jump hosts, outermost first (empty: connect directly).
    """

    name: str
    address: str
    user: str
    redir_port: int
    wsman_port: int
    tls: TlsOptions | None
    jump: tuple[JumpHost, ...] = ()

    @property
    def plain(self) -> bool:
        """Whether the device is reached without TLS."""
        return self.tls is None

    @property
    def pin_source(self) -> PinSource | None:
        """What the certificate is checked against (None: plain, no certificate)."""
        return self.tls.pin_source if self.tls is not None else None

    @property
    def redir_where(self) -> str:
        """``address:port`` of the redirection port, for sentences."""
        return format_endpoint(self.address, self.redir_port)

    @property
    def wsman_where(self) -> str:
        """``address:port`` of the WS-Management port, for sentences."""
        return format_endpoint(self.address, self.wsman_port)

    def tls_options(
        self,
        *,
        accept_new: bool = False,
        ask: Callable[[str], bool] | None = None,
        known_hosts: Path | None = None,
    ) -> TlsOptions | None:
        """The TLS choice with a command's trust policy (None for plain).

        Args:
            accept_new: pin an unknown certificate without asking.
            ask: asks about an unknown certificate; None = refuse it.
            known_hosts: the pin file; None = the user's default.
        """
        if self.tls is None:
            return None
        return dataclasses.replace(self.tls, accept_new=accept_new, ask=ask, known_hosts=known_hosts)

    def route(
        self,
        *,
        ssh_config: str | Path | None = None,
        ask: Callable[[str], bool] | None = None,
        timeout: float = 15.0,
    ) -> JumpRoute | None:
        """The route through the jump hosts, or None to connect directly.

        Args:
            ssh_config: the OpenSSH client config (``ssh -F``); None = ``~/.ssh/config``.
            ask: asks about an unknown jump-host key; None = refuse it.
            timeout: seconds for each SSH step.
        """
        return route_through(self.jump, config=ssh_config, ask=ask, timeout=timeout)


def resolve_endpoint(
    entry: HostSettings,
    *,
    user: str | None = None,
    plain: bool | None = None,
    redir_port: int | None = None,
    wsman_port: int | None = None,
    cafile: Path | None = None,
    tls_legacy: bool = False,
    jump: Sequence[str] | None = None,
    jump_option: str = "--jump",
) -> Endpoint:
    """Merge a hosts-file entry with a command's explicit choices (which win).

    Args:
        entry: from :meth:`amtterm.config.HostsFile.lookup` (an address-only entry for an address).
        user: ``-u``; else the entry's user; else ``admin``.
        plain: True plain (``-P``), False TLS; None the entry's choice (TLS unless it says plain).
        redir_port: the redirection port (``sol HOST PORT``, ``--redir-port``).
        wsman_port: the WS-Management port (``--wsman-port``).
        cafile: ``-C``; else the entry's ``cafile``.
        tls_legacy: allow TLS 1.0/1.1 (``--tls-legacy``).
        jump: the ``--jump`` values; they replace the entry's ``jump`` (``none`` switches it off).
        jump_option: what the user wrote ``jump`` as, for the sentence (``jump`` from Python).

    Raises:
        ConfigError: a ``jump`` value is malformed.
    """
    tls = not plain if plain is not None else entry.tls is not False
    # The file's ports belong to the file's own choice of TLS.
    file_ports = entry.tls is None or entry.tls == tls
    try:
        hops = parse_jumps(jump if jump else entry.jump)
    except ValueError as exc:
        raise ConfigError(f"{jump_option}: {exc}.") from None
    options = None
    if tls:
        options = TlsOptions(
            cafile=cafile or entry.cafile,
            legacy=tls_legacy,
            pin=entry.tls_pin,
            pin_name=entry.name if entry.tls_pin is not None else None,
        )
    return Endpoint(
        name=entry.name,
        address=entry.address,
        user=user or entry.user or "admin",
        redir_port=redir_port
        or (entry.redir_port if file_ports else None)
        or (REDIRECTION_TLS_PORT if tls else REDIRECTION_PLAIN_PORT),
        wsman_port=wsman_port
        or (entry.wsman_port if file_ports else None)
        or (WSMAN_TLS_PORT if tls else WSMAN_PLAIN_PORT),
        tls=options,
        jump=hops,
    )

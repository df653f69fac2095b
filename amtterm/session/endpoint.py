"""From a hosts-file entry and the caller's choices to a started SOL session.

    endpoint = resolve_sol(entry, password_for, user=args.user, plain=args.plain or None, hops=hops)
    client = await open_sol(endpoint)        # connected, authenticated, SOL running

The one place that knows how ``amtterm sol``, ``amtterm share`` and :func:`amtterm.expect.api`
reach a console: the explicit choice wins over the hosts file, which wins over the defaults
(user ``admin``; TLS on 16995, or plain on 16994; digest auth). Where the password comes from
stays with the caller (the command line may ask on the terminal, the Python API never does):
``password`` is called with the resolved user, after everything that can be checked without it.
No UI and no argparse here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from amtterm.config import HostEntry
from amtterm.redir.connection import ConsoleConfig
from amtterm.redir.constants import REDIRECTION_PORT, REDIRECTION_TLS_PORT, AuthType
from amtterm.redir.messages import SolSettings
from amtterm.session.sol import SolClient
from amtterm.transport.jump import JumpHost, JumpRoute, route_through
from amtterm.transport.tcp import TlsOptions, open_stream
from amtterm.transport.tls import format_endpoint

__all__ = ["CONSOLE_SOL_SETTINGS", "SolEndpoint", "console_config", "open_sol", "resolve_sol"]

#: Debian amtterm's SOL settings, but with MeshCommander's 10000-byte transmit buffer
#: (proven on real firmware): ten times fewer messages for a screenful of output.
CONSOLE_SOL_SETTINGS = SolSettings(max_tx_buffer=10000)


@dataclass(frozen=True)
class SolEndpoint:
    """Where and how to open one host's SOL session.

    Attributes:
        name: the name the user gave (a hosts-file name, or the address).
        address: where to connect.
        port: the redirection port.
        tls: how to trust the certificate (None: plain TCP).
        config: user, password, auth methods and SOL settings.
        route: the SSH jump hosts to go through (None: connect directly).
    """

    name: str
    address: str
    port: int
    tls: TlsOptions | None
    config: ConsoleConfig
    route: JumpRoute | None = None

    @property
    def user(self) -> str:
        """The AMT user."""
        return self.config.user

    @property
    def target(self) -> str:
        """``address:port`` of the console (IPv6 in brackets), for sentences."""
        return format_endpoint(self.address, self.port)


def console_config(
    user: str, password: str, *, legacy_auth: bool = False, peer_timeout: float = 20.0
) -> ConsoleConfig:
    """A console's SOL configuration: digest auth (or legacy plain auth) and the console's settings."""
    methods = (AuthType.PLAIN,) if legacy_auth else (AuthType.DIGEST, AuthType.DIGEST_NO_QOP)
    return ConsoleConfig(
        user=user,
        password=password,
        auth_methods=methods,
        legacy_plain=legacy_auth,
        peer_timeout=peer_timeout,
        sol_settings=CONSOLE_SOL_SETTINGS,
    )


def resolve_sol(
    entry: HostEntry,
    password: str | Callable[[str], str],
    *,
    user: str | None = None,
    plain: bool | None = None,
    port: int | None = None,
    cafile: Path | None = None,
    tls_legacy: bool = False,
    accept_new: bool = False,
    ask: Callable[[str], bool] | None = None,
    known_hosts: Path | None = None,
    legacy_auth: bool = False,
    peer_timeout: float = 20.0,
    hops: Sequence[JumpHost] = (),
    ssh_config: str | Path | None = None,
) -> SolEndpoint:
    """Merge a hosts-file entry with the caller's choices (which win).

    Args:
        entry: from :meth:`amtterm.config.HostsFile.lookup`.
        password: the AMT password, or a function of the resolved user that returns it (it may
            ask, or raise a ConfigError when there is none).
        user: else the entry's user, else ``admin``.
        plain: True plain TCP, False TLS; None: the entry's choice (TLS unless it says plain).
        port: else the entry's ``redir_port`` (when the entry's ``tls`` agrees with ``plain``),
            else 16994 plain / 16995 TLS.
        cafile: verify the certificate with this CA (else the entry's; else pinning).
        tls_legacy: allow TLS 1.0/1.1.
        accept_new: pin an unknown certificate without asking.
        ask: asks about an unknown certificate or jump-host key (None: refuse them).
        known_hosts: the pin file (None: the user's default).
        legacy_auth: legacy plain auth (AMT 11 and older).
        peer_timeout: give up after this many seconds without a byte from the device.
        hops: the jump hosts, outermost first (:func:`amtterm.transport.jump.jump_hops` picks between
            ``--jump`` and the entry's ``jump``).
        ssh_config: the OpenSSH client config for the jump hosts (None: ``~/.ssh/config``).

    Raises:
        ConfigError: from ``password`` (no password).
    """
    name = user or entry.user or "admin"
    plain = plain if plain is not None else entry.tls is False
    # The entry's port belongs to its own TLS choice: -P on a TLS entry dials the plain default
    # (as WS-Man's resolve_target does), not the TLS port in plain TCP.
    file_port = entry.redir_port if entry.tls is None or entry.tls == (not plain) else None
    port = port or file_port or (REDIRECTION_PORT if plain else REDIRECTION_TLS_PORT)
    secret = password if isinstance(password, str) else password(name)
    tls = None
    if not plain:
        tls = TlsOptions(
            cafile=cafile or entry.cafile,
            legacy=tls_legacy,
            accept_new=accept_new,
            ask=ask,
            known_hosts=known_hosts,
            pin=entry.tls_pin,
        )
    return SolEndpoint(
        name=entry.name,
        address=entry.address,
        port=port,
        tls=tls,
        config=console_config(name, secret, legacy_auth=legacy_auth, peer_timeout=peer_timeout),
        route=route_through(hops, config=ssh_config, ask=ask),
    )


async def open_sol(endpoint: SolEndpoint) -> SolClient:
    """Connect (through the jump hosts, if any), authenticate and start SOL.

    Raises:
        ConnectError, JumpError, TlsError, AuthError, SessionBusy, SessionRefused, ...: one
            sentence each.
    """
    stream = await open_stream(endpoint.address, endpoint.port, tls=endpoint.tls, via=endpoint.route)
    client = SolClient(stream, endpoint.config, target=endpoint.target)
    await client.start()
    return client

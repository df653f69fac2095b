"""From a hosts-file entry and the caller's choices to a started SOL session.

    endpoint = resolve_sol(entry, password_for, user=args.user, plain=args.plain or None, jump=args.jump)
    client = await open_sol(endpoint)        # connected, authenticated, SOL running

How ``amtterm sol``, ``amtterm share`` and :func:`amtterm.expect.api` reach a console: the one
endpoint resolver (:func:`amtterm.transport.resolver.resolve_endpoint`: the explicit choice wins
over the hosts file, which wins over the defaults) gives address, port, TLS choice and jump hosts;
this module adds the trust policy, the credentials and the SOL settings (digest auth). Where
the password comes from stays with the caller (the command line may ask on the terminal, the
Python API never does): ``password`` is called with the resolved user, after everything that
can be checked without it. No UI and no argparse here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from amtterm.config import HostEntry
from amtterm.redir import AuthType, ConsoleConfig, SolSettings
from amtterm.session.sol import SolClient
from amtterm.transport.jump import JumpRoute
from amtterm.transport.resolver import Endpoint, resolve_endpoint
from amtterm.transport.tcp import TlsOptions, open_stream

__all__ = ["CONSOLE_SOL_SETTINGS", "SolEndpoint", "console_config", "open_sol", "resolve_sol"]

#: Debian amtterm's SOL settings, but with MeshCommander's 10000-byte transmit buffer
#: (proven on real firmware): ten times fewer messages for a screenful of output.
CONSOLE_SOL_SETTINGS = SolSettings(max_tx_buffer=10000)


@dataclass(frozen=True)
class SolEndpoint:
    """Where and how to open one host's SOL session.

    Attributes:
        endpoint: the resolved host (address, ports, TLS choice, jump hosts, user).
        tls: how to trust the certificate, with the caller's policy (None: plain TCP).
        config: user, password, auth methods and SOL settings.
        route: the SSH jump hosts to go through (None: connect directly).
    """

    endpoint: Endpoint
    tls: TlsOptions | None
    config: ConsoleConfig
    route: JumpRoute | None = None

    @property
    def name(self) -> str:
        """The name the user gave (a hosts-file name, or the address)."""
        return self.endpoint.name

    @property
    def address(self) -> str:
        """Where to connect."""
        return self.endpoint.address

    @property
    def port(self) -> int:
        """The redirection port."""
        return self.endpoint.redir_port

    @property
    def user(self) -> str:
        """The AMT user."""
        return self.config.user

    @property
    def target(self) -> str:
        """``address:port`` of the console (IPv6 in brackets), for sentences."""
        return self.endpoint.redir_where


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
    jump: Sequence[str] | None = None,
    jump_option: str = "--jump",
    ssh_config: str | Path | None = None,
) -> SolEndpoint:
    """Resolve the host (:func:`~amtterm.transport.resolver.resolve_endpoint`) and add what SOL needs.

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
        jump: the ``--jump`` values (they replace the entry's ``jump``; ``none`` switches it off).
        jump_option: what the user wrote ``jump`` as, for the sentence.
        ssh_config: the OpenSSH client config for the jump hosts (None: ``~/.ssh/config``).

    Raises:
        ConfigError: a malformed ``jump`` (before the password is asked for); from ``password``.
    """
    endpoint = resolve_endpoint(
        entry,
        user=user,
        plain=plain,
        redir_port=port,
        cafile=cafile,
        tls_legacy=tls_legacy,
        jump=jump,
        jump_option=jump_option,
    )
    secret = password if isinstance(password, str) else password(endpoint.user)
    return SolEndpoint(
        endpoint=endpoint,
        tls=endpoint.tls_options(accept_new=accept_new, ask=ask, known_hosts=known_hosts),
        config=console_config(endpoint.user, secret, legacy_auth=legacy_auth, peer_timeout=peer_timeout),
        route=endpoint.route(ssh_config=ssh_config, ask=ask),
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

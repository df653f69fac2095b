"""From a HOST on the command line to a connected :class:`WsmanClient`: target, trust, password.

* :func:`resolve_target` is the one endpoint resolver
  (:func:`amtterm.transport.resolver.resolve_endpoint`, the command line winning over the hosts
  file: ``-u``, ``-P``, ``-C``, ``--wsman-port``, ``--redir-port``, ``--jump``) plus the hosts-file
  entry, which the password rule needs.
* :class:`CertificatePinner` hands each certificate the device presents to the one check,
  :func:`amtterm.transport.trust.check_certificate` (the hosts file's ``tls_pin``, a CA file, or
  trust on first use in ``known_hosts`` under ``host:wsman-port``), exactly as ``amtterm sol``
  does. It runs on the first response, the unauthenticated 401, so no credentials reach a device
  that fails the check.
* :func:`open_client` builds the client; one TLS context can be shared by many clients.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from amtterm.config import HostEntry
from amtterm.transport import tls as tlsmod
from amtterm.transport.jump import JumpHost
from amtterm.transport.known_hosts import KnownHosts
from amtterm.transport.resolver import Endpoint, resolve_endpoint
from amtterm.transport.trust import check_certificate

if TYPE_CHECKING:  # httpx (in the client) loads when a client is opened, not with this module
    from amtterm.wsman.client import WsmanClient


@dataclass(frozen=True)
class Target:
    """Where and how to reach one device, with the hosts-file entry it came from.

    Attributes:
        entry: the hosts-file entry (or an address-only one).
        endpoint: the resolved device (:func:`amtterm.transport.resolver.resolve_endpoint`).
    """

    entry: HostEntry
    endpoint: Endpoint

    @property
    def name(self) -> str:
        """The name the user gave (a hosts-file name or the address)."""
        return self.endpoint.name

    @property
    def address(self) -> str:
        """The address to connect to."""
        return self.endpoint.address

    @property
    def user(self) -> str:
        """The AMT user."""
        return self.endpoint.user

    @property
    def tls(self) -> bool:
        """HTTPS / TLS redirection (True) or plain (False)."""
        return self.endpoint.tls is not None

    @property
    def wsman_port(self) -> int:
        """The WS-Management port."""
        return self.endpoint.wsman_port

    @property
    def redir_port(self) -> int:
        """The redirection port."""
        return self.endpoint.redir_port

    @property
    def cafile(self) -> Path | None:
        """The CA file that verifies the certificate, if any (None when plain)."""
        return self.endpoint.tls.cafile if self.endpoint.tls is not None else None

    @property
    def legacy(self) -> bool:
        """Whether TLS 1.0/1.1 is allowed."""
        return self.endpoint.tls.legacy if self.endpoint.tls is not None else False

    @property
    def tls_pin(self) -> str | None:
        """The hosts file's pinned fingerprint, if any (None when plain)."""
        return self.endpoint.tls.pin if self.endpoint.tls is not None else None

    @property
    def jump(self) -> tuple[JumpHost, ...]:
        """SSH jump hosts to reach it through, outermost first (none: connect directly)."""
        return self.endpoint.jump

    @property
    def wsman_where(self) -> str:
        """``address:port`` of the WS-Man endpoint."""
        return self.endpoint.wsman_where


def resolve_target(
    entry: HostEntry,
    *,
    user: str | None = None,
    plain: bool = False,
    cafile: Path | None = None,
    wsman_port: int | None = None,
    redir_port: int | None = None,
    jump: Sequence[str] | None = None,
    tls_legacy: bool = False,
) -> Target:
    """Merge a hosts-file entry with command-line options (which win), by the one resolver.

    Args:
        entry: from :meth:`amtterm.config.HostsFile.lookup`.
        user: ``-u``; else the entry's user; else ``admin``.
        plain: ``-P``: plain HTTP and redirection ports, whatever the entry says.
        cafile: ``-C``.
        wsman_port: ``--wsman-port``.
        redir_port: ``--redir-port``.
        jump: ``--jump`` values; they replace the entry's ``jump`` (``none`` switches it off).
        tls_legacy: ``--tls-legacy``.

    Raises:
        ConfigError: a ``--jump`` value is malformed.
    """
    endpoint = resolve_endpoint(
        entry,
        user=user,
        plain=True if plain else None,
        redir_port=redir_port,
        wsman_port=wsman_port,
        cafile=cafile,
        tls_legacy=tls_legacy,
        jump=jump,
    )
    return Target(entry, endpoint)


class CertificatePinner:
    """Checks each TLS certificate a device presents; remembers what it found.

    Args:
        target: the device.
        known: the known_hosts file (trust on first use) when the target has no tls_pin;
            None = the user's default.
        accept_new: pin an unknown certificate without asking.
        ask: asks the user about an unknown certificate; None = nobody to ask.

    Attributes:
        fingerprint: the ``SHA256:...`` of the certificate seen, once seen.
        trust: how it was trusted: ``CA``, ``hosts file pin``, ``pinned`` or ``newly pinned``.
    """

    def __init__(
        self,
        target: Target,
        known: KnownHosts | None = None,
        *,
        accept_new: bool = False,
        ask: Callable[[str], bool] | None = None,
    ) -> None:
        self.target = target
        tls = target.endpoint.tls_options(
            accept_new=accept_new, ask=ask, known_hosts=known.path if known is not None else None
        )
        if tls is None:
            raise ValueError(f"{target.name} is reached in plain HTTP: there is no certificate to check")
        self.tls = tls
        self.fingerprint: str | None = None
        self.trust: str | None = None

    def __call__(self, der: bytes) -> None:
        """Check one certificate (DER); raises TlsPinMismatch / TlsUnknownCertificate."""
        fp = tlsmod.fingerprint(der)
        if fp == self.fingerprint and self.trust is not None:
            return
        self.fingerprint = fp
        self.trust = None
        self.trust = check_certificate(der, self.target.address, self.target.wsman_port, self.tls).how


def client_tls_context(cafile: Path | None = None, *, legacy: bool = False) -> ssl.SSLContext:
    """The TLS context for WS-Man clients (shareable between clients with the same ``cafile``)."""
    return tlsmod.client_context(cafile=cafile, legacy=legacy)


def open_client(
    target: Target,
    password: str,
    *,
    pinner: CertificatePinner | None,
    context: ssl.SSLContext | None = None,
    legacy: bool = False,
    timeout: float | None = None,
    uds: str | None = None,
) -> WsmanClient:
    """A WS-Man client for ``target`` (use it with ``async with``).

    Args:
        target: the device.
        password: the AMT password.
        pinner: checks the certificate (None only for plain HTTP).
        context: a TLS context to reuse; built from the target's CA file when None.
        legacy: allow TLS 1.0/1.1 (also when the target's own TLS choice does not say so).
        timeout: seconds for connecting and for each reply (None: the client's default, 10).
        uds: the Unix socket of an SSH forward to the device (see :func:`amtterm.transport.ssh.unix_forward`).
    """
    from amtterm.wsman.client import DEFAULT_TIMEOUT, WsmanClient

    verify: ssl.SSLContext | bool = False
    if target.tls:
        verify = context or client_tls_context(target.cafile, legacy=legacy or target.legacy)
    return WsmanClient(
        target.address,
        user=target.user,
        password=password,
        tls=target.tls,
        port=target.wsman_port,
        verify=verify,
        on_peer_certificate=pinner if target.tls else None,
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        uds=uds,
    )

"""From a HOST on the command line to a connected :class:`WsmanClient`: target, trust, password.

* :func:`resolve_target` merges the hosts-file entry (amtterm.config) with the command-line
  options: the command line wins (``-u``, ``-P``, ``-C``, ``--wsman-port``, ``--redir-port``).
* :class:`CertificatePinner` checks the device's TLS certificate the way ``amtterm sol`` does:
  a CA file (``-C``) is checked by the handshake itself; otherwise the pin in the hosts file
  (``tls_pin``) or, without one, trust on first use in ``known_hosts`` under
  ``host:wsman-port`` (:func:`amtterm.transport.known_hosts.verify_pin`). It runs on the first response,
  the unauthenticated 401, so no credentials reach a device that fails the check.
* :func:`open_client` builds the client; one TLS context can be shared by many clients.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from amtterm.config import HostEntry
from amtterm.errors import ConfigError, TlsPinMismatch
from amtterm.redir.constants import REDIRECTION_PORT, REDIRECTION_TLS_PORT
from amtterm.transport import tls as tlsmod
from amtterm.transport.jump import JumpHost, parse_jumps
from amtterm.transport.known_hosts import KnownHosts, endpoint_key, verify_pin
from amtterm.wsman.client import DEFAULT_TIMEOUT, HTTP_PORT, HTTPS_PORT, WsmanClient


@dataclass(frozen=True)
class Target:
    """Where and how to reach one device.

    Attributes:
        entry: the hosts-file entry (or an address-only one).
        user: the AMT user.
        tls: HTTPS / TLS redirection (True) or plain (False).
        wsman_port: the WS-Management port.
        redir_port: the redirection port.
        cafile: verify the certificate with this CA instead of pinning.
        tls_pin: the pinned fingerprint from the hosts file, if any.
        jump: SSH jump hosts to reach it through, outermost first (none: connect directly).
    """

    entry: HostEntry
    user: str
    tls: bool
    wsman_port: int
    redir_port: int
    cafile: Path | None
    tls_pin: str | None
    jump: tuple[JumpHost, ...] = ()

    @property
    def name(self) -> str:
        """The name the user gave (a hosts-file name or the address)."""
        return self.entry.name

    @property
    def address(self) -> str:
        """The address to connect to."""
        return self.entry.address

    @property
    def wsman_where(self) -> str:
        """``address:port`` of the WS-Man endpoint."""
        return tlsmod.format_endpoint(self.address, self.wsman_port)


def resolve_target(
    entry: HostEntry,
    *,
    user: str | None = None,
    plain: bool = False,
    cafile: Path | None = None,
    wsman_port: int | None = None,
    redir_port: int | None = None,
    jump: Sequence[str] | None = None,
) -> Target:
    """Merge a hosts-file entry with command-line options (which win).

    Args:
        entry: from :meth:`amtterm.config.HostsFile.lookup`.
        user: ``-u``; else the entry's user; else ``admin``.
        plain: ``-P``: plain HTTP and redirection ports, whatever the entry says.
        cafile: ``-C``.
        wsman_port: ``--wsman-port``.
        redir_port: ``--redir-port``.
        jump: ``--jump`` values; they replace the entry's ``jump`` (``none`` switches it off).

    Raises:
        ConfigError: a ``--jump`` value is malformed.
    """
    tls = False if plain else (entry.tls if entry.tls is not None else True)
    # The file's ports belong to the file's choice of TLS; -P against a TLS entry uses defaults.
    file_ports = entry.tls is None or entry.tls == tls
    try:
        hops = parse_jumps(jump if jump else entry.jump)
    except ValueError as exc:
        raise ConfigError(f"--jump: {exc}.") from None
    return Target(
        entry=entry,
        user=user or entry.user or "admin",
        tls=tls,
        wsman_port=wsman_port
        or (entry.wsman_port if file_ports else None)
        or (HTTPS_PORT if tls else HTTP_PORT),
        redir_port=redir_port
        or (entry.redir_port if file_ports else None)
        or (REDIRECTION_TLS_PORT if tls else REDIRECTION_PORT),
        cafile=cafile or entry.cafile,
        tls_pin=entry.tls_pin if tls else None,
        jump=hops,
    )


class CertificatePinner:
    """Checks each TLS certificate a device presents; remembers what it found.

    Args:
        target: the device.
        known: the known_hosts file (trust on first use), used when the target has no tls_pin.
        accept_new: pin an unknown certificate without asking.
        ask: asks the user about an unknown certificate; None = nobody to ask.

    Attributes:
        fingerprint: the ``SHA256:...`` of the certificate seen, once seen.
        trust: how it was trusted: ``CA``, ``hosts file pin``, ``pinned`` or ``newly pinned``.
    """

    def __init__(
        self,
        target: Target,
        known: KnownHosts,
        *,
        accept_new: bool = False,
        ask: Callable[[str], bool] | None = None,
    ) -> None:
        self.target = target
        self.known = known
        self.accept_new = accept_new
        self.ask = ask
        self.fingerprint: str | None = None
        self.trust: str | None = None

    def __call__(self, der: bytes) -> None:
        """Check one certificate (DER); raises TlsPinMismatch / TlsUnknownCertificate."""
        fp = tlsmod.fingerprint(der)
        if fp == self.fingerprint and self.trust is not None:
            return
        self.fingerprint = fp
        self.trust = None
        target = self.target
        if target.cafile is not None:
            self.trust = "CA"  # the handshake verified the chain already
        elif target.tls_pin is not None:
            if fp != target.tls_pin:
                where = endpoint_key(target.address, target.wsman_port)
                raise TlsPinMismatch(
                    f"The TLS certificate of {where} does not match the tls_pin of {target.name} in "
                    f"the hosts file (pinned {target.tls_pin}, presented {fp}): if the device got a "
                    "new certificate on purpose, update tls_pin, otherwise someone may be in the middle."
                )
            self.trust = "hosts file pin"
        else:
            before = self.known.lookup(target.address, target.wsman_port)
            verify_pin(
                self.known, target.address, target.wsman_port, der, accept_new=self.accept_new, ask=self.ask
            )
            self.trust = "pinned" if before == fp else "newly pinned"


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
    timeout: float = DEFAULT_TIMEOUT,
    uds: str | None = None,
) -> WsmanClient:
    """A WS-Man client for ``target`` (use it with ``async with``).

    Args:
        target: the device.
        password: the AMT password.
        pinner: checks the certificate (None only for plain HTTP or a CA file).
        context: a TLS context to reuse; built from the target's CA file when None.
        legacy: allow TLS 1.0/1.1 (``--tls-legacy``).
        timeout: seconds for connecting and for each reply.
        uds: the Unix socket of an SSH forward to the device (see :func:`amtterm.transport.ssh.unix_forward`).
    """
    verify: ssl.SSLContext | bool = False
    if target.tls:
        verify = context or client_tls_context(target.cafile, legacy=legacy)
    return WsmanClient(
        target.address,
        user=target.user,
        password=password,
        tls=target.tls,
        port=target.wsman_port,
        verify=verify,
        on_peer_certificate=pinner if target.tls else None,
        timeout=timeout,
        uds=uds,
    )

"""Open a TCP (optionally TLS) stream to an AMT port, with one-sentence errors.

This is where sockets are opened for the redirection ports. The certificate is checked by
:func:`amtterm.transport.trust.check_certificate` (a hosts-file ``tls_pin``, a CA file, or
trust on first use in known_hosts) right after the handshake, before a single protocol byte
is sent. :class:`TlsOptions` is re-exported here for the callers that open streams.

With ``via=`` (a :class:`~amtterm.transport.jump.JumpRoute`) the TCP connection is a channel
through SSH jump hosts (:mod:`amtterm.transport.ssh`) and everything above it stays the same:
TLS runs end to end with the device, and the pin is keyed by the device's address and port.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from amtterm.errors import ConnectError
from amtterm.transport import tls as tlsmod
from amtterm.transport.trust import TlsOptions, check_certificate

if TYPE_CHECKING:
    from amtterm.transport.jump import JumpRoute

__all__ = ["Stream", "TlsOptions", "describe_os_error", "open_stream"]


@dataclass
class Stream:
    """An open connection: asyncio reader and writer, and the TLS fingerprint if any.

    Attributes:
        closers: called by :meth:`close` after the writer (e.g. the SSH jump connections).
        finishers: awaited by :meth:`aclose` after :meth:`close` (e.g. until the jump hosts
            acknowledged the disconnect); each must end by itself in bounded time.
    """

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    peer_fingerprint: str | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)
    finishers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def close(self) -> None:
        """Close the connection without waiting."""
        if not self.writer.is_closing():
            self.writer.close()
        closers, self.closers = self.closers, []
        for closer in closers:
            closer()

    async def aclose(self) -> None:
        """Close the connection and wait for what lies under it (the SSH jump connections) to end."""
        self.close()
        finishers, self.finishers = self.finishers, []
        for finish in finishers:
            await finish()


def describe_os_error(exc: OSError, host: str, port: int, what: str) -> ConnectError:
    """Turn a socket error into one sentence that says what to check.

    Args:
        exc: the error raised while connecting.
        host: the address dialled.
        port: the port dialled.
        what: what the port is for, e.g. "AMT redirection".
    """
    where = f"{host}:{port}"
    if isinstance(exc, ConnectionRefusedError):
        if not what.startswith("AMT"):  # a plain VNC server (amtterm kvm --vnc): no AMT fix-it
            return ConnectError(f"{where} refused the connection: no {what} server listens there.")
        return ConnectError(
            f"{where} refused the connection: the {what} listener is disabled or the port is wrong "
            f"(enable it with 'amtterm redirection {host} enable'; use -P for the plain port)."
        )
    if isinstance(exc, socket.gaierror):
        return ConnectError(f"Cannot resolve {host!r}: check the host name or use its address.")
    if isinstance(exc, TimeoutError):
        return ConnectError(f"No answer from {where}: the machine is unreachable or its AMT is asleep.")
    if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return ConnectError(f"{where} is unreachable: check the address and your route to it.")
    if isinstance(exc, ConnectionResetError):
        return ConnectError(f"{where} reset the connection while it was opening.")
    return ConnectError(f"Cannot connect to {where}: {exc.strerror or exc}.")


async def open_stream(
    host: str,
    port: int,
    *,
    tls: TlsOptions | None,
    timeout: float = 10.0,
    what: str = "AMT redirection",
    via: JumpRoute | None = None,
) -> Stream:
    """Connect to ``host:port``, with TLS and pin verification when ``tls`` is given.

    Args:
        host: the device's address (also the key of its TLS pin).
        port: the port.
        tls: how to trust its certificate; None for plain TCP.
        timeout: seconds for connecting and the TLS handshake.
        what: what the port is for, in sentences.
        via: reach the device through these SSH jump hosts (the last one connects to it).

    Raises:
        ConnectError: refused, unreachable, unresolvable, timed out; JumpError and its
            subclasses for the jump hosts.
        TlsError: handshake failed; TlsPinMismatch / TlsUnknownCertificate from pinning.
    """
    context: ssl.SSLContext | None = None
    if tls is not None:
        context = tlsmod.client_context(cafile=tls.cafile, legacy=tls.legacy)
    closers: list[Callable[[], None]] = []
    finishers: list[Callable[[], Awaitable[None]]] = []
    try:
        # A jump-host failure is a JumpError sentence of its own, raised before any TLS starts.
        sock = await _jump_socket(via, host, port, closers, finishers) if via is not None else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                None if sock else host,
                None if sock else port,
                sock=sock,
                ssl=context,
                server_hostname=host if context else None,
            ),
            timeout,
        )
    except BaseException as exc:
        for closer in closers:
            closer()
        if isinstance(exc, ssl.SSLError):
            assert tls is not None
            raise tlsmod.describe_ssl_error(exc, host, port, cafile=tls.cafile, legacy=tls.legacy) from exc
        if isinstance(exc, ConnectionResetError) and tls is not None:
            # A device refusing our TLS version or ciphers often just resets during the handshake.
            raise tlsmod.describe_ssl_error(exc, host, port, cafile=tls.cafile, legacy=tls.legacy) from exc
        if isinstance(exc, TimeoutError | OSError):
            raise describe_os_error(exc, host, port, what) from exc
        raise
    stream = Stream(reader, writer, closers=closers, finishers=finishers)
    sock_info = writer.get_extra_info("socket")
    if sock_info is not None and sock_info.family in (socket.AF_INET, socket.AF_INET6):
        sock_info.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        _check_certificate(stream, host, port, tls)
    return stream


async def _jump_socket(
    via: JumpRoute,
    host: str,
    port: int,
    closers: list[Callable[[], None]],
    finishers: list[Callable[[], Awaitable[None]]],
) -> socket.socket:
    from amtterm.transport.ssh import JumpChain  # asyncssh is imported only when a jump is used

    chain = await JumpChain.open(via)
    closers.append(chain.close)
    finishers.append(chain.aclose)
    return await chain.open_socket(host, port)


def _check_certificate(stream: Stream, host: str, port: int, tls: TlsOptions) -> None:
    """The one certificate check after the handshake; closes the stream when it fails."""
    try:
        der = tlsmod.peer_certificate(stream.writer.get_extra_info("ssl_object"))
        stream.peer_fingerprint = tlsmod.fingerprint(der)
        check_certificate(der, host, port, tls)
    except BaseException:
        stream.close()
        raise

"""SSH jump hosts (asyncssh): a chain of SSH connections, then a channel to the AMT device.

``--jump a --jump b`` connects to ``a``, opens ``b`` through ``a`` (asyncssh's ``tunnel=``), and asks
``b`` for a direct-tcpip channel to the device, as ``ssh -J a,b`` does. Each hop is configured by the
OpenSSH client config (``~/.ssh/config`` or ``--ssh-config``: HostName, User, Port, IdentityFile,
UserKnownHostsFile, ProxyJump of the first hop...), authenticates with the SSH agent and the keys
asyncssh finds, and has its host key checked by :mod:`amtterm.transport.ssh_hostkeys`. amtterm never
asks for an SSH password.

Two ways to use the chain:

* :meth:`JumpChain.open_socket` gives one end of a private socket pair whose other end is bridged
  to the channel. :func:`amtterm.transport.tcp.open_stream` runs asyncio's own TLS over it, so SOL
  and IDE-R get the same :class:`~amtterm.transport.tcp.Stream` as without a jump, and the TLS
  certificate is pinned under the device's address and port as always.
* :meth:`JumpChain.forward_unix` listens on a Unix socket in a private (0700) directory and forwards
  each connection to the device, for httpx (WS-Man). Unlike a loopback TCP port, no other local user
  can connect to it.

Every failure is one sentence: jump host unreachable, authentication failed (host and user named),
host key changed or unknown, or the jump host could not reach the next hop or the device.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh

from amtterm.errors import (
    ConfigError,
    JumpAuthError,
    JumpError,
    JumpForwardError,
    JumpHostKeyError,
)
from amtterm.transport.jump import JumpHost, JumpRoute
from amtterm.transport.ssh_bridge import ChannelSide, SocketSide
from amtterm.transport.ssh_hostkeys import HostKeyCheck, openssh_settings, read_known_hosts
from amtterm.transport.tls import format_endpoint

__all__ = ["JumpChain", "describe_channel_error", "unix_forward"]

#: Longest wait for one jump host to acknowledge our disconnect before the next one out is closed.
CLOSE_WAIT = 2.0


class _Client(asyncssh.SSHClient):
    """asyncssh's per-connection client: hands unknown host keys to the HostKeyCheck."""

    def __init__(self, check: HostKeyCheck) -> None:
        self._check = check

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        return self._check(host, addr, port, key)


def describe_channel_error(exc: asyncssh.ChannelOpenError, via: str, host: str, port: int, what: str) -> str:
    """One sentence for a jump host that could not open a TCP connection onwards.

    Args:
        exc: the channel open failure the jump host sent.
        via: the jump host, as sentences name it.
        host: where it was asked to connect.
        port: the port.
        what: what is there, e.g. "AMT device" or "next jump host".
    """
    where = format_endpoint(host, port)
    reason = (exc.reason or "no reason given").rstrip(".")
    if exc.code == asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED:
        return (
            f"Jump host {via} refused to forward to the {what} {where} ({reason}): its sshd does not allow "
            "TCP forwarding (AllowTcpForwarding / PermitOpen) for this user."
        )
    if what == "AMT device":
        hint = "the AMT listener is off or the port is wrong, or the jump host has no route to it"
    else:
        hint = "check the address and that sshd runs there"
    return f"Jump host {via} could not reach the {what} {where} ({reason}): {hint}."


def _known_hosts_files(options: asyncssh.SSHClientConnectionOptions) -> list[Path]:
    # () = nothing configured: OpenSSH's user file; None = "UserKnownHostsFile none".
    value: Any = options.known_hosts
    if value == ():
        return [Path("~/.ssh/known_hosts").expanduser()]
    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value)
    return [Path(str(name)).expanduser() for name in names]


class JumpChain:
    """Open SSH connections through a route of jump hosts; the last one reaches the device.

    Use :meth:`open`; close with :meth:`close` (no waiting) or :meth:`aclose`.
    """

    def __init__(self, route: JumpRoute) -> None:
        self.route = route
        self.connections: list[asyncssh.SSHClientConnection] = []
        self.labels: list[str] = []
        self._listeners: list[asyncssh.SSHListener] = []
        self._directories: list[Path] = []
        self._closing: asyncio.Task[None] | None = None
        #: The direct-tcpip channels of :meth:`open_socket`, for an orderly close.
        self._channels: list[asyncssh.SSHTCPChannel[bytes]] = []

    @classmethod
    async def open(cls, route: JumpRoute) -> JumpChain:
        """Connect to every hop of ``route`` in turn.

        Raises:
            ConfigError: the ssh config file is missing or asyncssh refuses an option in it.
            JumpError: a hop is unreachable, refused us, or its key is not trusted (subclasses).
        """
        if not route.hops:
            raise ConfigError("A jump route needs at least one jump host.")
        if route.config is not None and not route.config.is_file():
            raise ConfigError(f"The ssh config file {route.config} does not exist: check --ssh-config.")
        chain = cls(route)
        try:
            for hop in route.hops:
                await chain._connect(hop)
        except BaseException:
            chain.close()
            raise
        return chain

    @property
    def last(self) -> str:
        """The jump host next to the device, as sentences name it."""
        return self.labels[-1]

    async def _connect(self, hop: JumpHost) -> None:
        route = self.route
        config: Any = [str(route.config)] if route.config is not None else ()
        try:
            options = asyncssh.SSHClientConnectionOptions(
                config=config,
                host=hop.host,
                port=hop.port if hop.port is not None else (),
                username=hop.user if hop.user is not None else (),
                connect_timeout=route.timeout,
            )
        except (ValueError, OSError, asyncssh.Error) as exc:
            raise ConfigError(f"Cannot use the ssh configuration for jump host {hop} ({exc}).") from None
        label = f"{options.username}@{format_endpoint(hop.host, options.port)}"
        files = _known_hosts_files(options)
        settings = await asyncio.to_thread(openssh_settings, hop, route.config)
        check = HostKeyCheck(read_known_hosts(files), files, settings, route.ask, label)
        tunnel: Any = self.connections[-1] if self.connections else ()
        try:
            connection = await asyncssh.connect(
                hop.host,
                hop.port if hop.port is not None else (),
                tunnel=tunnel,
                options=options,
                known_hosts=check.known,
                client_factory=lambda: _Client(check),
            )
        except asyncssh.HostKeyNotVerifiable:
            raise JumpHostKeyError(
                check.problem or f"The SSH host key of jump host {label} was refused (revoked?)."
            ) from None
        except asyncssh.PermissionDenied:
            raise JumpAuthError(
                f"SSH authentication as {options.username} on jump host {label} failed: it accepted none of "
                "the keys offered (ssh agent, IdentityFile, ~/.ssh/id_*); check that "
                f"'ssh {label}' logs in without a password (amtterm does not ask for SSH passwords)."
            ) from None
        except asyncssh.ChannelOpenError as exc:
            raise JumpForwardError(
                describe_channel_error(exc, self.last, options.host, options.port, "next jump host")
            ) from None
        except asyncssh.DisconnectError as exc:
            raise JumpError(f"Jump host {label} closed the SSH connection ({exc.reason}).") from None
        except TimeoutError:
            raise JumpError(
                f"No answer from jump host {label} within {route.timeout:g} s: check the address and that "
                "sshd runs there."
            ) from None
        except socket.gaierror:
            raise JumpError(
                f"Cannot resolve jump host {hop.host!r}: check its name (or its HostName)."
            ) from None
        except ConnectionRefusedError:
            raise JumpError(
                f"Jump host {label} refused the connection: is sshd running there and is the port right?"
            ) from None
        except OSError as exc:
            raise JumpError(f"Cannot reach jump host {label}: {exc.strerror or exc}.") from None
        except (ValueError, asyncssh.Error) as exc:
            raise JumpError(f"Cannot use jump host {label}: {exc}.") from None
        self.connections.append(connection)
        self.labels.append(label)

    async def _channel(self, factory: Any, host: str, port: int) -> None:
        try:
            opening = self.connections[-1].create_connection(factory, host, port)
            channel, _ = await asyncio.wait_for(opening, self.route.timeout)
            self._channels.append(channel)
        except asyncssh.ChannelOpenError as exc:
            raise JumpForwardError(describe_channel_error(exc, self.last, host, port, "AMT device")) from None
        except TimeoutError:
            raise JumpForwardError(
                f"Jump host {self.last} did not connect to {format_endpoint(host, port)} within "
                f"{self.route.timeout:g} s: the AMT device is unreachable from there or asleep."
            ) from None
        except (OSError, asyncssh.Error) as exc:
            raise JumpError(f"The SSH connection to jump host {self.last} failed ({exc}).") from None

    async def open_socket(self, host: str, port: int) -> socket.socket:
        """A connected socket whose bytes go to and come from ``host:port`` behind the last hop.

        Raises:
            JumpForwardError: the jump host could not (or would not) connect to the device.
        """
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        try:
            transport, side = await loop.connect_accepted_socket(SocketSide, sock=ours)
        except BaseException:
            ours.close()
            theirs.close()
            raise
        transport.pause_reading()  # nothing leaves before the channel exists
        try:
            await self._channel(lambda: ChannelSide(transport, side), host, port)
        except BaseException:
            transport.close()
            theirs.close()
            raise
        transport.resume_reading()
        return theirs

    async def probe(self, host: str, port: int) -> None:
        """Open and close a channel to ``host:port``: raises JumpForwardError when it cannot be reached."""
        theirs = await self.open_socket(host, port)
        theirs.close()

    async def forward_unix(self, host: str, port: int) -> str:
        """Listen on a private Unix socket that forwards every connection to ``host:port``.

        The jump host is asked for ``host:port`` once first, so a device it cannot reach is a
        :class:`JumpForwardError` here rather than a connection that just closes later.

        Returns:
            The socket's path (for ``httpx.AsyncHTTPTransport(uds=...)``); removed by :meth:`aclose`.
        """
        await self.probe(host, port)
        directory = Path(tempfile.mkdtemp(prefix="amtterm-ssh-"))  # mode 0700
        self._directories.append(directory)
        path = str(directory / f"{port}.sock")
        try:
            listener = await self.connections[-1].forward_local_path_to_port(path, host, port)
        except (OSError, asyncssh.Error) as exc:
            raise JumpError(f"Cannot forward a local socket through jump host {self.last} ({exc}).") from None
        self._listeners.append(listener)
        return path

    def close(self) -> None:
        """Start closing the listeners and the connections, innermost first; do not wait.

        Each outer connection is closed once the one inside it is down, so that every jump host
        gets a proper SSH disconnect (the inner one's travels through the outer one). Without a
        running event loop everything is closed at once.
        """
        if self._closing is not None:
            return
        for listener in self._listeners:
            listener.close()
        for directory in self._directories:
            shutil.rmtree(directory, ignore_errors=True)
        self._directories.clear()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            for connection in reversed(self.connections):
                connection.close()
            return
        self._closing = loop.create_task(self._close_in_order(), name="jump-chain-close")

    async def _close_in_order(self) -> None:
        pending = list(reversed(self.connections))
        try:
            while pending:
                connection = pending.pop(0)
                connection.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.wait_closed(), CLOSE_WAIT)
        finally:
            for connection in pending:  # cancelled half-way (e.g. the program is ending)
                connection.close()

    async def aclose(self) -> None:
        """Close everything and wait until the SSH connections are down.

        The channels of :meth:`open_socket` are given up to ``CLOSE_WAIT`` to finish their own
        close first (the bridge closes each once its socket's last bytes are in it): a disconnect
        sent while a jump host's channel-close reply is still on its way leaves that reply unread,
        and the kernel then answers with a reset, which loses the disconnect.
        """
        listeners = list(self._listeners)
        channels, self._channels = self._channels, []
        try:
            if channels and self._closing is None:
                waits = asyncio.gather(*(c.wait_closed() for c in channels), return_exceptions=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waits, CLOSE_WAIT)
        finally:
            self.close()
        for listener in listeners:
            with contextlib.suppress(Exception):
                await listener.wait_closed()
        self._listeners.clear()
        if self._closing is not None:
            await self._closing


@contextlib.asynccontextmanager
async def unix_forward(route: JumpRoute, host: str, port: int) -> AsyncIterator[tuple[JumpChain, str]]:
    """Open ``route`` and forward a private Unix socket to ``host:port``; close it all on exit.

    Yields:
        The chain (to probe other ports of the device through it) and the socket's path.

    Raises:
        ConfigError, JumpError: as :meth:`JumpChain.open` and :meth:`JumpChain.forward_unix`.
    """
    chain = await JumpChain.open(route)
    try:
        path = await chain.forward_unix(host, port)
        yield chain, path
    finally:
        await chain.aclose()

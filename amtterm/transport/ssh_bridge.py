"""The bridge between one end of a local socket pair and an SSH direct-tcpip channel.

Why a socket pair: asyncio can only run its TLS (``open_connection(ssl=...)``, ``start_tls``) over
its own socket transports. With the channel bridged to a socket pair, a connection through a jump
host is an ordinary asyncio stream, TLS and all, and the session code cannot tell the difference.
The pair is private to this process: nothing listens anywhere.

Rules the two halves keep:

* Bytes go across unchanged and in order; each side applies back-pressure to the other
  (``pause_writing`` on one side pauses reading on the other).
* An EOF is passed on as an EOF (half-close), so a device that answers after our last byte still
  gets its answer through.
* When either side is lost, the other is closed (a buffered write is still flushed first).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncssh

__all__ = ["ChannelSide", "SocketSide"]


class SocketSide(asyncio.Protocol):
    """Our end of the socket pair: what the local stream writes goes into the SSH channel."""

    def __init__(self) -> None:
        self.channel: asyncssh.SSHTCPChannel[bytes] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """The socket transport exists (before the channel does: reading starts paused)."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        """Local bytes: into the channel."""
        if self.channel is not None:
            with contextlib.suppress(OSError, asyncssh.Error):
                self.channel.write(data)

    def eof_received(self) -> bool:
        """The local stream is done writing: pass the EOF on, keep receiving."""
        if self.channel is not None:
            with contextlib.suppress(OSError, asyncssh.Error):
                self.channel.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        """The local stream is gone: close the channel."""
        if self.channel is not None:
            self.channel.close()

    def pause_writing(self) -> None:
        """The socket's buffer is full: stop reading the channel."""
        if self.channel is not None:
            self.channel.pause_reading()

    def resume_writing(self) -> None:
        """The socket drained: read the channel again."""
        if self.channel is not None:
            self.channel.resume_reading()


class ChannelSide(asyncssh.SSHTCPSession[bytes]):
    """The SSH channel's session: what the device sends goes into our end of the socket pair.

    Args:
        transport: our end of the socket pair.
        socket_side: its protocol, told about the channel once it is open.
    """

    def __init__(self, transport: asyncio.Transport, socket_side: SocketSide) -> None:
        self.transport = transport
        self.socket_side = socket_side

    def connection_made(self, chan: asyncssh.SSHTCPChannel[bytes]) -> None:
        """The jump host opened the connection to the device."""
        self.socket_side.channel = chan

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        """Bytes from the device: into the socket."""
        if not self.transport.is_closing():
            self.transport.write(data)

    def eof_received(self) -> bool:
        """The device is done writing: half-close the socket, keep the channel open for our bytes."""
        if not self.transport.is_closing() and self.transport.can_write_eof():
            self.transport.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        """The channel closed (device, jump host, or our own close): close the socket."""
        self.transport.close()

    def pause_writing(self) -> None:
        """The channel's window is full: stop reading the socket."""
        if not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        """The channel has room again: read the socket again."""
        if not self.transport.is_closing():
            self.transport.resume_reading()

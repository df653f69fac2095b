"""In-process byte streams: two connected :class:`~amtterm.transport.tcp.Stream` ends, no socket.

    client, server = memory_pair()            # inside a running event loop
    client.writer.write(b"hello")             # arrives at server.reader
    client = connect_in_memory(handler)       # handler(reader, writer) runs as the server side

A :class:`Stream` is the byte-stream interface everything above the transport uses: an asyncio
reader and writer (``write``/``drain``/``close``/``wait_closed``; ``read``/``readexactly``), the
peer's TLS fingerprint (None here) and ``close``/``aclose``. This module gives session and UI tests
that interface without loopback sockets, where the socket is not the point; the real-socket tests
stay. Bytes are handed over on the next turn of the event loop, in order, never merged or lost;
closing one end is end-of-file for the other, as a TCP FIN is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from amtterm.transport.tcp import Stream

__all__ = ["connect_in_memory", "memory_pair"]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]

#: The running handlers of :func:`connect_in_memory` (a task nobody holds may be collected).
_HANDLERS: set[asyncio.Task[None]] = set()


class _MemoryTransport(asyncio.Transport):
    """One direction of a memory pipe: what is written here is received by ``peer``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, name: str) -> None:
        super().__init__()
        self._loop = loop
        self._name = name
        self._protocol: asyncio.Protocol | None = None
        self.peer: _MemoryTransport | None = None
        self._closing = False
        self._lost = False

    def bind(self, protocol: asyncio.Protocol) -> None:
        self._protocol = protocol
        protocol.connection_made(self)

    # -- asyncio.Transport ---------------------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("memory", self._name), "sockname": ("memory", self._name)}.get(name, default)

    def is_closing(self) -> bool:
        return self._closing

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or not data:
            return
        peer = self.peer
        chunk = bytes(data)
        if peer is not None and peer._protocol is not None and not peer._lost:
            self._loop.call_soon(peer._receive, chunk)

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        peer = self.peer
        if peer is not None:
            self._loop.call_soon(peer._receive_eof)

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.write_eof()
        peer = self.peer
        if peer is not None:
            self._loop.call_soon(peer._lose)
        self._loop.call_soon(self._lose)

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:  # the writer hands bytes over at once; nothing to pause
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    # -- the receiving side ----------------------------------------------------------------------

    def _receive(self, data: bytes) -> None:
        if self._protocol is not None and not self._lost:
            self._protocol.data_received(data)

    def _receive_eof(self) -> None:
        if self._protocol is not None and not self._lost:
            self._protocol.eof_received()

    def _lose(self) -> None:
        if self._lost:
            return
        self._lost = True
        self._closing = True
        if self._protocol is not None:
            self._protocol.connection_lost(None)


def _end(
    loop: asyncio.AbstractEventLoop, transport: _MemoryTransport
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader = asyncio.StreamReader(loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport.bind(protocol)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


def memory_pair() -> tuple[Stream, Stream]:
    """Two connected stream ends (call inside a running event loop)."""
    loop = asyncio.get_running_loop()
    a, b = _MemoryTransport(loop, "a"), _MemoryTransport(loop, "b")
    a.peer, b.peer = b, a
    left, right = _end(loop, a), _end(loop, b)
    return Stream(*left), Stream(*right)


def connect_in_memory(handler: Handler) -> Stream:
    """The client end of a stream whose server end is served by ``handler(reader, writer)``.

    The handler runs as a task, as a server's connection handler does: it sees end-of-file when
    the client closes, and the client sees end-of-file when the handler closes its writer.
    """
    client, server = memory_pair()
    task = asyncio.get_running_loop().create_task(handler(server.reader, server.writer))
    _HANDLERS.add(task)
    task.add_done_callback(_HANDLERS.discard)
    return client

"""A read-only NBD server on loopback: how the simulator hands a redirected drive to QEMU.

Real AMT shows the IDE-R drive to the PC as an IDE device whose ATAPI commands the
firmware forwards to the console. The QEMU-backed simulated PC gets its CD-ROM from this
server (``-drive file=nbd://127.0.0.1:PORT``), and each NBD read becomes READ(10)s over
the IDE-R session (see :mod:`amtterm.sim.ider_export`), so a real BIOS boots from the
image that the console serves.

The wire format is the NBD protocol's fixed-newstyle handshake and simple replies
(NetworkBlockDevice/nbd ``doc/proto.md``), big-endian throughout:

* server greeting: ``NBDMAGIC``, ``IHAVEOPT``, handshake flags (FIXED_NEWSTYLE | NO_ZEROES);
  the client answers with its 32-bit flags;
* options: ``IHAVEOPT``, option, length, data; replies: reply magic, option, type, length,
  data. EXPORT_NAME, INFO, GO, LIST and ABORT are understood; every other option
  (STARTTLS, STRUCTURED_REPLY, META_CONTEXT, ...) is answered ERR_UNSUP, which a client
  must accept and carry on without;
* transmission: requests (magic 0x25609513, flags, type, cookie, offset, length) answered
  with simple replies (magic 0x67446698, error, cookie, then the data of a read).
  The export is read-only: WRITE / TRIM / WRITE_ZEROES get EPERM, reads past the end
  EINVAL, FLUSH and CACHE succeed, DISC ends the connection.

The size of the export is asked of the source when a client negotiates (GO / INFO /
EXPORT_NAME), so a client may connect before the drive behind it is ready; the
handshake simply waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import struct
from collections.abc import Callable
from typing import Protocol

from amtterm.errors import AmtError

NBD_MAGIC = b"NBDMAGIC"
OPTION_MAGIC = 0x49484156454F5054  # "IHAVEOPT"
REPLY_MAGIC = 0x3E889045565A9
REQUEST_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698

FLAG_FIXED_NEWSTYLE = 1 << 0
FLAG_NO_ZEROES = 1 << 1

OPT_EXPORT_NAME = 1
OPT_ABORT = 2
OPT_LIST = 3
OPT_INFO = 6
OPT_GO = 7

REP_ACK = 1
REP_SERVER = 2
REP_INFO = 3
REP_ERR_UNSUP = (1 << 31) + 1
REP_ERR_INVALID = (1 << 31) + 3
REP_ERR_UNKNOWN = (1 << 31) + 6

INFO_EXPORT = 0
INFO_BLOCK_SIZE = 3

TRANS_HAS_FLAGS = 1 << 0
TRANS_READ_ONLY = 1 << 1
TRANS_SEND_FLUSH = 1 << 2
TRANS_CAN_MULTI_CONN = 1 << 8

CMD_READ = 0
CMD_WRITE = 1
CMD_DISC = 2
CMD_FLUSH = 3
CMD_TRIM = 4
CMD_CACHE = 5
CMD_WRITE_ZEROES = 6

#: The largest read one request may ask for (advertised as the maximum block size).
MAX_REQUEST = 1 << 20
#: Longest option payload accepted (names are at most 4096 bytes by the spec).
MAX_OPTION = 8192


class NbdSourceError(AmtError):
    """The drive behind the export cannot answer (no medium, session ended, read failed)."""


class BlockSource(Protocol):
    """What an export serves: a size and reads (offsets and lengths in bytes)."""

    async def size(self) -> int:
        """The export's size in bytes (may wait until the drive is ready).

        Raises:
            NbdSourceError: there is nothing to serve.
        """
        ...

    async def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` (inside the export).

        Raises:
            NbdSourceError: the read failed.
        """
        ...


class NbdServer:
    """Serves one read-only export to any number of NBD clients on a loopback port.

    Args:
        source: the blocks to serve.
        name: the export's name ("" is the default export; any name a client asks for is served).
        log: where one-line diagnostics go.
    """

    def __init__(
        self, source: BlockSource, *, name: str = "", log: Callable[[str], None] | None = None
    ) -> None:
        self.source = source
        self.name = name
        self._log = log or (lambda line: None)
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self.host = "127.0.0.1"
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 = a free one, then in :attr:`port`)."""
        self._server = await asyncio.start_server(self._client, host, port)
        self.host = host
        self.port = int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """The ``nbd://`` URL QEMU opens."""
        return f"nbd://{self.host}:{self.port}"

    async def close(self) -> None:
        """Stop listening and drop every client."""
        if self._server is not None:
            self._server.close()
        for task in list(self._clients):
            task.cancel()
        for task in list(self._clients):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    # -- one client ---------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            size = await self._handshake(reader, writer)
            if size is not None:
                await self._transmission(reader, writer, size)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        except _ProtocolViolation as exc:
            self._log(f"NBD client dropped: {exc}")
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _handshake(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int | None:
        """Option haggling; the export size once the client enters transmission, None if it left."""
        writer.write(NBD_MAGIC + struct.pack(">QH", OPTION_MAGIC, FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES))
        await writer.drain()
        (client_flags,) = struct.unpack(">I", await reader.readexactly(4))
        if not client_flags & FLAG_FIXED_NEWSTYLE:
            raise _ProtocolViolation("the client does not speak fixed newstyle")
        no_zeroes = bool(client_flags & FLAG_NO_ZEROES)
        while True:
            magic, option, length = struct.unpack(">QII", await reader.readexactly(16))
            if magic != OPTION_MAGIC:
                raise _ProtocolViolation(f"bad option magic {magic:#x}")
            if length > MAX_OPTION:
                raise _ProtocolViolation(f"option {option} is {length} bytes long")
            data = await reader.readexactly(length)
            if option == OPT_EXPORT_NAME:
                size = await self._size_or_none()
                if size is None:
                    return None  # the spec's only answer here is to hang up
                writer.write(struct.pack(">QH", size, self._transmission_flags()))
                if not no_zeroes:
                    writer.write(bytes(124))
                await writer.drain()
                return size
            if option == OPT_ABORT:
                self._reply(writer, option, REP_ACK)
                await writer.drain()
                return None
            if option == OPT_LIST:
                name = self.name.encode()
                self._reply(writer, option, REP_SERVER, struct.pack(">I", len(name)) + name)
                self._reply(writer, option, REP_ACK)
            elif option in (OPT_INFO, OPT_GO):
                described = await self._info(writer, option, data)
                if described is not None and option == OPT_GO:
                    await writer.drain()
                    return described
            else:
                self._reply(writer, option, REP_ERR_UNSUP)
            await writer.drain()

    async def _info(self, writer: asyncio.StreamWriter, option: int, data: bytes) -> int | None:
        """Answer INFO / GO; the size when the export was described (GO then enters transmission)."""
        if len(data) < 6:
            self._reply(writer, option, REP_ERR_INVALID)
            return None
        (name_length,) = struct.unpack_from(">I", data)
        if len(data) < 4 + name_length + 2:
            self._reply(writer, option, REP_ERR_INVALID)
            return None
        size = await self._size_or_none()
        if size is None:
            self._reply(writer, option, REP_ERR_UNKNOWN, b"the redirected drive has no medium")
            return None
        self._reply(
            writer, option, REP_INFO, struct.pack(">HQH", INFO_EXPORT, size, self._transmission_flags())
        )
        self._reply(writer, option, REP_INFO, struct.pack(">HIII", INFO_BLOCK_SIZE, 1, 2048, MAX_REQUEST))
        self._reply(writer, option, REP_ACK)
        return size

    async def _size_or_none(self) -> int | None:
        try:
            return await self.source.size()
        except NbdSourceError as exc:
            self._log(f"NBD export unavailable: {exc}")
            return None

    @staticmethod
    def _transmission_flags() -> int:
        return TRANS_HAS_FLAGS | TRANS_READ_ONLY | TRANS_SEND_FLUSH | TRANS_CAN_MULTI_CONN

    @staticmethod
    def _reply(writer: asyncio.StreamWriter, option: int, kind: int, data: bytes = b"") -> None:
        writer.write(struct.pack(">QIII", REPLY_MAGIC, option, kind, len(data)) + data)

    async def _transmission(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, size: int
    ) -> None:
        while True:
            magic, _flags, kind, cookie, offset, length = struct.unpack(
                ">IHHQQI", await reader.readexactly(28)
            )
            if magic != REQUEST_MAGIC:
                raise _ProtocolViolation(f"bad request magic {magic:#x}")
            if kind == CMD_DISC:
                return
            if kind == CMD_WRITE:
                if length > MAX_REQUEST:  # never buffer what a hostile client announces (up to 4 GB)
                    raise _ProtocolViolation(f"a write of {length} bytes")
                await reader.readexactly(length)  # the payload follows; refuse it after reading it
                self._simple(writer, cookie, errno.EPERM)
            elif kind in (CMD_TRIM, CMD_WRITE_ZEROES):
                self._simple(writer, cookie, errno.EPERM)
            elif kind in (CMD_FLUSH, CMD_CACHE):
                self._simple(writer, cookie, 0)
            elif kind == CMD_READ:
                if length > MAX_REQUEST or offset + length > size:
                    self._simple(writer, cookie, errno.EINVAL)
                else:
                    try:
                        data = await self.source.read(offset, length)
                    except NbdSourceError as exc:
                        self._log(f"NBD read of {length} bytes at {offset} failed: {exc}")
                        self._simple(writer, cookie, errno.EIO)
                    else:
                        self._simple(writer, cookie, 0, data)
            else:
                self._simple(writer, cookie, errno.EINVAL)
            await writer.drain()

    @staticmethod
    def _simple(writer: asyncio.StreamWriter, cookie: int, error: int, data: bytes = b"") -> None:
        writer.write(struct.pack(">IIQ", SIMPLE_REPLY_MAGIC, error, cookie) + data)


class _ProtocolViolation(Exception):
    """The client broke the NBD protocol; the connection is dropped."""


__all__ = ["BlockSource", "NbdServer", "NbdSourceError"]

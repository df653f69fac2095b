"""The simulator's NBD server, judged by QEMU's own NBD client (qemu-img, qemu-io) and by raw bytes.

QEMU is what reads the export in `amtterm sim --qemu`, so its client decides whether the
handshake and the replies are right; the raw-byte tests pin the parts QEMU never asks for
(option refusals, the old EXPORT_NAME ending, writes refused after their payload).
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from amtterm.sim import nbd
from amtterm.sim.nbd import NbdServer, NbdSourceError

pytestmark = pytest.mark.timeout(30)

DATA = bytes(range(256)) * 4096 * 2  # 2 MiB of a pattern whose every offset is distinguishable


class Bytes:
    """A BlockSource over bytes in memory; counts reads."""

    def __init__(self, data: bytes | None) -> None:
        self.data = data
        self.reads: list[tuple[int, int]] = []

    async def size(self) -> int:
        if self.data is None:
            raise NbdSourceError("no medium")
        return len(self.data)

    async def read(self, offset: int, length: int) -> bytes:
        assert self.data is not None
        self.reads.append((offset, length))
        if offset == 4096:
            raise NbdSourceError("bad sector")
        return self.data[offset : offset + length]


@pytest.fixture
async def served() -> AsyncIterator[tuple[NbdServer, Bytes]]:
    source = Bytes(DATA)
    server = NbdServer(source, name="ider-cd")
    await server.start()
    yield server, source
    await server.close()


def _qemu_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install the Debian package qemu-utils (.ci/run does)")
    return path


async def run(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def test_qemu_sees_the_size_and_reads_the_bytes_at_their_offsets(
    served: tuple[NbdServer, Bytes],
) -> None:
    server, source = served
    status, out = await run(_qemu_tool("qemu-img"), "info", server.url)
    assert status == 0, out
    assert f"({len(DATA)} bytes)" in out
    status, out = await run(
        _qemu_tool("qemu-io"), "-r", "-f", "raw", "-c", "read -P 0 0 1", "-c", "read -v 8195 16", server.url
    )
    assert status == 0, out
    assert "00002003:  03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12" in out
    assert any(offset <= 8195 < offset + length for offset, length in source.reads)


async def test_a_failed_read_is_an_io_error_and_writes_are_refused(served: tuple[NbdServer, Bytes]) -> None:
    server, source = served
    qemu_io = _qemu_tool("qemu-io")
    status, out = await run(qemu_io, "-r", "-f", "raw", "-c", "read 4096 512", server.url)
    assert "read failed: Input/output error" in out, out
    # Asked to open it for writing, QEMU learns from the export's flags that it may not.
    status, out = await run(qemu_io, "-f", "raw", "-c", "write -P 0xAA 0 512", server.url)
    assert status != 0
    assert "Permission denied" in out, out
    assert source.data == DATA  # nothing written anywhere


async def test_a_whole_copy_through_qemu_img_is_identical(tmp_path: Path) -> None:
    data = bytes(range(251)) * 8000  # not a multiple of any block size
    source = Bytes(data[: len(data) - len(data) % 512])
    server = NbdServer(source)
    await server.start()
    try:
        copy = tmp_path / "copy.img"
        status, out = await run(
            _qemu_tool("qemu-img"), "convert", "-f", "raw", "-O", "raw", server.url, str(copy)
        )
        assert status == 0, out
    finally:
        await server.close()
    assert source.data is not None
    assert hashlib.sha256(copy.read_bytes()).digest() == hashlib.sha256(source.data).digest()


async def test_no_medium_is_refused_with_a_reason_qemu_shows() -> None:
    server = NbdServer(Bytes(None))
    await server.start()
    try:
        status, out = await run(_qemu_tool("qemu-img"), "info", server.url)
    finally:
        await server.close()
    assert status != 0
    assert "the redirected drive has no medium" in out


# -- the parts QEMU does not exercise, in raw bytes ------------------------------------------------


async def _greet(server: NbdServer, flags: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    greeting = await reader.readexactly(18)
    assert greeting[:8] == b"NBDMAGIC"
    magic, handshake = struct.unpack(">QH", greeting[8:])
    assert magic == nbd.OPTION_MAGIC
    assert handshake == nbd.FLAG_FIXED_NEWSTYLE | nbd.FLAG_NO_ZEROES
    writer.write(struct.pack(">I", flags))
    return reader, writer


def _option(writer: asyncio.StreamWriter, option: int, data: bytes = b"") -> None:
    writer.write(struct.pack(">QII", nbd.OPTION_MAGIC, option, len(data)) + data)


async def _reply(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    magic, option, kind, length = struct.unpack(">QIII", await reader.readexactly(20))
    assert magic == nbd.REPLY_MAGIC
    return option, kind, await reader.readexactly(length)


async def test_unknown_options_are_unsupported_list_names_the_export_and_export_name_pads(
    served: tuple[NbdServer, Bytes],
) -> None:
    server, _ = served
    reader, writer = await _greet(server, nbd.FLAG_FIXED_NEWSTYLE)  # without NO_ZEROES
    _option(writer, 8)  # STRUCTURED_REPLY: not offered
    assert (await _reply(reader))[:2] == (8, nbd.REP_ERR_UNSUP)
    _option(writer, nbd.OPT_LIST)
    option, kind, data = await _reply(reader)
    assert (option, kind, data) == (nbd.OPT_LIST, nbd.REP_SERVER, struct.pack(">I", 7) + b"ider-cd")
    assert (await _reply(reader))[1] == nbd.REP_ACK
    _option(writer, nbd.OPT_EXPORT_NAME, b"ider-cd")
    size, flags = struct.unpack(">QH", await reader.readexactly(10))
    assert size == len(DATA)
    assert flags & nbd.TRANS_READ_ONLY
    assert await reader.readexactly(124) == bytes(124)
    # A write with its payload is read whole and refused; the connection stays in step.
    writer.write(struct.pack(">IHHQQI", nbd.REQUEST_MAGIC, 0, nbd.CMD_WRITE, 7, 0, 4) + b"evil")
    writer.write(struct.pack(">IHHQQI", nbd.REQUEST_MAGIC, 0, nbd.CMD_READ, 8, 2, 3))
    assert struct.unpack(">IIQ", await reader.readexactly(16)) == (nbd.SIMPLE_REPLY_MAGIC, 1, 7)  # EPERM
    assert struct.unpack(">IIQ", await reader.readexactly(16)) == (nbd.SIMPLE_REPLY_MAGIC, 0, 8)
    assert await reader.readexactly(3) == DATA[2:5]
    # Past the end: EINVAL, never a short read.
    writer.write(struct.pack(">IHHQQI", nbd.REQUEST_MAGIC, 0, nbd.CMD_READ, 9, len(DATA) - 1, 2))
    assert struct.unpack(">IIQ", await reader.readexactly(16)) == (nbd.SIMPLE_REPLY_MAGIC, 22, 9)
    writer.write(struct.pack(">IHHQQI", nbd.REQUEST_MAGIC, 0, nbd.CMD_DISC, 10, 0, 0))
    assert await reader.read() == b""
    writer.close()


async def test_a_client_breaking_the_protocol_is_dropped(served: tuple[NbdServer, Bytes]) -> None:
    server, _ = served
    reader, writer = await _greet(server, 0)  # not fixed newstyle
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    reader, writer = await _greet(server, nbd.FLAG_FIXED_NEWSTYLE | nbd.FLAG_NO_ZEROES)
    writer.write(b"\x00" * 16)  # bad option magic
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()

"""The in-memory stream pair: for tests where the socket is not the point (instead of loopback)."""

from __future__ import annotations

import asyncio

from amtterm.transport.memory import connect_in_memory, memory_pair


async def test_bytes_arrive_in_order_both_ways_and_close_is_end_of_file() -> None:
    a, b = memory_pair()
    for i in range(100):
        a.writer.write(b"%d," % i)
    await a.writer.drain()
    b.writer.write(b"pong")
    expected = b"".join(b"%d," % i for i in range(100))
    assert await asyncio.wait_for(b.reader.readexactly(len(expected)), 5) == expected
    assert await asyncio.wait_for(a.reader.readexactly(4), 5) == b"pong"
    await a.aclose()
    assert await asyncio.wait_for(b.reader.read(), 5) == b""  # EOF, as after a TCP FIN
    await asyncio.wait_for(a.writer.wait_closed(), 5)
    b.writer.write(b"into the void")  # writing to a closed peer loses the bytes, raises nothing
    b.close()


async def test_a_handler_serves_the_other_end() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(100):
            writer.write(data.upper())
            await writer.drain()
        writer.close()

    client = connect_in_memory(echo)
    client.writer.write(b"hello")
    assert await asyncio.wait_for(client.reader.readexactly(5), 5) == b"HELLO"
    client.writer.write_eof()
    assert await asyncio.wait_for(client.reader.read(), 5) == b""  # the handler ended and closed
    client.close()

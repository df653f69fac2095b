"""The simulator's WS-Man HTTP server on the wire: AMT's framing of 401, 200 and faults (wsman.md §1.3)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator

import pytest

from amtterm.sim.wsman.server import WsmanServer
from amtterm.sim.wsman.state import DeviceState
from amtterm.wsman import envelope
from amtterm.wsman.resources import resource_uri

pytestmark = pytest.mark.timeout(30)

GET_POWER = envelope.build_get(resource_uri("CIM_AssociatedPowerManagementService")).encode()


@pytest.fixture
async def port() -> AsyncIterator[int]:
    server = WsmanServer(DeviceState(digest_realm="Digest:" + "0F" * 16), password="pw")
    yield await server.start("127.0.0.1", 0)
    await server.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes, int]:
    """Status, headers, body and the number of chunks (0 when not chunked)."""
    status = int((await reader.readline()).split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body, chunks = b"", 0
        while size := int((await reader.readline()).strip(), 16):
            body += await reader.readexactly(size)
            await reader.readexactly(2)
            chunks += 1
        await reader.readline()
        return status, headers, body, chunks
    return status, headers, await reader.readexactly(int(headers["content-length"])), 0


def post(body: bytes, authorization: str | None = None, extra: str = "", path: str = "/wsman") -> bytes:
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{extra}Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def digest(challenge: str, nc: str) -> str:
    realm = re.search(r'realm="([^"]+)"', challenge)
    nonce = re.search(r'nonce="([^"]+)"', challenge)
    assert realm and nonce
    ha1 = hashlib.md5(f"admin:{realm.group(1)}:pw".encode()).hexdigest()
    ha2 = hashlib.md5(b"POST:/wsman").hexdigest()
    response = hashlib.md5(f"{ha1}:{nonce.group(1)}:{nc}:c0ffee:auth:{ha2}".encode()).hexdigest()
    return (
        f'Digest username="admin", realm="{realm.group(1)}", nonce="{nonce.group(1)}", uri="/wsman", '
        f'response="{response}", qop=auth, nc={nc}, cnonce="c0ffee"'
    )


async def challenge_of(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(post(GET_POWER))
    _, headers, _, _ = await read_response(reader)
    writer.close()
    await writer.wait_closed()
    return headers["www-authenticate"]


async def test_401_is_framed_like_amts(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(post(GET_POWER))
    status, headers, body, chunks = await read_response(reader)
    assert status == 401 and chunks == 0
    assert re.fullmatch(
        r'Digest realm="Digest:(0F){16}", nonce="[A-Za-z0-9+/]{32}",stale="false",qop="auth"',
        headers["www-authenticate"],
    )
    assert headers["content-type"] == "text/html"
    assert headers["connection"] == "close"
    assert headers["server"] == "Intel(R) Active Management Technology 16.1.25"
    assert headers["x-frame-options"] == "DENY"
    assert b"<h2 class=warn>Log on failed" in body
    assert await reader.read() == b""  # the device closed the connection
    writer.close()
    await writer.wait_closed()


async def test_200_is_chunked_and_the_connection_stays_open(port: int) -> None:
    challenge = await challenge_of(port)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for nc in ("00000001", "00000002"):
        writer.write(post(GET_POWER, digest(challenge, nc), extra="Content-Type: application/soap+xml\r\n"))
        status, headers, body, chunks = await read_response(reader)
        assert status == 200 and chunks > 1
        assert headers["content-type"] == "application/soap+xml; charset=UTF-8"
        assert "connection" not in headers
        assert b"<g:PowerState>2</g:PowerState>" in body
    writer.close()
    await writer.wait_closed()


async def test_a_fault_is_400_chunked_and_closes(port: int) -> None:
    challenge = await challenge_of(port)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    absent = envelope.build_get(resource_uri("CIM_KVMRedirectionSAP")).encode()
    writer.write(post(absent, digest(challenge, "00000001")))
    status, headers, body, chunks = await read_response(reader)
    assert (status, headers["connection"], headers["transfer-encoding"]) == (400, "close", "chunked")
    assert b"DestinationUnreachable" in body and chunks > 0
    writer.close()
    await writer.wait_closed()


async def test_chunked_request_bodies_are_read(port: int) -> None:
    challenge = await challenge_of(port)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    half = len(GET_POWER) // 2
    chunked = b"%X\r\n%s\r\n%X\r\n%s\r\n0\r\n\r\n" % (
        half,
        GET_POWER[:half],
        len(GET_POWER) - half,
        GET_POWER[half:],
    )
    head = (
        "POST /wsman HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: {digest(challenge, '00000001')}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    writer.write(head.encode() + chunked)
    assert (await read_response(reader))[0] == 200
    writer.close()
    await writer.wait_closed()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /wsman HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (post(b"<x/>", path="/index.htm"), 404),
        (b"NONSENSE\r\n\r\n", 400),
        (b"POST /wsman HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
    ],
    ids=["get", "other-path", "garbage", "too-big"],
)
async def test_other_requests(port: int, request_bytes: bytes, status: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request_bytes)
    assert (await read_response(reader))[0] == status
    writer.close()
    await writer.wait_closed()

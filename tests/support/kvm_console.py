"""A KVM console for tests: the redirection handshake of a ``KVMR`` session, then amtterm's RFB client.

The handshake is written out here byte by byte, as MeshCommander sends it (redirection.md §3-4,
§7): ``10 01 00 00 KVMR``, an auth query, digest (type 4) in two steps, ``40 00..`` and the
firmware's ``41 00..``; the digest arithmetic and the 0x13/0x14 layouts come from ``redir``.
After that :class:`amtterm.rfb.RfbClient` (AMT mode, RGB565) reads the screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct

from amtterm.redir import AuthType
from amtterm.redir.auth import full_digest_request, initial_digest_request
from amtterm.redir.messages_auth import AuthenticateSession, AuthenticateSessionReply, DigestChallenge
from amtterm.rfb import FramebufferUpdated, RfbClient, RfbEvent

KVM_START = bytes.fromhex("10010000") + b"KVMR"


async def _auth_reply(reader: asyncio.StreamReader) -> AuthenticateSessionReply:
    head = await reader.readexactly(9)
    (length,) = struct.unpack("<I", head[5:9])
    return AuthenticateSessionReply.decode_frame(head + await reader.readexactly(length))


async def open_kvm(
    port: int, password: str, *, user: str = "admin", tls: ssl.SSLContext | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect, authenticate a KVM session and start it; the streams then carry RFB.

    Raises:
        AssertionError: the device refused a step.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
    writer.write(KVM_START)
    reply = await reader.readexactly(13)
    assert reply[1] == 0, f"StartRedirectionSession refused with status {reply[1]}"
    writer.write(AuthenticateSession(AuthType.QUERY).encode())
    methods = await _auth_reply(reader)
    assert methods.status == 0
    writer.write(AuthenticateSession(AuthType.DIGEST, initial_digest_request(AuthType.DIGEST, user)).encode())
    challenge = await _auth_reply(reader)
    assert isinstance(challenge.data, DigestChallenge), challenge
    cnonce = "0123456789abcdef0123456789abcdef"
    answer = full_digest_request(AuthType.DIGEST, challenge.data, user=user, password=password, cnonce=cnonce)
    writer.write(AuthenticateSession(AuthType.DIGEST, answer).encode())
    verdict = await _auth_reply(reader)
    assert verdict.status == 0, "digest authentication failed"
    writer.write(bytes((0x40,)) + bytes(7))
    started = await reader.readexactly(8)
    assert started == bytes((0x41,)) + bytes(7), started
    return reader, writer


class KvmConsole:
    """amtterm's RFB client on an open KVM session; reads in the background."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.client = RfbClient()
        self.events: list[RfbEvent] = []
        self.received = bytearray()
        self._changed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        while data := await self.reader.read(65536):
            self.received += data
            self.events += self.client.receive_data(data, loop.time())
            out = self.client.data_to_send()
            if out:
                self.writer.write(out)
            self._changed.set()
        self.events += self.client.receive_data(b"", loop.time())
        self._changed.set()

    async def wait_for(self, what: str, check: object, timeout: float = 20.0) -> None:
        """Wait until ``check()`` is true (re-checked after every read)."""
        assert callable(check)
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or (self._task.done() and not check()):
                raise AssertionError(f"KVM console: {what} not seen")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                continue

    def updates(self) -> list[FramebufferUpdated]:
        """Every FramebufferUpdate so far."""
        return [e for e in self.events if isinstance(e, FramebufferUpdated)]

    def send_keys(self, keys: list[tuple[int, bool]]) -> None:
        """KeyEvents to the device."""
        self.client.send_keys(keys)
        self.writer.write(self.client.data_to_send())

    async def close(self) -> None:
        self.writer.close()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
            await self._task

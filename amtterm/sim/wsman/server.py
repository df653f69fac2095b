"""A small asyncio HTTP/1.1 server for the simulated device's WS-Man port (wsman.md §1, §2, §11.1).

Only ``POST /wsman``. It frames replies as AMT does: 200 and fault (400) replies chunked,
``Content-Type: application/soap+xml; charset=UTF-8``, a ``Server`` header with the AMT
version; 401 with the digest challenge, an HTML page, ``Content-Length`` and
``Connection: close``; faults close the connection too. Any request Content-Type is fine.
An Identify without credentials is answered as AMT does (DSP0226 section 11); with credentials
it is checked like any request.
TLS comes in as an :class:`ssl.SSLContext`. No dependency beyond asyncio streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate

from amtterm.sim.wsman import service
from amtterm.sim.wsman.digest import DigestGate, Verdict
from amtterm.sim.wsman.state import DeviceState

MAX_LINE = 8192
MAX_HEADERS = 100
MAX_BODY = 1 << 20
READ_TIMEOUT = 30.0
#: Requests remembered in :attr:`WsmanServer.auth_log` (a long-running simulator stays bounded).
AUTH_LOG_SIZE = 1000

LOGON_FAILED_PAGE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n'
    "<html><head><title>Intel&reg; Active Management Technology</title></head>\n"
    "<body><p class=top1>Intel&reg; Active Management Technology (simulated)</p>\n"
    "<h2 class=warn>Log on failed: the user name or password is wrong, "
    "or the user account is locked for a while.</h2>\n"
    '<form method="post" action="./index.htm"><input type=submit value="Try again"></form>\n'
    "</body></html>\n"
)


@dataclass(frozen=True)
class AuthRecord:
    """One request as the server judged it, for tests: did it carry credentials, what verdict."""

    had_credentials: bool
    verdict: Verdict


class HttpError(Exception):
    """A request the server cannot read; it answers with ``status`` and closes."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class WsmanServer:
    """Serves one simulated device's WS-Man endpoint.

    Args:
        state: the device (shared with its redirection server).
        user: the digest account name.
        password: its password.
        clock: the time source for digest nonces, lockout and the service's ``now``.
        server_header: the ``Server`` header (AMT 11 sends just ``AMT``).
        gate: a digest gate to share, so the plain and the TLS port of one device count
            failed logins together; by default a new one for ``user``/``password``.
        reply_delay: seconds to wait before answering each request (benchmarks).
    """

    def __init__(
        self,
        state: DeviceState,
        *,
        user: str = "admin",
        password: str,
        clock: Callable[[], float] = time.monotonic,
        server_header: str | None = None,
        gate: DigestGate | None = None,
        reply_delay: float = 0.0,
    ) -> None:
        self.state = state
        self.gate = gate or DigestGate(user, password, state.digest_realm)
        self.clock = clock
        self.server_header = server_header or f"Intel(R) Active Management Technology {state.amt_version}"
        self.auth_log: deque[AuthRecord] = deque(maxlen=AUTH_LOG_SIZE)
        #: Seconds each reply waits before it is sent (benchmarks: a slow ME or a distant network).
        self.reply_delay = reply_delay
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        *,
        sock: socket.socket | None = None,
    ) -> int:
        """Listen on ``host:port`` (port 0 picks a free one), with TLS when a context is given.

        Args:
            host: the address to listen on.
            port: the port; 0 picks a free one.
            ssl_context: serve HTTPS with it; None for plain HTTP.
            sock: an already bound listening socket to serve on instead of ``host:port``.

        Returns:
            The bound port.
        """
        if sock is not None:
            self._server = await asyncio.start_server(self._serve, sock=sock, ssl=ssl_context, limit=MAX_LINE)
        else:
            self._server = await asyncio.start_server(
                self._serve, host, port, ssl=ssl_context, limit=MAX_LINE
            )
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def server(self) -> asyncio.Server | None:
        """The listening server, once started."""
        return self._server

    async def close(self) -> None:
        """Stop listening, end open connections and wait for their handlers."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            keep_alive = True
            while keep_alive:
                try:
                    request = await asyncio.wait_for(_read_request(reader), READ_TIMEOUT)
                except HttpError as exc:
                    close = {"Connection": "close"}
                    await _send(writer, exc.status, exc.reason, close, b"", self.server_header)
                    return
                if request is None:
                    return
                if self.reply_delay > 0:
                    await asyncio.sleep(self.reply_delay)
                keep_alive = await self._answer(writer, *request)
        except (TimeoutError, ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def _answer(
        self, writer: asyncio.StreamWriter, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> bool:
        """Answer one request; returns whether the connection stays open."""
        if path != "/wsman":
            await _send(writer, 404, "Not Found", {"Connection": "close"}, b"", self.server_header)
            return False
        if method != "POST":
            await _send(writer, 405, "Method Not Allowed", {"Connection": "close"}, b"", self.server_header)
            return False
        now = self.clock()
        authorization = headers.get("authorization")
        text = body.decode("utf-8", "replace")
        tls = writer.get_extra_info("sslcontext") is not None
        if authorization is None and service.is_identify(text):
            return await self._reply(writer, headers, *service.handle(text, self.state, now, tls=tls))
        verdict = self.gate.check(authorization, method, path, now)
        self.auth_log.append(AuthRecord(authorization is not None, verdict))
        if verdict is not Verdict.OK:
            challenge = self.gate.challenge(now, stale=verdict is Verdict.STALE)
            extra = {"WWW-Authenticate": challenge, "Content-Type": "text/html", "Connection": "close"}
            await _send(writer, 401, "Unauthorized", extra, LOGON_FAILED_PAGE.encode(), self.server_header)
            return False
        return await self._reply(writer, headers, *service.handle(text, self.state, now, tls=tls))

    async def _reply(
        self, writer: asyncio.StreamWriter, headers: dict[str, str], status: int, reply: str
    ) -> bool:
        close = status != 200 or headers.get("connection", "").lower() == "close"
        extra = {"Content-Type": "application/soap+xml; charset=UTF-8"}
        if close:
            extra["Connection"] = "close"
        reason = "OK" if status == 200 else "Bad Request"
        await _send(writer, status, reason, extra, reply.encode("utf-8"), self.server_header, chunked=True)
        return not close


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
    """One request: method, path, lower-cased headers, body. None at a clean end of stream."""
    line = await reader.readline()
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, "Bad Request")
    method, target, _ = parts
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep:
            raise HttpError(400, "Bad Request")
        headers[name.strip().lower()] = value.strip()
    else:
        raise HttpError(431, "Request Header Fields Too Large")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise HttpError(400, "Bad Request") from None
        if not 0 <= length <= MAX_BODY:
            raise HttpError(413, "Payload Too Large")
        body = await reader.readexactly(length)
    path = target.split("?", 1)[0]
    if "://" in path:  # absolute-form request target
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    return method, path, headers, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = (await reader.readline()).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise HttpError(400, "Bad Request") from None
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise HttpError(413, "Payload Too Large")
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def _chunks(data: bytes) -> bytes:
    """AMT-style chunking: a few separate chunks that may split an XML token."""
    cuts = sorted({0, len(data) // 3, (2 * len(data)) // 3 + 1, len(data)})
    out = bytearray()
    for start, end in itertools.pairwise(cuts):
        if end > start:
            out += b"%X\r\n" % (end - start) + data[start:end] + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


async def _send(
    writer: asyncio.StreamWriter,
    status: int,
    reason: str,
    extra: dict[str, str],
    body: bytes,
    server_header: str,
    *,
    chunked: bool = False,
) -> None:
    headers = {"Date": formatdate(usegmt=True), "Server": server_header, "X-Frame-Options": "DENY", **extra}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
        payload = _chunks(body)
    else:
        headers["Content-Length"] = str(len(body))
        payload = body
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode("latin-1") + payload)
    await writer.drain()

"""The one httpx user: an async WS-Man client per device, with digest auth that never hammers.

Rules (wsman.md §1.5, §2.3, §2.4, §12.3):

* One :class:`httpx.AsyncClient` and one digest auth object per device, and one request in
  flight at a time (an :class:`asyncio.Lock`): AMT consoles serialise, and AMT closes the
  connection after every 401.
* Ten failed logins in a row lock the AMT account, so a call never makes more than one
  request with unproven credentials: a 401 after credentials is an :class:`AuthError` at
  once. Only credentials that already worked are sent pre-emptively, and a 401 on those
  (AMT reset its nonce) gets exactly one retry with the new challenge.
* HTTP on 16992 (plain), HTTPS on 16993 (default), path ``/wsman``, generous 10 s timeout
  (a sleeping ME is slow to answer, §1.5).
* TLS trust comes in as ``verify`` (an :class:`ssl.SSLContext` or a bool); pinning is the
  caller's: ``on_peer_certificate`` gets the DER certificate of every TLS response, the
  first one before any credentials are sent (the unauthenticated 401). It may raise.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Callable, Generator
from types import TracebackType

import httpx

from amtterm.errors import AmtError, AuthError, ConnectError, WsmanMalformedReply, WsmanTimeout
from amtterm.transport import tls as tlsmod
from amtterm.wsman import parse

HTTP_PORT = 16992
HTTPS_PORT = 16993
DEFAULT_TIMEOUT = 10.0

#: Largest reply body accepted from a device. AMT's biggest replies (event log and hardware
#: inventory enumerations) stay far below; a hostile or broken peer is cut off here.
MAX_REPLY_BYTES = 16 * 1024 * 1024
#: A whole reply must arrive within this many per-read timeouts, so a peer that trickles a
#: byte at a time (each read within the timeout) cannot hold a command open forever.
REPLY_DEADLINE_FACTOR = 2.0
AUTH_FAILED = (
    "Log-on to {where} failed: wrong user name or password, or the account is locked after "
    "repeated failures (AMT locks it for a while after 10 in a row)."
)


def peer_certificate(response: httpx.Response) -> bytes | None:
    """The DER certificate the device presented for this response, or None on plain HTTP."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    ssl_object = stream.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    return ssl_object.getpeercert(binary_form=True)


class OneShotDigestAuth(httpx.DigestAuth):
    """httpx's digest computation with an AMT-safe flow: one unproven attempt per request.

    httpx's own flow caches the first challenge even when the password was wrong, so the
    next call would send wrong credentials twice. Here the challenge is cached only once a
    credentialed request succeeded, and forgotten on a 401.
    """

    def __init__(
        self, username: str, password: str, inspect: Callable[[httpx.Response], None] | None = None
    ) -> None:
        super().__init__(username, password)
        self._inspect = inspect
        self._proven = False

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send, answer one challenge at most, and remember whether the credentials worked."""
        preemptive = self._proven and self._last_challenge is not None
        if preemptive and self._last_challenge is not None:
            request.headers["Authorization"] = self._build_auth_header(request, self._last_challenge)
        response = yield request
        if self._inspect is not None:
            self._inspect(response)
        if response.status_code != 401:
            return
        header = next(
            (h for h in response.headers.get_list("www-authenticate") if h.lower().startswith("digest ")),
            None,
        )
        if header is None:
            return
        self._last_challenge = self._parse_challenge(request, response, header)
        self._nonce_count = 1
        request.headers["Authorization"] = self._build_auth_header(request, self._last_challenge)
        response = yield request
        self._proven = response.status_code != 401
        if not self._proven:
            self._last_challenge = None


class WsmanClient:
    """A WS-Man connection to one device; call it with a request envelope to get the reply.

    It is the ``transport`` of :mod:`amtterm.wsman.operations`. Use it as an async context
    manager, or call :meth:`aclose`.

    Args:
        host: the device's name or address.
        user: the digest user, e.g. ``admin``.
        password: the digest password.
        tls: HTTPS (default, port 16993) or plain HTTP (port 16992, ``-P``).
        port: overrides the default port (``--wsman-port``).
        verify: an SSL context to trust the device with, True for system CAs, False for none.
        on_peer_certificate: called with the device's DER certificate on TLS responses; it
            may raise (e.g. TlsPinMismatch) to stop before credentials are sent.
        timeout: seconds for connecting and for each reply.
        uds: connect to this Unix socket instead of ``host:port`` (an SSH jump host's forward);
            the URL, the Host header, TLS and every sentence still name the device.
    """

    def __init__(
        self,
        host: str,
        *,
        user: str,
        password: str,
        tls: bool = True,
        port: int | None = None,
        verify: ssl.SSLContext | bool = True,
        on_peer_certificate: Callable[[bytes], None] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        uds: str | None = None,
    ) -> None:
        self.host = host
        self.port = port if port is not None else (HTTPS_PORT if tls else HTTP_PORT)
        self.tls = tls
        netloc = f"[{host}]" if ":" in host and not host.startswith("[") else host
        self.url = f"{'https' if tls else 'http'}://{netloc}:{self.port}/wsman"
        self.peer_certificate: bytes | None = None
        self._on_peer_certificate = on_peer_certificate
        self._lock = asyncio.Lock()
        # With a transport of its own, httpx takes TLS settings from the transport, not the client.
        transport = httpx.AsyncHTTPTransport(uds=uds, verify=verify) if uds is not None else None
        self._http = httpx.AsyncClient(
            auth=OneShotDigestAuth(user, password, self._inspect),
            verify=verify,
            transport=transport,
            timeout=timeout,
            headers={"Content-Type": "application/soap+xml;charset=UTF-8"},
        )
        self._timeout = timeout
        # Whether the TLS context already allows TLS 1.0/1.1 (--tls-legacy), for error sentences.
        self._legacy = isinstance(verify, ssl.SSLContext) and verify.minimum_version < ssl.TLSVersion.TLSv1_2

    @property
    def where(self) -> str:
        """``host:port`` for sentences."""
        return f"{self.host}:{self.port}"

    def _inspect(self, response: httpx.Response) -> None:
        der = peer_certificate(response)
        if der is None:
            return
        self.peer_certificate = der
        if self._on_peer_certificate is not None:
            self._on_peer_certificate(der)

    async def __call__(self, body: str) -> str:
        """POST one envelope and return the reply text (200, or a SOAP fault for the parser).

        Raises:
            AuthError: wrong credentials or locked account (one attempt only).
            ConnectError: refused, unreachable, timed out while connecting.
            TlsError: the TLS handshake failed.
            WsmanTimeout: connected, but no reply in time.
            WsmanMalformedReply: truncated reply or a non-WS-Man HTTP error.
        """
        async with self._lock:
            status, reason, text = await self._post(body)
        if status == 401:
            raise AuthError(AUTH_FAILED.format(where=self.where))
        if status == 200:
            return text
        if "Envelope" in text:
            parse.parse_reply(text)  # raises the typed fault error when the body is one
        raise WsmanMalformedReply(
            f"{self.where} answered HTTP {status} {reason} to POST /wsman; "
            "check that the port is AMT's WS-Management port."
        )

    async def _post(self, body: str) -> tuple[int, str, str]:
        """POST and read the reply: status, reason phrase, text; bounded in size and in time."""
        try:
            async with asyncio.timeout(self._timeout * REPLY_DEADLINE_FACTOR):
                return await self._exchange(body)
        except AmtError:
            raise
        except (httpx.ConnectTimeout, TimeoutError) as exc:
            if isinstance(exc, TimeoutError) and not isinstance(exc, httpx.TimeoutException):
                raise WsmanTimeout(
                    f"{self.where} did not finish its reply within "
                    f"{self._timeout * REPLY_DEADLINE_FACTOR:g} s; a power change may still have "
                    "happened, so check with 'power status'."
                ) from None
            raise ConnectError(
                f"No answer from {self.where}: the machine is unreachable or its AMT is asleep."
            ) from None
        except httpx.TimeoutException:
            raise WsmanTimeout(
                f"{self.where} accepted the request but did not answer within {self._timeout:g} s; "
                "a power change may still have happened, so check with 'power status'."
            ) from None
        except httpx.ConnectError as exc:
            raise self._describe_connect_error(exc) from None
        except httpx.RemoteProtocolError as exc:
            raise WsmanMalformedReply(
                f"{self.where} broke off or garbled its HTTP reply ({exc}); try again."
            ) from None
        except httpx.HTTPError as exc:
            raise ConnectError(f"The connection to {self.where} failed: {exc}.") from None

    async def _exchange(self, body: str) -> tuple[int, str, str]:
        async with self._http.stream("POST", self.url, content=body.encode("utf-8")) as response:
            announced = response.headers.get("content-length", "")
            if announced.isdigit() and int(announced) > MAX_REPLY_BYTES:
                raise self._too_big()
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_REPLY_BYTES:
                    raise self._too_big()
                chunks.append(chunk)
            raw = b"".join(chunks)
            encoding = response.charset_encoding or "utf-8"
            try:
                text = raw.decode(encoding, errors="replace")
            except LookupError:
                text = raw.decode("utf-8", errors="replace")
            return response.status_code, response.reason_phrase, text

    def _too_big(self) -> WsmanMalformedReply:
        return WsmanMalformedReply(
            f"{self.where} sent a reply larger than {MAX_REPLY_BYTES // (1024 * 1024)} MB, which no AMT "
            "device sends; check that the port is AMT's WS-Management port."
        )

    def _describe_connect_error(self, exc: httpx.ConnectError) -> AmtError:
        chain: list[BaseException] = []
        cause: BaseException | None = exc
        while cause is not None and len(chain) < 20:
            chain.append(cause)
            cause = cause.__cause__ or cause.__context__
        tls_failure: OSError | None = next((c for c in chain if isinstance(c, ssl.SSLError)), None)
        if tls_failure is None and self.tls:
            # A device refusing our TLS versions often just resets the connection mid-handshake.
            tls_failure = next((c for c in chain if isinstance(c, ConnectionResetError)), None)
        if tls_failure is not None:
            return tlsmod.describe_ssl_error(
                tls_failure, self.host, self.port, legacy=self._legacy, plain_port=HTTP_PORT
            )
        if any(isinstance(c, ConnectionRefusedError) for c in chain):
            other = "-P for plain HTTP on 16992" if self.tls else "HTTPS on 16993 (drop -P)"
            return ConnectError(
                f"{self.where} refused the connection: AMT's WS-Management port is closed or "
                f"wrong (try {other}, or --wsman-port)."
            )
        if any(isinstance(c, socket.gaierror) for c in chain):
            return ConnectError(f"Cannot resolve {self.host!r}: check the host name or use its address.")
        errnos = {getattr(c, "errno", None) for c in chain}
        if errnos & {errno.EHOSTUNREACH, errno.ENETUNREACH}:
            return ConnectError(f"{self.where} is unreachable: check the address and your route to it.")
        return ConnectError(f"Cannot connect to {self.where}: {chain[-1]}.")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> WsmanClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

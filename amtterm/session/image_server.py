"""ImageServer: one image file over HTTPS, for a One Click Recovery HTTPS boot.

    image = check_image(Path("debian.iso"))                 # one sentence (ConfigError) otherwise
    authority = BootAuthority.load()                        # the CA in the state dir, made once
    server = ImageServer(image, "192.0.2.10", 0, authority=authority, on_progress=show)
    await server.start()                                    # port in use -> one sentence
    server.url                                              # https://192.0.2.10:40123/debian.iso
    ...
    await server.close()

The rules:

* Exactly one file is served, read-only, at ``/<its name>``; every other path is 404. The file
  is opened for reading only (``O_RDONLY``) per request and never written, so its bytes and its
  mtime stay as they were.
* HTTP is aiohttp's (a kept asyncio server): its request parsing, its ``Range`` header parser
  (:attr:`aiohttp.web.BaseRequest.http_range`) and its response writer. The body is copied in
  chunks here rather than by :class:`aiohttp.web.FileResponse` because the progress line counts
  the bytes as they go (FileResponse hands the whole body to ``loop.sendfile`` with no hook, and
  over TLS that is a copy loop anyway).
* TLS: amtterm's own CA (:mod:`amtterm.session.boot_authority`, kept in the state directory and
  reused, so that the root put into AMT's trusted roots is the same one each time) signs a server
  certificate for the address served on and the URL's host (IP SANs, or DNS SANs for names),
  made anew per run. Keys are RSA and TLS 1.2 with RSA key exchange is offered, because UEFI
  firmware TLS stacks may have nothing else (Debian 12's OVMF).
* Progress: bytes sent, MB/s over the whole serving time, the ETA of the first complete copy,
  and :attr:`ImageProgress.complete` once every byte of the file has been sent at least once
  (the firmware has the whole image).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import os
import ssl
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from amtterm.errors import ConfigError

if TYPE_CHECKING:
    from aiohttp import web

    from amtterm.session.boot_authority import BootAuthority

__all__ = [
    "ImageProgress",
    "ImageServer",
    "check_image",
    "parse_serve_on",
]

#: Bytes read from the file and written to the connection at a time.
CHUNK = 1 << 20
#: The server's TLS 1.2 suites, its preference first: ECDHE for clients that have it, then RSA
#: key exchange with AES-GCM / AES-SHA256, which firmware without elliptic curves needs (Debian 12's
#: OVMF offers RSA and DHE only). The image is no secret; the certificate check is what matters.
SERVER_CIPHERS = (
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"
    "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256"
)


def check_image(path: Path) -> int:
    """Open ``path`` read-only, read its first byte and close it; returns its size in bytes.

    The sentences are those of :meth:`amtterm.session.images.ImageDevice.open` for "the image".

    Raises:
        ConfigError: missing, a directory, not a regular file, unreadable or empty (one sentence).
    """
    try:
        # O_NONBLOCK: a FIFO given by mistake is refused below instead of waiting for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(f"The image {path} does not exist; check the path.") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not an image; give the image file.") from None
    except PermissionError:
        raise ConfigError(
            f"The image {path} cannot be read (permission denied); make it readable for this user."
        ) from None
    except OSError as exc:
        raise ConfigError(f"The image {path} cannot be opened: {exc.strerror or exc}.") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"{path} is a directory, not an image; give the image file.")
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path} is not a regular file; give an ISO or a .efi file.")
        if info.st_size == 0:
            raise ConfigError(f"The image {path} is empty.")
        try:
            os.pread(fd, 1, 0)
        except OSError as exc:
            raise ConfigError(f"The image {path} cannot be read: {exc.strerror or exc}.") from None
        return info.st_size
    finally:
        os.close(fd)


def parse_serve_on(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` (``[v6]:PORT`` for IPv6; PORT 0 picks a free one) -> (address, port).

    Raises:
        ConfigError: not of that form (one sentence).
    """
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(f"--serve-on takes ADDRESS:PORT (e.g. 192.0.2.5:8443), not {text!r}.")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(
            f"--serve-on needs an IP address the device can reach (e.g. 192.0.2.5:8443), not {host!r}."
        ) from None
    return host, int(port_text)


@dataclass(frozen=True)
class ImageProgress:
    """What the server has sent so far.

    Attributes:
        bytes_sent: body bytes written to the device, all requests together.
        size: the image's size in bytes.
        covered: distinct bytes of the image sent at least once.
        requests: requests answered (or being answered).
        mb_per_s: bytes_sent over the time from the first request to the last byte (or to now
            while a request is in flight), in MB/s.
        eta_seconds: the time left until every byte has been sent once at that rate (None: unknown).
        complete: every byte of the image has been sent at least once.
        active: a request is being answered.
    """

    bytes_sent: int
    size: int
    covered: int
    requests: int
    mb_per_s: float
    eta_seconds: float | None
    complete: bool
    active: bool


@dataclass
class _Coverage:
    """Which bytes of the image have been sent: merged half-open intervals."""

    spans: list[tuple[int, int]] = field(default_factory=list)

    def add(self, start: int, end: int) -> None:
        merged: list[tuple[int, int]] = []
        for low, high in sorted([*self.spans, (start, end)]):
            if merged and low <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], high))
            else:
                merged.append((low, high))
        self.spans = merged

    @property
    def total(self) -> int:
        return sum(high - low for low, high in self.spans)


class ImageServer:
    """One image over HTTPS on ``address:port`` (see the module docstring).

    Args:
        image: the file to serve (checked with :func:`check_image` by the caller or by :meth:`start`).
        address: the local address to listen on (and to put in the URL and the certificate).
        port: the port (0: a free one).
        authority: the CA that signs the server certificate (None: plain HTTP, for tests of one layer).
        url_host: the name or address the device reaches the server by, when not ``address``
            (NAT, port forwarding): it is the URL's host and is named in the certificate too.
        on_progress: called after each chunk sent and when a request starts or ends.
        clock: a monotonic clock in seconds.
    """

    def __init__(
        self,
        image: Path,
        address: str,
        port: int = 0,
        *,
        authority: BootAuthority | None,
        url_host: str | None = None,
        on_progress: Callable[[ImageProgress], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.image = image
        self.address = address
        self.url_host = url_host or address
        self.port = port
        self.authority = authority
        self.size = 0
        self._on_progress = on_progress
        self._clock = clock
        self._coverage = _Coverage()
        self._bytes_sent = 0
        self._requests = 0
        self._active = 0
        self._first_at: float | None = None
        self._last_at: float | None = None
        self._runner: web.AppRunner | None = None
        self._complete = asyncio.Event()

    @property
    def path(self) -> str:
        """The URL path of the image."""
        from urllib.parse import quote

        return "/" + quote(self.image.name)

    @property
    def url(self) -> str:
        """``https://ADDRESS:PORT/NAME`` (IPv6 in brackets)."""
        host = f"[{self.url_host}]" if ":" in self.url_host else self.url_host
        scheme = "https" if self.authority is not None else "http"
        return f"{scheme}://{host}:{self.port}{self.path}"

    def progress(self) -> ImageProgress:
        """A snapshot of what has been sent."""
        covered = self._coverage.total
        # The rate over the time spent sending: from the first request to now, or to the last
        # byte sent when nothing is in flight (so that it does not sink while the PC boots).
        end = self._clock() if self._active or self._last_at is None else self._last_at
        elapsed = end - self._first_at if self._first_at is not None else 0.0
        rate = self._bytes_sent / elapsed if elapsed > 0 else 0.0
        eta = (self.size - covered) / rate if rate > 0 and covered < self.size else None
        return ImageProgress(
            bytes_sent=self._bytes_sent,
            size=self.size,
            covered=covered,
            requests=self._requests,
            mb_per_s=rate / 1e6,
            eta_seconds=eta,
            complete=self.size > 0 and covered >= self.size,
            active=self._active > 0,
        )

    def quiet_for(self) -> float:
        """Seconds since the server last sent a byte or saw a request (0 before any)."""
        return 0.0 if self._last_at is None else self._clock() - self._last_at

    async def wait_complete(self) -> None:
        """Return once every byte of the image has been sent at least once."""
        await self._complete.wait()

    def _report(self) -> None:
        self._last_at = self._clock()
        progress = self.progress()
        if progress.complete:
            self._complete.set()
        if self._on_progress is not None:
            self._on_progress(progress)

    async def start(self) -> None:
        """Check the image, make the certificate and listen.

        Raises:
            ConfigError: the image is unusable, or the address cannot be listened on (in use, not
                an address of this machine): one sentence.
        """
        from aiohttp import web

        self.size = check_image(self.image)
        context = None
        if self.authority is not None:
            cert, key = self.authority.issue(self.url_host, self.address)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers(SERVER_CIPHERS)
            context.load_cert_chain(cert, key)
        app = web.Application()
        # One catch-all route: the image's name is compared as decoded, so that no character of it
        # is read as route syntax.
        app.router.add_get("/{name:.*}", self._serve)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.address, self.port, ssl_context=context, reuse_address=False)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            where = (
                f"{self.address}:{self.port}" if ":" not in self.address else f"[{self.address}]:{self.port}"
            )
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"Port {self.port} on {self.address} is in use: give a free one with --serve-on."
                ) from None
            raise ConfigError(
                f"Cannot serve the image on {where} ({exc.strerror or exc}): give an address of this "
                "machine with --serve-on."
            ) from None
        self._runner = runner
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if self.port == 0 and sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and end the requests in flight."""
        runner, self._runner = self._runner, None
        if runner is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner.cleanup(), 5.0)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        if request.match_info.get("name") != self.image.name:
            return web.Response(status=404, text="Only the image is served here.\n")
        size = self.size
        try:
            span = request.http_range
        except ValueError:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        start, stop = span.start, span.stop
        if start is None and stop is None:
            start, stop, status = 0, size, 200
        else:
            if start is None:  # bytes=-N: the last N bytes
                start, stop = max(size - (stop or 0), 0), size
            elif start < 0:
                start, stop = max(size + start, 0), size
            stop = size if stop is None else min(stop, size)
            if start >= size or start >= stop:
                return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
            status = 206
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = stop - start
        self._requests += 1
        if self._first_at is None:
            self._first_at = self._clock()
        if request.method == "HEAD":
            self._report()
            await response.prepare(request)
            return response
        loop = asyncio.get_running_loop()
        fd = os.open(self.image, os.O_RDONLY)
        self._active += 1

        def read_at(position: int) -> asyncio.Future[bytes]:
            return loop.run_in_executor(None, os.pread, fd, min(CHUNK, stop - position), position)

        # The next chunk is read while the current one is written (the disk and TLS overlap).
        pending: asyncio.Future[bytes] | None = read_at(start)
        try:
            await response.prepare(request)
            self._report()
            position = start
            while pending is not None:
                chunk = await pending
                pending = None
                if not chunk:
                    break  # the file shrank under us: the client sees a short body
                if position + len(chunk) < stop:
                    pending = read_at(position + len(chunk))
                await response.write(chunk)
                self._coverage.add(position, position + len(chunk))
                position += len(chunk)
                self._bytes_sent += len(chunk)
                self._report()
            await response.write_eof()
        finally:
            if pending is not None:  # the client went away: let the read finish before closing
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await asyncio.shield(pending)
            os.close(fd)
            self._active -= 1
            self._report()
        return response

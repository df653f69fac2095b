"""Benchmark: ``amtterm reinstall``'s HTTPS image server against a bare loopback TLS copy.

The same file (``--mb`` MB of random bytes in a temporary directory) goes to the same client
twice per round: once from :class:`amtterm.session.image_server.ImageServer` (aiohttp, TLS with
amtterm's CA, progress counted per chunk) as one ``GET``, once from a bare asyncio TLS server that
writes the file to the connection in chunks of the same size with no HTTP at all (the ceiling).
The client is a separate Python process (``--client``), so that it does not share the server's
core: it opens a TLS connection verifying the CA, sends the request (none for the bare copy),
reads to the end and checks the SHA-256 of the body. Printed: MB/s of each and the ratio
HTTPS / bare; the target is 0.8 or more.

    .venv/bin/python bench/https_image_server.py [--mb 200] [--repeat 5]

Each transfer runs ``--repeat`` times and the fastest counts (the machine is shared).
Loopback only; every step is bounded in time and the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import socket
import ssl
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtterm.session.boot_authority import BootAuthority  # noqa: E402
from amtterm.session.image_server import CHUNK, ImageServer  # noqa: E402

#: Longest any one transfer may take (seconds).
STEP_TIMEOUT = 300.0
TARGET = 0.8


def client(port: int, cafile: str, path: str, size: int, digest: str) -> None:
    """Read the image from 127.0.0.1:port over TLS (a GET of ``path``, or nothing for "-").

    The body is hashed as it comes into one reused buffer, so the client costs little beside TLS.
    """
    context = ssl.create_default_context(cafile=cafile)
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    sha = hashlib.sha256()
    received = 0
    head = b"" if path != "-" else None
    with (
        socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        if path != "-":
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        while True:
            count = tls.recv_into(buffer)
            if not count:
                break
            if head is not None:  # still in the reply's header
                head += bytes(view[:count])
                if b"\r\n\r\n" not in head:
                    continue
                header, _, body = head.partition(b"\r\n\r\n")
                if not header.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"bad reply: {header[:80]!r}")
                head = None
                sha.update(body)
                received += len(body)
                continue
            sha.update(view[:count])
            received += count
    if received != size or sha.hexdigest() != digest:
        raise SystemExit(f"wrong body: {received} bytes")


async def run_client(port: int, cafile: Path, path: str, size: int, digest: str) -> float:
    """Seconds for the client process to read the whole image."""
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client", str(port), str(cafile), path, str(size), digest
    )
    code = await asyncio.wait_for(proc.wait(), STEP_TIMEOUT)
    if code != 0:
        raise SystemExit(f"client failed ({code})")
    return time.perf_counter() - start


async def bare_server(image: Path, cert: Path, key: Path) -> asyncio.Server:
    """A TLS server that writes the file to each connection in CHUNK pieces, then closes."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()

    async def serve(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fd = os.open(image, os.O_RDONLY)
        try:
            position = 0
            while True:
                chunk = await loop.run_in_executor(None, os.pread, fd, CHUNK, position)
                if not chunk:
                    break
                writer.write(chunk)
                await writer.drain()
                position += len(chunk)
        finally:
            os.close(fd)
            writer.close()
            await writer.wait_closed()

    return await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)


async def bench(mb: int, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "image.iso"
        data = os.urandom(mb * 1_000_000)
        image.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        size = len(data)
        del data
        authority = BootAuthority.load(Path(tmp) / "ca")
        server = ImageServer(image, "127.0.0.1", 0, authority=authority)
        await server.start()
        cert, key = authority.issue("127.0.0.1")
        bare = await bare_server(image, cert, key)
        bare_port = bare.sockets[0].getsockname()[1]
        best = {"https": float("inf"), "bare": float("inf")}
        try:
            for _ in range(repeat):
                best["bare"] = min(
                    best["bare"], await run_client(bare_port, authority.pem_path, "-", size, digest)
                )
                best["https"] = min(
                    best["https"],
                    await run_client(server.port, authority.pem_path, server.path, size, digest),
                )
        finally:
            await server.close()
            bare.close()
            await bare.wait_closed()
    rate = {name: size / seconds / 1e6 for name, seconds in best.items()}
    ratio = rate["https"] / rate["bare"]
    print(f"image: {mb} MB, best of {repeat}")
    print(f"bare TLS copy:        {rate['bare']:8.1f} MB/s")
    print(f"amtterm HTTPS server: {rate['https']:8.1f} MB/s")
    verdict = "meets" if ratio >= TARGET else "misses"
    print(f"ratio HTTPS / bare:   {ratio:8.2f}x ({verdict} the target of {TARGET}x)")
    return ratio


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        port, cafile, path, size, digest = sys.argv[2:7]
        client(int(port), cafile, path, int(size), digest)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mb", type=int, default=200, help="image size in MB (default 200)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each transfer; the fastest counts")
    args = parser.parse_args()
    ratio = asyncio.run(bench(args.mb, args.repeat))
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

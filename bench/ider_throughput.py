"""Benchmark: serving a 50 MB ISO over IDE-R through the simulator, against a plain loopback copy.

The in-process simulator's firmware side (:meth:`amtterm.sim.ider_firmware.IderFirmware.read`)
reads the whole image over IDE-R, as a BIOS or an OS would, from an :class:`IderSession` (what
``amtterm ider`` and the TUI's IDE-R pane run) on loopback, over plain TCP and over TLS, in
reads of 64 KB (a BIOS, an installer's typical request) and of the largest one READ(10) carries
here (``--max-read``, 2 MB by default). Each read's data is checked against the image (SHA-256).
In the same run the same bytes go through a plain loopback socket copy (asyncio streams, the
same transport, no protocol): that is the ceiling. Printed: MB/s of each, the ratio IDE-R /
copy, and how many times faster than real AMT's ~1.5 MB/s on gigabit our side is.

    .venv/bin/python bench/ider_throughput.py [--mb 50] [--max-read 2048] [--repeat 3]

Each transfer runs ``--repeat`` times and the fastest counts (the machine is shared).

Both sides of each transfer run in this one process (one event loop, one core), so a figure is
what the console and the simulated firmware manage together. Loopback only; the image lives in
a temporary directory; every step is bounded in time and the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import os
import ssl
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtterm.redir.connection import ConsoleConfig  # noqa: E402
from amtterm.redir.constants import IderStartTiming, SessionType  # noqa: E402
from amtterm.session.ider import IderSession  # noqa: E402
from amtterm.sim.app import RunningSim, SimOptions, start_sim  # noqa: E402
from amtterm.sim.ider_firmware import IderFirmware  # noqa: E402
from amtterm.transport import tls as tlsmod  # noqa: E402
from amtterm.transport.tcp import TlsOptions  # noqa: E402
from tests.redir.eltorito import build_iso  # noqa: E402

BLOCK = 2048
PASSWORD = "Bench-Ider-1!"
#: Real AMT serves IDE-R at about this rate on gigabit (MB/s; USERS.md).
REAL_AMT_MBPS = 1.5
#: Longest any one transfer may take (seconds).
STEP_TIMEOUT = 300.0


@dataclass
class Result:
    """One transfer of the whole image."""

    what: str
    transport: str
    chunk: int
    seconds: float
    size: int
    ok: bool

    @property
    def mbps(self) -> float:
        return self.size / 1e6 / self.seconds if self.seconds > 0 else 0.0


def make_image(path: Path, megabytes: int) -> bytes:
    """An El Torito ISO of ``megabytes`` MB (whole 2048-byte blocks); returns its SHA-256 digest."""
    head = build_iso(volume_id="BENCH_IDER", total_blocks=64)
    blocks = max(64, megabytes * 1_000_000 // BLOCK)
    with path.open("wb") as out:
        out.write(head)
        left = (blocks - 64) * BLOCK
        while left:
            piece = os.urandom(min(left, 1 << 20))
            out.write(piece)
            left -= len(piece)
    return hashlib.sha256(path.read_bytes()).digest()


async def wait_for_firmware(sim: RunningSim, timeout: float = 20.0) -> IderFirmware:
    """The simulated BIOS of the IDE-R session, once its boot reads are done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        owner = sim.hosts[0].device.ider_owner
        if owner is not None and owner.ider is not None and owner.ider.host.report is not None:
            return owner.ider
        if loop.time() > deadline:
            raise SystemExit("ider_throughput: the simulated BIOS never finished its boot reads")
        await asyncio.sleep(0.01)


async def read_image(firmware: IderFirmware, blocks: int, per_read: int) -> tuple[float, bytes]:
    """Read the whole drive, ``per_read`` blocks at a time; (seconds, SHA-256 digest)."""
    digest = hashlib.sha256()
    started = time.perf_counter()
    for lba in range(0, blocks, per_read):
        digest.update(await firmware.read(lba, min(per_read, blocks - lba)))
    return time.perf_counter() - started, digest.digest()


async def ider_runs(
    sim: RunningSim, image: Path, expected: bytes, tls: TlsOptions | None, chunks: list[int], repeat: int
) -> list[Result]:
    """Serve ``image`` over one transport; the firmware reads it ``repeat`` times per chunk size."""
    port = sim.hosts[0].port("redirection", tls is not None)
    assert port is not None
    config = ConsoleConfig(
        "admin", PASSWORD, session_type=SessionType.IDER, ider_timing=IderStartTiming.IMMEDIATELY
    )
    server = await IderSession.open("127.0.0.1", port, tls=tls, config=config, cd=image)
    results = []
    try:
        firmware = await wait_for_firmware(sim)
        blocks = image.stat().st_size // BLOCK
        for chunk in chunks:
            seconds, digest = await asyncio.wait_for(
                read_image(firmware, blocks, chunk // BLOCK), STEP_TIMEOUT
            )
            name = "TLS" if tls is not None else "plain"
            results.append(Result("IDE-R", name, chunk, seconds, blocks * BLOCK, digest == expected))
    finally:
        await server.close()
    return results


async def copy_run(
    image: Path, expected: bytes, chunk: int, tls: tuple[ssl.SSLContext, ssl.SSLContext] | None
) -> Result:
    """The same bytes through a bare loopback socket: the server writes the file, the client reads it."""
    size = image.stat().st_size

    async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with image.open("rb") as source:
            while piece := source.read(chunk):
                writer.write(piece)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(send, "127.0.0.1", 0, ssl=tls[0] if tls else None)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=tls[1] if tls else None, server_hostname="localhost" if tls else None
        )
        digest = hashlib.sha256()
        got = 0

        async def drain() -> None:
            nonlocal got
            while got < size:
                data = await reader.read(1 << 20)
                if not data:
                    break
                digest.update(data)
                got += len(data)

        await asyncio.wait_for(drain(), STEP_TIMEOUT)
        seconds = time.perf_counter() - started
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    return Result("copy", "TLS" if tls else "plain", chunk, seconds, got, digest.digest() == expected)


def tls_contexts(state: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context on the simulator's certificate and a client context that accepts it."""
    cert, key = tlsmod.ensure_self_signed(state)
    server = tlsmod.server_context(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE  # loopback only; the IDE-R side pins it on first use
    return server, client


def show(results: list[Result]) -> None:
    """The table and the ratios."""
    print(f"{'transfer':<8} {'transport':<9} {'read size':>9} {'seconds':>8} {'MB/s':>8} {'sha256':>6}")
    for result in results:
        print(
            f"{result.what:<8} {result.transport:<9} {result.chunk // 1024:>7} K {result.seconds:>8.2f} "
            f"{result.mbps:>8.1f} {'ok' if result.ok else 'BAD':>6}"
        )
    print()
    copies = {(r.transport, r.chunk): r for r in results if r.what == "copy"}
    for result in results:
        if result.what != "IDE-R":
            continue
        copy = copies.get((result.transport, result.chunk))
        ratio = (
            f"{result.mbps / copy.mbps:.2f} x the {result.transport} copy"
            if copy and copy.mbps
            else "no copy"
        )
        print(
            f"IDE-R {result.transport:<5} {result.chunk // 1024:>5} K reads: {result.mbps:6.1f} MB/s = "
            f"{ratio}, {result.mbps / REAL_AMT_MBPS:.0f}x real AMT's ~{REAL_AMT_MBPS} MB/s"
        )


async def bench(megabytes: int, max_read: int, repeat: int) -> list[Result]:
    """Every transfer, in one run."""
    with tempfile.TemporaryDirectory(prefix="amtterm-ider-bench-") as scratch:
        where = Path(scratch)
        image = where / "bench.iso"
        expected = make_image(image, megabytes)
        chunks = sorted({64 * 1024, max_read * 1024})
        options = SimOptions(
            redir_port=0,
            redir_tls_port=0,
            password=PASSWORD,
            amt_version=(16, 1),
            state_dir=where / "state",
            power_on="off",
        )
        sim = await start_sim(options, log=lambda _: None)
        results: list[Result] = []
        try:
            tls = TlsOptions(accept_new=True, known_hosts=where / "known_hosts")
            for options_tls in (None, tls):
                results += await ider_runs(sim, image, expected, options_tls, chunks, repeat)
        finally:
            await sim.close()
        contexts = tls_contexts(where / "state")
        steps: list[Callable[[], Awaitable[Result]]] = []
        for chunk in chunks:
            steps.append(functools.partial(copy_run, image, expected, chunk, None))
            steps.append(functools.partial(copy_run, image, expected, chunk, contexts))
        for step in steps:
            runs = [await step() for _ in range(repeat)]
            best = min(runs, key=lambda run: run.seconds)
            best.ok = all(run.ok for run in runs)
            results.append(best)
    return results


def main() -> int:
    """Run and print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=50, help="image size in MB (default 50)")
    parser.add_argument(
        "--max-read", type=int, default=2048, help="the large read size in KB, a multiple of 2 (default 2048)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each transfer; the fastest counts")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.mb < 1 or args.max_read < 2 or args.max_read % 2 or args.max_read * 1024 // BLOCK > 0xFFFF:
        parser.error("--mb must be >= 1 and --max-read an even number of KB up to 131070")
    results = asyncio.run(bench(args.mb, args.max_read, args.repeat))
    show(results)
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())

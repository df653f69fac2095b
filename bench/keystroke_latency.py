"""Benchmark: keystroke-to-echo latency through the simulator, the console app against a raw SolClient.

Two simulated AMT 16 machines in this process (TLS, digest), both booted to the demo OS's
``login:`` prompt, whose getty echoes what is typed. In the same run, alternating in rounds so
that a busy machine disturbs both alike:

* **raw**: a bare :class:`~amtterm.session.sol.SolClient` writes one character and reads until
  its echo comes back (the least any client must spend: TLS, the redirection codec, the
  simulator's host and its firmware-like pacing);
* **app**: the console app (headless Textual, ``AmtApp``) gets the key as its terminal driver
  would deliver it; the time runs until the echo has been fed into the TerminalView (key
  dispatch, the prefix check, the key map, the HostController writer, ConsoleHub, the SOL client,
  then back through the hub and the output worker). Painting follows at the next frame
  (Textual draws at most 60 frames a second), which is not included.

Each sample types a letter, then Backspace (whose echo is ``BS SP BS``), so the prompt stays
short. Printed: median and p99 in milliseconds for both, and the app's extra median.

    /work/venv/bin/python bench/keystroke_latency.py [--samples 200] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402

from amtterm.cli.tui import Display, demo_links  # noqa: E402
from amtterm.redir.connection import ConsoleConfig  # noqa: E402
from amtterm.session.sol import SolClient  # noqa: E402
from amtterm.sim.app import SimHost, SimOptions, start_sim  # noqa: E402
from amtterm.transport.tcp import TlsOptions, open_stream  # noqa: E402
from amtterm.ui.app import AmtApp  # noqa: E402

PROMPT = b"login: "
BOOT_TIMEOUT = 60.0
#: The keys of one sample and the bytes that mark their echo.
KEYS = (("x", "x", b"x"), ("backspace", None, b"\x08 \x08"))


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the samples lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class RawClient:
    """A bare SolClient on one simulated machine, reading everything into a buffer."""

    def __init__(self, client: SolClient) -> None:
        self.client = client
        self.seen = bytearray()
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, host: SimHost, password: str, known_hosts: Path) -> RawClient:
        port = host.port("redirection", True)
        assert port is not None
        tls = TlsOptions(accept_new=True, known_hosts=known_hosts)
        stream = await open_stream(host.address, port, tls=tls)
        client = SolClient(
            stream, ConsoleConfig(user="admin", password=password), target=f"{host.address}:{port}"
        )
        await client.start()
        return cls(client)

    async def _read(self) -> None:
        while chunk := await self.client.read():
            self.seen += chunk
            self.arrived.set()

    async def wait_for(self, needle: bytes, since: int, timeout: float) -> None:
        async def loop() -> None:
            while self.seen.find(needle, since) < 0:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(loop(), timeout)

    async def type_and_wait(self, data: bytes, echo: bytes) -> float:
        since = len(self.seen)
        started = time.perf_counter()
        await self.client.write(data)
        await self.wait_for(echo, since, 5.0)
        return time.perf_counter() - started

    async def close(self) -> None:
        await self.client.close()
        self.task.cancel()


async def boot_to_prompt(seen: Callable[[], bytes], press_enter: Callable[[], Awaitable[None]]) -> None:
    """Wait for the login prompt, pressing Enter now and then (skips the boot loader's countdown)."""
    deadline = time.monotonic() + BOOT_TIMEOUT
    while not seen().rstrip(b" ").endswith(PROMPT.rstrip()):
        if time.monotonic() > deadline:
            raise SystemExit(f"keystroke_latency: no login prompt within {BOOT_TIMEOUT:g} s")
        if b"Press enter to boot" in seen()[-4000:]:
            await press_enter()
        await asyncio.sleep(0.25)


async def run(samples: int, rounds: int) -> dict[str, list[float]]:
    """Boot both machines, then measure in alternating rounds."""
    results: dict[str, list[float]] = {"raw": [], "app": []}
    with tempfile.TemporaryDirectory(prefix="amtterm-latency-") as scratch:
        options = SimOptions(
            redir_port=None,
            redir_tls_port=0,
            amt_version=(16, 1),
            hosts=2,
            state_dir=Path(scratch) / "state",
        )
        sim = await start_sim(options, log=lambda _: None)
        raw: RawClient | None = None
        try:
            known = Path(scratch) / "known_hosts"
            raw = await RawClient.open(sim.hosts[0], sim.password, known)
            links = demo_links(sim, Display(), known_hosts=known)[1:]
            app = AmtApp(links, check_tmux=False, power_poll=0)
            async with app.run_test(size=(132, 42), headless=True) as pilot:
                screen = app.console_screen
                assert screen is not None
                view = screen.view()
                fed = bytearray()
                arrived = asyncio.Event()
                original_feed = view.feed

                def feed(data: bytes) -> set[int]:
                    fed.extend(data)
                    arrived.set()
                    return original_feed(data)

                view.feed = feed  # type: ignore[method-assign]
                driver = app._driver
                assert driver is not None

                async def press(key: str, char: str | None) -> None:
                    event = events.Key(key, char)
                    event.set_sender(app)
                    driver.send_message(event)

                async def raw_enter() -> None:
                    await raw.client.write(b"\r")  # type: ignore[union-attr]

                async def app_enter() -> None:
                    await press("enter", "\r")

                await asyncio.gather(
                    boot_to_prompt(lambda: bytes(raw.seen), raw_enter),  # type: ignore[union-attr]
                    boot_to_prompt(lambda: bytes(fed), app_enter),
                )
                await pilot.pause(0.5)

                async def app_sample(key: str, char: str | None, echo: bytes) -> float:
                    since = len(fed)
                    started = time.perf_counter()
                    await press(key, char)
                    while fed.find(echo, since) < 0:
                        arrived.clear()
                        await asyncio.wait_for(arrived.wait(), 5.0)
                    return time.perf_counter() - started

                per_round = max(1, samples // rounds)
                for _ in range(rounds):
                    for _ in range(per_round):
                        for _key, _char, echo in KEYS:
                            results["raw"].append(await raw.type_and_wait(echo[:1], echo))
                            await asyncio.sleep(0.005)
                    for _ in range(per_round):
                        for key, char, echo in KEYS:
                            results["app"].append(await app_sample(key, char, echo))
                            await asyncio.sleep(0.005)
                await app.close_links()
        finally:
            if raw is not None:
                await raw.close()
            await sim.close()
    return results


def main() -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--samples", type=int, default=200, help="key presses per side, letter + Backspace pairs"
    )
    parser.add_argument("--rounds", type=int, default=4, help="alternations between raw and app")
    args = parser.parse_args()
    results = asyncio.run(run(max(1, args.samples // 2), args.rounds))
    print(f"keystroke-to-echo latency, {len(results['raw'])} keys each, TLS + digest, simulated AMT 16.1")
    medians = {}
    for name, label in (("raw", "raw SolClient"), ("app", "console app (to TerminalView.feed)")):
        values = [v * 1000 for v in results[name]]
        medians[name] = statistics.median(values)
        print(f"  {label:<36} median {medians[name]:6.2f} ms   p99 {percentile(values, 0.99):6.2f} ms")
    print(f"  the app adds {medians['app'] - medians['raw']:.2f} ms at the median")
    return 0


if __name__ == "__main__":
    sys.exit(main())

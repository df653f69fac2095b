"""SimDevice: one simulated AMT machine: its host PC, its credentials, its listeners.

The host (amtterm.sim.host) is pure and told the time; this class owns the one
asyncio task that drives it and carries its serial output to the console that
holds the SOL session. With nobody attached, output goes nowhere, as on a real
serial port.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from amtterm.sim.host import Host
from amtterm.sim.redirection import FAILURE_DELAY_MAX, FAILURE_WINDOW, RedirectionHandler
from amtterm.sim.synthetic.flood import flood

#: Largest piece of host output taken in one go (a flood is sent in these).
OUTPUT_CHUNK = 65536


@dataclass
class Listener:
    """One open server socket of the device."""

    kind: str  # "redirection"
    tls: bool
    host: str
    port: int
    server: asyncio.Server = field(repr=False)


class SimDevice:
    """A simulated AMT device.

    Args:
        host: the simulated PC behind it.
        user: the AMT admin user name.
        password: its password.
        amt_version: firmware (major, minor); 12 and later refuse plain auth.
        power_on: "first-console" powers the PC on when the first SOL session
            starts (so it shows POST from the top), "start" at once, "off" never.
        log: where one-line diagnostics go.
    """

    def __init__(
        self,
        host: Host,
        *,
        user: str,
        password: str,
        amt_version: tuple[int, int] = (11, 8),
        power_on: str = "first-console",
        flood_on_attach: int = 0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.host = host
        self.user = user
        self.password = password
        self.amt_version = amt_version
        self.power_policy = power_on
        #: Benchmarks: each console that starts SOL first gets this many bytes of flood.
        self.flood_on_attach = flood_on_attach
        self._flood: Iterator[bytes] | None = None
        self.sol_owner: RedirectionHandler | None = None
        self.listeners: list[Listener] = []
        self._log = log or (lambda line: print(line, file=sys.stderr))
        self._failures: dict[str, tuple[int, float]] = {}
        self._attached: RedirectionHandler | None = None
        self._wakeup = asyncio.Event()
        self._driver: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._ever_powered = False
        self._clock = asyncio.get_running_loop().time
        if power_on == "start":
            self._power_on()

    # -- power --------------------------------------------------------------------------------

    def _power_on(self) -> None:
        self._ever_powered = True
        self.host.power_on(self._clock())
        self._wakeup.set()

    @property
    def host_size(self) -> tuple[int, int]:
        """The remote screen's (columns, rows)."""
        return (getattr(self.host, "columns", 80), getattr(self.host, "rows", 25))

    def will_be_powered(self) -> bool:
        """Whether the host is (or is about to be, by policy) powered on."""
        return self.host.powered or (self.power_policy == "first-console" and not self._ever_powered)

    # -- failed logins ------------------------------------------------------------------------

    def failure_delay(self, peer: str, now: float) -> float:
        """Record a failed login from ``peer``; return how long to wait before answering."""
        count, last = self._failures.get(peer, (0, now))
        if now - last > FAILURE_WINDOW:
            count = 0
        count += 1
        self._failures[peer] = (count, now)
        return 0.0 if count == 1 else min(FAILURE_DELAY_MAX, float(2 ** (count - 2)))

    def forget_failures(self, peer: str) -> None:
        """A good login clears the address's record."""
        self._failures.pop(peer, None)

    # -- SOL ----------------------------------------------------------------------------------

    def attach_console(self, handler: RedirectionHandler, now: float) -> None:
        """The console holding the SOL slot has started SOL: send it the host's output."""
        self._attached = handler
        if self.flood_on_attach:
            columns, rows = self.host_size
            self._flood = flood(self.flood_on_attach, columns, rows)
        if self.power_policy == "first-console" and not self._ever_powered:
            self._power_on()
        self._wakeup.set()

    def detach_console(self, handler: RedirectionHandler) -> None:
        """The console left."""
        if self.sol_owner is handler:
            self.sol_owner = None
        if self._attached is handler:
            self._attached = None

    def host_input(self, data: bytes, now: float) -> None:
        """Keys typed by the console."""
        self.host.feed(data, now)
        self._wakeup.set()

    async def _drive_host(self) -> None:
        while True:
            self._wakeup.clear()
            handler = self._attached
            if self._flood is not None:
                data = next(self._flood, b"")
                if not data:
                    self._flood = None
            else:
                data = self.host.read_output(self._clock(), OUTPUT_CHUNK)
            if data and handler is not None:
                try:
                    await handler.send_output(data)
                except (ConnectionError, OSError):
                    self.detach_console(handler)
            if len(data) >= OUTPUT_CHUNK or self._flood is not None:
                await asyncio.sleep(0)
                continue
            deadline = self.host.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    # -- listeners ----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await RedirectionHandler(self, reader, writer).run()
        finally:
            if task is not None:
                self._handlers.discard(task)

    async def listen(self, address: str, port: int, *, tls: ssl.SSLContext | None = None) -> Listener:
        """Open a redirection listener; port 0 picks a free one."""
        server = await asyncio.start_server(self._serve, address, port, ssl=tls)
        bound = server.sockets[0].getsockname()[1]
        listener = Listener("redirection", tls is not None, address, int(bound), server)
        self.listeners.append(listener)
        if self._driver is None:
            self._driver = asyncio.create_task(self._drive_host())
        return listener

    def log(self, line: str) -> None:
        """Write one diagnostic line."""
        self._log(line)

    async def close(self) -> None:
        """Close every listener and connection and stop driving the host."""
        for listener in self.listeners:
            listener.server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._driver is not None:
            self._driver.cancel()
        for task in [*self._handlers, *([self._driver] if self._driver else [])]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for listener in self.listeners:
            with contextlib.suppress(Exception):
                await listener.server.wait_closed()
        self.listeners.clear()

"""ConsoleHub and ConsoleSession: one live SOL console, shared by everything that shows it.

    session = ConsoleSession(open_client, hub)      # open_client: async () -> started SolClient
    task = asyncio.create_task(session.run())       # connects, reconnects, until stop()
    sub = hub.subscribe("tui")                      # async for chunk in sub: ...
    await hub.write(b"keys", who="tui")             # only the keyboard holder's keys go out

The hub fans host output out to its subscribers (the TUI, SSH viewers, a recorder).
A lossless subscriber (the owner's screen) pushes back on the session, and so on the
device, when it is slow; a lossy one (a viewer on a slow link) is marked ``lagged``
instead and can be redrawn from a screen model later. Exactly one party holds the
keyboard at a time; keys from anyone else are refused.

The session keeps the console alive: when the device drops the connection (network
trouble, the session timed out) it reconnects with a growing pause, and it tells
listeners what it is doing in one sentence (``status``). Wrong passwords and refused
certificates are not retried: retrying them would lock the account or hide an attack.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from amtterm.errors import (
    AmtError,
    AuthError,
    ConfigError,
    JumpAuthError,
    JumpHostKeyError,
    SessionBusy,
    TlsError,
)
from amtterm.session.sol import SolClient

#: Pauses between reconnection attempts (seconds); the last one repeats.
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
#: Errors that retrying cannot fix (or must not try to).
# A jump host that refused our keys, or whose key is not trusted, refuses them again next time.
PERMANENT_ERRORS = (AuthError, TlsError, ConfigError, JumpAuthError, JumpHostKeyError)


class Subscription:
    """What one subscriber reads: host output chunks, in order."""

    def __init__(self, hub: ConsoleHub, name: str, *, lossless: bool, maxsize: int) -> None:
        self.hub = hub
        self.name = name
        self.lossless = lossless
        self.lagged = False
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self.queue.get()
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        """Stop receiving."""
        self.hub.unsubscribe(self)


class ConsoleHub:
    """Fans console output out and funnels the keyboard holder's keys in."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._sink: Callable[[bytes], Awaitable[None]] | None = None
        self.keyboard: str | None = None
        self._status_listeners: list[Callable[[SessionStatus], None]] = []
        self.status = SessionStatus(SessionState.IDLE, "Not connected.")

    # -- output -------------------------------------------------------------------------------

    def subscribe(self, name: str, *, lossless: bool = True, maxsize: int = 256) -> Subscription:
        """Start receiving host output."""
        sub = Subscription(self, name, lossless=lossless, maxsize=maxsize)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop sending to ``sub`` and end its iteration."""
        if sub in self._subs:
            self._subs.remove(sub)
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)

    @property
    def subscribers(self) -> list[str]:
        """Names of everyone watching."""
        return [sub.name for sub in self._subs]

    async def publish(self, data: bytes) -> None:
        """Hand ``data`` to every subscriber; waits for lossless ones that are full."""
        for sub in list(self._subs):
            if sub.lossless:
                await sub.queue.put(data)
            else:
                try:
                    sub.queue.put_nowait(data)
                except asyncio.QueueFull:
                    sub.lagged = True

    # -- keyboard -----------------------------------------------------------------------------

    def attach_sink(self, sink: Callable[[bytes], Awaitable[None]] | None) -> None:
        """Where keys go (the live SolClient), or None while disconnected."""
        self._sink = sink

    def grant_keyboard(self, who: str | None) -> None:
        """Give the keyboard to ``who`` (None: nobody may type)."""
        self.keyboard = who

    async def write(self, data: bytes, *, who: str) -> bool:
        """Send keys typed by ``who``; returns False (and sends nothing) if they may not type now."""
        if who != self.keyboard or self._sink is None or not data:
            return False
        await self._sink(data)
        return True

    # -- status -------------------------------------------------------------------------------

    def on_status(self, listener: Callable[[SessionStatus], None]) -> None:
        """Call ``listener`` on every session status change."""
        self._status_listeners.append(listener)

    def set_status(self, status: SessionStatus) -> None:
        """Record and announce a status change."""
        self.status = status
        for listener in list(self._status_listeners):
            listener(status)


class SessionState(enum.Enum):
    """What the console session is doing."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    CLOSED = "closed"


@dataclass(frozen=True)
class SessionStatus:
    """One status change: a state, a sentence for people, and what is known of the host."""

    state: SessionState
    message: str
    power_on: bool | None = None
    firmware_version: tuple[int, int] | None = None
    error: AmtError | None = field(default=None, compare=False)


ClientFactory = Callable[[], Awaitable[SolClient]]


class ConsoleSession:
    """Keeps one SOL console connected and feeds a ConsoleHub.

    Args:
        open_client: opens a connection and returns a started SolClient (raises AmtError).
        hub: where output goes and keys come from.
        target: "host:port", for messages.
        reconnect: reconnect after the device drops the session.
        sleep: injectable pause (tests).
    """

    def __init__(
        self,
        open_client: ClientFactory,
        hub: ConsoleHub,
        *,
        target: str,
        reconnect: bool = True,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.open_client = open_client
        self.hub = hub
        self.target = target
        self.reconnect = reconnect
        self._sleep = sleep
        self._client: SolClient | None = None
        self._stopping = False
        self.attempts = 0

    def _status(self, state: SessionState, message: str, error: AmtError | None = None) -> None:
        client = self._client
        self.hub.set_status(
            SessionStatus(
                state,
                message,
                power_on=client.power_on if client else self.hub.status.power_on,
                firmware_version=client.firmware_version if client else self.hub.status.firmware_version,
                error=error,
            )
        )

    async def _serve(self, client: SolClient) -> None:
        async def send(data: bytes) -> None:
            await client.write(data)

        def on_power(_: bool) -> None:
            # Reported as it happens: a machine that just switched off sends no output after it.
            self._status(SessionState.CONNECTED, self._connected_message())

        self.hub.attach_sink(send)
        client.power_listeners.append(on_power)
        try:
            while True:
                chunk = await client.read()
                if not chunk:
                    return
                await self.hub.publish(chunk)
        finally:
            client.power_listeners.remove(on_power)
            self.hub.attach_sink(None)

    def _connected_message(self) -> str:
        client = self._client
        power = ""
        if client is not None and client.power_on is not None:
            power = " The machine is on." if client.power_on else " The machine is off."
        return f"Connected to {self.target}.{power}"

    async def run(self) -> None:
        """Connect and keep the console connected until stop() or a permanent error."""
        delays = iter(RECONNECT_DELAYS)
        delay = RECONNECT_DELAYS[0]
        while not self._stopping:
            self.attempts += 1
            first = self.attempts == 1
            self._status(
                SessionState.CONNECTING if first else SessionState.RECONNECTING,
                f"Connecting to {self.target}..." if first else f"Reconnecting to {self.target}...",
            )
            try:
                self._client = await self.open_client()
                if self._stopping:  # stop() came while we were connecting
                    await self._client.close()
                    self._client = None
                    break
            except PERMANENT_ERRORS as exc:
                self._status(SessionState.FAILED, str(exc), exc)
                return
            except AmtError as exc:
                if not self.reconnect or self._stopping:
                    self._status(SessionState.FAILED, str(exc), exc)
                    return
                delay = next(delays, delay)
                busy = isinstance(exc, SessionBusy)
                retry = " Waiting for it to be free, retrying" if busy else " Retrying"
                self._status(SessionState.RECONNECTING, f"{exc}{retry} in {delay:g} s.", exc)
                await self._sleep(delay)
                continue
            delays = iter(RECONNECT_DELAYS)
            self._status(SessionState.CONNECTED, self._connected_message())
            try:
                await self._serve(self._client)
                lost: AmtError | None = None
            except AmtError as exc:
                lost = exc
            finally:
                client, self._client = self._client, None
                if client is not None:
                    await client.close()
            if self._stopping:
                break
            if not self.reconnect:
                message = str(lost) if lost else f"{self.target} ended the session."
                self._status(SessionState.FAILED if lost else SessionState.CLOSED, message, lost)
                return
            reason = str(lost) if lost else f"{self.target} ended the session."
            self._status(SessionState.RECONNECTING, f"{reason} Reconnecting...", lost)
            await self._sleep(RECONNECT_DELAYS[0])
        self._status(SessionState.CLOSED, f"Disconnected from {self.target}.")

    async def stop(self) -> None:
        """End the session politely; run() returns."""
        self._stopping = True
        client = self._client
        if client is not None:
            await client.close()

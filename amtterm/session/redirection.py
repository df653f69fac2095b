"""The pump: one asyncio task pair around one sans-IO RedirectionConnection.

    socket -> reader task -> conn.receive_data(now) -> events -> handler
    conn's queued frames -> flush() -> socket (paced on the device side)
    one timer task -> conn.handle_timer(now) at conn.next_timer_at()

The codec decides *what* to send (auth steps, heartbeat echoes, replies); the pump
only moves bytes and owns the clock. On the device side it paces writes the way
real firmware does (redirection.md section 11): nothing is written after a
"greedy" message in the same write, and a gap follows it, so that clients that
throw away the rest of their read buffer (Debian amtterm 1.4, 9front) lose nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from amtterm.errors import AmtError, RemoteProtocolError, SessionClosed
from amtterm.redir import ConnectionState, Event, RedirectionConnection, gap_after

EventHandler = Callable[[Event], Awaitable[None]]

#: How many bytes one read takes from the socket.
READ_SIZE = 65536


class RedirectionPump:
    """Moves bytes between an asyncio stream and a RedirectionConnection.

    Args:
        conn: the codec, in either role.
        reader: the stream's reader.
        writer: the stream's writer.
        handler: awaited for every event, in order; while it runs no more bytes
            are read from the socket (that is the back-pressure path).
        paced: pace writes like firmware (device role).
        clock: the time source passed to the codec as ``now``.
    """

    def __init__(
        self,
        conn: RedirectionConnection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handler: EventHandler,
        *,
        paced: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.conn = conn
        self.reader = reader
        self.writer = writer
        self.handler = handler
        self.paced = paced
        self.clock = clock or asyncio.get_running_loop().time
        self._write_lock = asyncio.Lock()
        self._timer_wakeup = asyncio.Event()
        self._paused = False
        self._quiet_until = 0.0

    async def flush(self) -> None:
        """Write every frame the codec has queued; on the device side with firmware pacing.

        Pacing keeps a "quiet until" time after each greedy message: the next write
        waits for it. A reply the console has to wait for (auth steps) goes out at
        once, because its request proves the console has read what came before.
        """
        async with self._write_lock:
            frames = self.conn.frames_to_send()
            if not frames:
                return
            if not self.paced:
                self.writer.write(b"".join(frames))
                await self.writer.drain()
            else:
                batch: list[bytes] = []
                for frame in frames:
                    batch.append(frame)
                    gap = gap_after(frame)
                    if gap > 0:
                        await self._paced_write(batch)
                        batch = []
                        self._quiet_until = self.clock() + gap
                if batch:
                    await self._paced_write(batch)
        self._timer_wakeup.set()

    async def _paced_write(self, frames: list[bytes]) -> None:
        wait = self._quiet_until - self.clock()
        if wait > 0:
            await asyncio.sleep(wait)
        self.writer.write(b"".join(frames))
        await self.writer.drain()

    def note_peer_data(self) -> None:
        """The peer sent something: it has read our earlier messages, no gap is owed."""
        self._quiet_until = 0.0

    async def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            await self.handler(event)
        await self.flush()

    async def _read_loop(self) -> None:
        while self.conn.state is not ConnectionState.CLOSED:
            try:
                data = await self.reader.read(READ_SIZE)
            except (ConnectionError, OSError) as exc:
                raise SessionClosed(f"The connection to the device was lost: {exc}.") from exc
            self._paused = True
            if data and self.conn.state is not ConnectionState.SOL_ACTIVE:
                # In the handshake a console only ever answers: its message proves it
                # has read ours. Once SOL runs, keys can cross a greedy message, so
                # the gap is kept there.
                self.note_peer_data()
            try:
                events = self.conn.receive_data(data, self.clock())
                await self._dispatch(events)
            finally:
                self._paused = False
            if not data:
                return

    async def _timer_loop(self) -> None:
        while self.conn.state is not ConnectionState.CLOSED:
            deadline = self.conn.next_timer_at()
            self._timer_wakeup.clear()
            timeout = None if deadline is None else max(0.0, deadline - self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timer_wakeup.wait(), timeout)
                continue
            if self._paused:
                # The handler holds the reader (a slow consumer): do not call the
                # device silent for a delay that is ours.
                await asyncio.sleep(0.05)
                continue
            await self._dispatch(self.conn.handle_timer(self.clock()))

    async def run(self) -> None:
        """Pump until the connection closes; errors propagate as AmtError subclasses."""
        await self.flush()
        reader = asyncio.create_task(self._read_loop())
        timer = asyncio.create_task(self._timer_loop())
        try:
            done, _ = await asyncio.wait({reader, timer}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            # The codec may have reached CLOSED through the timer while reading waits.
        finally:
            for task in (reader, timer):
                task.cancel()
            for task in (reader, timer):
                with contextlib.suppress(asyncio.CancelledError, AmtError, ConnectionError, OSError):
                    await task
            with contextlib.suppress(ConnectionError, OSError, RuntimeError):
                await self.flush()

    async def end_politely(self, task: asyncio.Task[None] | None, timeout: float) -> None:
        """Ask the codec to end the session, flush that, and give ``task`` (running run()) time to finish.

        Whatever the peer does, this returns within about ``timeout``: a peer that does not
        answer the end request has its pump task cancelled.
        """
        closing = (ConnectionState.CLOSED, ConnectionState.CLOSING, ConnectionState.IDER_CLOSING)
        if self.conn.state not in closing:
            with contextlib.suppress(AmtError):
                self.conn.close()
            with contextlib.suppress(AmtError, ConnectionError, OSError):
                await self.flush()
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def wake(self) -> None:
        """Tell the timer task the codec's deadline may have moved (after a send)."""
        self._timer_wakeup.set()


__all__ = ["RedirectionPump", "RemoteProtocolError"]

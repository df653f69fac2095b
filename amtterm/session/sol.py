"""SolClient: a console-side Serial-over-LAN session over an open stream.

    client = SolClient(stream, ConsoleConfig(...), target="host:16995")
    await client.start()            # returns once SOL runs; raises SessionBusy, AuthError, ...
    chunk = await client.read()     # host output; b"" once the session has ended
    await client.write(b"keys")
    await client.close()

Output is handed over through a bounded queue: when whoever reads is slower than
the network, the pump stops reading the socket and TCP pushes back on the device.
Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from amtterm.errors import (
    AmtError,
    AuthError,
    SessionBusy,
    SessionClosed,
    SessionRefused,
    SessionTimeout,
)
from amtterm.redir import (
    AuthStatus,
    AuthType,
    ConnectionState,
    ConsoleConfig,
    RedirectionConnection,
    SolStatus,
    StartStatus,
)
from amtterm.redir import events as ev
from amtterm.session.redirection import RedirectionPump
from amtterm.transport.tcp import Stream

#: Chunks of host output held before the socket is no longer read.
QUEUE_CHUNKS = 64
#: read() joins queued chunks up to about this many bytes.
READ_COALESCE = 262144

_METHOD_NAMES = {
    AuthType.PLAIN: "plain (legacy)",
    AuthType.DIGEST: "digest",
    AuthType.DIGEST_NO_QOP: "digest without qop",
    AuthType.KERBEROS: "Kerberos",
}


def _method_name(method: int) -> str:
    try:
        return _METHOD_NAMES.get(AuthType(method), str(method))
    except ValueError:
        return f"type {method}"


class SolClient:
    """One SOL session, console side."""

    def __init__(self, stream: Stream, config: ConsoleConfig, *, target: str) -> None:
        self.stream = stream
        self.config = config
        self.target = target
        self.conn = RedirectionConnection(config)
        #: The host part of ``target``, for commands suggested in messages.
        self._host = target.rsplit(":", 1)[0].strip("[]") if ":" in target else target
        self.firmware_version: tuple[int, int] | None = None
        self.offered: tuple[int, ...] = ()
        self.power_on: bool | None = None
        #: Called with the new state when the device reports the host's power (the first
        #: report, and every change after it).
        self.power_listeners: list[Callable[[bool], None]] = []
        self._output: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_CHUNKS)
        self._final: AmtError | None = None
        self._started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pump = RedirectionPump(self.conn, stream.reader, stream.writer, self._on_event)
        self._task: asyncio.Task[None] | None = None
        self._ended = False

    # -- events ---------------------------------------------------------------------------

    def _fail(self, error: AmtError) -> None:
        if not self._started.done():
            self._started.set_exception(error)
        else:
            self._end(error)

    def _end(self, error: AmtError | None) -> None:
        # The end is a flag, not a queue item, so a full queue cannot lose it; the
        # None put here only wakes a reader waiting on an empty queue.
        if self._ended:
            return
        self._ended = True
        self._final = error
        with contextlib.suppress(asyncio.QueueFull):
            self._output.put_nowait(None)

    async def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.SolData):
            await self._output.put(event.data)
        elif isinstance(event, ev.SolControlsChanged):
            powered = bool(event.status & SolStatus.POWER_ON)
            changed = powered != self.power_on
            self.power_on = powered
            if changed:
                for listener in list(self.power_listeners):
                    listener(powered)
        elif isinstance(event, ev.SessionStarted):
            self.firmware_version = event.firmware_version
        elif isinstance(event, ev.AuthMethodsOffered):
            self.offered = tuple(int(m) for m in event.methods)
        elif isinstance(event, ev.SolStarted):
            if not self._started.done():
                self._started.set_result(None)
        elif isinstance(event, ev.SessionRefused):
            self._fail(self._refusal(int(event.status)))
        elif isinstance(event, ev.AuthFailed):
            self._fail(self._auth_failure(event))
        elif isinstance(event, ev.SolRefused):
            self._fail(
                SessionRefused(
                    f"{self.target} refused to start Serial-over-LAN (status {event.status}): "
                    f"SOL may be disabled; enable it with 'amtterm redirection {self._host} enable'."
                )
            )
        elif isinstance(event, ev.PeerTimeout):
            self._fail(
                SessionTimeout(
                    f"{self.target} stopped answering: nothing for {event.seconds:.0f} s "
                    f"(network down, or the machine lost power)."
                )
            )
        elif isinstance(event, ev.ConnectionClosed):
            self._end(None)

    def _refusal(self, status: int) -> SessionRefused:
        if status == StartStatus.BUSY:
            return SessionBusy(
                f"{self.target} is busy: another console holds its Serial-over-LAN session "
                f"(close it there, or wait for it to time out)."
            )
        if status in (StartStatus.UNSUPPORTED, StartStatus.UNKNOWN_SESSION_TYPE):
            return SessionRefused(
                f"{self.target} does not offer Serial-over-LAN (status {status}): "
                f"the SOL feature is disabled or not provisioned."
            )
        return SessionRefused(f"{self.target} refused the redirection session (status {status}).")

    def _auth_failure(self, event: ev.AuthFailed) -> AuthError:
        wanted = [m for m in self.config.auth_methods if int(m) in self.offered] if self.offered else True
        if self.offered and not wanted:
            offered = ", ".join(_method_name(m) for m in self.offered) or "none"
            hint = " (use -L only for AMT 11 and older)" if AuthType.PLAIN in self.config.auth_methods else ""
            return AuthError(
                f"{self.target} offers no authentication method we can use: it offers {offered}{hint}."
            )
        if int(event.status) == AuthStatus.NOT_SUPPORTED:
            return AuthError(
                f"{self.target} does not accept {_method_name(int(event.method))} authentication"
                + (": AMT 12 and later need digest, drop -L." if int(event.method) == AuthType.PLAIN else ".")
            )
        return AuthError(f"Wrong user name or password for {event.user!r} on {self.target}.")

    # -- public ---------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._pump.run()
        except AmtError as exc:
            self._fail(exc)
        except (ConnectionError, OSError) as exc:
            self._fail(SessionClosed(f"The connection to {self.target} was lost: {exc}."))
        else:
            if self.conn.state is not ConnectionState.CLOSED or not self._started.done():
                self._fail(SessionClosed(f"{self.target} closed the connection."))
            self._end(None)
        finally:
            self.stream.close()

    async def start(self) -> None:
        """Open the session, authenticate and start SOL.

        Raises:
            SessionBusy, SessionRefused, AuthError, SessionTimeout, SessionClosed,
            RemoteProtocolError: one sentence each.
        """
        self.conn.start(self._pump.clock())
        self._task = asyncio.create_task(self._run())
        try:
            await self._started
        except BaseException:
            await self.close()
            raise

    async def read(self) -> bytes:
        """Return the next chunk of host output, or b"" when the session has ended.

        Raises:
            AmtError: the session broke (timeout, closed by the device, malformed data).
        """
        while True:
            if self._ended and self._output.empty():
                error, self._final = self._final, None
                if error is not None:
                    raise error
                return b""
            item = await self._output.get()
            if item is None:
                continue
            # Hand over everything already waiting in one piece: one write for many
            # small SOL messages is what keeps a flood cheap for the consumer.
            pieces = [item]
            size = len(item)
            while size < READ_COALESCE and not self._output.empty():
                more = self._output.get_nowait()
                if more is None:
                    break
                pieces.append(more)
                size += len(more)
            return b"".join(pieces) if len(pieces) > 1 else item

    async def write(self, data: bytes) -> None:
        """Type ``data`` on the remote serial console."""
        if self.conn.state is ConnectionState.SOL_ACTIVE and data:
            self.conn.send_sol_data(data)
            await self._pump.flush()

    async def close(self, timeout: float = 2.0) -> None:
        """End SOL and the session politely, then close the connection (and its jump hosts)."""
        await self._pump.end_politely(self._task, timeout)
        await self.stream.aclose()

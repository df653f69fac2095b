"""In-memory plumbing for codec tests: deterministic randomness and a console<->device pipe."""

from __future__ import annotations

from collections.abc import Callable

from amtterm.redir import events as ev
from amtterm.redir.connection import ConsoleConfig, DeviceConfig, RedirectionConnection

#: The worked example of redirection.md 4.4.
USER = "admin"
PASSWORD = "P@ssw0rd"
REALM = "Digest:A1B2C3D4E5F60718293A4B5C6D7E8F90"
NONCE = "abcdEFGHijklMNOPqrstUVWXyz012345"
CNONCE = "00112233445566778899aabbccddeeff"


def fixed_random(*chunks: bytes) -> Callable[[int], bytes]:
    """A random source that hands out ``chunks`` in order, then counting bytes."""
    queue = list(chunks)
    counter = iter(range(1 << 30))

    def random_bytes(n: int) -> bytes:
        if queue:
            chunk = queue.pop(0)
            assert len(chunk) == n, f"test random source: asked for {n} bytes, have {len(chunk)}"
            return chunk
        return bytes(next(counter) & 0xFF for _ in range(n))

    return random_bytes


def nonce_random() -> Callable[[int], bytes]:
    """Device randomness that yields the worked-example nonce (its 24 bytes, base64-decoded)."""
    import base64

    return fixed_random(base64.b64decode(NONCE))


def cnonce_random() -> Callable[[int], bytes]:
    """Console randomness that yields the worked-example cnonce."""
    return fixed_random(bytes.fromhex(CNONCE))


class Pipe:
    """Two codecs joined back to back; frames move only when :meth:`pump` is called.

    Attributes:
        console, device: the two connections.
        console_events, device_events: everything each one emitted, in order.
        wire: every frame that crossed, as ("C" or "D", bytes).
    """

    def __init__(
        self,
        console_config: ConsoleConfig | None = None,
        device_config: DeviceConfig | None = None,
        *,
        console_random: Callable[[int], bytes] | None = None,
        device_random: Callable[[int], bytes] | None = None,
        accept: bool = True,
        chunk: int | None = None,
    ) -> None:
        self.console = RedirectionConnection(
            console_config or ConsoleConfig(USER, PASSWORD), random_bytes=console_random or fixed_random()
        )
        self.device = RedirectionConnection(
            device_config or DeviceConfig({USER: PASSWORD}, realm=REALM),
            random_bytes=device_random or fixed_random(),
        )
        self.console_events: list[ev.Event] = []
        self.device_events: list[ev.Event] = []
        self.wire: list[tuple[str, bytes]] = []
        self.accept = accept
        self.chunk = chunk
        self.now = 0.0

    def start(self, now: float = 0.0) -> Pipe:
        """Start both sides and pump until quiet."""
        self.now = now
        self.device.start(now)
        self.console.start(now)
        self.pump()
        return self

    def _feed(self, conn: RedirectionConnection, frame: bytes) -> list[ev.Event]:
        if self.chunk is None:
            return conn.receive_data(frame, self.now)
        out: list[ev.Event] = []
        for i in range(0, len(frame), self.chunk):
            out += conn.receive_data(frame[i : i + self.chunk], self.now)
        return out

    def pump(self, now: float | None = None) -> None:
        """Deliver queued frames both ways until neither side has anything to say."""
        if now is not None:
            self.now = now
        while True:
            moved = False
            for frame in self.console.frames_to_send():
                moved = True
                self.wire.append(("C", frame))
                self.device_events += self._on_device(self._feed(self.device, frame))
            for frame in self.device.frames_to_send():
                moved = True
                self.wire.append(("D", frame))
                self.console_events += self._feed(self.console, frame)
            if not moved:
                return

    def _on_device(self, events: list[ev.Event]) -> list[ev.Event]:
        for event in events:
            if isinstance(event, ev.SessionRequested) and self.accept:
                self.device.accept_session()
        return events

    def tick(self, now: float) -> None:
        """Advance time: fire both codecs' timers, then pump."""
        self.now = now
        self.console_events += self.console.handle_timer(now)
        self.device_events += self.device.handle_timer(now)
        self.pump()

    def run_until(self, end: float) -> None:
        """Jump from deadline to deadline until ``end``, like the session's single timer would."""
        while True:
            deadlines = [
                t for t in (self.console.next_timer_at(), self.device.next_timer_at()) if t is not None
            ]
            if not deadlines or min(deadlines) > end:
                self.now = end
                return
            self.tick(max(self.now, min(deadlines)))


def types(events: list[ev.Event]) -> list[str]:
    """Event class names, for compact assertions."""
    return [type(e).__name__ for e in events]

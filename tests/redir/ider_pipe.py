"""An IDE-R console (serving media through IderDrives) and an IDE-R device (a BIOS IderHost), in memory."""

from __future__ import annotations

from collections.abc import Callable

from amtterm.redir import events as ev
from amtterm.redir.connection import ConnectionState, ConsoleConfig, DeviceConfig, RedirectionConnection
from amtterm.redir.constants import IderStartTiming, SessionType
from amtterm.redir.ider import IderDrive, IderSettings
from amtterm.redir.ider_drives import IderDrives, ServedCommand
from amtterm.redir.messages import Direction, Message, StartIderRedirectionReply, decode_message
from amtterm.redir.scsi import BlockDevice
from amtterm.sim.ider_host import IderHost
from tests.redir.pipe import PASSWORD, USER, fixed_random


def ider_console_config(
    timing: IderStartTiming = IderStartTiming.IMMEDIATELY, settings: IderSettings | None = None
) -> ConsoleConfig:
    """A digest console that opens an IDE-R session."""
    return ConsoleConfig(
        USER,
        PASSWORD,
        session_type=SessionType.IDER,
        ider_timing=timing,
        ider_settings=settings or IderSettings(),
    )


class IderPipe:
    """Both codecs back to back; frames move only in :meth:`pump`.

    Attributes:
        wire: every frame, as ("C" or "D", bytes).
        served: every command the console finished.
    """

    def __init__(
        self,
        *,
        cd: BlockDevice | None = None,
        floppy: BlockDevice | None = None,
        timing: IderStartTiming = IderStartTiming.IMMEDIATELY,
        settings: IderSettings | None = None,
        device_config: DeviceConfig | None = None,
        drive: IderDrive = IderDrive.CD,
        script: object = None,
        chunk: int | None = None,
        serve: bool | Callable[[ev.Event], None] = True,
    ) -> None:
        self.console = RedirectionConnection(
            ider_console_config(timing, settings), random_bytes=fixed_random()
        )
        self.device = RedirectionConnection(
            device_config or DeviceConfig({USER: PASSWORD}), random_bytes=fixed_random()
        )
        self.drives = IderDrives(self.console, cd=cd, floppy=floppy)
        self.host = IderHost(self.device, drive=drive, script=script)  # type: ignore[arg-type]
        self.chunk = chunk
        self.serve = serve
        self.now = 0.0
        self.wire: list[tuple[str, bytes]] = []
        self.console_events: list[ev.Event] = []
        self.device_events: list[ev.Event] = []
        self.served: list[ServedCommand] = []

    def start(self) -> IderPipe:
        self.device.start(self.now)
        self.console.start(self.now)
        self.pump()
        return self

    def _feed(self, conn: RedirectionConnection, frame: bytes) -> list[ev.Event]:
        if self.chunk is None:
            return conn.receive_data(frame, self.now)
        out: list[ev.Event] = []
        for i in range(0, len(frame), self.chunk):
            out += conn.receive_data(frame[i : i + self.chunk], self.now)
        return out

    def console_frames(self) -> list[bytes]:
        """What the console puts on the wire now (a subclass may play another console)."""
        return self.console.frames_to_send()

    def console_accepts(self, frame: bytes) -> bool:
        """Whether the console reads a frame from the device (False: the pipe stops here)."""
        return True

    def pump(self) -> None:
        while True:
            moved = False
            for frame in self.console_frames():
                moved = True
                self.wire.append(("C", frame))
                for event in self._feed(self.device, frame):
                    self.device_events.append(event)
                    if isinstance(event, ev.SessionRequested):
                        self.device.accept_session()
                    self.host.handle_event(event, self.now)
            for frame in self.device.frames_to_send():
                moved = True
                self.wire.append(("D", frame))
                if not self.console_accepts(frame):
                    return
                for event in self._feed(self.console, frame):
                    self.console_events.append(event)
                    if callable(self.serve):
                        self.serve(event)
                    elif self.serve:
                        served = self.drives.handle(event)
                        if served is not None:
                            self.served.append(served)
            if not moved:
                return

    def tick(self, now: float) -> None:
        """Advance time to ``now``: both codecs' and the host's timers, then pump."""
        self.now = now
        self.console_events += self.console.handle_timer(now)
        for event in self.device.handle_timer(now):
            self.device_events.append(event)
            self.host.handle_event(event, now)
        self.host.handle_timer(now)
        self.pump()

    def run_until(self, end: float) -> None:
        """Jump from deadline to deadline until ``end``."""
        while True:
            candidates = (
                self.console.next_timer_at(),
                self.device.next_timer_at(),
                self.host.next_timer_at(),
            )
            deadlines = [t for t in candidates if t is not None]
            if not deadlines or min(deadlines) > end:
                self.now = end
                return
            self.tick(max(self.now, min(deadlines)))

    def messages(self, side: str) -> list[Message]:
        """Decoded frames one side sent."""
        direction = Direction.FROM_CONSOLE if side == "C" else Direction.FROM_DEVICE
        out = []
        for who, frame in self.wire:
            if who == side:
                decoded = decode_message(frame, direction=direction)
                assert decoded is not None
                out.append(decoded[0])
        return out

    def ider_frames(self, side: str) -> list[bytes]:
        """Frames of type 0x40 and up one side sent."""
        return [frame for who, frame in self.wire if who == side and frame[0] >= 0x40]


def console_at_ider_starting(settings: IderSettings | None = None) -> RedirectionConnection:
    """A console that has authenticated and just queued 0x40 (taken from its outbox)."""
    console = RedirectionConnection(ider_console_config(settings=settings), random_bytes=fixed_random())
    device = RedirectionConnection(DeviceConfig({USER: PASSWORD}), random_bytes=fixed_random())
    device.start(0.0)
    console.start(0.0)
    while True:
        out = console.data_to_send()
        if out[:1] == b"\x40":
            return console
        for event in device.receive_data(out, 0.0):
            if isinstance(event, ev.SessionRequested):
                device.accept_session()
        console.receive_data(device.data_to_send(), 0.0)


def console_at_ider_active() -> RedirectionConnection:
    """A console that got 0x41 (sequence 0) and sent 0x48; the device's next sequence number is 1."""
    console = console_at_ider_starting()
    console.receive_data(StartIderRedirectionReply().encode(), 0.0)
    console.frames_to_send()
    return console


def device_at_ider_active() -> RedirectionConnection:
    """A device that answered 0x40 with 0x41 (taken from its outbox)."""
    pipe = IderPipe(serve=False)
    pipe.device.start(0.0)
    pipe.console.start(0.0)
    while pipe.device.state is not ConnectionState.IDER_ACTIVE:
        for event in pipe.device.receive_data(pipe.console.data_to_send(), 0.0):
            if isinstance(event, ev.SessionRequested):
                pipe.device.accept_session()
        pipe.console.receive_data(pipe.device.data_to_send(), 0.0)
    pipe.device.frames_to_send()
    return pipe.device

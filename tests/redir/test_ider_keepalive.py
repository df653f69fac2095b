"""IDE-R keep-alive with heartbeats off, against a console that echoes pings (amtider, 6.10 and 11)."""

from __future__ import annotations

from amtterm.redir import events as ev
from amtterm.redir.constants import IderStartTiming
from amtterm.redir.ider import IderSettings
from amtterm.redir.messages import IderKeepAlivePing
from amtterm.redir.scsi import MemoryDevice
from tests.redir.eltorito import boot_image, build_iso
from tests.redir.ider_pipe import IderPipe

PING, PONG = 0x44, 0x45
ISO = build_iso(boot_image(4096))


class EchoingConsolePipe(IderPipe):
    """The console answers a 0x44 by echoing it unchanged and dies on a 0x45, as amtider does.

    The console codec still numbers and serves everything else; only its answer to a ping
    is replaced by the device's own frame, and a 0x45 from the device ends the console
    ("unknown r->buf 0x45") before the codec sees it.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.died: str | None = None
        self._echo: list[bytes] = []

    def console_frames(self) -> list[bytes]:
        frames = [f for f in self.console.frames_to_send() if f[0] != PONG] + self._echo
        self._echo = []
        return frames

    def console_accepts(self, frame: bytes) -> bool:
        if frame[0] == PONG:
            self.died = f"unknown r->buf 0x{frame[0]:02x}"
            return False
        if frame[0] == PING:
            self._echo.append(frame)
        return True


def test_a_console_that_echoes_pings_is_served_past_the_idle_ping() -> None:
    pipe = EchoingConsolePipe(
        cd=MemoryDevice(ISO),
        timing=IderStartTiming.ON_RESET,
        settings=IderSettings(heartbeat_ms=0),
    ).start()
    # Idle for a minute: the device pings after 5 s of silence, the console echoes each ping.
    pipe.run_until(60.0)
    pings = [frame for who, frame in pipe.wire if who == "D" and frame[0] == PING]
    echoes = [frame for who, frame in pipe.wire if who == "C" and frame[0] == PING]
    assert len(pings) >= 2 and echoes == pings
    assert pipe.died is None
    assert not any(isinstance(e, ev.PeerTimeout) for e in pipe.device_events)
    # Then the PC resets and boots from the CD: every command is still answered.
    pipe.host.host_reset(60.0)
    pipe.pump()
    assert pipe.died is None
    report = pipe.host.report
    assert report is not None and report.error is None and report.bootable
    assert not any(frame[0] == PONG for who, frame in pipe.wire if who == "D")


def test_a_ping_the_console_starts_is_still_answered_with_a_pong() -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO), settings=IderSettings(heartbeat_ms=0)).start()
    pipe.device.receive_data(IderKeepAlivePing(sequence=7).encode(), pipe.now)
    assert [frame[0] for frame in pipe.device.frames_to_send()] == [PONG]


def test_a_console_that_answers_pings_with_pongs_keeps_its_session() -> None:
    pipe = IderPipe(
        cd=MemoryDevice(ISO), timing=IderStartTiming.ON_RESET, settings=IderSettings(heartbeat_ms=0)
    )
    pipe.start().run_until(60.0)
    assert any(frame[0] == PONG for who, frame in pipe.wire if who == "C")
    assert not any(isinstance(e, ev.PeerTimeout) for e in pipe.device_events)

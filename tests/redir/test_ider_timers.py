"""IDE-R keep-alive with injected time (6.10): heartbeats, pings, timeouts, on both sides."""

from __future__ import annotations

from amtterm.redir import events as ev
from amtterm.redir.connection import ConnectionState
from amtterm.redir.ider import IderSettings
from amtterm.redir.scsi import MemoryDevice
from tests.redir.eltorito import build_iso
from tests.redir.ider_pipe import IderPipe, console_at_ider_active, device_at_ider_active

S = ConnectionState
H = bytes.fromhex


def _types(pipe: IderPipe, side: str) -> list[int]:
    return [frame[0] for who, frame in pipe.wire if who == side]


def test_heartbeats_keep_an_idle_session_up_for_minutes() -> None:
    pipe = IderPipe(cd=MemoryDevice(build_iso())).start()
    before = len(pipe.wire)
    pipe.run_until(300.0)
    assert pipe.console.state is pipe.device.state is S.IDER_ACTIVE
    device_sent = [f[0] for who, f in pipe.wire[before:] if who == "D"]
    console_sent = [f[0] for who, f in pipe.wire[before:] if who == "C"]
    # The device beats every HeartbeatInterval = 20 s (6.3, 6.10) ...
    assert device_sent.count(0x4B) == 15
    # ... and the console answers each one and beats itself at RxTimeout / 4 when quiet.
    assert set(console_sent) == {0x4B} and len(console_sent) >= 15
    assert not [e for e in pipe.console_events + pipe.device_events if isinstance(e, ev.PeerTimeout)]


def test_without_heartbeat_the_device_pings_after_5_s_and_the_console_pongs() -> None:
    pipe = IderPipe(cd=MemoryDevice(build_iso()), settings=IderSettings(heartbeat_ms=0)).start()
    start = len(pipe.wire)
    pipe.run_until(5.0)
    assert [f[0] for _, f in pipe.wire[start:]] == [0x44, 0x45]
    pipe.run_until(120.0)
    assert pipe.console.state is pipe.device.state is S.IDER_ACTIVE
    assert 0x4B not in _types(pipe, "D")


def test_device_pings_a_silent_console_then_drops_it_after_rx_timeout() -> None:
    device = device_at_ider_active()
    assert device.next_timer_at() == 15.0  # half of RxTimeout 30 s: time to ask for a sign of life
    assert device.handle_timer(15.0) == []
    assert device.frames_to_send() == [H("44 00 00 00 01 00 00 00")]
    device.handle_timer(20.0)
    assert device.frames_to_send() == [H("4b 00 00 00 02 00 00 00")]
    assert device.handle_timer(30.0) == [ev.PeerTimeout(30.0)]
    assert device.state is S.CLOSED and device.next_timer_at() is None


def test_a_pong_from_the_console_keeps_it_alive() -> None:
    device = device_at_ider_active()
    device.handle_timer(15.0)
    device.frames_to_send()
    assert device.receive_data(H("45 00 00 00 05 00 00 00"), 16.0) == []
    device.handle_timer(30.0)
    assert device.state is S.IDER_ACTIVE


def test_device_answers_a_ping_with_a_pong_of_its_own_number() -> None:
    device = device_at_ider_active()
    device.receive_data(H("44 00 00 00 09 00 00 00"), 1.0)
    assert device.frames_to_send() == [H("45 00 00 00 01 00 00 00")]


def test_console_answers_heartbeat_and_ping_with_its_own_numbers() -> None:
    console = console_at_ider_active()  # sent 0x40 (0) and 0x48 (1)
    console.receive_data(H("4b 00 00 00 01 00 00 00") + H("44 00 00 00 02 00 00 00"), 1.0)
    assert console.frames_to_send() == [H("4b 00 00 00 02 00 00 00"), H("45 00 00 00 03 00 00 00")]


def test_console_beats_when_quiet_and_gives_up_on_a_silent_device() -> None:
    console = console_at_ider_active()
    assert console.next_timer_at() == 7.5  # RxTimeout 30 s / 4
    console.handle_timer(7.5)
    assert console.frames_to_send() == [H("4b 00 00 00 02 00 00 00")]
    # Two heartbeat intervals (2 x 20 s) without a byte from the device.
    assert console.handle_timer(40.0) == [ev.PeerTimeout(40.0)]
    assert console.state is S.CLOSED


def test_amtterm_head_malformed_start_gets_a_30_s_rx_timeout_and_pings() -> None:
    pipe = IderPipe()
    pipe.device.start(0.0)
    pipe.console.start(0.0)
    while pipe.device.state is not S.AUTHENTICATED:
        for event in pipe.device.receive_data(pipe.console.data_to_send(), 0.0):
            if isinstance(event, ev.SessionRequested):
                pipe.device.accept_session()
        pipe.console.receive_data(pipe.device.data_to_send(), 0.0)
    events = pipe.device.receive_data(H("40 64 00 10 27 88 13 01") + bytes(10), 0.0)
    assert events == [ev.IderStartRequested(30000, 0, 0, 0)]
    pipe.device.frames_to_send()
    assert pipe.device.next_timer_at() == 5.0

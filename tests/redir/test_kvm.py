"""KVM session start (redirection.md 7): KVMR tag, auth, 8-byte 0x40 / 0x41, then RFB passed through."""

from __future__ import annotations

import pytest

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.redir import ConnectionState, ConsoleConfig, RedirectionConnection, SessionType, StartStatus
from amtterm.redir import events as ev
from amtterm.rfb import RfbClient, RfbServer, ServerInit
from tests.redir.pipe import PASSWORD, USER, Pipe, fixed_random, types


def kvm_pipe() -> Pipe:
    return Pipe(ConsoleConfig(USER, PASSWORD, session_type=SessionType.KVM)).start()


def test_console_and_device_reach_kvm_with_meshcommanders_bytes() -> None:
    pipe = kvm_pipe()
    assert pipe.wire[0] == ("C", bytes.fromhex("10 01 00 00") + b"KVMR")
    assert ("C", bytes.fromhex("40 00 00 00 00 00 00 00")) in pipe.wire
    assert pipe.wire[-1] == ("D", bytes.fromhex("41 00 00 00 00 00 00 00"))
    assert types(pipe.console_events)[-2:] == ["Authenticated", "KvmStarted"]
    assert types(pipe.device_events)[-1] == "KvmStarted"
    assert pipe.console.state is pipe.device.state is ConnectionState.KVM_ACTIVE


def test_rfb_bytes_follow_in_both_directions_also_in_the_0x41_read() -> None:
    pipe = kvm_pipe()
    pipe.device.send_kvm_data(b"RFB 004.000\n")
    pipe.pump()
    assert pipe.console_events[-1] == ev.KvmData(b"RFB 004.000\n")
    pipe.console.send_kvm_data(b"RFB 003.008\n")
    pipe.pump()
    assert pipe.device_events[-1] == ev.KvmData(b"RFB 003.008\n")


def test_0x41_and_the_servers_greeting_in_one_read() -> None:
    pipe = Pipe(ConsoleConfig(USER, PASSWORD, session_type=SessionType.KVM))
    pipe.device.start(0.0)
    pipe.console.start(0.0)
    # Hold the device's 0x41 back and deliver it glued to the RFB greeting, as firmware does.
    while True:
        for frame in pipe.console.frames_to_send():
            pipe.device_events += pipe._on_device(pipe.device.receive_data(frame, 0.0))
        frames = pipe.device.frames_to_send()
        if not frames:
            break
        if frames[-1][0] == 0x41:
            events = pipe.console.receive_data(frames[-1] + b"RFB 004.000\n", 0.0)
            assert events == [ev.KvmStarted(), ev.KvmData(b"RFB 004.000\n")]
            return
        for frame in frames:
            pipe.console_events += pipe.console.receive_data(frame, 0.0)
    pytest.fail("no 0x41 came")


def test_a_whole_rfb_session_rides_on_the_redirection_codecs() -> None:
    pipe = kvm_pipe()
    client, server = RfbClient(), RfbServer(128, 64)
    seen: list[object] = []
    for _ in range(10):
        pipe.device.send_kvm_data(server.data_to_send())
        pipe.pump()
        for event in pipe.console_events:
            if isinstance(event, ev.KvmData):
                seen += client.receive_data(event.data, 0.0)
        pipe.console_events.clear()
        pipe.console.send_kvm_data(client.data_to_send())
        pipe.pump()
        for event in pipe.device_events:
            if isinstance(event, ev.KvmData):
                server.receive_data(event.data, 0.0)
        pipe.device_events.clear()
    assert any(isinstance(event, ServerInit) and event.name == "Intel(r) AMT KVM" for event in seen)


def test_a_kvm_session_has_no_peer_timeout_while_the_screen_is_still() -> None:
    pipe = kvm_pipe()
    assert pipe.console.next_timer_at() is None
    assert pipe.console.handle_timer(3600.0) == []
    assert pipe.console.state is ConnectionState.KVM_ACTIVE


def test_refusals_and_broken_answers() -> None:
    refused = Pipe(ConsoleConfig(USER, PASSWORD, session_type=SessionType.KVM), accept=False)
    refused.device.start(0.0)
    refused.console.start(0.0)
    refused.pump()
    refused.device.refuse_session(StartStatus.UNSUPPORTED)
    refused.pump()
    assert refused.console_events[-1] == ev.SessionRefused(StartStatus.UNSUPPORTED)

    console = RedirectionConnection(
        ConsoleConfig(USER, PASSWORD, session_type=SessionType.KVM), random_bytes=fixed_random()
    )
    console._core.move_to(ConnectionState.KVM_STARTING)
    assert console.receive_data(bytes.fromhex("41 02 00 00 00 00 00 00"), 0.0) == [ev.KvmRefused(2)]
    assert console.state is ConnectionState.CLOSED
    broken = RedirectionConnection(
        ConsoleConfig(USER, PASSWORD, session_type=SessionType.KVM), random_bytes=fixed_random()
    )
    broken._core.move_to(ConnectionState.KVM_STARTING)
    with pytest.raises(RemoteProtocolError, match="0x12, not 0x41"):
        broken.receive_data(bytes.fromhex("12 00 00 00 00 00 00 00"), 0.0)


def test_send_kvm_data_only_once_kvm_runs_and_close_sends_nothing() -> None:
    pipe = Pipe(ConsoleConfig(USER, PASSWORD, session_type=SessionType.KVM))
    with pytest.raises(LocalProtocolError, match="KVM data"):
        pipe.console.send_kvm_data(b"x")
    pipe.start()
    pipe.console.close()
    assert pipe.console.state is ConnectionState.CLOSED
    assert pipe.console.frames_to_send() == []

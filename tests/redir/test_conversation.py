"""Whole console <-> device conversations in memory: auth outcomes, SOL data, close, timers."""

from __future__ import annotations

import pytest

from amtterm.redir import auth
from amtterm.redir import events as ev
from amtterm.redir.connection import ConnectionState, ConsoleConfig, DeviceConfig, Role
from amtterm.redir.constants import AuthStatus, AuthType, SolControl, SolStatus
from amtterm.redir.messages import (
    AuthenticateSession,
    AuthenticateSessionReply,
    AuthMethodsList,
    Direction,
    Message,
    SolDataToHost,
    SolSettings,
    decode_message,
)
from tests.redir.pipe import PASSWORD, USER, Pipe, types

S = ConnectionState
AMT12 = DeviceConfig({USER: PASSWORD}, firmware_version=(12, 0), auth_methods=(AuthType.DIGEST,))


def decoded(frames: list[tuple[str, bytes]], side: str) -> list[Message]:
    direction = Direction.FROM_CONSOLE if side == "C" else Direction.FROM_DEVICE
    out: list[Message] = []
    for who, frame in frames:
        if who == side:
            result = decode_message(frame, direction=direction)
            assert result is not None
            out.append(result[0])
    return out


@pytest.mark.parametrize("chunk", [None, 1], ids=["whole", "bytewise"])
def test_digest_session_end_to_end(chunk: int | None) -> None:
    pipe = Pipe(chunk=chunk).start()
    assert types(pipe.console_events) == [
        "SessionStarted",
        "AuthMethodsOffered",
        "Authenticated",
        "SolStarted",
        "SolControlsChanged",
    ]
    assert types(pipe.device_events) == ["SessionRequested", "Authenticated", "SolStartRequested"]
    assert pipe.console_events[2] == pipe.device_events[1] == ev.Authenticated(AuthType.DIGEST, USER)
    assert pipe.console.role is Role.CONSOLE and pipe.device.role is Role.DEVICE
    assert pipe.console.state is pipe.device.state is S.SOL_ACTIVE


def test_roles_follow_the_config_type() -> None:
    with pytest.raises(TypeError):
        Pipe(console_config=object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("device_methods", "console_methods", "chosen"),
    [
        ((AuthType.PLAIN, AuthType.DIGEST_NO_QOP, AuthType.DIGEST), (AuthType.DIGEST,), AuthType.DIGEST),
        ((AuthType.DIGEST_NO_QOP,), (AuthType.DIGEST, AuthType.DIGEST_NO_QOP), AuthType.DIGEST_NO_QOP),
        ((AuthType.PLAIN, AuthType.DIGEST), (AuthType.PLAIN, AuthType.DIGEST), AuthType.PLAIN),
    ],
)
def test_console_picks_its_first_method_the_device_offers(
    device_methods: tuple[AuthType, ...], console_methods: tuple[AuthType, ...], chosen: AuthType
) -> None:
    pipe = Pipe(
        ConsoleConfig(USER, PASSWORD, console_methods),
        DeviceConfig({USER: PASSWORD}, auth_methods=device_methods),
    )
    pipe.start()
    assert ev.Authenticated(chosen, USER) in pipe.console_events
    assert ev.Authenticated(chosen, USER) in pipe.device_events


def test_legacy_plain_sends_no_query() -> None:
    pipe = Pipe(ConsoleConfig(USER, PASSWORD, legacy_plain=True)).start()
    sent = decoded(pipe.wire, "C")
    assert isinstance(sent[1], AuthenticateSession)
    assert sent[1].auth_type == AuthType.PLAIN
    assert "AuthMethodsOffered" not in types(pipe.console_events)
    assert pipe.console.state is S.SOL_ACTIVE


@pytest.mark.parametrize(
    "config",
    [
        ConsoleConfig(USER, "wrong"),
        ConsoleConfig(USER, "wrong", (AuthType.DIGEST_NO_QOP,)),
        ConsoleConfig(USER, "wrong", (AuthType.PLAIN,)),
        ConsoleConfig(USER, "wrong", legacy_plain=True),
    ],
    ids=["digest", "digest-no-qop", "plain", "legacy-plain"],
)
def test_wrong_password_fails_on_both_sides(config: ConsoleConfig) -> None:
    pipe = Pipe(config).start()
    console_failure = pipe.console_events[-1]
    device_failure = pipe.device_events[-1]
    assert isinstance(console_failure, ev.AuthFailed) and isinstance(device_failure, ev.AuthFailed)
    assert console_failure.status == device_failure.status == AuthStatus.FAILURE
    assert console_failure.method == device_failure.method
    assert console_failure.user == device_failure.user == USER
    assert pipe.console.state is pipe.device.state is S.CLOSED
    # 4.5: the failure reply is 14 01 00 00 <type> 00 00 00 00 and is still flushed.
    last_reply = pipe.wire[-1]
    assert last_reply == ("D", bytes([0x14, 1, 0, 0, int(console_failure.method), 0, 0, 0, 0]))


def test_unknown_user_fails_like_a_wrong_password() -> None:
    pipe = Pipe(ConsoleConfig("root", PASSWORD)).start()
    assert pipe.device_events[-1] == ev.AuthFailed(AuthType.DIGEST, AuthStatus.FAILURE, "root")
    assert isinstance(pipe.console_events[-1], ev.AuthFailed)


def test_console_wanting_plain_against_amt12_fails_without_sending_it() -> None:
    pipe = Pipe(ConsoleConfig(USER, PASSWORD, (AuthType.PLAIN,)), AMT12).start()
    failure = pipe.console_events[-1]
    assert failure == ev.AuthFailed(AuthType.QUERY, AuthStatus.NOT_SUPPORTED, USER, (AuthType.DIGEST,))
    assert pipe.console.state is S.CLOSED
    sent = decoded(pipe.wire, "C")
    assert sent[1:] == [AuthenticateSession(AuthType.QUERY)]


def test_device_answers_unsupported_method_with_status_2_and_allows_another_try() -> None:
    """9front falls back after a refusal (4.3): the device must stay in AUTHENTICATING."""
    pipe = Pipe(device_config=DeviceConfig({USER: PASSWORD}, auth_methods=(AuthType.PLAIN,)))
    device = pipe.device
    device.start(0.0)
    device.receive_data(bytes.fromhex("10 00 00 00 53 4f 4c 20"), 0.0)
    device.accept_session()
    device.frames_to_send()
    initial_digest = AuthenticateSession(
        AuthType.DIGEST, auth.initial_digest_request(AuthType.DIGEST, USER)
    ).encode()
    assert device.receive_data(initial_digest, 0.1) == []
    assert device.frames_to_send() == [bytes.fromhex("14 02 00 00 04 00 00 00 00")]
    kerberos = bytes.fromhex("13 00 00 00 02 00 00 00 00")
    assert device.receive_data(kerberos, 0.2) == []
    assert device.frames_to_send() == [bytes.fromhex("14 02 00 00 02 00 00 00 00")]
    plain = bytes.fromhex("13 00 00 00 01 0f 00 00 00 05 61 64 6d 69 6e 08 50 40 73 73 77 30 72 64")
    assert device.receive_data(plain, 0.3) == [ev.Authenticated(AuthType.PLAIN, USER)]
    assert device.state is S.AUTHENTICATED


def test_console_falls_back_when_an_offered_method_is_refused() -> None:
    pipe = Pipe()
    console = pipe.console
    console.start(0.0)
    console.frames_to_send()
    console.receive_data(bytes.fromhex("11 00 00 00 01 00 0b 08 57 01 00 00 00"), 0.0)
    console.frames_to_send()
    offered = AuthMethodsList((AuthType.DIGEST, AuthType.DIGEST_NO_QOP))
    console.receive_data(AuthenticateSessionReply(0, AuthType.QUERY, offered).encode(), 0.0)
    assert console.frames_to_send()[0][4] == AuthType.DIGEST
    console.receive_data(AuthenticateSessionReply(AuthStatus.NOT_SUPPORTED, AuthType.DIGEST).encode(), 0.0)
    assert console.frames_to_send()[0][4] == AuthType.DIGEST_NO_QOP
    events = console.receive_data(
        AuthenticateSessionReply(AuthStatus.NOT_SUPPORTED, AuthType.DIGEST_NO_QOP).encode(), 0.0
    )
    assert events == [ev.AuthFailed(AuthType.DIGEST_NO_QOP, AuthStatus.NOT_SUPPORTED, USER, offered.methods)]


def test_sol_data_is_chunked_by_max_tx_buffer_and_numbered() -> None:
    pipe = Pipe().start()
    pipe.wire.clear()
    pipe.device.send_sol_data(b"x" * 2500)
    frames = pipe.device.frames_to_send()
    assert [len(f) - 10 for f in frames] == [1000, 1000, 500]  # 5.1 MaxTxBuffer = 1000 (amtterm)
    sequences = [int.from_bytes(f[4:8], "little") for f in frames]
    assert sequences == [sequences[0], sequences[0] + 1, sequences[0] + 2]
    events = [e for f in frames for e in pipe.console.receive_data(f, 0.0)]
    assert b"".join(e.data for e in events if isinstance(e, ev.SolData)) == b"x" * 2500


def test_device_chunks_by_the_consoles_own_buffer_size() -> None:
    settings = SolSettings(max_tx_buffer=10000, heartbeat_ms=0)  # MeshCommander (5.1)
    pipe = Pipe(ConsoleConfig(USER, PASSWORD, sol_settings=settings)).start()
    pipe.device.send_sol_data(bytes(25000))
    assert [len(f) - 10 for f in pipe.device.frames_to_send()] == [10000, 10000, 5000]


def test_console_splits_data_at_the_16_bit_limit() -> None:
    pipe = Pipe().start()
    pipe.console.send_sol_data(b"k" * 70000)
    frames = pipe.console.frames_to_send()
    assert [decode_message(f, direction=Direction.FROM_CONSOLE) for f in frames] == [
        (SolDataToHost(b"k" * 65535), 65545),
        (SolDataToHost(b"k" * 4465), 4475),
    ]


def test_each_message_is_its_own_frame() -> None:
    """0x21 and 0x29 must not share a write (11); frames_to_send keeps them apart."""
    pipe = Pipe()
    pipe.start()
    replies = [frame for who, frame in pipe.wire if who == "D"]
    assert [f[0] for f in replies] == [0x11, 0x14, 0x14, 0x14, 0x21, 0x29]
    assert pipe.console.data_to_send() == b""


@pytest.mark.parametrize(("initial", "powered", "expect"), [(True, False, [0x29]), (False, True, [])])
def test_initial_controls(initial: bool, powered: bool, expect: list[int]) -> None:
    config = DeviceConfig({USER: PASSWORD}, initial_controls=initial, powered_on=powered)
    pipe = Pipe(device_config=config).start()
    after_21 = [f for who, f in pipe.wire if who == "D"][5:]
    assert [f[0] for f in after_21] == expect
    if initial:
        assert after_21[0][8:] == bytes([0x03, 0x00])  # RTS|DTR, power bit clear
        assert pipe.console_events[-1] == ev.SolControlsChanged(
            SolControl.RTS | SolControl.DTR, SolStatus.NONE
        )
        controls = pipe.console_events[-1]
        assert isinstance(controls, ev.SolControlsChanged) and not controls.powered_on


def test_send_sol_controls() -> None:
    pipe = Pipe().start()
    pipe.device.send_sol_controls(SolControl.DTR, SolStatus.POWER_ON | SolStatus.LOOPBACK)
    pipe.pump()
    assert pipe.console_events[-1] == ev.SolControlsChanged(
        SolControl.DTR, SolStatus.POWER_ON | SolStatus.LOOPBACK
    )


def test_keepalives_in_both_directions() -> None:
    pipe = Pipe().start()
    ping = bytes.fromhex("24 00 00 00 2a 00 00 00")
    assert pipe.console.receive_data(ping, 1.0) == []
    assert pipe.console.frames_to_send() == [ping]  # amtterm echoes a 0x24 unchanged (5.5)
    assert pipe.device.receive_data(ping, 1.0) == []
    assert pipe.device.frames_to_send() == [bytes.fromhex("25 00 00 00 2a 00 00 00")]
    for quiet in (
        "25 00 00 00 01 00 00 00",
        "2b 00 00 00 01 00 00 00",
        "27 00 00 00 02 00 00 00 00 00 1b 00 00 00",
    ):
        assert pipe.device.receive_data(bytes.fromhex(quiet), 1.0) == []
        assert pipe.device.frames_to_send() == []
    assert pipe.console.receive_data(bytes.fromhex("25 00 00 00 01 00 00 00"), 1.0) == []
    assert pipe.console.frames_to_send() == []


def test_device_accepts_keepalives_between_auth_and_sol() -> None:
    pipe = Pipe(ConsoleConfig(USER, PASSWORD, legacy_plain=True))
    pipe.device.start(0.0)
    pipe.device.receive_data(bytes.fromhex("10 00 00 00 53 4f 4c 20"), 0.0)
    pipe.device.accept_session()
    pipe.device.receive_data(
        bytes.fromhex("13 00 00 00 01 0f 00 00 00 05 61 64 6d 69 6e 08 50 40 73 73 77 30 72 64"), 0.0
    )
    assert pipe.device.state is S.AUTHENTICATED
    assert pipe.device.receive_data(bytes.fromhex("2b 00 00 00 00 00 00 00"), 0.0) == []


def test_orderly_close() -> None:
    pipe = Pipe().start()
    pipe.console.close()
    assert pipe.console.state is S.CLOSING
    pipe.console.close()  # idempotent
    pipe.pump()
    assert pipe.console_events[-1] == ev.ConnectionClosed("the session ended")
    assert types(pipe.device_events)[-2:] == ["SolEndRequested", "SessionEndRequested"]
    assert [f for who, f in pipe.wire[-3:]] == [
        bytes.fromhex("22 00 00 00 00 00 00 00"),
        pipe.wire[-2][1],
        bytes.fromhex("12 00 00 00"),
    ]
    assert pipe.wire[-2][1][0] == 0x23
    assert pipe.console.state is pipe.device.state is S.CLOSED
    assert pipe.console.next_timer_at() is None and pipe.device.next_timer_at() is None


def test_data_still_flows_while_closing_and_amtterm_ctrl_bracket_is_dropped() -> None:
    pipe = Pipe().start()
    pipe.console.close()
    pipe.device.send_sol_data(b"late")
    device_frames = pipe.device.frames_to_send()
    assert pipe.console.receive_data(device_frames[0], 0.0) == [ev.SolData(b"late")]
    # amtterm sends 0x22 and then its Ctrl-] as data (5.6): the device drops that byte.
    end = pipe.console.frames_to_send()
    assert pipe.device.receive_data(end[0], 0.0) == [ev.SolEndRequested()]
    assert pipe.device.receive_data(bytes.fromhex("28 00 00 00 00 00 00 00 01 00 1d"), 0.0) == []
    assert pipe.device.state is S.CLOSING


def test_close_before_sol_sends_end_session_at_once() -> None:
    pipe = Pipe()
    pipe.console.start(0.0)
    pipe.console.close()
    assert pipe.console.state is S.CLOSED
    assert pipe.console.frames_to_send() == [
        bytes.fromhex("10 00 00 00 53 4f 4c 20"),
        bytes.fromhex("12 00 00 00"),
    ]
    never_started = Pipe()
    never_started.console.close()
    assert never_started.console.state is S.CLOSED
    assert never_started.console.frames_to_send() == []


def test_end_session_during_auth_reaches_the_device() -> None:
    pipe = Pipe()
    pipe.device.start(0.0)
    pipe.device.receive_data(bytes.fromhex("10 00 00 00 53 4f 4c 20"), 0.0)
    pipe.device.accept_session()
    assert pipe.device.receive_data(bytes.fromhex("12 00 00 00"), 0.0) == [ev.SessionEndRequested()]
    assert pipe.device.state is S.CLOSED


def test_peer_eof() -> None:
    pipe = Pipe().start()
    assert pipe.console.receive_data(b"", 3.0) == [ev.ConnectionClosed("the device closed the connection")]
    assert pipe.console.state is S.CLOSED
    assert pipe.console.receive_data(b"", 3.0) == []  # closed stays closed
    assert pipe.device.receive_data(b"", 3.0) == [ev.ConnectionClosed("the console closed the connection")]


def test_sol_refused() -> None:
    pipe = Pipe()
    pipe.console.start(0.0)
    pipe.console.frames_to_send()
    for frame in ("11 00 00 00 01 00 0b 08 57 01 00 00 00", "14 00 00 00 00 01 00 00 00 04"):
        pipe.console.receive_data(bytes.fromhex(frame), 0.0)
    # skip the digest: pretend the device accepts at once
    pipe.console.receive_data(bytes.fromhex("14 01 00 00 04 09 00 00 00 01 72 01 6e 04 61 75 74 68"), 0.0)
    pipe.console.receive_data(bytes.fromhex("14 00 00 00 04 00 00 00 00"), 0.0)
    assert pipe.console.state.name == "SOL_STARTING"
    pipe.console.frames_to_send()
    refused = bytes.fromhex("21 01 00 00 01 00 0b 08 00 00 00 00 00 00 00 00 00 00 57 01 00 00 00")
    assert pipe.console.receive_data(refused, 0.0) == [ev.SolRefused(1)]
    assert pipe.console.frames_to_send() == [bytes.fromhex("12 00 00 00")]
    assert pipe.console.state is S.CLOSED


# --- timers -------------------------------------------------------------------------------------


def test_device_heartbeats_every_heartbeat_ms_and_amtterm_style_echo_keeps_it_alive() -> None:
    pipe = Pipe().start()
    assert pipe.device.next_timer_at() == 5.0  # HeartbeatInterval 5000 ms (5.1)
    pipe.tick(5.0)
    heartbeats = [f for who, f in pipe.wire if who == "D" and f[0] == 0x2B]
    echoes = [f for who, f in pipe.wire if who == "C" and f[0] == 0x2B]
    assert len(heartbeats) == 1 and echoes[-1] == heartbeats[0]
    assert pipe.device.next_timer_at() == 10.0


def test_console_sends_its_own_heartbeat_when_idle() -> None:
    settings = SolSettings(heartbeat_ms=0)  # the device sends nothing unsolicited (5.8)
    pipe = Pipe(ConsoleConfig(USER, PASSWORD, sol_settings=settings, peer_timeout=0)).start()
    assert pipe.console.next_timer_at() == 2.5  # RxTimeout 10000 ms / 4
    pipe.tick(2.0)
    assert pipe.console.frames_to_send() == []
    pipe.console.send_sol_data(b"a")  # typing at 2.0 counts as traffic
    pipe.pump()
    assert pipe.console.next_timer_at() == 4.5
    pipe.tick(4.5)
    assert pipe.wire[-1] == ("C", bytes.fromhex("2b 00 00 00 00 00 00 00"))
    pipe.run_until(600.0)
    assert pipe.device.state is pipe.console.state is S.SOL_ACTIVE


def test_console_heartbeat_interval_is_at_least_one_second() -> None:
    settings = SolSettings(rx_timeout_ms=2000, heartbeat_ms=0)
    pipe = Pipe(ConsoleConfig(USER, PASSWORD, sol_settings=settings)).start()
    assert pipe.console.next_timer_at() == 1.0


def test_long_idle_session_stays_up_with_default_settings() -> None:
    pipe = Pipe().start()
    pipe.run_until(3600.0)
    assert pipe.console.state is pipe.device.state is S.SOL_ACTIVE
    assert not any(isinstance(e, ev.PeerTimeout) for e in pipe.console_events + pipe.device_events)


def test_console_peer_timeout() -> None:
    pipe = Pipe().start()
    pipe.device.close()  # the device goes silent
    pipe.device.frames_to_send()
    assert pipe.console.next_timer_at() == 2.5
    for t in (2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 17.5):
        assert pipe.console.handle_timer(t) == []
    assert pipe.console.handle_timer(19.99) == []
    assert pipe.console.handle_timer(20.0) == [ev.PeerTimeout(20.0)]  # amtterm's 20 s (5.8)
    assert pipe.console.state is S.CLOSED
    assert pipe.console.next_timer_at() is None
    assert pipe.console.handle_timer(30.0) == []


def test_console_peer_timeout_while_starting() -> None:
    pipe = Pipe(ConsoleConfig(USER, PASSWORD, peer_timeout=5.0))
    pipe.console.start(100.0)
    assert pipe.console.next_timer_at() == 105.0
    assert pipe.console.handle_timer(105.0) == [ev.PeerTimeout(5.0)]


@pytest.mark.parametrize(("rx_timeout_ms", "seconds"), [(10000, 10.0), (0, 10.0), (60000, 60.0)])
def test_device_drops_a_silent_console(rx_timeout_ms: int, seconds: float) -> None:
    settings = SolSettings(rx_timeout_ms=rx_timeout_ms, heartbeat_ms=0)
    pipe = Pipe(ConsoleConfig(USER, PASSWORD, sol_settings=settings)).start(now=1.0)
    pipe.console.close()
    pipe.console.frames_to_send()  # lost: the console is gone without a word
    assert pipe.device.next_timer_at() == 1.0 + seconds
    assert pipe.device.handle_timer(1.0 + seconds - 0.001) == []
    assert pipe.device.handle_timer(1.0 + seconds) == [ev.PeerTimeout(seconds)]
    assert pipe.device.state is S.CLOSED


def test_late_timer_does_not_burst_heartbeats() -> None:
    pipe = Pipe(ConsoleConfig(USER, PASSWORD, peer_timeout=0)).start()
    pipe.device.handle_timer(9.0)  # four seconds late, rx timeout not reached
    assert len(pipe.device.frames_to_send()) == 1
    assert pipe.device.next_timer_at() == 10.0  # rx timeout of the silent console now
    assert pipe.device.handle_timer(9.5) == []
    assert pipe.device.frames_to_send() == []

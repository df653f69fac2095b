"""Malformed and out-of-state input, and misuse.

Bad bytes raise RemoteProtocolError with a clear message and leave the
connection CLOSED; asking the codec for something invalid raises
LocalProtocolError; nothing else ever escapes (fuzzed).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amtterm.errors import ConfigError, LocalProtocolError, RemoteProtocolError
from amtterm.redir import events as ev
from amtterm.redir.connection import ConnectionState, ConsoleConfig, DeviceConfig, RedirectionConnection
from amtterm.redir.constants import AuthType, SessionType, SolControl, SolStatus, StartStatus
from amtterm.redir.messages import SolSettings
from tests.redir.pipe import PASSWORD, USER, Pipe, fixed_random
from tests.redir.test_messages import GOLDEN

S = ConnectionState
H = bytes.fromhex


def console_at(state: str) -> RedirectionConnection:
    """A console driven to ``starting`` or ``sol-active`` through a real conversation."""
    if state == "starting":
        conn = RedirectionConnection(ConsoleConfig(USER, PASSWORD))
        conn.start(0.0)
        conn.frames_to_send()
        return conn
    pipe = Pipe().start()
    return pipe.console


def device_at(state: str) -> RedirectionConnection:
    """A device in ``starting``, ``authenticating`` or ``sol-active``."""
    if state == "sol-active":
        return Pipe().start().device
    conn = RedirectionConnection(DeviceConfig({USER: PASSWORD}))
    conn.start(0.0)
    if state == "authenticating":
        conn.receive_data(H("10 00 00 00 53 4f 4c 20"), 0.0)
        conn.accept_session()
        conn.frames_to_send()
    return conn


@pytest.mark.parametrize(
    ("make", "data", "match"),
    [
        (lambda: console_at("starting"), "26 00 00 00", "unknown message type 0x26"),
        (lambda: console_at("sol-active"), "2c 00 00 00 00 00 00 00", "unknown message type 0x2c"),
        (lambda: console_at("starting"), "10 00 00 00 53 4f 4c 20", "only the other side may send"),
        (
            lambda: console_at("starting"),
            "2a 00 00 00 00 00 00 00 01 00 41",
            "SOL_DATA_FROM_HOST \\(0x2a\\), which is not allowed while the connection is starting",
        ),
        (
            lambda: console_at("sol-active"),
            "23 00 00 00 00 00 00 00",
            "not allowed while the connection is sol-active",
        ),
        (lambda: console_at("sol-active"), "14 00 00 00 01 00 00 00 00", "not allowed"),
        (
            lambda: device_at("starting"),
            "13 00 00 00 00 00 00 00 00",
            "not allowed while the connection is starting",
        ),
        (
            lambda: device_at("authenticating"),
            "20" + "00" * 23,
            "START_SOL_REDIRECTION \\(0x20\\), which is not",
        ),
        (lambda: device_at("authenticating"), "28 00 00 00 00 00 00 00 00 00", "SOL_DATA_TO_HOST"),
        (lambda: device_at("sol-active"), "20" + "00" * 23, "not allowed while the connection is sol-active"),
        (lambda: device_at("sol-active"), "40" + "00" * 17, "START_IDER_REDIRECTION"),
        (lambda: device_at("authenticating"), "13 00 00 00 04 ff ff ff ff", "announces 4294967295 bytes"),
        (lambda: device_at("starting"), "10 00 00 00 53 4f 4c 20 10 00 00 00 53 4f 4c 20", "again"),
    ],
)
def test_bad_input_raises_and_closes(make: object, data: str, match: str) -> None:
    conn = make()  # type: ignore[operator]
    with pytest.raises(RemoteProtocolError, match=match):
        conn.receive_data(H(data), 1.0)
    assert conn.state is S.CLOSED
    assert conn.receive_data(H("2b 00 00 00 00 00 00 00"), 2.0) == []
    assert conn.next_timer_at() is None


def test_the_console_speaks_first() -> None:
    conn = RedirectionConnection(ConsoleConfig(USER, PASSWORD))
    with pytest.raises(RemoteProtocolError, match="before the console started"):
        conn.receive_data(H("11 00 00 00 01 00 0b 08 57 01 00 00 00"), 0.0)


def test_device_starts_implicitly_on_first_bytes() -> None:
    conn = RedirectionConnection(DeviceConfig({USER: PASSWORD}))
    assert conn.receive_data(H("10 00 00 00 49 44 45 52"), 0.0)[0] == ev.SessionRequested(
        SessionType.IDER, b"IDER"
    )


@pytest.mark.parametrize(
    ("make", "data", "match"),
    [
        (
            lambda: console_at("starting"),
            "11 00 00 00 01",
            r"in the middle of START_REDIRECTION_SESSION_REPLY \(0x11\) "
            r"\(5 bytes received\)",
        ),
        (
            lambda: console_at("sol-active"),
            "2a 00 00 00 00 00 00 00 10 00 41 42",
            "closed the connection in the middle",
        ),
        (lambda: device_at("authenticating"), "13", "the console closed the connection in the middle"),
    ],
)
def test_truncated_message_at_eof(make: object, data: str, match: str) -> None:
    conn = make()  # type: ignore[operator]
    assert conn.receive_data(H(data), 1.0) == []
    with pytest.raises(RemoteProtocolError, match=match):
        conn.receive_data(b"", 1.0)
    assert conn.state is S.CLOSED


def test_ider_session_cannot_start_sol() -> None:
    conn = RedirectionConnection(DeviceConfig({USER: PASSWORD}))
    conn.receive_data(H("10 00 00 00 49 44 45 52"), 0.0)
    conn.accept_session()
    conn.receive_data(H("13 00 00 00 01 0f 00 00 00 05 61 64 6d 69 6e 08 50 40 73 73 77 30 72 64"), 0.0)
    with pytest.raises(RemoteProtocolError, match="not a SOL session"):
        conn.receive_data(H("20" + "00" * 23), 0.0)


def test_digest_type_4_challenge_without_qop_auth_is_rejected() -> None:
    conn = console_at("starting")
    conn.receive_data(H("11 00 00 00 01 00 0b 08 57 01 00 00 00"), 0.0)
    conn.receive_data(H("14 00 00 00 00 01 00 00 00 04"), 0.0)
    with pytest.raises(RemoteProtocolError, match="qop b'auth-int'"):
        conn.receive_data(H("14 01 00 00 04 0d 00 00 00 01 72 01 6e 08") + b"auth-int", 0.0)


def test_reply_with_the_wrong_auth_type_is_rejected() -> None:
    conn = console_at("starting")
    conn.receive_data(H("11 00 00 00 01 00 0b 08 57 01 00 00 00"), 0.0)
    with pytest.raises(RemoteProtocolError, match="type 0 with type 4"):
        conn.receive_data(H("14 00 00 00 04 00 00 00 00"), 0.0)


def test_events_before_the_error_are_lost_but_the_error_is_clear() -> None:
    conn = console_at("sol-active")
    with pytest.raises(RemoteProtocolError, match="0x26"):
        conn.receive_data(H("2a 00 00 00 00 00 00 00 01 00 41 26"), 0.0)


# --- our own mistakes --------------------------------------------------------------------------


def test_local_protocol_errors() -> None:
    console = RedirectionConnection(ConsoleConfig(USER, PASSWORD))
    with pytest.raises(LocalProtocolError, match="cannot send SOL data while the connection is idle"):
        console.send_sol_data(b"x")
    with pytest.raises(LocalProtocolError, match="for the device role"):
        console.accept_session()
    with pytest.raises(LocalProtocolError, match="for the device role"):
        console.refuse_session(StartStatus.BUSY)
    with pytest.raises(LocalProtocolError, match="for the device role"):
        console.send_sol_controls(SolControl.NONE, SolStatus.NONE)
    console.start(0.0)
    with pytest.raises(LocalProtocolError, match="twice"):
        console.start(0.0)

    device = RedirectionConnection(DeviceConfig({USER: PASSWORD}))
    device.start(0.0)
    with pytest.raises(LocalProtocolError, match="after SessionRequested"):
        device.accept_session()
    device.receive_data(H("10 00 00 00 53 4f 4c 20"), 0.0)
    with pytest.raises(LocalProtocolError, match="non-zero status"):
        device.refuse_session(StartStatus.SUCCESS)
    with pytest.raises(LocalProtocolError, match="while the connection is starting"):
        device.send_sol_data(b"x")
    with pytest.raises(LocalProtocolError, match="while the connection is starting"):
        device.send_sol_controls(SolControl.NONE, SolStatus.NONE)
    device.accept_session()
    with pytest.raises(LocalProtocolError, match="after SessionRequested"):
        device.accept_session()


@pytest.mark.parametrize(
    "config",
    [
        ConsoleConfig(USER, "p" * 256),
        ConsoleConfig("u" * 200 + "é" * 28, PASSWORD),
        ConsoleConfig(USER, PASSWORD, ()),
        ConsoleConfig(USER, PASSWORD, (AuthType.KERBEROS,)),
        ConsoleConfig(USER, PASSWORD, sol_settings=SolSettings(rx_timeout_ms=70000)),
        DeviceConfig({}, firmware_version=(256, 0)),
        DeviceConfig({}, realm="Digest:" + "A" * 250),
    ],
)
def test_configs_that_cannot_go_on_the_wire(config: ConsoleConfig | DeviceConfig) -> None:
    with pytest.raises(ConfigError):
        RedirectionConnection(config)


# --- fuzzing -----------------------------------------------------------------------------------

GOLDEN_FRAMES = [wire for _, _, wire, _ in GOLDEN]
SOME_BYTES = st.one_of(st.binary(max_size=40), st.sampled_from(GOLDEN_FRAMES))


def _drive(conn: RedirectionConnection, pieces: list[bytes], eof: bool) -> None:
    now = 0.0
    try:
        for piece in pieces:
            now += 0.5
            for event in conn.receive_data(piece, now):
                if isinstance(event, ev.SessionRequested):
                    conn.accept_session()
            conn.frames_to_send()
            conn.handle_timer(now)
        if eof:
            conn.receive_data(b"", now)
    except RemoteProtocolError:
        assert conn.state is S.CLOSED


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(SOME_BYTES, max_size=12), eof=st.booleans(), legacy=st.booleans())
def test_console_raises_nothing_but_remote_protocol_error(
    pieces: list[bytes], eof: bool, legacy: bool
) -> None:
    conn = RedirectionConnection(
        ConsoleConfig(USER, PASSWORD, legacy_plain=legacy), random_bytes=fixed_random()
    )
    conn.start(0.0)
    _drive(conn, pieces, eof)


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(SOME_BYTES, max_size=12), eof=st.booleans())
def test_device_raises_nothing_but_remote_protocol_error(pieces: list[bytes], eof: bool) -> None:
    conn = RedirectionConnection(DeviceConfig({USER: PASSWORD}), random_bytes=fixed_random())
    conn.start(0.0)
    _drive(conn, [H("10 00 00 00 53 4f 4c 20"), *pieces], eof)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=1, max_size=200), cut=st.integers(min_value=1, max_value=7))
def test_any_split_of_random_bytes_behaves_like_the_whole(data: bytes, cut: int) -> None:
    """Feeding in pieces must give the same events (or the same error) as feeding at once."""

    def outcome(pieces: list[bytes]) -> tuple[list[ev.Event], str | None, list[bytes]]:
        conn = RedirectionConnection(DeviceConfig({USER: PASSWORD}), random_bytes=fixed_random())
        conn.start(0.0)
        events: list[ev.Event] = []
        try:
            for piece in pieces:
                events += conn.receive_data(piece, 0.0)
        except RemoteProtocolError as exc:
            return events, str(exc), conn.frames_to_send()
        return events, None, conn.frames_to_send()

    whole = outcome([data])
    split = outcome([data[i : i + cut] for i in range(0, len(data), cut)])
    if whole[1] is None:
        assert split == whole
    else:
        assert split[1] == whole[1]

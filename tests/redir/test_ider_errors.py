"""Malformed and out-of-turn IDE-R input raises RemoteProtocolError only; misuse raises LocalProtocolError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amtterm.errors import ConfigError, LocalProtocolError, RemoteProtocolError
from amtterm.redir import events as ev
from amtterm.redir.connection import (
    ConnectionState,
    ConsoleConfig,
    DeviceConfig,
    RedirectionConnection,
)
from amtterm.redir.constants import SessionType
from amtterm.redir.ider import IderDrive, IderSettings
from amtterm.redir.messages import (
    AtaRegisters,
    IderCommandEndResponse,
    IderCommandWritten,
    IderDataToHost,
    StartIderRedirectionReply,
)
from tests.redir.ider_pipe import console_at_ider_active, console_at_ider_starting, device_at_ider_active
from tests.redir.pipe import PASSWORD, USER
from tests.redir.test_messages import GOLDEN

S = ConnectionState
H = bytes.fromhex


def _tur(sequence: int) -> bytes:
    return IderCommandWritten(bytes(12), sequence=sequence).encode()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (H("4b 00 00 00 05 00 00 00"), "numbered IDER_HEARTBEAT \\(0x4b\\) 5, but 1 was next"),
        (H("49 00 00 00 01 00 00 00 01 01 00 00 00"), "sub-command 1, which we did not ask"),
        (H("53 00 00 00 01 00 00 00 00 02 00 00 00 00 41 42"), "2 bytes of write data, but 0 were asked"),
        (H("41") + bytes(29), "START_IDER_REDIRECTION_REPLY \\(0x41\\), which is not allowed"),
        (H("43 00 00 00 01 00 00 00"), "not allowed while the connection is ider-active"),
        (H("2a 00 00 00 01 00 00 00 01 00 41"), "SOL_DATA_FROM_HOST"),
        (H("54") + bytes(33), "only the other side may send"),
        (H("4c 00 00 00 01 00 00 00"), "unknown message type 0x4c"),
    ],
)
def test_console_rejects(data: bytes, match: str) -> None:
    console = console_at_ider_active()
    with pytest.raises(RemoteProtocolError, match=match):
        console.receive_data(data, 1.0)
    assert console.state is S.CLOSED and console.next_timer_at() is None


def test_console_rejects_write_data_beyond_what_it_asked() -> None:
    console = console_at_ider_active()
    console.receive_data(H("49 00 00 00 01 00 00 00 03 01 00 00 00") + _tur(2), 1.0)
    console.request_ider_write_data(4)
    with pytest.raises(RemoteProtocolError, match="5 bytes of write data, but 4"):
        console.receive_data(H("53 00 00 00 03 00 00 00 00 05 00 00 00 00") + b"abcde", 1.0)


def test_console_rejects_a_zero_read_buffer_and_a_gap_at_0x41() -> None:
    console = console_at_ider_starting()
    with pytest.raises(RemoteProtocolError, match="read buffer of 0 bytes"):
        console.receive_data(StartIderRedirectionReply(read_buffer=0).encode(), 0.0)
    console = console_at_ider_starting()
    with pytest.raises(
        RemoteProtocolError, match="numbered START_IDER_REDIRECTION_REPLY \\(0x41\\) 3, but 0"
    ):
        console.receive_data(StartIderRedirectionReply(sequence=3).encode(), 0.0)


def _completed_status(status: int, sense: tuple[int, int, int]) -> bytes:
    regs = AtaRegisters(0xC5, 0, 3, 0, 0, 0xB0, status)
    return IderCommandEndResponse(
        2, 0, output_registers=regs, sense_key=sense[0], asc=sense[1], ascq=sense[2]
    ).encode()


@pytest.mark.parametrize(
    ("setup", "data", "match"),
    [
        (False, H("47 00 00 00 00 00 00 00"), "reset \\(0x47\\) that we did not announce"),
        (False, _completed_status(0x50, (0, 0, 0)), "no IDE-R command of ours is waiting"),
        (True, IderDataToHost(b"x" * 8193, 0x02).encode(), "8193 bytes in one IDE-R data message"),
        (True, _completed_status(0x51, (0, 0, 0)), "status 0x51 but sense 00/00/00"),
        (True, _completed_status(0x50, (5, 0x20, 0)), "error bit and sense key disagree"),
        (False, H("50") + bytes(27), "only the other side may send"),
        (False, H("48 00 00 00 00 00 00 00 09"), "unknown sub-command 9"),
        (False, H("28 00 00 00 00 00 00 00 00 00"), "SOL_DATA_TO_HOST"),
    ],
)
def test_device_rejects(setup: bool, data: bytes, match: str) -> None:
    device = device_at_ider_active()
    if setup:
        device.send_ider_command(bytes(6), IderDrive.CD)
    with pytest.raises(RemoteProtocolError, match=match):
        device.receive_data(data, 1.0)
    assert device.state is S.CLOSED


def test_ider_start_in_a_sol_session_is_refused() -> None:
    conn2 = RedirectionConnection(DeviceConfig({USER: PASSWORD}))
    conn2.receive_data(H("10 00 00 00 53 4f 4c 20"), 0.0)
    conn2.accept_session()
    conn2.receive_data(H("13 00 00 00 01 0f 00 00 00 05 61 64 6d 69 6e 08 50 40 73 73 77 30 72 64"), 0.0)
    with pytest.raises(RemoteProtocolError, match="not an IDE-R session"):
        conn2.receive_data(H("40 00 00 00 00 00 00 00 30 75 00 00 20 4e 01 00 00 00"), 0.0)
    assert conn2.state is S.CLOSED


def test_local_protocol_errors() -> None:
    sol = RedirectionConnection(ConsoleConfig(USER, PASSWORD))
    with pytest.raises(LocalProtocolError, match="needs an IDE-R session"):
        sol.send_ider_status()
    device = RedirectionConnection(DeviceConfig({USER: PASSWORD}))
    with pytest.raises(LocalProtocolError, match="for the console role"):
        device.send_ider_data(b"x")
    with pytest.raises(LocalProtocolError, match="for the device role"):
        sol.send_ider_command(bytes(6))
    with pytest.raises(LocalProtocolError, match="while the connection is idle"):
        device.send_ider_command(bytes(6))
    console = console_at_ider_active()
    with pytest.raises(LocalProtocolError, match="no IDE-R command is waiting"):
        console.send_ider_status()
    console.receive_data(_tur(1), 0.0)
    with pytest.raises(LocalProtocolError, match="1 to 8192 bytes"):
        console.request_ider_write_data(9000)
    active = device_at_ider_active()
    active.send_ider_command(bytes(6))
    with pytest.raises(LocalProtocolError, match="one at a time"):
        active.send_ider_command(bytes(6))
    with pytest.raises(LocalProtocolError, match="1 to 12 bytes"):
        device_at_ider_active().send_ider_command(bytes(13))
    assert console.state is S.IDER_ACTIVE and active.state is S.IDER_ACTIVE


@pytest.mark.parametrize(
    "config",
    [
        ConsoleConfig(USER, PASSWORD, session_type=SessionType.IDER, ider_settings=IderSettings(70000)),
        DeviceConfig({}, ider_read_buffer=0),
        DeviceConfig({}, ider_write_buffer=65536),
    ],
)
def test_configs_that_cannot_go_on_the_wire(config: ConsoleConfig | DeviceConfig) -> None:
    with pytest.raises(ConfigError):
        RedirectionConnection(config)


# --- fuzzing -----------------------------------------------------------------------------------

IDER_GOLDEN = [wire for _, _, wire, _ in GOLDEN if wire[0] >= 0x40]
IDER_BYTES = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(IDER_GOLDEN),
    st.builds(
        lambda seq, tail: bytes((0x50, 0, 0, 0)) + seq.to_bytes(4, "little") + tail,
        st.integers(0, 6),
        st.binary(min_size=20, max_size=20),
    ),
)


def _drive(conn: RedirectionConnection, pieces: list[bytes], eof: bool) -> None:
    now = 0.0
    try:
        for piece in pieces:
            now += 3.0
            for event in conn.receive_data(piece, now):
                if isinstance(event, ev.IderCommand):
                    conn.send_ider_data(b"d" * 9000)
            conn.frames_to_send()
            conn.handle_timer(now)
        if eof:
            conn.receive_data(b"", now)
    except RemoteProtocolError:
        assert conn.state is S.CLOSED


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(IDER_BYTES, max_size=10), eof=st.booleans())
def test_ider_console_raises_nothing_but_remote_protocol_error(pieces: list[bytes], eof: bool) -> None:
    _drive(console_at_ider_active(), pieces, eof)


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(IDER_BYTES, max_size=10), eof=st.booleans(), pending=st.booleans())
def test_ider_device_raises_nothing_but_remote_protocol_error(
    pieces: list[bytes], eof: bool, pending: bool
) -> None:
    device = device_at_ider_active()
    if pending:
        device.send_ider_command(bytes(6))
        device.send_ider_reset()
    _drive(device, pieces, eof)

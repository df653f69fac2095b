"""Golden conversations: both codecs must put exactly the bytes of the notes on the wire.

Each trace is a list of steps. ``("C", hex, events)``: the console must have
queued exactly this frame; it is fed to the device (whole, one byte at a time,
or in 3-byte pieces) and the device must emit ``events``, only once the last
byte arrived. ``("D", ...)`` is the same the other way. Callables are owner
actions (accept, type, close, timers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from amtterm.errors import RemoteProtocolError
from amtterm.redir import events as ev
from amtterm.redir.connection import ConnectionState, ConsoleConfig, DeviceConfig, RedirectionConnection
from amtterm.redir.constants import AuthStatus, AuthType, SessionType, SolControl, SolStatus, StartStatus
from amtterm.redir.messages import Direction, Message, SolDataFromHost, SolDataToHost, SolSettings
from tests.redir.pipe import NONCE, PASSWORD, REALM, USER, Pipe, cnonce_random, nonce_random
from tests.redir.test_messages import CHALLENGE, FULL_RESPONSE, GOLDEN, URI, elements, h


@dataclass
class Peers:
    console: RedirectionConnection
    device: RedirectionConnection
    now: float = 0.0
    pending: dict[str, list[bytes]] = field(default_factory=lambda: {"C": [], "D": []})


Action = Callable[[Peers], object]
Step = tuple[str, bytes, list[ev.Event]] | Action

SOL_START = h("10 00 00 00 53 4f 4c 20")
AMTTERM_SOL_SETTINGS = h("20 00 00 00 00 00 00 00 e8 03 64 00 00 00 10 27 00 00 88 13 00 00 00 00")
REPLY_21 = "21 00 00 00 01 00 {fw} 00 00 00 00 00 00 00 00 00 00 57 01 00 00 00"
CONTROLS_ON = h("29 00 00 00 00 00 00 00 03 04")
SESSION_REQUESTED = ev.SessionRequested(SessionType.SOL, b"SOL ")
SOL_CONTROLS_ON = ev.SolControlsChanged(SolControl.RTS | SolControl.DTR, SolStatus.POWER_ON)


def accept(p: Peers) -> None:
    p.device.accept_session()


def run(
    console: RedirectionConnection, device: RedirectionConnection, steps: list[Step], chunk: int
) -> Peers:
    peers = Peers(console, device)
    console.start(0.0)
    device.start(0.0)
    for index, step in enumerate(steps):
        if callable(step):
            step(peers)
            continue
        side, expected, expected_events = step
        sender, receiver = (console, device) if side == "C" else (device, console)
        peers.pending[side] += sender.frames_to_send()
        assert peers.pending[side], f"step {index}: {side} should have sent {expected.hex(' ')}"
        frame = peers.pending[side].pop(0)
        assert frame.hex(" ") == expected.hex(" "), f"step {index}"
        got: list[ev.Event] = []
        for start in range(0, len(frame), chunk):
            piece = frame[start : start + chunk]
            new = receiver.receive_data(piece, peers.now)
            if start + chunk < len(frame):
                assert new == [], f"step {index}: events before the message was complete"
            got += new
        assert got == expected_events, f"step {index}"
    for side, conn in (("C", console), ("D", device)):
        leftover = peers.pending[side] + conn.frames_to_send()
        assert leftover == [], f"{side} sent more than the trace: {[f.hex(' ') for f in leftover]}"
    return peers


CHUNKS = pytest.mark.parametrize("chunk", [1000, 1, 3], ids=["whole", "bytewise", "by3"])


def _device_heartbeat(p: Peers) -> None:
    p.now = 5.0
    assert p.device.next_timer_at() == 5.0
    assert p.device.handle_timer(5.0) == []


def _close(p: Peers) -> None:
    p.console.close()


@CHUNKS
def test_debian_amtterm_14_legacy_plain(chunk: int) -> None:
    """9.1's legacy variant: exactly what Debian amtterm 1.4 and our 11.8 profile exchange (4.3, 5, 11)."""
    console = RedirectionConnection(ConsoleConfig(USER, PASSWORD, legacy_plain=True))
    device = RedirectionConnection(DeviceConfig({USER: PASSWORD}))
    steps: list[Step] = [
        ("C", SOL_START, [SESSION_REQUESTED]),
        accept,
        ("D", h("11 00 00 00 01 00 0b 08 57 01 00 00 00"), [ev.SessionStarted((11, 8), (1, 0), 343)]),
        (
            "C",
            h("13 00 00 00 01 0f 00 00 00 05 61 64 6d 69 6e 08 50 40 73 73 77 30 72 64"),
            [ev.Authenticated(AuthType.PLAIN, USER)],
        ),
        ("D", h("14 00 00 00 01 00 00 00 00"), [ev.Authenticated(AuthType.PLAIN, USER)]),
        ("C", AMTTERM_SOL_SETTINGS, [ev.SolStartRequested(SolSettings())]),
        ("D", h(REPLY_21.format(fw="0b 08")), [ev.SolStarted()]),
        ("D", CONTROLS_ON, [SOL_CONTROLS_ON]),
        lambda p: p.console.send_sol_data(b"ab\r"),
        ("C", h("28 00 00 00 00 00 00 00 03 00 61 62 0d"), [ev.SolData(b"ab\r")]),
        lambda p: p.device.send_sol_data(b"hello"),
        ("D", h("2a 00 00 00 01 00 00 00 05 00 68 65 6c 6c 6f"), [ev.SolData(b"hello")]),
        _device_heartbeat,
        ("D", h("2b 00 00 00 02 00 00 00"), []),
        ("C", h("2b 00 00 00 02 00 00 00"), []),  # echoed byte for byte (5.5)
        lambda p: p.device.send_sol_data(b""),  # nothing to send, nothing sent
        _close,
        ("C", h("22 00 00 00 00 00 00 00"), [ev.SolEndRequested()]),
        ("D", h("23 00 00 00 03 00 00 00"), [ev.ConnectionClosed("the session ended")]),
        ("C", h("12 00 00 00"), [ev.SessionEndRequested()]),
    ]
    run(console, device, steps, chunk)
    assert console.state is device.state is ConnectionState.CLOSED


def _amt12_device() -> RedirectionConnection:
    config = DeviceConfig(
        {USER: PASSWORD}, firmware_version=(12, 0), auth_methods=(AuthType.DIGEST,), realm=REALM
    )
    return RedirectionConnection(config, random_bytes=nonce_random())


@CHUNKS
def test_digest_with_qop_against_amt12(chunk: int) -> None:
    """9.1: query, digest type 4 with the worked example's realm, nonce and cnonce (4.3, 4.4)."""
    console = RedirectionConnection(ConsoleConfig(USER, PASSWORD), random_bytes=cnonce_random())
    steps: list[Step] = [
        ("C", SOL_START, [SESSION_REQUESTED]),
        accept,
        ("D", h("11 00 00 00 01 00 0c 00 57 01 00 00 00"), [ev.SessionStarted((12, 0), (1, 0), 343)]),
        ("C", h("13 00 00 00 00 00 00 00 00"), []),
        ("D", h("14 00 00 00 00 01 00 00 00 04"), [ev.AuthMethodsOffered((AuthType.DIGEST,))]),
        ("C", h("13 00 00 00 04 20 00 00 00") + elements(b"admin", b"", b"", URI, b"", b"", b"", b""), []),
        ("D", CHALLENGE, []),
        ("C", FULL_RESPONSE, [ev.Authenticated(AuthType.DIGEST, USER)]),
        ("D", h("14 00 00 00 04 00 00 00 00"), [ev.Authenticated(AuthType.DIGEST, USER)]),
        ("C", AMTTERM_SOL_SETTINGS, [ev.SolStartRequested(SolSettings())]),
        ("D", h(REPLY_21.format(fw="0c 00")), [ev.SolStarted()]),
        ("D", CONTROLS_ON, [SOL_CONTROLS_ON]),
    ]
    peers = run(console, _amt12_device(), steps, chunk)
    assert peers.console.state is peers.device.state is ConnectionState.SOL_ACTIVE


@CHUNKS
def test_digest_without_qop(chunk: int) -> None:
    """Type 3: no qop element anywhere, response = md5(HA1:nonce:HA2) (4.4)."""
    console = RedirectionConnection(ConsoleConfig(USER, PASSWORD), random_bytes=cnonce_random())
    config = DeviceConfig(
        {USER: PASSWORD}, auth_methods=(AuthType.PLAIN, AuthType.DIGEST_NO_QOP), realm=REALM
    )
    device = RedirectionConnection(config, random_bytes=nonce_random())
    challenge = h("14 01 00 00 03 49 00 00 00") + elements(REALM.encode(), NONCE.encode())
    full = elements(
        b"admin",
        REALM.encode(),
        NONCE.encode(),
        URI,
        b"00112233445566778899aabbccddeeff",
        b"00000002",
        b"85ad2e8768fb46fa239aa18fe1ad7bd4",
    )
    steps: list[Step] = [
        ("C", SOL_START, [SESSION_REQUESTED]),
        accept,
        ("D", h("11 00 00 00 01 00 0b 08 57 01 00 00 00"), [ev.SessionStarted((11, 8), (1, 0), 343)]),
        ("C", h("13 00 00 00 00 00 00 00 00"), []),
        (
            "D",
            h("14 00 00 00 00 02 00 00 00 01 03"),
            [ev.AuthMethodsOffered((AuthType.PLAIN, AuthType.DIGEST_NO_QOP))],
        ),
        ("C", h("13 00 00 00 03 1f 00 00 00") + elements(b"admin", b"", b"", URI, b"", b"", b""), []),
        ("D", challenge, []),
        ("C", h("13 00 00 00 03 ae 00 00 00") + full, [ev.Authenticated(AuthType.DIGEST_NO_QOP, USER)]),
        ("D", h("14 00 00 00 03 00 00 00 00"), [ev.Authenticated(AuthType.DIGEST_NO_QOP, USER)]),
        ("C", AMTTERM_SOL_SETTINGS, [ev.SolStartRequested(SolSettings())]),
        ("D", h(REPLY_21.format(fw="0b 08")), [ev.SolStarted()]),
        ("D", CONTROLS_ON, [SOL_CONTROLS_ON]),
    ]
    run(console, device, steps, chunk)


@CHUNKS
def test_amt12_refuses_amtterm_14_plain(chunk: int) -> None:
    """4.3: AMT 12 answers plain with status 2 and amtterm 1.4 gives up; the device would allow a retry."""
    console = RedirectionConnection(ConsoleConfig(USER, PASSWORD, legacy_plain=True))
    steps: list[Step] = [
        ("C", SOL_START, [SESSION_REQUESTED]),
        accept,
        ("D", h("11 00 00 00 01 00 0c 00 57 01 00 00 00"), [ev.SessionStarted((12, 0), (1, 0), 343)]),
        ("C", h("13 00 00 00 01 0f 00 00 00 05 61 64 6d 69 6e 08 50 40 73 73 77 30 72 64"), []),
        (
            "D",
            h("14 02 00 00 01 00 00 00 00"),
            [ev.AuthFailed(AuthType.PLAIN, AuthStatus.NOT_SUPPORTED, USER)],
        ),
    ]
    peers = run(console, _amt12_device(), steps, chunk)
    assert peers.console.state is ConnectionState.CLOSED
    assert peers.device.state is ConnectionState.AUTHENTICATING
    assert peers.device.receive_data(b"", 1.0) == [ev.ConnectionClosed("the console closed the connection")]


@CHUNKS
def test_busy_refusal(chunk: int) -> None:
    """3.2: a refusal is still 13 bytes; the console reports it and closes."""
    console = RedirectionConnection(ConsoleConfig(USER, PASSWORD))
    device = RedirectionConnection(DeviceConfig({USER: PASSWORD}))
    steps: list[Step] = [
        ("C", SOL_START, [SESSION_REQUESTED]),
        lambda p: p.device.refuse_session(StartStatus.BUSY),
        ("D", h("11 02 00 00 01 00 0b 08 57 01 00 00 00"), [ev.SessionRefused(StartStatus.BUSY)]),
    ]
    run(console, device, steps, chunk)
    assert console.state is device.state is ConnectionState.CLOSED


@pytest.mark.parametrize(("why", "direction", "wire", "message"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_every_golden_vector_byte_by_byte_through_a_connection(
    why: str, direction: Direction, wire: bytes, message: Message
) -> None:
    """A running SOL connection of the receiving role assembles the whole frame before judging it.

    It then either handles it (same events and replies as when fed at once) or,
    for a message that has no place in a running SOL session (auth, IDE-R ...),
    refuses it by name: never as garbage.
    """

    def outcome(pieces: list[bytes]) -> tuple[list[ev.Event], str, list[bytes]]:
        pipe = Pipe().start()
        conn = pipe.device if direction is Direction.FROM_CONSOLE else pipe.console
        events: list[ev.Event] = []
        for i, piece in enumerate(pieces):
            try:
                events += conn.receive_data(piece, 1.0)
            except RemoteProtocolError as exc:
                assert i == len(pieces) - 1, "refused before the frame was complete"
                return events, str(exc), conn.frames_to_send()
        return events, "", conn.frames_to_send()

    whole = outcome([wire])
    bytewise = outcome([wire[i : i + 1] for i in range(len(wire))])
    assert bytewise == whole
    events, error, _ = whole
    if error:
        assert f"{message.name}, which is not allowed while the connection is sol-active" in error
    elif isinstance(message, SolDataFromHost | SolDataToHost) and message.data:
        assert events == [ev.SolData(message.data)]

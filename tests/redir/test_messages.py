"""Golden byte vectors from shared/protocol/redirection.md: encode == bytes and decode(bytes) == message."""

from __future__ import annotations

import pytest

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.redir.constants import (
    AuthStatus,
    AuthType,
    IderFeature,
    SessionType,
    SolControl,
    SolStatus,
    StartStatus,
)
from amtterm.redir.messages import (
    AtaRegisters,
    AuthenticateSession,
    AuthenticateSessionReply,
    AuthMethodsList,
    DigestChallenge,
    DigestRequest,
    Direction,
    EmptyAuthData,
    EndIderRedirection,
    EndIderRedirectionReply,
    EndRedirectionSession,
    EndSolRedirection,
    EndSolRedirectionReply,
    IderCommandEndResponse,
    IderCommandWritten,
    IderDataFromHost,
    IderDataToHost,
    IderDisableEnableFeatures,
    IderDisableEnableFeaturesReply,
    IderErrorOccurred,
    IderGetDataFromHost,
    IderHeartbeat,
    IderKeepAlivePing,
    IderKeepAlivePong,
    IderResetOccurred,
    IderResetOccurredResponse,
    Message,
    OpaqueAuthData,
    PlainCredentials,
    SolControlsFromHost,
    SolDataFromHost,
    SolDataToHost,
    SolHeartbeat,
    SolKeepAlivePing,
    SolKeepAlivePong,
    SolSettings,
    SolSettingsMessage,
    StartIderRedirection,
    StartIderRedirectionReply,
    StartRedirectionSession,
    StartRedirectionSessionReply,
    StartSolRedirection,
    StartSolRedirectionReply,
    decode_message,
    gap_after,
)
from tests.redir.pipe import CNONCE, NONCE, REALM

C = Direction.FROM_CONSOLE
D = Direction.FROM_DEVICE
URI = b"/RedirectionService"


def h(text: str) -> bytes:
    """Hex with spaces, as the notes print it."""
    return bytes.fromhex(text)


def elements(*parts: bytes) -> bytes:
    return b"".join(bytes([len(p)]) + p for p in parts)


#: redirection.md 4.4 worked example: the challenge and the type-4 response.
CHALLENGE = (
    h("14 01 00 00 04 4e 00 00 00 27") + REALM.encode() + b"\x20" + NONCE.encode() + h("04 61 75 74 68")
)
FULL_RESPONSE = h("13 00 00 00 04 b3 00 00 00") + elements(
    b"admin",
    REALM.encode(),
    NONCE.encode(),
    URI,
    CNONCE.encode(),
    b"00000002",
    b"f532e2f93545b8a6d8a143907cdf5100",
    b"auth",
)

#: (why, direction, bytes, message). Every one is checked both ways.
GOLDEN: list[tuple[str, Direction, bytes, Message]] = [
    ("3.1 amtterm 1.4 SOL start", C, h("10 00 00 00 53 4f 4c 20"), StartRedirectionSession(b"SOL ")),
    ("3.1 IDE-R tag", C, h("10 00 00 00 49 44 45 52"), StartRedirectionSession(SessionType.IDER.value)),
    ("3.1 KVM tag, byte 1 = 1", C, h("10 01 00 00 4b 56 4d 52"), StartRedirectionSession(b"KVMR")),
    (
        "3.2 TRACE AMT 11.8",
        D,
        h("11 00 00 00 01 00 0b 08 57 01 00 00 00"),
        StartRedirectionSessionReply(StartStatus.SUCCESS, (1, 0), (11, 8), 343),
    ),
    (
        "3.2 TRACE AMT 12.0",
        D,
        h("11 00 00 00 01 00 0c 00 57 01 00 00 00"),
        StartRedirectionSessionReply(StartStatus.SUCCESS, (1, 0), (12, 0), 343),
    ),
    (
        "3.2 busy, still 13 bytes",
        D,
        h("11 02 00 00 01 00 0b 08 57 01 00 00 00"),
        StartRedirectionSessionReply(StartStatus.BUSY, (1, 0), (11, 8)),
    ),
    ("3.3 end session", C, h("12 00 00 00"), EndRedirectionSession()),
    ("4.3 query", C, h("13 00 00 00 00 00 00 00 00"), AuthenticateSession(AuthType.QUERY)),
    (
        "4.3 amtterm 1.4 plain admin/P@ssw0rd",
        C,
        h("13 00 00 00 01 0f 00 00 00 05 61 64 6d 69 6e 08 50 40 73 73 77 30 72 64"),
        AuthenticateSession(AuthType.PLAIN, PlainCredentials(b"admin", b"P@ssw0rd")),
    ),
    (
        "4.3 TRACE AMT 12 query reply: digest only",
        D,
        h("14 00 00 00 00 01 00 00 00 04"),
        AuthenticateSessionReply(AuthStatus.SUCCESS, AuthType.QUERY, AuthMethodsList((AuthType.DIGEST,))),
    ),
    (
        "4.3 legacy profile query reply {1, 3, 4}",
        D,
        h("14 00 00 00 00 03 00 00 00 01 03 04"),
        AuthenticateSessionReply(
            AuthStatus.SUCCESS,
            AuthType.QUERY,
            AuthMethodsList((AuthType.PLAIN, AuthType.DIGEST_NO_QOP, AuthType.DIGEST)),
        ),
    ),
    (
        "4.3 plain success",
        D,
        h("14 00 00 00 01 00 00 00 00"),
        AuthenticateSessionReply(AuthStatus.SUCCESS, AuthType.PLAIN),
    ),
    (
        "4.3 TRACE AMT 12 refuses plain",
        D,
        h("14 02 00 00 01 00 00 00 00"),
        AuthenticateSessionReply(AuthStatus.NOT_SUPPORTED, AuthType.PLAIN),
    ),
    (
        "4.3 TRACE empty plain request",
        C,
        h("13 00 00 00 01 00 00 00 00"),
        AuthenticateSession(AuthType.PLAIN),
    ),
    (
        "4.5 TRACE empty Kerberos request",
        C,
        h("13 00 00 00 02 00 00 00 00"),
        AuthenticateSession(AuthType.KERBEROS),
    ),
    (
        "4.4 initial digest request",
        C,
        h(
            "13 00 00 00 04 20 00 00 00 05 61 64 6d 69 6e 00 00 13 2f 52 65 64 69 72 65 63 74 69 6f 6e "
            "53 65 72 76 69 63 65 00 00 00 00"
        ),
        AuthenticateSession(AuthType.DIGEST, DigestRequest(b"admin", b"", b"", URI, b"", b"", b"", b"")),
    ),
    (
        "4.4 challenge",
        D,
        CHALLENGE,
        AuthenticateSessionReply(
            AuthStatus.FAILURE, AuthType.DIGEST, DigestChallenge(REALM.encode(), NONCE.encode(), b"auth")
        ),
    ),
    (
        "4.4 full type-4 response, L = 179",
        C,
        FULL_RESPONSE,
        AuthenticateSession(
            AuthType.DIGEST,
            DigestRequest(
                b"admin",
                REALM.encode(),
                NONCE.encode(),
                URI,
                CNONCE.encode(),
                b"00000002",
                b"f532e2f93545b8a6d8a143907cdf5100",
                b"auth",
            ),
        ),
    ),
    (
        "4.4 digest success",
        D,
        h("14 00 00 00 04 00 00 00 00"),
        AuthenticateSessionReply(AuthStatus.SUCCESS, AuthType.DIGEST),
    ),
    (
        "4.5 failure reply",
        D,
        h("14 01 00 00 04 00 00 00 00"),
        AuthenticateSessionReply(AuthStatus.FAILURE, AuthType.DIGEST),
    ),
    (
        "5.1 amtterm 1.4 StartSOLRedirection",
        C,
        h("20 00 00 00 00 00 00 00 e8 03 64 00 00 00 10 27 00 00 88 13 00 00 00 00"),
        StartSolRedirection(SolSettings()),
    ),
    (
        "5.1 MeshCommander values, sequence 1",
        C,
        h("20 00 00 00 01 00 00 00 10 27 64 00 00 00 10 27 64 00 00 00 00 00 00 00"),
        StartSolRedirection(SolSettings(10000, 100, 0, 10000, 100, 0), sequence=1),
    ),
    (
        "5.2 StartSOLRedirectionReply accepted by amtterm 1.4",
        D,
        h("21 00 00 00 01 00 0b 08 00 00 00 00 00 00 00 00 00 00 57 01 00 00 00"),
        StartSolRedirectionReply(0, (1, 0), (11, 8), 343),
    ),
    (
        "5.3 amtterm 'ab\\n' as 'ab\\r'",
        C,
        h("28 00 00 00 00 00 00 00 03 00 61 62 0d"),
        SolDataToHost(b"ab\r"),
    ),
    ("5.6 amtterm Ctrl-] data", C, h("28 00 00 00 00 00 00 00 01 00 1d"), SolDataToHost(b"\x1d")),
    ("5.3 empty data", C, h("28 00 00 00 00 00 00 00 00 00"), SolDataToHost(b"")),
    (
        "5.3 host output",
        D,
        h("2a 00 00 00 07 00 00 00 05 00 68 65 6c 6c 6f"),
        SolDataFromHost(b"hello", sequence=7),
    ),
    (
        "5.4 controls RTS|DTR, powered on",
        D,
        h("29 00 00 00 00 00 00 00 03 04"),
        SolControlsFromHost(SolControl.RTS | SolControl.DTR, SolStatus.POWER_ON),
    ),
    ("5.4 controls, powered off", D, h("29 00 00 00 01 00 00 00 00 00"), SolControlsFromHost(sequence=1)),
    ("5.5 hamtsolo heartbeat", C, h("2b 00 00 00 02 00 00 00"), SolHeartbeat(2)),
    ("5.5 device heartbeat", D, h("2b 00 00 00 09 00 00 00"), SolHeartbeat(9)),
    ("5.5 ping", D, h("24 00 00 00 03 00 00 00"), SolKeepAlivePing(3)),
    ("5.5 pong", C, h("25 00 00 00 03 00 00 00"), SolKeepAlivePong(3)),
    ("5.6 amtterm end SOL", C, h("22 00 00 00 00 00 00 00"), EndSolRedirection()),
    ("5.6 end SOL reply", D, h("23 00 00 00 00 00 00 00"), EndSolRedirectionReply()),
    ("5.7 MeshCommander 0x27", C, h("27 00 00 00 02 00 00 00 00 00 1b 00 00 00"), SolSettingsMessage(2)),
    (
        "6.3 MeshCommander StartIDERRedirection",
        C,
        h("40 00 00 00 00 00 00 00 30 75 00 00 20 4e 01 00 00 00"),
        StartIderRedirection(30000, 0, 20000, 1),
    ),
    (
        "6.4 simulator StartIDERRedirectionReply",
        D,
        h("41 00 00 00 00 00 00 00 01 00 0b 08 00 00 00 00 00 20 00 20 00 00 00 00 00 57 01 00 00 00"),
        StartIderRedirectionReply(),
    ),
    (
        "6.5 MeshCommander set state 'on reboot'",
        C,
        h("48 00 00 00 01 00 00 00 03 09 00 00 00"),
        IderDisableEnableFeatures(IderFeature.SET_STATE, 0x09, sequence=1),
    ),
    (
        "6.5 get supported",
        C,
        h("48 00 00 00 01 00 00 00 01"),
        IderDisableEnableFeatures(IderFeature.GET_SUPPORTED, sequence=1),
    ),
    (
        "6.5 set state done",
        D,
        h("49 00 00 00 01 00 00 00 03 01 00 00 00"),
        IderDisableEnableFeaturesReply(IderFeature.SET_STATE, 1, sequence=1),
    ),
    ("6.6 reset occurred", D, h("46 00 00 00 02 00 00 00 05"), IderResetOccurred(5, sequence=2)),
    ("6.6 reset response", C, h("47 00 00 00 02 00 00 00"), IderResetOccurredResponse(2)),
    (
        "6.7 TEST UNIT READY for the CD",
        D,
        h("50 00 00 00 03 00 00 00 00 00 00 00 00 00 b0 a0") + bytes(12),
        IderCommandWritten(bytes(12), device=0xB0, command=0xA0, sequence=3),
    ),
    (
        "6.8 good status",
        C,
        h("51 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 c5 00 03 00 00 00 b0 50 00 00 00"),
        IderCommandEndResponse(attributes=2, output_registers=AtaRegisters(0xC5, 0, 3, 0, 0, 0xB0, 0x50)),
    ),
    (
        "6.8 check condition: medium changed",
        C,
        h("51 00 00 02 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 87 60 03 00 00 00 b0 51 06 28 00"),
        IderCommandEndResponse(
            attributes=2,
            sequence=4,
            output_registers=AtaRegisters(0x87, 0x60, 3, 0, 0, 0xB0, 0x51),
            sense_key=6,
            asc=0x28,
            ascq=0,
        ),
    ),
    ("6.10 end IDE-R", C, h("42 00 00 00 09 00 00 00"), EndIderRedirection(9)),
    ("6.10 end IDE-R reply", D, h("43 00 00 00 0a 00 00 00"), EndIderRedirectionReply(10)),
    ("6.10 IDE-R ping", D, h("44 00 00 00 01 00 00 00"), IderKeepAlivePing(1)),
    ("6.10 IDE-R pong", C, h("45 00 00 00 01 00 00 00"), IderKeepAlivePong(1)),
    ("6.10 IDE-R heartbeat", D, h("4b 00 00 00 06 00 00 00"), IderHeartbeat(6)),
    ("6.10 error occurred", D, h("4a 00 00 00 05 00 00 00 02 00 00"), IderErrorOccurred(2, sequence=5)),
]


@pytest.mark.parametrize(("why", "direction", "wire", "message"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_encode(why: str, direction: Direction, wire: bytes, message: Message) -> None:
    assert message.encode() == wire


@pytest.mark.parametrize(("why", "direction", "wire", "message"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_decode(why: str, direction: Direction, wire: bytes, message: Message) -> None:
    assert decode_message(wire, direction=direction) == (message, len(wire))


@pytest.mark.parametrize(("why", "direction", "wire", "message"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_decode_waits_for_the_last_byte(
    why: str, direction: Direction, wire: bytes, message: Message
) -> None:
    for cut in range(len(wire)):
        assert decode_message(wire[:cut], direction=direction) is None
    # and leaves whatever follows alone
    assert decode_message(memoryview(wire + b"\x2b\x00"), direction=direction) == (message, len(wire))


def test_auth_data_of_digest_type_3_has_no_qop() -> None:
    challenge = AuthenticateSessionReply(
        AuthStatus.FAILURE, AuthType.DIGEST_NO_QOP, DigestChallenge(REALM.encode(), NONCE.encode())
    )
    wire = challenge.encode()
    assert wire[:9] == h("14 01 00 00 03 49 00 00 00")  # 1+39 + 1+32 = 73
    assert decode_message(wire, direction=D) == (challenge, len(wire))


def test_unknown_auth_types_and_kerberos_data_stay_opaque() -> None:
    wire = h("13 00 00 00 02 03 00 00 00 aa bb cc")
    assert decode_message(wire, direction=C) == (AuthenticateSession(2, OpaqueAuthData(h("aa bb cc"))), 12)
    wire = h("14 00 00 00 09 01 00 00 00 ff")
    assert decode_message(wire, direction=D) == (AuthenticateSessionReply(0, 9, OpaqueAuthData(b"\xff")), 10)


def test_tolerated_variants() -> None:
    # 3.1: bytes 1-3 of 0x10 are ignored (9front sends 0x110 as a 32-bit value for KVM).
    assert decode_message(h("10 01 01 00 53 4f 4c 20"), direction=C) == (StartRedirectionSession(), 8)
    # 5.3: bytes 1-3 of SOL messages are ignored.
    assert decode_message(h("2b ff ff ff 01 00 00 00"), direction=C) == (SolHeartbeat(1), 8)
    # 6.3: amtterm HEAD's malformed 0x40 decodes (its values land in the wrong fields).
    malformed = h("40 64 00 10 27 88 13 01") + bytes(10)
    assert decode_message(malformed, direction=C) == (StartIderRedirection(0, 0, 0, 0, 0x01138827), 18)
    # 4.4: a type-3 request with an (empty) 8th element is accepted.
    data = elements(b"admin", b"", b"", URI, b"", b"", b"", b"")
    wire = bytes([0x13, 0, 0, 0, 3, len(data), 0, 0, 0]) + data
    message, _ = decode_message(wire, direction=C) or (None, 0)
    assert isinstance(message, AuthenticateSession)
    assert isinstance(message.data, DigestRequest)
    assert message.data.qop == b""


#: One instance of every message the vectors above do not cover in full, for round trips.
ROUND_TRIP: list[tuple[Direction, Message]] = [
    (D, StartRedirectionSessionReply(StartStatus.ERROR, (1, 0), (16, 1), 343, b"oem")),
    (D, StartIderRedirectionReply(0, 0, (1, 0), (12, 0), 4096, 2048, 0, 343, b"xy")),
    (D, IderDataFromHost(b"\x01" * 513, attributes=0, sequence=77)),
    (
        C,
        IderDataToHost(
            b"\x55" * 2048,
            attributes=3,
            sequence=12,
            input_registers=AtaRegisters(0xB4, 0, 2, 0, 0, 0xB0, 0x58),
            output_registers=AtaRegisters(0x85, 0, 3, 0, 0, 0xB0, 0x50),
        ),
    ),
    (
        C,
        IderGetDataFromHost(sequence=3, transfer_bytes=512, input_registers=AtaRegisters(0xB5, 0, 0, 0, 512)),
    ),
    (C, IderDisableEnableFeatures(IderFeature.GET_STATE)),
    (D, IderDisableEnableFeaturesReply(7, 0x02)),
    (D, IderCommandWritten(h("28 00 00 00 00 11 00 00 01 00 00 00"), features=1, byte_count_limit=0xFFFE)),
    (D, SolDataFromHost(bytes(range(256)) * 255 + b"x" * 255, 1)),  # n = 65535
    (D, SolKeepAlivePong(0xFFFFFFFF)),
    (C, AuthenticateSession(AuthType.PLAIN, PlainCredentials(b"u" * 255, b""))),
    (D, AuthenticateSessionReply(AuthStatus.SUCCESS, AuthType.QUERY, AuthMethodsList((AuthType.DIGEST, 31)))),
]


@pytest.mark.parametrize(("direction", "message"), ROUND_TRIP, ids=[type(m).__name__ for _, m in ROUND_TRIP])
def test_round_trip(direction: Direction, message: Message) -> None:
    wire = message.encode()
    assert decode_message(wire, direction=direction) == (message, len(wire))


def test_empty_methods_list_decodes_as_empty_data() -> None:
    wire = AuthenticateSessionReply(0, 0, AuthMethodsList(())).encode()
    assert decode_message(wire, direction=D) == (AuthenticateSessionReply(0, 0, EmptyAuthData()), 9)


@pytest.mark.parametrize(
    ("wire", "direction", "match"),
    [
        (h("26 00 00 00 00 00 00 00"), C, "unknown message type 0x26"),
        (h("00"), D, "unknown message type 0x00"),
        (h("ff 00"), C, "unknown message type 0xff"),
        (h("11 00 00 00"), C, "only the other side may send"),
        (h("28 00"), D, "only the other side may send"),
        (h("13 00 00 00 04 ff ff ff ff"), C, "announces 4294967295 bytes"),
        (h("14 00 00 00 00 01 20 00 00"), D, "announces 8193 bytes"),
        (h("13 00 00 00 04 03 00 00 00 05 61 62"), C, "element 1 claims 5 bytes"),
        (h("13 00 00 00 01 03 00 00 00 05 61 62"), C, "plain auth data: element 1 claims 5 bytes"),
        (h("13 00 00 00 01 05 00 00 00 01 61 01 62 00"), C, "plain auth data has 3 elements"),
        (h("13 00 00 00 04 02 00 00 00 01 61"), C, "has 1 elements; expected 8"),
        (h("14 01 00 00 04 02 00 00 00 01 61"), D, "digest challenge has 1 elements"),
        (h("48 00 00 00 00 00 00 00 07"), C, "unknown sub-command 7"),
    ],
    ids=lambda v: v.hex(" ")[:24] if isinstance(v, bytes) else None,
)
def test_malformed_messages_raise_remote_protocol_error(
    wire: bytes, direction: Direction, match: str
) -> None:
    with pytest.raises(RemoteProtocolError, match=match):
        decode_message(wire, direction=direction)


@pytest.mark.parametrize(
    "message",
    [
        StartRedirectionSession(b"SOL"),
        AuthenticateSession(AuthType.PLAIN, PlainCredentials(b"u" * 256, b"p")),
        SolDataToHost(b"x" * 65536),
        SolControlsFromHost(sequence=1 << 32),
        StartSolRedirection(SolSettings(max_tx_buffer=70000)),
        IderCommandWritten(bytes(13)),
        IderDisableEnableFeatures(IderFeature.GET_SUPPORTED, value=1),
        SolSettingsMessage(payload=b"\x00"),
    ],
    ids=lambda m: type(m).__name__,
)
def test_fields_that_do_not_fit_raise_local_protocol_error(message: Message) -> None:
    with pytest.raises(LocalProtocolError):
        message.encode()


def test_gap_after_greedy_messages() -> None:
    # 11: after 0x14, 0x21, 0x23, 0x29 ... amtterm drops the rest of its buffer.
    assert gap_after(h("14 00 00 00 01 00 00 00 00")) == 0.2
    assert gap_after(StartSolRedirectionReply().encode()) == 0.2
    assert gap_after(SolControlsFromHost().encode()) == 0.2
    assert gap_after(EndSolRedirectionReply().encode()) == 0.2
    assert gap_after(StartIderRedirectionReply().encode()) == 0.2
    # 0x11, 0x2A and 0x2B are consumed exactly: a small gap only.
    # 0x11 and SOL data are read exactly (13 and 10 + n bytes): no gap, so floods are fast.
    assert gap_after(StartRedirectionSessionReply().encode()) == 0.0
    assert gap_after(SolDataFromHost(b"x").encode()) == 0.0
    assert gap_after(SolHeartbeat().encode()) == 0.015
    assert gap_after(b"") == 0.0

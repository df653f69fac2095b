"""Numbers of the AMT redirection protocol, named after the wire.

Every value here is cited from ``shared/protocol/redirection.md`` (section in
brackets). Multi-byte integers on the wire are little-endian (2.2).
"""

from __future__ import annotations

import enum

#: Plain and TLS redirection ports (2.1).
REDIRECTION_PORT = 16994
REDIRECTION_TLS_PORT = 16995

#: Intel's IANA enterprise number, sent in 0x11, 0x21 and 0x41 (3.2).
INTEL_IANA = 343

#: URI and HTTP method hashed into the digest (4.4).
DIGEST_URI = "/RedirectionService"
DIGEST_METHOD = "POST"


class MessageType(enum.IntEnum):
    """Byte 0 of every message (10)."""

    START_REDIRECTION_SESSION = 0x10
    START_REDIRECTION_SESSION_REPLY = 0x11
    END_REDIRECTION_SESSION = 0x12
    AUTHENTICATE_SESSION = 0x13
    AUTHENTICATE_SESSION_REPLY = 0x14
    # Serial-over-LAN (5)
    START_SOL_REDIRECTION = 0x20
    START_SOL_REDIRECTION_REPLY = 0x21
    END_SOL_REDIRECTION = 0x22
    END_SOL_REDIRECTION_REPLY = 0x23
    SOL_KEEP_ALIVE_PING = 0x24
    SOL_KEEP_ALIVE_PONG = 0x25
    SOL_SETTINGS = 0x27  # MeshCommander only, meaning unknown (5.7)
    SOL_DATA_TO_HOST = 0x28
    SOL_CONTROLS_FROM_HOST = 0x29
    SOL_DATA_FROM_HOST = 0x2A
    SOL_HEARTBEAT = 0x2B
    # IDE redirection (6)
    START_IDER_REDIRECTION = 0x40
    START_IDER_REDIRECTION_REPLY = 0x41
    END_IDER_REDIRECTION = 0x42
    END_IDER_REDIRECTION_REPLY = 0x43
    IDER_KEEP_ALIVE_PING = 0x44
    IDER_KEEP_ALIVE_PONG = 0x45
    IDER_RESET_OCCURRED = 0x46
    IDER_RESET_OCCURRED_RESPONSE = 0x47
    IDER_DISABLE_ENABLE_FEATURES = 0x48
    IDER_DISABLE_ENABLE_FEATURES_REPLY = 0x49
    IDER_ERROR_OCCURRED = 0x4A
    IDER_HEARTBEAT = 0x4B
    IDER_COMMAND_WRITTEN = 0x50
    IDER_COMMAND_END_RESPONSE = 0x51
    IDER_GET_DATA_FROM_HOST = 0x52
    IDER_DATA_FROM_HOST = 0x53
    IDER_DATA_TO_HOST = 0x54


class SessionType(enum.Enum):
    """The 4-byte tag of StartRedirectionSession (3.1)."""

    SOL = b"SOL "
    IDER = b"IDER"
    KVM = b"KVMR"


class StartStatus(enum.IntEnum):
    """Byte 1 of StartRedirectionSessionReply (3.2)."""

    SUCCESS = 0
    UNKNOWN_SESSION_TYPE = 1
    BUSY = 2
    UNSUPPORTED = 3
    ERROR = 0xFF


class AuthStatus(enum.IntEnum):
    """Byte 1 of AuthenticateSessionReply (4.2). FAILURE also means "challenge follows"."""

    SUCCESS = 0
    FAILURE = 1
    NOT_SUPPORTED = 2


class AuthType(enum.IntEnum):
    """Byte 4 of AuthenticateSession and its reply (4.2)."""

    QUERY = 0
    PLAIN = 1
    KERBEROS = 2
    DIGEST_NO_QOP = 3
    DIGEST = 4


class SolControl(enum.IntFlag):
    """Byte 8 of SOL controls from host, 0x29: modem lines (5.4)."""

    NONE = 0
    RTS = 0x01
    DTR = 0x02
    BREAK = 0x04


class SolStatus(enum.IntFlag):
    """Byte 9 of SOL controls from host, 0x29 (5.4)."""

    NONE = 0
    TX_OVERFLOW = 0x01
    LOOPBACK = 0x02
    POWER_ON = 0x04
    RX_FLUSH_TIMEOUT = 0x08
    TEST_MODE = 0x10


class IderFeature(enum.IntEnum):
    """Sub-command byte of IDE-R DisableEnableFeatures, 0x48 (6.5)."""

    GET_SUPPORTED = 1
    GET_STATE = 2
    SET_STATE = 3


class IderStartTiming(enum.IntFlag):
    """Value bits of DisableEnableFeatures SET_STATE (6.5)."""

    ENABLE = 0x01
    ON_RESET = 0x08
    GRACEFULLY = 0x10
    IMMEDIATELY = 0x18


#: Messages after which Debian amtterm (and 9front) throw away the rest of their
#: read buffer: a device must not put anything after them in the same write and
#: should leave a gap (11).
GREEDY_MESSAGE_TYPES = frozenset(
    {
        MessageType.AUTHENTICATE_SESSION_REPLY,
        MessageType.START_SOL_REDIRECTION_REPLY,
        MessageType.END_SOL_REDIRECTION_REPLY,
        MessageType.SOL_CONTROLS_FROM_HOST,
        MessageType.START_IDER_REDIRECTION_REPLY,
        MessageType.IDER_RESET_OCCURRED,
        MessageType.IDER_DISABLE_ENABLE_FEATURES_REPLY,
        MessageType.IDER_ERROR_OCCURRED,
        MessageType.IDER_COMMAND_WRITTEN,
        MessageType.END_IDER_REDIRECTION_REPLY,
    }
)

#: Keep-alives after which 9front discards its buffer too; a short gap suffices (11).
KEEPALIVE_MESSAGE_TYPES = frozenset(
    {
        MessageType.SOL_HEARTBEAT,
        MessageType.SOL_KEEP_ALIVE_PING,
        MessageType.SOL_KEEP_ALIVE_PONG,
        MessageType.IDER_HEARTBEAT,
        MessageType.IDER_KEEP_ALIVE_PING,
        MessageType.IDER_KEEP_ALIVE_PONG,
    }
)

#: Gap (seconds) a device leaves after a greedy message, and after a keep-alive, so
#: that clients that drop coalesced bytes lose nothing (11). Data messages (0x2A)
#: are consumed exactly by every client and need none: they may share a write.
GREEDY_GAP = 0.2
MESSAGE_GAP = 0.015

#: SOL settings Debian amtterm sends (5.1), the defaults of our console.
DEFAULT_SOL_MAX_TX_BUFFER = 1000
DEFAULT_SOL_TX_TIMEOUT_MS = 100
DEFAULT_SOL_RX_TIMEOUT_MS = 10000
DEFAULT_SOL_HEARTBEAT_MS = 5000

"""RFB numbers and the fixed-layout messages of both directions (RFC 6143 7.5, 7.6).

All integers are big-endian. Section numbers cite RFC 6143; AMT facts cite
``shared/protocol/modern-amt.md`` 2.1.

Client to server::

    0 SetPixelFormat            u8 0, 3 pad, PIXEL_FORMAT (16)                         20 bytes
    2 SetEncodings              u8 2, 1 pad, u16 n, n x s32
    3 FramebufferUpdateRequest  u8 3, u8 incremental, u16 x, y, w, h                   10 bytes
    4 KeyEvent                  u8 4, u8 down, 2 pad, u32 keysym                        8 bytes
    5 PointerEvent              u8 5, u8 button mask, u16 x, y                          6 bytes
    6 ClientCutText             u8 6, 3 pad, u32 n, n bytes (Latin-1)

Server to client::

    0 FramebufferUpdate         u8 0, 1 pad, u16 n, then n x (u16 x, y, w, h, s32 encoding, data)
    1 SetColourMapEntries       u8 1, 1 pad, u16 first, u16 n, n x (u16 r, g, b)
    2 Bell                      u8 2
    3 ServerCutText             u8 3, 3 pad, u32 n, n bytes

Intel's encoding 1092 turns cut text into a side channel: a payload starting
``\\0KvmExtCmd\\0`` carries a command byte and values (1 decimation state, 2 ask for it,
3 compression state, 4 set compression 0 off / 1 on), one starting ``\\0KvmDataChannel``
the data channel, whose empty form ``\\0KvmDataChannel\\0`` consoles send every 5 s as a
keep-alive.
"""

from __future__ import annotations

import enum
import struct

from amtterm.rfb.pixels import PixelFormat


class Encoding(enum.IntEnum):
    """Encoding numbers (RFC 6143 7.7, 7.8) and Intel's extension."""

    RAW = 0
    COPY_RECT = 1
    ZRLE = 16
    DESKTOP_SIZE = -223
    INTEL_AMT = 1092


class ClientType(enum.IntEnum):
    """Byte 0 of client-to-server messages."""

    SET_PIXEL_FORMAT = 0
    SET_ENCODINGS = 2
    FRAMEBUFFER_UPDATE_REQUEST = 3
    KEY_EVENT = 4
    POINTER_EVENT = 5
    CLIENT_CUT_TEXT = 6


class ServerType(enum.IntEnum):
    """Byte 0 of server-to-client messages."""

    FRAMEBUFFER_UPDATE = 0
    SET_COLOUR_MAP_ENTRIES = 1
    BELL = 2
    SERVER_CUT_TEXT = 3


class SecurityType(enum.IntEnum):
    """Security types (RFC 6143 7.1.2); AMT 16.1 offers 0x80 and takes None (1)."""

    INVALID = 0
    NONE = 1
    VNC_AUTHENTICATION = 2
    INTEL_AMT = 0x80


#: Version strings: what AMT 12 and QEMU announce, what AMT 11.8 and 16.1 announce.
VERSION_3_3 = b"RFB 003.003\n"
VERSION_3_7 = b"RFB 003.007\n"
VERSION_3_8 = b"RFB 003.008\n"
VERSION_4_0 = b"RFB 004.000\n"

#: The name AMT's ServerInit carries.
AMT_DESKTOP_NAME = "Intel(r) AMT KVM"

#: Prefixes of Intel's in-band messages riding in cut text (encoding 1092).
KVM_EXT_CMD_PREFIX = b"\0KvmExtCmd\0"
KVM_DATA_CHANNEL_PREFIX = b"\0KvmDataChannel"
#: The keep-alive MeshCommander sends every 5 s.
KVM_KEEPALIVE = KVM_DATA_CHANNEL_PREFIX + b"\0"
KEEPALIVE_INTERVAL = 5.0

#: Biggest cut text accepted (a vendor message or a clipboard, not a file transfer).
MAX_CUT_TEXT = 1 << 20
#: Biggest desktop name accepted in ServerInit, and the longest failure reason.
MAX_NAME = 4096

_RECT = struct.Struct(">HHHHi")
RECT_HEADER = _RECT


def parse_version(line: bytes) -> tuple[int, int] | None:
    """``RFB 003.008\\n`` -> (3, 8); None if the 12 bytes are not a version line."""
    if len(line) != 12 or not line.startswith(b"RFB ") or line[7:8] != b"." or line[11:12] != b"\n":
        return None
    major, minor = line[4:7], line[8:11]
    if not (major.isdigit() and minor.isdigit()):
        return None
    return int(major), int(minor)


def version_line(version: tuple[int, int]) -> bytes:
    """(3, 8) -> ``RFB 003.008\\n``."""
    return b"RFB %03d.%03d\n" % version


def set_pixel_format(pixel_format: PixelFormat) -> bytes:
    """SetPixelFormat (7.5.1)."""
    return b"\x00\x00\x00\x00" + pixel_format.encode()


def set_encodings(encodings: tuple[int, ...]) -> bytes:
    """SetEncodings (7.5.2)."""
    return struct.pack(f">BxH{len(encodings)}i", ClientType.SET_ENCODINGS, len(encodings), *encodings)


def update_request(incremental: bool, x: int, y: int, width: int, height: int) -> bytes:
    """FramebufferUpdateRequest (7.5.3)."""
    return struct.pack(
        ">BBHHHH", ClientType.FRAMEBUFFER_UPDATE_REQUEST, int(incremental), x, y, width, height
    )


def key_event(keysym: int, down: bool) -> bytes:
    """KeyEvent (7.5.4)."""
    return struct.pack(">BBxxI", ClientType.KEY_EVENT, int(down), keysym)


def pointer_event(x: int, y: int, buttons: int) -> bytes:
    """PointerEvent (7.5.5); bit 0 left, 1 middle, 2 right, 3/4 wheel up/down."""
    return struct.pack(">BBHH", ClientType.POINTER_EVENT, buttons, x, y)


def cut_text(message_type: int, text: bytes) -> bytes:
    """ClientCutText (6) or ServerCutText (3) (7.5.6, 7.6.4)."""
    return struct.pack(">BxxxI", message_type, len(text)) + text


def kvm_ext_command(command: int, values: bytes = b"") -> bytes:
    """An Intel KvmExtCmd payload (to wrap in cut text)."""
    return KVM_EXT_CMD_PREFIX + bytes((command,)) + values


def rect_header(x: int, y: int, width: int, height: int, encoding: int) -> bytes:
    """The 12-byte header of one rectangle of a FramebufferUpdate (7.6.1)."""
    return _RECT.pack(x, y, width, height, encoding)


def update_header(count: int) -> bytes:
    """FramebufferUpdate's first 4 bytes (7.6.1)."""
    return struct.pack(">BxH", ServerType.FRAMEBUFFER_UPDATE, count)


def server_init(width: int, height: int, pixel_format: PixelFormat, name: str) -> bytes:
    """ServerInit (7.3.2)."""
    raw = name.encode("utf-8")
    return struct.pack(">HH", width, height) + pixel_format.encode() + struct.pack(">I", len(raw)) + raw

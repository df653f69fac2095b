"""What the RFB codecs tell their owners, one frozen dataclass per happening."""

from __future__ import annotations

from dataclasses import dataclass

from amtterm.rfb.framebuffer import Rect
from amtterm.rfb.pixels import PixelFormat


class RfbEvent:
    """Base class of every RFB codec event."""


# --- client side (what the server did) ------------------------------------------------------------


@dataclass(frozen=True)
class ServerInit(RfbEvent):
    """The handshake is over: the server's screen size, name and own pixel format.

    Attributes:
        version: the protocol version both sides use, e.g. (3, 8).
        server_version: what the server announced, e.g. (4, 0) on AMT 11.8.
    """

    width: int
    height: int
    name: str
    pixel_format: PixelFormat
    version: tuple[int, int]
    server_version: tuple[int, int]


@dataclass(frozen=True)
class FramebufferUpdated(RfbEvent):
    """One FramebufferUpdate was decoded into the framebuffer.

    Attributes:
        rects: the rectangles that changed.
        complete: every pixel of the screen has been painted at least once since
            ServerInit or the last desktop resize (a first complete frame).
    """

    rects: tuple[Rect, ...]
    complete: bool


@dataclass(frozen=True)
class DesktopResized(RfbEvent):
    """The server changed the screen size (DesktopSize pseudo-encoding); the framebuffer is black again."""

    width: int
    height: int


@dataclass(frozen=True)
class Bell(RfbEvent):
    """The server rang the bell."""


@dataclass(frozen=True)
class CutText(RfbEvent):
    """Clipboard text that is not one of Intel's in-band messages (Latin-1 bytes)."""

    text: bytes


@dataclass(frozen=True)
class KvmDataChannel(RfbEvent):
    """Intel's data channel (cut text starting ``\\0KvmDataChannel``); payload after the 16th byte."""

    payload: bytes


@dataclass(frozen=True)
class KvmExtCommand(RfbEvent):
    """Intel's KvmExtCmd (cut text starting ``\\0KvmExtCmd\\0``): a command byte and its values."""

    command: int
    values: bytes


# --- server side (what the client asked for) -------------------------------------------------------


@dataclass(frozen=True)
class ClientInitReceived(RfbEvent):
    """The client finished the handshake (ClientInit); ServerInit has been queued."""

    shared: bool
    version: tuple[int, int]
    security_type: int


@dataclass(frozen=True)
class PixelFormatSet(RfbEvent):
    """SetPixelFormat: updates from now on use this format."""

    pixel_format: PixelFormat


@dataclass(frozen=True)
class EncodingsSet(RfbEvent):
    """SetEncodings: the client's encodings, most preferred first."""

    encodings: tuple[int, ...]


@dataclass(frozen=True)
class UpdateRequested(RfbEvent):
    """FramebufferUpdateRequest."""

    incremental: bool
    rect: Rect


@dataclass(frozen=True)
class KeyPressed(RfbEvent):
    """KeyEvent: an X keysym went down or up."""

    keysym: int
    down: bool


@dataclass(frozen=True)
class PointerMoved(RfbEvent):
    """PointerEvent: position and button mask."""

    x: int
    y: int
    buttons: int

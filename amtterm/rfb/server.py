"""RfbServer: the sans-IO device side of an RFB stream, shaped like AMT's KVM.

API CONTRACT (the simulator is written against it; keep it)::

    server = RfbServer(1024, 768, variant=AMT_16)     # queues the version line at once
    events = server.receive_data(data, now)           # bytes from the console -> list[RfbEvent]
    out = server.data_to_send()
    server.send_update(framebuffer, rects)            # AMT style: 64x64 tiles, ZRLE or RAW
    server.send_desktop_size(w, h) / send_bell() / send_cut_text(b"...") / send_kvm_ext_command(c, v)
    server.pixel_format, server.encodings, server.pending_request

The handshake (RFC 6143 7.1-7.3; ``shared/protocol/modern-amt.md`` 2.1)::

    state        receives                         -> next (what the server sends)
    (start)      -                                -> VERSION ("RFB 004.000\\n" on AMT 11.8 / 16.1,
                                                     "RFB 003.008\\n" on AMT 12 and QEMU)
    VERSION      client's version line            -> 3.3: CLIENT_INIT (u32 1: None)
                                                     3.7, 3.8: SECURITY (u8 n, the offered types;
                                                     AMT offers 0x80 alone)
    SECURITY     u8 type: None (1), or an offered -> CLIENT_INIT (3.8: u32 0). AMT takes None
                 one; anything else                  although it offers 0x80: the redirection
                                                     digest already authenticated the console.
                                                  -> CLOSED (3.8: u32 1 + reason)
    CLIENT_INIT  u8 shared                        -> NORMAL (ServerInit: size, RGB565,
                                                     "Intel(r) AMT KVM")
    NORMAL       SetPixelFormat, SetEncodings, FramebufferUpdateRequest, KeyEvent, PointerEvent,
                 ClientCutText (Intel's KvmExtCmd 4 is answered with KvmExtCmd 3 by itself)

``receive_data`` raises RemoteProtocolError (one sentence) for bytes that break RFB and
closes the server; nothing else, whatever the input.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.rfb import messages as msg
from amtterm.rfb.client import split_cut_text
from amtterm.rfb.events import (
    ClientInitReceived,
    EncodingsSet,
    KeyPressed,
    KvmExtCommand,
    PixelFormatSet,
    PointerMoved,
    RfbEvent,
    UpdateRequested,
)
from amtterm.rfb.framebuffer import Framebuffer, Rect
from amtterm.rfb.peer import RfbPeer
from amtterm.rfb.pixels import RGB565, FromRgb, PixelFormat
from amtterm.rfb.zrle import TILE, ZrleEncoder


@dataclass(frozen=True)
class ServerVariant:
    """How one kind of server greets: version, offered security types, name, pixel format."""

    version: tuple[int, int]
    security_types: tuple[int, ...]
    name: str = msg.AMT_DESKTOP_NAME
    pixel_format: PixelFormat = RGB565
    #: Split updates into tiles of at most this size (AMT: 64); 0 = send rectangles whole.
    tile: int = TILE
    #: Take security type None even when not offered (AMT does).
    none_always: bool = True
    #: Answer Intel's KvmExtCmd 4 (set compression) with KvmExtCmd 3 (state).
    intel_extension: bool = True


#: AMT 11.8 and 16.1: ``RFB 004.000``, security types ``01 80`` (count 1, type 0x80).
AMT_11 = ServerVariant((4, 0), (msg.SecurityType.INTEL_AMT,))
AMT_16 = AMT_11
#: AMT 12: ``RFB 003.008``.
AMT_12 = ServerVariant((3, 8), (msg.SecurityType.INTEL_AMT,))
#: A plain VNC server like QEMU's: 3.8, None offered, whole rectangles, no Intel extension.
PLAIN_VNC = ServerVariant(
    (3, 8), (msg.SecurityType.NONE,), name="QEMU", tile=0, none_always=False, intel_extension=False
)


class ServerState(enum.Enum):
    """Where the server is in the handshake."""

    VERSION = "version"
    SECURITY = "security"
    CLIENT_INIT = "client-init"
    NORMAL = "normal"
    CLOSED = "closed"


#: Fixed lengths of client messages (ClientCutText and SetEncodings have a length field).
_FIXED = {
    msg.ClientType.SET_PIXEL_FORMAT: 20,
    msg.ClientType.FRAMEBUFFER_UPDATE_REQUEST: 10,
    msg.ClientType.KEY_EVENT: 8,
    msg.ClientType.POINTER_EVENT: 6,
}


class RfbServer(RfbPeer):
    """Sans-IO RFB server: console bytes in, requests out; framebuffer updates encoded on demand.

    Args:
        width, height: the screen size announced in ServerInit.
        variant: AMT_11 / AMT_16 (4.0), AMT_12 (3.8) or PLAIN_VNC.
    """

    def __init__(self, width: int, height: int, *, variant: ServerVariant = AMT_16) -> None:
        super().__init__("VNC client")
        self.width = width
        self.height = height
        self.variant = variant
        self.state = ServerState.VERSION
        self.version: tuple[int, int] = (0, 0)
        self.pixel_format = variant.pixel_format
        self.encodings: tuple[int, ...] = (msg.Encoding.RAW,)
        #: The latest FramebufferUpdateRequest not yet answered by :meth:`send_update`.
        self.pending_request: UpdateRequested | None = None
        self._out.append(msg.version_line(variant.version))
        self._zrle = ZrleEncoder()
        self._set_format(self.pixel_format)

    # --- owner actions ---------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the stream ended or broke."""
        return self.state is ServerState.CLOSED

    @property
    def zrle(self) -> bool:
        """Whether updates use ZRLE (the client listed it) rather than RAW."""
        return msg.Encoding.ZRLE in self.encodings

    @property
    def compression(self) -> bool:
        """Whether ZRLE data is deflated (Intel's KvmExtCmd 4 can switch it off)."""
        return self._zrle.compress

    def _require_normal(self, what: str) -> None:
        if self.state is not ServerState.NORMAL:
            raise LocalProtocolError(f"cannot {what} before the RFB handshake is over ({self.state.value})")

    def _set_format(self, pixel_format: PixelFormat) -> None:
        self.pixel_format = pixel_format
        self._raw = FromRgb(pixel_format, pixel_format.pixel_weights())
        self._cpixel = FromRgb(pixel_format, pixel_format.cpixel_weights())

    def split(self, rects: list[Rect]) -> list[Rect]:
        """``rects`` cut into the variant's tiles, left to right, top to bottom."""
        size = self.variant.tile
        if not size:
            return [rect for rect in rects if rect.area]
        out = []
        for rect in rects:
            for y in range(rect.y, rect.y + rect.height, size):
                for x in range(rect.x, rect.x + rect.width, size):
                    out.append(
                        Rect(x, y, min(size, rect.x + rect.width - x), min(size, rect.y + rect.height - y))
                    )
        return out

    def encode_rect(self, framebuffer: Framebuffer, rect: Rect) -> bytes:
        """One rectangle (header and data) in the client's format and preferred encoding."""
        rgb = framebuffer.crop(rect)
        if self.zrle:
            body = self._zrle.encode(self._cpixel.convert(rgb), rect.width, rect.height, self._cpixel.size)
            return msg.rect_header(rect.x, rect.y, rect.width, rect.height, msg.Encoding.ZRLE) + body
        return msg.rect_header(rect.x, rect.y, rect.width, rect.height, msg.Encoding.RAW) + self._raw.convert(
            rgb
        )

    def send_update(self, framebuffer: Framebuffer, rects: list[Rect] | None = None) -> int:
        """Queue one FramebufferUpdate of ``rects`` (default: the whole screen); returns the tile count.

        Raises:
            LocalProtocolError: before the handshake, nothing to send (AMT never sends an
                empty update), or a rectangle outside the framebuffer.
        """
        self._require_normal("send a screen update")
        whole = [Rect(0, 0, framebuffer.width, framebuffer.height)] if rects is None else rects
        for rect in whole:
            if not framebuffer.contains(rect):
                raise LocalProtocolError(f"the rectangle {rect} lies outside the framebuffer")
        pieces = self.split(whole)
        if not pieces:
            raise LocalProtocolError("an update needs at least one rectangle (AMT never sends an empty one)")
        if len(pieces) > 0xFFFF:
            raise LocalProtocolError("an update holds at most 65535 rectangles")
        self._out.append(msg.update_header(len(pieces)))
        for rect in pieces:
            self._out.append(self.encode_rect(framebuffer, rect))
        self.pending_request = None
        return len(pieces)

    def send_desktop_size(self, width: int, height: int) -> None:
        """Queue a DesktopSize update (the client must have listed encoding -223)."""
        self._require_normal("resize the desktop")
        if msg.Encoding.DESKTOP_SIZE not in self.encodings:
            raise LocalProtocolError("the client did not ask for DesktopSize, so it cannot be resized")
        self.width, self.height = width, height
        self._out.append(
            msg.update_header(1) + msg.rect_header(0, 0, width, height, msg.Encoding.DESKTOP_SIZE)
        )

    def send_bell(self) -> None:
        """Queue a Bell."""
        self._require_normal("ring the bell")
        self._out.append(bytes((msg.ServerType.BELL,)))

    def send_cut_text(self, text: bytes) -> None:
        """Queue ServerCutText (Latin-1 bytes)."""
        self._require_normal("send cut text")
        self._out.append(msg.cut_text(msg.ServerType.SERVER_CUT_TEXT, text))

    def send_kvm_ext_command(self, command: int, values: bytes = b"") -> None:
        """Queue an Intel KvmExtCmd in ServerCutText."""
        self.send_cut_text(msg.kvm_ext_command(command, values))

    # --- received bytes --------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[RfbEvent]:
        """Feed bytes from the console, split anywhere; ``b""`` means it closed the stream.

        Raises:
            RemoteProtocolError: the bytes break RFB; the server is closed afterwards.
        """
        del now  # no timers on this side yet; kept for the sans-IO shape
        if self.state is ServerState.CLOSED:
            return []
        if not data:
            held = bool(self._buffer)
            self._close()
            if held:
                raise RemoteProtocolError("the VNC client closed the connection in the middle of a message")
            return []
        self._buffer += data
        return self._parse(self._step)

    def _close(self) -> None:
        self.state = ServerState.CLOSED
        self._buffer.clear()

    def _step(self) -> list[RfbEvent] | None:
        if self.state is ServerState.VERSION:
            return self._on_version()
        if self.state is ServerState.SECURITY:
            return self._on_security()
        if self.state is ServerState.CLIENT_INIT:
            return self._on_client_init()
        return self._on_message()

    def _on_version(self) -> list[RfbEvent] | None:
        line = self._take(12)
        if line is None:
            return None
        version = msg.parse_version(line)
        if version is None or version < (3, 3):
            raise RemoteProtocolError(f"the peer is not a VNC client (it answered {line!r})")
        # RFC 6143 7.1.1: unknown 3.x minors count as 3.3; anything from 3.8 up as 3.8.
        self.version = version if version in ((3, 3), (3, 7)) else (3, 8) if version >= (3, 8) else (3, 3)
        if self.version == (3, 3):
            self._security_type = int(msg.SecurityType.NONE)
            self._out.append(struct.pack(">I", msg.SecurityType.NONE))
            self.state = ServerState.CLIENT_INIT
            return []
        types = self.variant.security_types
        self._out.append(bytes((len(types), *types)))
        self.state = ServerState.SECURITY
        return []

    def _on_security(self) -> list[RfbEvent] | None:
        choice = self._take(1)
        if choice is None:
            return None
        kind = choice[0]
        allowed = kind == msg.SecurityType.NONE and (
            self.variant.none_always or msg.SecurityType.NONE in self.variant.security_types
        )
        if not allowed:
            if self.version == (3, 8):
                reason = b"Unsupported security type"
                self._out.append(struct.pack(">II", 1, len(reason)) + reason)
            self._close()
            raise RemoteProtocolError(f"the VNC client chose security type {kind}, which was not offered")
        self._security_type = kind
        if self.version == (3, 8):
            self._out.append(struct.pack(">I", 0))
        self.state = ServerState.CLIENT_INIT
        return []

    def _on_client_init(self) -> list[RfbEvent] | None:
        shared = self._take(1)
        if shared is None:
            return None
        self._out.append(msg.server_init(self.width, self.height, self.pixel_format, self.variant.name))
        self.state = ServerState.NORMAL
        return [ClientInitReceived(bool(shared[0]), self.version, self._security_type)]

    def _on_message(self) -> list[RfbEvent] | None:
        if not self._buffer:
            return None
        kind = self._buffer[0]
        if kind in _FIXED:
            whole = self._take(_FIXED[msg.ClientType(kind)])
            if whole is None:
                return None
            return self._on_fixed(kind, whole)
        if kind == msg.ClientType.SET_ENCODINGS:
            if len(self._buffer) < 4:
                return None
            (count,) = struct.unpack(">H", self._buffer[2:4])
            whole = self._take(4 + 4 * count)
            if whole is None:
                return None
            self.encodings = struct.unpack(f">{count}i", whole[4:])
            return [EncodingsSet(self.encodings)]
        if kind == msg.ClientType.CLIENT_CUT_TEXT:
            if len(self._buffer) < 8:
                return None
            (length,) = struct.unpack(">I", self._buffer[4:8])
            if length > msg.MAX_CUT_TEXT:
                raise RemoteProtocolError(f"the VNC client sent {length} bytes of cut text")
            whole = self._take(8 + length)
            if whole is None:
                return None
            event = split_cut_text(whole[8:])
            if self.variant.intel_extension and isinstance(event, KvmExtCommand) and event.command == 4:
                # Set compression (0 off, 1 on); AMT reports the state with command 3.
                on = self._zrle.set_compression(event.values[:1] != b"\x00")
                self.send_kvm_ext_command(3, bytes((int(on),)))
            return [event]
        raise RemoteProtocolError(f"the VNC client sent message type {kind}, which RFB does not have")

    def _on_fixed(self, kind: int, whole: bytes) -> list[RfbEvent]:
        if kind == msg.ClientType.SET_PIXEL_FORMAT:
            pixel_format = PixelFormat.decode(whole[4:20])
            problem = pixel_format.problem()
            if problem:
                raise RemoteProtocolError(f"the VNC client asked for a pixel format with {problem}")
            self._set_format(pixel_format)
            return [PixelFormatSet(pixel_format)]
        if kind == msg.ClientType.FRAMEBUFFER_UPDATE_REQUEST:
            incremental, x, y, width, height = struct.unpack(">BHHHH", whole[1:])
            request = UpdateRequested(bool(incremental), Rect(x, y, width, height))
            self.pending_request = request
            return [request]
        if kind == msg.ClientType.KEY_EVENT:
            down, keysym = struct.unpack(">BxxI", whole[1:])
            return [KeyPressed(keysym, bool(down))]
        buttons, x, y = struct.unpack(">BHH", whole[1:])
        return [PointerMoved(x, y, buttons)]

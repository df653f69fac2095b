"""RfbClient: the sans-IO console side of an RFB (VNC) stream, as AMT's KVM and QEMU speak it.

API CONTRACT (the KVM session and the tests are written against it; keep it)::

    client = RfbClient(pixel_format=RGB565, amt=True)
    events = client.receive_data(data, now)    # bytes in any split -> list[RfbEvent]; b"" = EOF
    out = client.data_to_send()                # bytes to write, in order
    client.framebuffer                         # Framebuffer (RGB), valid after ServerInit
    client.request_update(incremental=True)    # FramebufferUpdateRequest (whole screen by default)
    client.send_key(keysym, down) / client.send_keys([(keysym, down), ...])
    client.send_pointer(x, y, buttons)
    client.send_cut_text(b"...") / client.send_kvm_ext_command(4, b"\\x01")
    client.next_timer_at() / client.handle_timer(now)   # AMT mode: the 5 s keep-alive

The handshake (RFC 6143 7.1-7.3; ``shared/protocol/modern-amt.md`` 2.1)::

    state           receives                               -> next (what the client sends)
    VERSION         "RFB xxx.yyy\\n" (12 bytes)             -> SECURITY (our version: 3.3, 3.7 or 3.8;
                                                              4.0 (AMT 11.8, 16.1) and above get 3.8)
    SECURITY  3.3   u32 type: 1 None                       -> SERVER_INIT (ClientInit)
                    0 + reason / other types               -> error
              3.7+  u8 n, n types (n = 0: reason follows)  -> SECURITY_RESULT (3.8) or SERVER_INIT (3.7):
                                                              we send None (1) if offered, also when
                                                              AMT offers only 0x80 (its redirection
                                                              digest already authenticated us)
    SECURITY_RESULT u32 0                                  -> SERVER_INIT (ClientInit, shared flag 1)
                    u32 1 + reason                         -> error
    SERVER_INIT     u16 w, h, PIXEL_FORMAT, u32 n, name    -> NORMAL (SetEncodings, SetPixelFormat
                                                              unless the server's equals ours,
                                                              FramebufferUpdateRequest non-incremental)
    NORMAL          FramebufferUpdate, SetColourMapEntries, Bell, ServerCutText

After each FramebufferUpdate the client asks for the next incremental one itself
(``auto_update``), as MeshCommander does. Errors: ``receive_data`` raises
RemoteProtocolError (one sentence) for bytes that break the protocol, and the client is
closed afterwards; nothing else, whatever the input.
"""

from __future__ import annotations

import enum
import struct

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.rfb import messages as msg
from amtterm.rfb.events import (
    Bell,
    CutText,
    DesktopResized,
    FramebufferUpdated,
    KvmDataChannel,
    KvmExtCommand,
    RfbEvent,
    ServerInit,
)
from amtterm.rfb.framebuffer import Framebuffer, Rect
from amtterm.rfb.peer import RfbPeer
from amtterm.rfb.pixels import RGB565, PixelFormat, ToRgb
from amtterm.rfb.zrle import ZrleStream, decode_tiles, inflate_limit

#: The largest screen accepted: AMT 16.1's 8192 x 4320 (modern-amt.md 2.1).
MAX_PIXELS = 8192 * 4320


class ClientState(enum.Enum):
    """Where the client is in the handshake."""

    VERSION = "version"
    SECURITY = "security"
    SECURITY_RESULT = "security-result"
    SERVER_INIT = "server-init"
    NORMAL = "normal"
    CLOSED = "closed"


def split_cut_text(text: bytes) -> RfbEvent:
    """Cut text as an event: Intel's KvmExtCmd, its data channel, or plain clipboard text."""
    if text.startswith(msg.KVM_EXT_CMD_PREFIX) and len(text) > len(msg.KVM_EXT_CMD_PREFIX):
        start = len(msg.KVM_EXT_CMD_PREFIX)
        return KvmExtCommand(text[start], text[start + 1 :])
    if text.startswith(msg.KVM_DATA_CHANNEL_PREFIX) and len(text) >= 16:
        return KvmDataChannel(text[16:])
    return CutText(text)


class RfbClient(RfbPeer):
    """Sans-IO RFB client: bytes in, events and bytes out. See the module docstring.

    Args:
        pixel_format: the format to ask for (RGB565 default; RGB332, RGB888).
        amt: speak to Intel AMT: announce encoding 1092 and send the 5 s keep-alive.
        auto_update: ask for the next incremental update after each one.
        max_pixels: refuse screens larger than this.
    """

    def __init__(
        self,
        *,
        pixel_format: PixelFormat = RGB565,
        amt: bool = True,
        auto_update: bool = True,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        problem = pixel_format.problem()
        if problem:
            raise LocalProtocolError(f"amtterm cannot ask for a pixel format with {problem}")
        super().__init__("VNC server")
        self.pixel_format = pixel_format
        self.amt = amt
        self.auto_update = auto_update
        self.max_pixels = max_pixels
        self.state = ClientState.VERSION
        self.version: tuple[int, int] = (0, 0)
        self.server_version: tuple[int, int] = (0, 0)
        self.server_pixel_format: PixelFormat | None = None
        self.name = ""
        self.framebuffer = Framebuffer(0, 0)
        self.encodings: tuple[int, ...] = (
            msg.Encoding.ZRLE,
            msg.Encoding.RAW,
            *((msg.Encoding.INTEL_AMT,) if amt else ()),
            msg.Encoding.DESKTOP_SIZE,
        )
        self._raw = ToRgb(pixel_format, pixel_format.pixel_weights())
        self._cpixel = ToRgb(pixel_format, pixel_format.cpixel_weights())
        self._zrle = ZrleStream()
        self._rects_left = 0
        self._changed: list[Rect] = []
        self._uncovered: bytearray | None = None
        self._complete = False
        self._last_keepalive = 0.0
        #: Rectangles received per encoding number (what the server really used).
        self.rects_by_encoding: dict[int, int] = {}

    # --- owner actions ---------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the stream ended or broke."""
        return self.state is ClientState.CLOSED

    @property
    def frame_complete(self) -> bool:
        """Every pixel has been painted since ServerInit or the last resize."""
        return self._complete

    def _require_normal(self, what: str) -> None:
        if self.state is not ClientState.NORMAL:
            raise LocalProtocolError(f"cannot {what} before the RFB handshake is over ({self.state.value})")

    def request_update(self, *, incremental: bool = True, rect: Rect | None = None) -> None:
        """Queue a FramebufferUpdateRequest for ``rect`` (the whole screen by default)."""
        self._require_normal("ask for a screen update")
        area = rect or Rect(0, 0, self.framebuffer.width, self.framebuffer.height)
        self._out.append(msg.update_request(incremental, area.x, area.y, area.width, area.height))

    def send_key(self, keysym: int, down: bool) -> None:
        """Queue one KeyEvent."""
        self._require_normal("send a key")
        self._out.append(msg.key_event(keysym, down))

    def send_keys(self, events: list[tuple[int, bool]]) -> None:
        """Queue KeyEvents in order (see :func:`amtterm.rfb.keys.parse_keys`)."""
        for keysym, down in events:
            self.send_key(keysym, down)

    def send_pointer(self, x: int, y: int, buttons: int = 0) -> None:
        """Queue one PointerEvent (clamped to the screen)."""
        self._require_normal("move the pointer")
        x = max(0, min(x, self.framebuffer.width - 1))
        y = max(0, min(y, self.framebuffer.height - 1))
        self._out.append(msg.pointer_event(x, y, buttons & 0xFF))

    def send_cut_text(self, text: bytes) -> None:
        """Queue ClientCutText (Latin-1 bytes)."""
        self._require_normal("send cut text")
        self._out.append(msg.cut_text(msg.ClientType.CLIENT_CUT_TEXT, text))

    def send_kvm_ext_command(self, command: int, values: bytes = b"") -> None:
        """Queue an Intel KvmExtCmd (e.g. 4 with ``b"\\x00"``: compression off)."""
        self.send_cut_text(msg.kvm_ext_command(command, values))

    def keepalive_due(self, now: float) -> bool:
        """AMT mode: whether the 5 s data-channel keep-alive should go out at ``now``."""
        return (
            self.amt
            and self.state is ClientState.NORMAL
            and now >= self._last_keepalive + msg.KEEPALIVE_INTERVAL
        )

    def next_timer_at(self) -> float | None:
        """When :meth:`handle_timer` has work next (AMT mode, handshake over), else None."""
        if not self.amt or self.state is not ClientState.NORMAL:
            return None
        return self._last_keepalive + msg.KEEPALIVE_INTERVAL

    def handle_timer(self, now: float) -> None:
        """Queue the keep-alive ``\\0KvmDataChannel\\0`` when it is due (MeshCommander: every 5 s)."""
        if self.keepalive_due(now):
            self.send_cut_text(msg.KVM_KEEPALIVE)
            self._last_keepalive = now

    # --- received bytes --------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[RfbEvent]:
        """Feed bytes from the server, split anywhere; ``b""`` means the server closed the stream.

        Raises:
            RemoteProtocolError: the bytes break RFB; the client is closed afterwards.
        """
        if self.state is ClientState.CLOSED:
            return []
        if not data:
            held = len(self._buffer) or self._rects_left
            self._close()
            if held:
                raise RemoteProtocolError("the VNC server closed the connection in the middle of a message")
            return []
        self._buffer += data
        return self._parse(lambda: self._step(now))

    def _close(self) -> None:
        self.state = ClientState.CLOSED
        self._buffer.clear()

    def _peek(self, count: int) -> bytes | None:
        return bytes(self._buffer[:count]) if len(self._buffer) >= count else None

    def _step(self, now: float) -> list[RfbEvent] | None:
        state = self.state
        if state is ClientState.VERSION:
            return self._on_version()
        if state is ClientState.SECURITY:
            return self._on_security()
        if state is ClientState.SECURITY_RESULT:
            return self._on_security_result()
        if state is ClientState.SERVER_INIT:
            return self._on_server_init(now)
        if self._rects_left:
            return self._on_rect()
        return self._on_message()

    def _on_version(self) -> list[RfbEvent] | None:
        line = self._take(12)
        if line is None:
            return None
        version = msg.parse_version(line)
        if version is None:
            raise RemoteProtocolError(f"the peer is not a VNC server (it greeted with {line[:12]!r})")
        if version < (3, 3):
            raise RemoteProtocolError(f"the VNC server speaks RFB {version[0]}.{version[1]}, older than 3.3")
        self.server_version = version
        # 3.3 and 3.7 as offered; 3.8, AMT's 4.0 and anything newer get 3.8 (MeshCommander does the same).
        if version < (3, 7):
            self.version = (3, 3)
        elif version < (3, 8):
            self.version = (3, 7)
        else:
            self.version = (3, 8)
        self._out.append(msg.version_line(self.version))
        self.state = ClientState.SECURITY
        return []

    def _reason(self, head: int) -> str | None:
        """A u32-length reason string after ``head`` bytes; None while incomplete."""
        length_bytes = self._peek(head + 4)
        if length_bytes is None:
            return None
        (length,) = struct.unpack(">I", length_bytes[head:])
        if length > msg.MAX_NAME:
            raise RemoteProtocolError("the VNC server refused the connection with an overlong reason")
        whole = self._take(head + 4 + length)
        if whole is None:
            return None
        return whole[head + 4 :].decode("latin-1")

    def _on_security(self) -> list[RfbEvent] | None:
        if self.version == (3, 3):
            head = self._peek(4)
            if head is None:
                return None
            (kind,) = struct.unpack(">I", head)
            if kind == msg.SecurityType.INVALID:
                reason = self._reason(4)
                if reason is None:
                    return None
                raise RemoteProtocolError(f"the VNC server refused the connection: {reason}")
            del self._buffer[:4]
            if kind != msg.SecurityType.NONE:
                raise RemoteProtocolError(
                    f"the VNC server wants security type {kind} (a password), which amtterm does not support"
                )
            return self._send_client_init()
        head = self._peek(1)
        if head is None:
            return None
        count = head[0]
        if count == 0:
            reason = self._reason(1)
            if reason is None:
                return None
            raise RemoteProtocolError(f"the VNC server refused the connection: {reason}")
        offered = self._take(1 + count)
        if offered is None:
            return None
        types = set(offered[1:])
        amt_like = self.server_version >= (4, 0) or msg.SecurityType.INTEL_AMT in types
        if msg.SecurityType.NONE not in types and not amt_like:
            raise RemoteProtocolError(
                f"the VNC server wants security types {sorted(types)} (a password); amtterm has none of them"
            )
        self._out.append(bytes((msg.SecurityType.NONE,)))
        if self.version == (3, 7):
            return self._send_client_init()
        self.state = ClientState.SECURITY_RESULT
        return []

    def _on_security_result(self) -> list[RfbEvent] | None:
        head = self._peek(4)
        if head is None:
            return None
        (result,) = struct.unpack(">I", head)
        if result != 0:
            reason = self._reason(4)
            if reason is None:
                return None
            raise RemoteProtocolError(f"the VNC server refused the connection: {reason or 'no reason given'}")
        del self._buffer[:4]
        return self._send_client_init()

    def _send_client_init(self) -> list[RfbEvent]:
        self._out.append(b"\x01")  # shared: leave other viewers connected
        self.state = ClientState.SERVER_INIT
        return []

    def _on_server_init(self, now: float) -> list[RfbEvent] | None:
        head = self._peek(24)
        if head is None:
            return None
        width, height = struct.unpack(">HH", head[:4])
        server_format = PixelFormat.decode(head[4:20])
        (name_length,) = struct.unpack(">I", head[20:24])
        if name_length > msg.MAX_NAME:
            raise RemoteProtocolError(f"the VNC server's desktop name is {name_length} bytes long")
        whole = self._take(24 + name_length)
        if whole is None:
            return None
        self._check_size(width, height)
        self.name = whole[24:].decode("utf-8", "replace")
        self.server_pixel_format = server_format
        self.framebuffer = Framebuffer(width, height)
        self._start_coverage()
        self._out.append(msg.set_encodings(tuple(int(e) for e in self.encodings)))
        if server_format != self.pixel_format:
            self._out.append(msg.set_pixel_format(self.pixel_format))
        self.state = ClientState.NORMAL
        self._last_keepalive = now
        self._out.append(msg.update_request(False, 0, 0, width, height))
        return [ServerInit(width, height, self.name, server_format, self.version, self.server_version)]

    def _check_size(self, width: int, height: int) -> None:
        if width * height > self.max_pixels:
            raise RemoteProtocolError(
                f"the VNC server's screen of {width}x{height} is larger than amtterm handles"
            )

    def _start_coverage(self) -> None:
        fb = self.framebuffer
        self._complete = fb.width * fb.height == 0
        self._uncovered = None if self._complete else bytearray(b"\x01") * (fb.width * fb.height)

    def _cover(self, rect: Rect) -> None:
        if self._uncovered is None:
            return
        width = self.framebuffer.width
        zeros = bytes(rect.width)
        for row in range(rect.y, rect.y + rect.height):
            start = row * width + rect.x
            self._uncovered[start : start + rect.width] = zeros

    def _on_message(self) -> list[RfbEvent] | None:
        if not self._buffer:
            return None
        kind = self._buffer[0]
        if kind == msg.ServerType.FRAMEBUFFER_UPDATE:
            head = self._take(4)
            if head is None:
                return None
            (count,) = struct.unpack(">H", head[2:])
            self._changed = []
            self._rects_left = count
            if count == 0:
                return self._update_done()
            return []
        if kind == msg.ServerType.BELL:
            del self._buffer[:1]
            return [Bell()]
        if kind == msg.ServerType.SET_COLOUR_MAP_ENTRIES:
            head = self._peek(6)
            if head is None:
                return None
            (count,) = struct.unpack(">H", head[4:6])
            # We ask for true colour, so a colour map has nothing to change: read past it.
            return [] if self._take(6 + 6 * count) is not None else None
        if kind == msg.ServerType.SERVER_CUT_TEXT:
            head = self._peek(8)
            if head is None:
                return None
            (length,) = struct.unpack(">I", head[4:])
            if length > msg.MAX_CUT_TEXT:
                raise RemoteProtocolError(f"the VNC server sent {length} bytes of cut text")
            whole = self._take(8 + length)
            if whole is None:
                return None
            return [split_cut_text(whole[8:])]
        raise RemoteProtocolError(f"the VNC server sent message type {kind}, which RFB does not have")

    def _on_rect(self) -> list[RfbEvent] | None:
        head = self._peek(12)
        if head is None:
            return None
        x, y, width, height, encoding = msg.RECT_HEADER.unpack(head)
        rect = Rect(x, y, width, height)
        if encoding == msg.Encoding.DESKTOP_SIZE:
            del self._buffer[:12]
            return self._on_resize(width, height)
        if not self.framebuffer.contains(rect):
            raise RemoteProtocolError(
                f"the VNC server sent a {width}x{height} rectangle at {x},{y}, outside its "
                f"{self.framebuffer.width}x{self.framebuffer.height} screen"
            )
        if encoding == msg.Encoding.RAW:
            size = rect.area * self.pixel_format.bytes_per_pixel
            whole = self._take(12 + size)
            if whole is None:
                return None
            self.framebuffer.blit(rect, self._raw.convert(memoryview(whole)[12:]))
        elif encoding == msg.Encoding.ZRLE:
            length_bytes = self._peek(16)
            if length_bytes is None:
                return None
            (length,) = struct.unpack(">I", length_bytes[12:])
            cpixel = self._cpixel.size
            limit = inflate_limit(width, height, cpixel)
            if length > 2 * limit + 4096:
                raise RemoteProtocolError(f"the VNC server's ZRLE rectangle claims {length} bytes")
            whole = self._take(16 + length)
            if whole is None:
                return None
            self._paint_zrle(rect, self._zrle.inflate(whole[16:], limit), cpixel)
        else:
            raise RemoteProtocolError(
                f"the VNC server used encoding {encoding}, which amtterm did not ask for"
            )
        self._changed.append(rect)
        self._cover(rect)
        self.rects_by_encoding[encoding] = self.rects_by_encoding.get(encoding, 0) + 1
        return self._rect_done()

    def _paint_zrle(self, rect: Rect, data: bytes, cpixel: int) -> None:
        fb = self.framebuffer
        convert = self._cpixel.convert
        if rect.area == 0:
            return
        for tx, ty, tw, th, pixels in decode_tiles(data, rect.width, rect.height, cpixel):
            tile = Rect(rect.x + tx, rect.y + ty, tw, th)
            if len(pixels) == cpixel:
                fb.fill(tile, convert(pixels))
            else:
                fb.blit(tile, convert(pixels))

    def _on_resize(self, width: int, height: int) -> list[RfbEvent]:
        self._check_size(width, height)
        self.framebuffer.resize(width, height)
        self._start_coverage()
        self._changed = []
        events: list[RfbEvent] = [DesktopResized(width, height)]
        self._rects_left -= 1
        # The new screen is black until the server paints it: ask for all of it.
        self._out.append(msg.update_request(False, 0, 0, width, height))
        return events

    def _rect_done(self) -> list[RfbEvent]:
        self._rects_left -= 1
        return self._update_done() if not self._rects_left else []

    def _update_done(self) -> list[RfbEvent]:
        if self._uncovered is not None and not self._uncovered.count(1):
            self._uncovered = None
            self._complete = True
        if self.auto_update:
            fb = self.framebuffer
            self._out.append(msg.update_request(True, 0, 0, fb.width, fb.height))
        return [FramebufferUpdated(tuple(self._changed), self._complete)]

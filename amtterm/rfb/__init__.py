"""Sans-IO RFB (VNC): the KVM stream after the redirection handshake, both ends.

Stdlib only: no asyncio, no sockets, no clock (``now`` is passed in). This is the
package's face; the modules behind it are its own business.

    client = RfbClient(amt=True)                  # console side (AMT KVM, or QEMU with amt=False)
    events = client.receive_data(bytes_from_socket, now)   # -> ServerInit, FramebufferUpdated, ...
    socket.write(client.data_to_send())
    client.framebuffer.rgb                        # the screen, 3 bytes a pixel

    server = RfbServer(1024, 768, variant=AMT_16) # device side (the simulator)
    events = server.receive_data(bytes_from_console, now)  # -> UpdateRequested, KeyPressed, ...
    server.send_update(framebuffer, [Rect(0, 0, 64, 64)])
"""

from amtterm.rfb import events
from amtterm.rfb.client import MAX_PIXELS, ClientState, RfbClient
from amtterm.rfb.events import (
    Bell,
    ClientInitReceived,
    CutText,
    DesktopResized,
    EncodingsSet,
    FramebufferUpdated,
    KeyPressed,
    KvmDataChannel,
    KvmExtCommand,
    PixelFormatSet,
    PointerMoved,
    RfbEvent,
    ServerInit,
    UpdateRequested,
)
from amtterm.rfb.framebuffer import Framebuffer, Rect
from amtterm.rfb.keys import parse_keys
from amtterm.rfb.messages import (
    AMT_DESKTOP_NAME,
    KEEPALIVE_INTERVAL,
    KVM_KEEPALIVE,
    Encoding,
    SecurityType,
)
from amtterm.rfb.pixels import BY_DEPTH, RGB332, RGB565, RGB888, PixelFormat
from amtterm.rfb.server import AMT_11, AMT_12, AMT_16, PLAIN_VNC, RfbServer, ServerState, ServerVariant

__all__ = [
    "AMT_11",
    "AMT_12",
    "AMT_16",
    "AMT_DESKTOP_NAME",
    "BY_DEPTH",
    "KEEPALIVE_INTERVAL",
    "KVM_KEEPALIVE",
    "MAX_PIXELS",
    "PLAIN_VNC",
    "RGB332",
    "RGB565",
    "RGB888",
    "Bell",
    "ClientInitReceived",
    "ClientState",
    "CutText",
    "DesktopResized",
    "Encoding",
    "EncodingsSet",
    "Framebuffer",
    "FramebufferUpdated",
    "KeyPressed",
    "KvmDataChannel",
    "KvmExtCommand",
    "PixelFormat",
    "PixelFormatSet",
    "PointerMoved",
    "Rect",
    "RfbClient",
    "RfbEvent",
    "RfbServer",
    "SecurityType",
    "ServerInit",
    "ServerState",
    "ServerVariant",
    "UpdateRequested",
    "events",
    "parse_keys",
]

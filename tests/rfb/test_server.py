"""RfbServer: AMT's greetings in golden bytes, client requests parsed, updates that RfbClient decodes."""

from __future__ import annotations

import random
import struct

import pytest

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.rfb import (
    AMT_12,
    AMT_16,
    PLAIN_VNC,
    RGB332,
    RGB565,
    RGB888,
    ClientInitReceived,
    EncodingsSet,
    Framebuffer,
    KeyPressed,
    KvmExtCommand,
    PixelFormat,
    PixelFormatSet,
    PointerMoved,
    Rect,
    RfbClient,
    RfbServer,
    ServerVariant,
    UpdateRequested,
)
from amtterm.rfb.pixels import FromRgb, ToRgb
from tests.rfb.wire import amt_server_init, connect

#: MeshCommander's SetPixelFormat for 8-bit colour (amt-desktop-0.0.2.js).
MC_RGB332 = bytes.fromhex("00 000000 08 08 00 01 0007 0007 0003 05 02 00 000000")


def normal_server(width: int = 64, height: int = 64, variant: ServerVariant = AMT_16) -> RfbServer:
    server = RfbServer(width, height, variant=variant)
    server.receive_data(b"RFB 003.008\n\x01\x01", 0.0)
    server.data_to_send()
    return server


@pytest.mark.parametrize(("variant", "greeting"), [(AMT_16, b"RFB 004.000\n"), (AMT_12, b"RFB 003.008\n")])
def test_amt_greeting_offers_0x80_and_takes_none(variant: ServerVariant, greeting: bytes) -> None:
    server = RfbServer(800, 600, variant=variant)
    assert server.data_to_send() == greeting
    server.receive_data(b"RFB 003.008\n", 0.0)
    assert server.data_to_send() == b"\x01\x80"
    server.receive_data(b"\x01", 0.0)
    assert server.data_to_send() == b"\x00\x00\x00\x00"
    assert server.receive_data(b"\x01", 0.0) == [ClientInitReceived(True, (3, 8), 1)]
    assert server.data_to_send() == amt_server_init(800, 600)


def test_rfb_3_3_and_3_7_clients() -> None:
    old = RfbServer(10, 10)
    old.data_to_send()
    old.receive_data(b"RFB 003.003\n", 0.0)
    assert old.data_to_send() == b"\x00\x00\x00\x01"
    middle = RfbServer(10, 10, variant=PLAIN_VNC)
    middle.data_to_send()
    middle.receive_data(b"RFB 003.007\n\x01", 0.0)
    assert middle.data_to_send() == b"\x01\x01"  # the offer; no SecurityResult for None in 3.7
    [event] = middle.receive_data(b"\x00", 0.0)
    assert event == ClientInitReceived(False, (3, 7), 1)


def test_a_type_not_offered_is_refused_with_a_reason() -> None:
    server = RfbServer(10, 10, variant=PLAIN_VNC)
    server.receive_data(b"RFB 003.008\n", 0.0)
    server.data_to_send()
    with pytest.raises(RemoteProtocolError, match="security type 2"):
        server.receive_data(b"\x02", 0.0)
    assert server.data_to_send() == b"\x00\x00\x00\x01\x00\x00\x00\x19Unsupported security type"
    assert server.closed


def test_client_messages_become_events() -> None:
    server = normal_server()
    data = (
        MC_RGB332
        + bytes.fromhex("02 00 0003 00000010 00000000 FFFFFF21")
        + bytes.fromhex("03 01 0000 0010 0040 0020")
        + bytes.fromhex("04 01 0000 0000FF1B")
        + bytes.fromhex("05 04 0100 0020")
        + b"\x06\x00\x00\x00\x00\x00\x00\x0c\0KvmExtCmd\0\x02"
    )
    events = server.receive_data(data, 0.0)
    assert events == [
        PixelFormatSet(RGB332),
        EncodingsSet((16, 0, -223)),
        UpdateRequested(True, Rect(0, 16, 64, 32)),
        KeyPressed(0xFF1B, True),
        PointerMoved(256, 32, 4),
        KvmExtCommand(2, b""),
    ]
    assert server.pixel_format == RGB332 and server.zrle
    assert server.pending_request == UpdateRequested(True, Rect(0, 16, 64, 32))


def test_compression_off_answers_command_3_and_sends_stored_blocks_meshcommander_copies() -> None:
    server = normal_server(64, 64)
    server.receive_data(bytes.fromhex("02 00 0001 00000010"), 0.0)
    server.receive_data(b"\x06\x00\x00\x00\x00\x00\x00\x0d\0KvmExtCmd\0\x04\x00", 0.0)
    assert server.data_to_send() == b"\x03\x00\x00\x00\x00\x00\x00\x0d\0KvmExtCmd\0\x03\x00"
    assert not server.compression
    server.send_update(Framebuffer(64, 64))
    data = server.data_to_send()
    (length,) = struct.unpack(">I", data[16:20])
    body = data[20:]
    # MeshCommander: first byte 0, then LEN == datalen - 5 (a stored block), and it copies the tile.
    assert body[0] == 0 and struct.unpack("<H", body[1:3])[0] == length - 5
    assert body[5:] == b"\x01\x00\x00"  # one solid black tile


def test_800x600_is_130_tiles_of_at_most_64x64() -> None:
    server = normal_server(800, 600)
    assert server.send_update(Framebuffer(800, 600)) == 130
    tiles = server.split([Rect(0, 0, 800, 600)])
    assert max(t.width for t in tiles) == 64 and max(t.height for t in tiles) == 64
    assert sum(t.area for t in tiles) == 800 * 600


def test_update_rules() -> None:
    server = normal_server(64, 64)
    with pytest.raises(LocalProtocolError, match="at least one rectangle"):
        server.send_update(Framebuffer(64, 64), [])
    with pytest.raises(LocalProtocolError, match="outside"):
        server.send_update(Framebuffer(64, 64), [Rect(60, 0, 8, 8)])
    with pytest.raises(LocalProtocolError, match="DesktopSize"):
        server.send_desktop_size(10, 10)
    with pytest.raises(LocalProtocolError, match="handshake"):
        RfbServer(1, 1).send_bell()


def screen(width: int, height: int, seed: int) -> bytes:
    """A screen with text-like cells, flat areas, a gradient and noise: every subencoding shows up."""
    rnd = random.Random(seed)
    out = bytearray()
    colours = [bytes(rnd.randrange(256) for _ in range(3)) for _ in range(40)]
    for y in range(height):
        for x in range(width):
            zone = (x // 64 + y // 64) % 5
            if zone == 0:
                out += colours[0]
            elif zone == 1:
                out += colours[(x // 3 + y) % 2]
            elif zone == 2:
                out += colours[(x // 5 + y // 7) % 12]
            elif zone == 3:
                out += bytes((x * 255 // width, y * 255 // height, (x ^ y) & 0xFF))
            else:
                out += colours[rnd.randrange(40)] if rnd.random() < 0.3 else colours[1]
    return bytes(out)


def quantised(rgb: bytes, pixel_format: PixelFormat) -> bytes:
    weights = pixel_format.pixel_weights()
    return ToRgb(pixel_format, weights).convert(FromRgb(pixel_format, weights).convert(rgb))


@pytest.mark.parametrize("pixel_format", [RGB565, RGB332, RGB888], ids=["16bpp", "8bpp", "32bpp"])
@pytest.mark.parametrize("variant", [AMT_16, PLAIN_VNC], ids=["amt-tiles", "whole-rects"])
@pytest.mark.parametrize("zrle", [True, False], ids=["zrle", "raw"])
def test_round_trip_reproduces_the_screen(
    pixel_format: PixelFormat, variant: ServerVariant, zrle: bool
) -> None:
    width, height = 330, 140  # not a multiple of 64: edge tiles
    server = RfbServer(width, height, variant=variant)
    client = RfbClient(pixel_format=pixel_format, amt=variant is AMT_16)
    if not zrle:
        client.encodings = tuple(e for e in client.encodings if e != 16)
    connect(client, server)
    assert server.zrle is zrle and server.pixel_format == pixel_format
    framebuffer = Framebuffer(width, height)
    framebuffer.rgb[:] = screen(width, height, 7)
    server.send_update(framebuffer)
    connect(client, server)
    assert client.frame_complete
    assert bytes(client.framebuffer.rgb) == quantised(bytes(framebuffer.rgb), pixel_format)
    # An incremental change of one odd rectangle.
    framebuffer.fill(Rect(100, 30, 77, 50), b"\x10\x20\x30")
    server.send_update(framebuffer, [Rect(100, 30, 77, 50)])
    connect(client, server)
    assert bytes(client.framebuffer.rgb) == quantised(bytes(framebuffer.rgb), pixel_format)


def test_desktop_size_round_trip() -> None:
    server = RfbServer(64, 64)
    client = RfbClient()
    connect(client, server)
    server.send_desktop_size(128, 32)
    connect(client, server)
    assert (client.framebuffer.width, client.framebuffer.height) == (128, 32)
    assert server.pending_request == UpdateRequested(False, Rect(0, 0, 128, 32))

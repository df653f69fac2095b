"""RfbClient against golden server bytes: handshakes of AMT and QEMU, ServerInit, RAW and ZRLE tiles."""

from __future__ import annotations

import struct

import pytest

from amtterm.errors import RemoteProtocolError
from amtterm.rfb import (
    RGB332,
    RGB565,
    RGB888,
    Bell,
    CutText,
    DesktopResized,
    FramebufferUpdated,
    KvmDataChannel,
    KvmExtCommand,
    PixelFormat,
    Rect,
    RfbClient,
    ServerInit,
)
from tests.rfb.wire import Deflater, amt_server_init, ready_client, rect, update

ENCODINGS_AMT = bytes.fromhex("02 00 0004 00000010 00000000 00000444 FFFFFF21")
ENCODINGS_VNC = bytes.fromhex("02 00 0003 00000010 00000000 FFFFFF21")
QEMU_FORMAT = bytes.fromhex("20 18 00 01 00FF 00FF 00FF 10 08 00 000000")
SET_RGB565 = bytes.fromhex("00 000000 10 10 00 01 001F 003F 001F 0B 05 00 000000")

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
RED565, GREEN565, BLUE565 = b"\x00\xf8", b"\xe0\x07", b"\x1f\x00"


# --- handshakes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("greeting", [b"RFB 004.000\n", b"RFB 003.008\n"], ids=["amt-11.8-16.1", "amt-12"])
def test_amt_handshake_answers_3_8_picks_none_and_asks_for_the_whole_screen(greeting: bytes) -> None:
    client = RfbClient()
    assert client.receive_data(greeting, 0.0) == []
    assert client.data_to_send() == b"RFB 003.008\n"
    client.receive_data(b"\x01\x80", 0.0)  # AMT 16.1 offers type 0x80 alone
    assert client.data_to_send() == b"\x01"  # None: the redirection digest already authenticated us
    client.receive_data(b"\x00\x00\x00\x00", 0.0)
    assert client.data_to_send() == b"\x01"  # ClientInit, shared
    events = client.receive_data(amt_server_init(800, 600), 0.0)
    assert events == [ServerInit(800, 600, "Intel(r) AMT KVM", RGB565, (3, 8), client.server_version)]
    # Same format as AMT's own: no SetPixelFormat (MeshCommander relies on this too).
    assert client.data_to_send() == ENCODINGS_AMT + bytes.fromhex("03 00 0000 0000 0320 0258")
    assert (client.framebuffer.width, client.framebuffer.height) == (800, 600)


def test_qemu_handshake_sets_rgb565_and_leaves_out_intels_encoding() -> None:
    client = RfbClient(amt=False)
    client.receive_data(b"RFB 003.008\n", 0.0)
    assert client.data_to_send() == b"RFB 003.008\n"
    client.receive_data(b"\x01\x01" + b"\x00\x00\x00\x00", 0.0)
    assert client.data_to_send() == b"\x01\x01"
    init = struct.pack(">HH", 720, 400) + QEMU_FORMAT + struct.pack(">I", 4) + b"QEMU"
    [event] = client.receive_data(init, 0.0)
    assert isinstance(event, ServerInit) and event.pixel_format.bits_per_pixel == 32
    assert client.data_to_send() == ENCODINGS_VNC + SET_RGB565 + bytes.fromhex("03 00 0000 0000 02D0 0190")
    assert client.next_timer_at() is None  # no Intel keep-alive for a plain VNC server


def test_rfb_3_7_with_none_has_no_security_result() -> None:
    client = RfbClient()
    client.receive_data(b"RFB 003.007\n", 0.0)
    assert client.data_to_send() == b"RFB 003.007\n"
    client.receive_data(b"\x02\x02\x01", 0.0)
    assert client.data_to_send() == b"\x01\x01"  # None, then ClientInit at once
    [event] = client.receive_data(amt_server_init(64, 64), 0.0)
    assert isinstance(event, ServerInit) and event.version == (3, 7)


def test_rfb_3_3_server_decides_the_security_type() -> None:
    client = RfbClient()
    client.receive_data(b"RFB 003.003\n" + b"\x00\x00\x00\x01", 0.0)
    assert client.data_to_send() == b"RFB 003.003\n\x01"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"HTTP/1.1 400", "not a VNC server"),
        (b"RFB 003.003\n\x00\x00\x00\x00\x00\x00\x00\x04busy", "refused the connection: busy"),
        (b"RFB 003.003\n\x00\x00\x00\x02", "security type 2"),
        (b"RFB 003.008\n\x01\x02", "security types [2]"),
        (b"RFB 003.008\n\x00\x00\x00\x00\x08too many", "refused the connection: too many"),
        (b"RFB 003.008\n\x01\x01\x00\x00\x00\x01\x00\x00\x00\x06denied", "refused the connection: denied"),
    ],
)
def test_a_refused_or_foreign_handshake_is_one_sentence(data: bytes, words: str) -> None:
    client = RfbClient()
    with pytest.raises(RemoteProtocolError, match=words.replace("[", r"\[").replace("]", r"\]")):
        client.receive_data(data, 0.0)
    assert client.closed


# --- RAW ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pixel_format", "pixels"),
    [
        (RGB565, RED565 + GREEN565 + BLUE565),
        (RGB332, b"\xe0\x1c\x03"),
        (RGB888, b"\x00\x00\xff\x00" + b"\x00\xff\x00\x00" + b"\xff\x00\x00\x00"),
    ],
    ids=["16bpp", "8bpp", "32bpp"],
)
def test_raw_rectangle_lands_in_the_framebuffer(pixel_format: PixelFormat, pixels: bytes) -> None:
    client = ready_client(8, 4, pixel_format)
    [event] = client.receive_data(update(rect(5, 2, 3, 1, 0) + pixels), 0.0)
    assert event == FramebufferUpdated((Rect(5, 2, 3, 1),), complete=False)
    fb = client.framebuffer
    assert [fb.pixel(5, 2), fb.pixel(6, 2), fb.pixel(7, 2)] == [RED, GREEN, BLUE]
    assert fb.pixel(4, 2) == (0, 0, 0)
    assert client.data_to_send() == bytes.fromhex("03 01 0000 0000 0008 0004")  # next incremental request


def test_rgb565_quantisation_rounds_to_full_range() -> None:
    client = ready_client(2, 1)
    client.receive_data(update(rect(0, 0, 2, 1, 0) + b"\xff\xff" + b"\x10\x84"), 0.0)
    assert client.framebuffer.pixel(0, 0) == (255, 255, 255)
    assert client.framebuffer.pixel(1, 0) == (132, 130, 132)  # 16/31, 32/63, 16/31 of 255


# --- ZRLE -----------------------------------------------------------------------------------------


def zrle_client(width: int, height: int, pixel_format: PixelFormat = RGB565) -> tuple[RfbClient, Deflater]:
    return ready_client(width, height, pixel_format), Deflater()


def rows(client: RfbClient, width: int, height: int) -> list[list[tuple[int, int, int]]]:
    return [[client.framebuffer.pixel(x, y) for x in range(width)] for y in range(height)]


def test_zrle_solid_and_raw_tiles_at_16bpp() -> None:
    client, z = zrle_client(4, 2)
    client.receive_data(update(rect(0, 0, 4, 2, 16) + z.zrle(b"\x01" + BLUE565)), 0.0)
    assert rows(client, 4, 2) == [[BLUE] * 4] * 2
    # The same zlib stream goes on in the next update (one stream per session).
    raw = b"\x00" + RED565 + GREEN565 + BLUE565 + RED565
    client.receive_data(update(rect(1, 0, 2, 2, 16) + z.zrle(raw)), 0.0)
    assert rows(client, 4, 2) == [[BLUE, RED, GREEN, BLUE], [BLUE, BLUE, RED, BLUE]]


@pytest.mark.parametrize(
    ("palette", "packed", "expected"),
    [
        # 2 colours: 1 bit per pixel, each 3-pixel row padded to a byte: 101, 010
        ([RED565, BLUE565], b"\xa0\x40", [[BLUE, RED, BLUE], [RED, BLUE, RED]]),
        # 3 colours: 2 bits: 00 01 10 | 10 01 00
        ([RED565, GREEN565, BLUE565], b"\x18\x90", [[RED, GREEN, BLUE], [BLUE, GREEN, RED]]),
        # 5 colours: 4 bits: 4 3 2 | 0 1 4
        (
            [RED565, GREEN565, BLUE565, b"\xff\xff", b"\x00\x00"],
            b"\x43\x20\x01\x40",
            [[(0, 0, 0), (255, 255, 255), BLUE], [RED, GREEN, (0, 0, 0)]],
        ),
    ],
    ids=["1bit", "2bit", "4bit"],
)
def test_zrle_packed_palette_with_row_padding(palette: list[bytes], packed: bytes, expected: object) -> None:
    client, z = zrle_client(3, 2)
    tile = bytes((len(palette),)) + b"".join(palette) + packed
    client.receive_data(update(rect(0, 0, 3, 2, 16) + z.zrle(tile)), 0.0)
    assert rows(client, 3, 2) == expected


def test_zrle_plain_rle_runs_cross_rows() -> None:
    client, z = zrle_client(4, 2)
    tile = b"\x80" + RED565 + b"\x04" + BLUE565 + b"\x02"  # 5 red, 3 blue
    client.receive_data(update(rect(0, 0, 4, 2, 16) + z.zrle(tile)), 0.0)
    assert rows(client, 4, 2) == [[RED] * 4, [RED, BLUE, BLUE, BLUE]]


def test_zrle_run_length_of_255_continues_into_the_next_byte() -> None:
    client, z = zrle_client(20, 15)
    tile = b"\x80" + GREEN565 + b"\xff\x2c"  # 1 + 255 + 44 = 300 pixels
    client.receive_data(update(rect(0, 0, 20, 15, 16) + z.zrle(tile)), 0.0)
    assert client.framebuffer.rgb == bytearray(bytes(GREEN) * 300)


def test_zrle_palette_rle_single_pixels_and_runs() -> None:
    client, z = zrle_client(4, 2)
    tile = b"\x82" + RED565 + BLUE565 + b"\x80\x03" + b"\x01" + b"\x00" + b"\x81\x01"
    client.receive_data(update(rect(0, 0, 4, 2, 16) + z.zrle(tile)), 0.0)
    assert rows(client, 4, 2) == [[RED] * 4, [BLUE, RED, BLUE, BLUE]]


def test_zrle_at_8bpp_one_byte_cpixels() -> None:
    client, z = zrle_client(2, 2, RGB332)
    tile = b"\x82" + b"\xe0\x03" + b"\x80\x01\x81\x01"
    client.receive_data(update(rect(0, 0, 2, 2, 16) + z.zrle(tile)), 0.0)
    assert rows(client, 2, 2) == [[RED, RED], [BLUE, BLUE]]


def test_zrle_at_32bpp_three_byte_cpixels_and_two_tiles() -> None:
    client, z = zrle_client(70, 1, RGB888)
    # A 70-pixel rectangle is two tiles: 64 wide, then 6 wide; CPIXEL is b g r (3 bytes).
    tiles = b"\x01" + b"\x33\x22\x11" + b"\x00" + b"\xff\x00\x00" * 6
    client.receive_data(update(rect(0, 0, 70, 1, 16) + z.zrle(tiles)), 0.0)
    assert client.framebuffer.pixel(63, 0) == (0x11, 0x22, 0x33)
    assert client.framebuffer.pixel(64, 0) == BLUE


def test_zrle_stream_without_zlib_header_is_raw_deflate() -> None:
    # Compression switched off from the start: one stored deflate block per rectangle.
    client, _ = zrle_client(2, 1)
    tile = b"\x01" + RED565
    stored = b"\x00" + struct.pack("<HH", len(tile), len(tile) ^ 0xFFFF) + tile
    client.receive_data(update(rect(0, 0, 2, 1, 16) + struct.pack(">I", len(stored)) + stored), 0.0)
    assert rows(client, 2, 1) == [[RED, RED]]


@pytest.mark.parametrize(
    ("tile", "words"),
    [
        (b"\x11", "subencoding 17"),
        (b"\x81", "subencoding 129"),
        (b"\x80" + RED565 + b"\x09", "do not add up"),
        (b"\x82" + RED565 + BLUE565 + b"\x05" * 8, "palette index"),
        (b"\x03" + RED565 * 3 + b"\xc0\x00", "palette index"),
        (b"\x00" + RED565, "shorter"),
        (b"", "ends before its last tile"),
    ],
)
def test_malformed_zrle_is_one_sentence(tile: bytes, words: str) -> None:
    client, z = zrle_client(4, 2)
    with pytest.raises(RemoteProtocolError, match=words):
        client.receive_data(update(rect(0, 0, 4, 2, 16) + z.zrle(tile)), 0.0)
    assert client.closed


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (update(rect(60, 0, 8, 8, 0)), "outside its 64x64 screen"),
        (update(rect(0, 0, 1, 1, 5)), "encoding 5"),
        (b"\x09", "message type 9"),
        (update(rect(0, 0, 4, 4, 16) + b"\x00\x00\x00\x04garb"), "does not inflate"),
    ],
)
def test_malformed_messages_are_one_sentence(data: bytes, words: str) -> None:
    client = ready_client(64, 64)
    with pytest.raises(RemoteProtocolError, match=words):
        client.receive_data(data, 0.0)


def test_eof_inside_a_message_is_an_error_and_between_messages_is_not() -> None:
    client = ready_client(4, 4)
    client.receive_data(b"\x00\x00\x00\x01" + rect(0, 0, 4, 4, 0)[:5], 0.0)
    with pytest.raises(RemoteProtocolError, match="middle of a message"):
        client.receive_data(b"", 0.0)
    quiet = ready_client(4, 4)
    assert quiet.receive_data(b"", 0.0) == [] and quiet.closed


def test_bytes_split_anywhere_decode_the_same() -> None:
    client, z = zrle_client(4, 2)
    data = update(
        rect(0, 0, 4, 2, 16) + z.zrle(b"\x80" + RED565 + b"\x04" + BLUE565 + b"\x02"), rect(0, 0, 1, 1, 0)
    )
    data += RED565
    events = []
    for byte in data:
        events += client.receive_data(bytes((byte,)), 0.0)
    assert len(events) == 1 and rows(client, 4, 2) == [[RED] * 4, [RED, BLUE, BLUE, BLUE]]


# --- frames, resize, bell, cut text, keep-alive -------------------------------------------------


def test_first_complete_frame_is_reported_once_every_pixel_was_painted() -> None:
    client, z = zrle_client(128, 64)
    [first] = client.receive_data(update(rect(0, 0, 64, 64, 16) + z.zrle(b"\x01" + RED565)), 0.0)
    assert isinstance(first, FramebufferUpdated) and not first.complete
    [second] = client.receive_data(update(rect(64, 0, 64, 64, 16) + z.zrle(b"\x01" + BLUE565)), 0.0)
    assert isinstance(second, FramebufferUpdated) and second.complete and client.frame_complete


def test_desktop_size_resizes_and_asks_for_the_whole_new_screen() -> None:
    client = ready_client(64, 64)
    client.data_to_send()
    events = client.receive_data(update(rect(0, 0, 32, 16, -223)), 0.0)
    assert events == [DesktopResized(32, 16)]
    assert (client.framebuffer.width, client.framebuffer.height) == (32, 16)
    assert client.data_to_send() == bytes.fromhex("03 00 0000 0000 0020 0010")
    assert not client.frame_complete


def test_bell_cut_text_and_intels_in_band_messages() -> None:
    client = ready_client(4, 4)
    data = b"\x02"
    for text in (b"\0KvmExtCmd\0\x03\x00", b"\0KvmDataChannel\0hello", b"clipboard"):
        data += b"\x03\x00\x00\x00" + struct.pack(">I", len(text)) + text
    data += b"\x01\x00\x00\x00\x00\x01" + b"\x00" * 6  # a colour map entry: read past it
    assert client.receive_data(data, 0.0) == [
        Bell(),
        KvmExtCommand(3, b"\x00"),
        KvmDataChannel(b"hello"),
        CutText(b"clipboard"),
    ]


def test_keepalive_goes_out_every_five_seconds_on_amt() -> None:
    client = ready_client(4, 4)
    assert client.next_timer_at() == 5.0
    client.handle_timer(4.9)
    assert client.data_to_send() == b""
    assert client.keepalive_due(5.0)
    client.handle_timer(5.0)
    assert client.data_to_send() == b"\x06\x00\x00\x00\x00\x00\x00\x10" + b"\0KvmDataChannel\0"
    assert client.next_timer_at() == 10.0


def test_input_messages_on_the_wire() -> None:
    client = ready_client(100, 50)
    client.send_keys([(0xFFE3, True), (0xFFE3, False)])
    client.send_pointer(120, 10, 1)  # clamped to the screen
    client.send_kvm_ext_command(4, b"\x00")
    assert client.data_to_send() == (
        bytes.fromhex("04 01 0000 0000FFE3 04 00 0000 0000FFE3 05 01 0063 000A")
        + b"\x06\x00\x00\x00\x00\x00\x00\x0d\0KvmExtCmd\0\x04\x00"
    )

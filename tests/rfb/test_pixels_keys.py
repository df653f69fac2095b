"""Pixel formats, CPIXEL sizes, the choice of ZRLE subencoding, and key names."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amtterm.errors import ConfigError
from amtterm.rfb import RGB332, RGB565, RGB888, PixelFormat, parse_keys
from amtterm.rfb.pixels import FromRgb, ToRgb
from amtterm.rfb.zrle import decode_tiles, encode_tile

BIG_888 = PixelFormat(32, 24, True, True, 255, 255, 255, 16, 8, 0)
HIGH_888 = PixelFormat(32, 24, False, True, 255, 255, 255, 24, 16, 8)
DEEP = PixelFormat(32, 32, False, True, 255, 255, 255, 16, 8, 0)


def test_pixel_format_bytes_round_trip() -> None:
    assert RGB565.encode() == bytes.fromhex("10 10 00 01 001F 003F 001F 0B 05 00 000000")
    assert PixelFormat.decode(RGB332.encode()) == RGB332


@pytest.mark.parametrize(
    ("pixel_format", "size"),
    [(RGB332, 1), (RGB565, 2), (RGB888, 3), (BIG_888, 3), (HIGH_888, 3), (DEEP, 4)],
    ids=["8bpp", "16bpp", "32bpp-le", "32bpp-be", "32bpp-high", "depth-32"],
)
def test_cpixel_is_three_bytes_only_for_24_bit_colour_in_32_bit_pixels(
    pixel_format: PixelFormat, size: int
) -> None:
    assert pixel_format.cpixel_size == size


@pytest.mark.parametrize("pixel_format", [BIG_888, HIGH_888])
def test_cpixel_takes_the_bytes_that_hold_the_colour(pixel_format: PixelFormat) -> None:
    rgb = bytes((0x11, 0x22, 0x33))
    weights = pixel_format.cpixel_weights()
    cpixel = FromRgb(pixel_format, weights).convert(rgb)
    assert cpixel == (b"\x11\x22\x33" if pixel_format is BIG_888 else b"\x33\x22\x11")
    assert ToRgb(pixel_format, weights).convert(cpixel) == rgb


def test_formats_amtterm_cannot_convert_are_named() -> None:
    assert PixelFormat(24, 24, False, True, 255, 255, 255, 16, 8, 0).problem() is not None
    assert PixelFormat(8, 8, False, False, 0, 0, 0, 0, 0, 0).problem() == (
        "a colour-map pixel format (amtterm asks for true colour)"
    )
    assert PixelFormat(16, 16, False, True, 1023, 63, 31, 6, 0, 0).problem() is not None


RED, BLUE, WHITE = b"\x00\xf8", b"\x1f\x00", b"\xff\xff"


@pytest.mark.parametrize(
    ("pixels", "width", "kind"),
    [
        (RED * 64, 8, 1),  # one colour: solid
        ((RED + BLUE) * 32, 8, 2),  # two colours alternating: packed palette
        (((RED * 100 + BLUE * 100) * 21)[: 64 * 64 * 2], 64, 130),  # many runs of few colours: palette RLE
        (b"".join(bytes((i, i)) for i in range(200)) + RED * 3000, 64, 128),  # 201 colours, long run: RLE
        (b"".join(bytes((i, i * 3 % 256)) for i in range(256)) * 2, 32, 0),  # noise: raw
    ],
)
def test_encoder_picks_the_smallest_subencoding(pixels: bytes, width: int, kind: int) -> None:
    height = len(pixels) // 2 // width
    assert encode_tile(pixels[: width * height * 2], width, height, 2)[0] == kind


def test_no_packed_palette_where_rows_would_need_padding() -> None:
    # MeshCommander reads packed rows without RFC 6143's padding: a 9-pixel-wide tile of two
    # colours (1 bit each, 9 bits a row) goes out as palette RLE instead.
    pixels = b"".join((RED, BLUE)[(x // 3 + y) % 2] for y in range(64) for x in range(9))
    assert encode_tile(pixels, 9, 64, 2)[0] == 130
    assert encode_tile(pixels[: 8 * 64 * 2], 8, 64, 2)[0] == 2


def test_key_names_become_keysym_sequences() -> None:
    # Ctrl-Alt-Del as MeshCommander sends it: ctrl, alt, delete down, then up in reverse.
    assert parse_keys("ctrl-alt-del") == [
        (0xFFE3, True),
        (0xFFE9, True),
        (0xFFFF, True),
        (0xFFFF, False),
        (0xFFE9, False),
        (0xFFE3, False),
    ]
    assert parse_keys("F1 Esc, Enter Up f12") == [
        (0xFFBE, True),
        (0xFFBE, False),
        (0xFF1B, True),
        (0xFF1B, False),
        (0xFF0D, True),
        (0xFF0D, False),
        (0xFF52, True),
        (0xFF52, False),
        (0xFFC9, True),
        (0xFFC9, False),
    ]
    assert parse_keys('"a B" x') == [
        (0x61, True),
        (0x61, False),
        (0x20, True),
        (0x20, False),
        (0x42, True),
        (0x42, False),
        (0x78, True),
        (0x78, False),
    ]
    assert parse_keys("shift+tab")[0] == (0xFFE1, True)


@pytest.mark.parametrize(
    ("text", "words"), [("ctrl-foo", "'foo'"), ('"abc', "unclosed quote"), ("ctrl-", "empty")]
)
def test_bad_key_sequences_are_one_sentence(text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_keys(text)


@settings(max_examples=300, deadline=None)
@given(
    width=st.integers(1, 70),
    height=st.integers(1, 66),
    cpixel=st.sampled_from([1, 2, 3, 4]),
    colours=st.integers(1, 300),
    run=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_tile_the_encoder_writes_decodes_to_the_same_pixels(
    width: int, height: int, cpixel: int, colours: int, run: int, seed: int
) -> None:
    rng = random.Random(seed)
    palette = [rng.randbytes(cpixel) for _ in range(colours)]
    pixels = bytearray()
    while len(pixels) < width * height * cpixel:
        pixels += rng.choice(palette) * rng.randint(1, run)
    tile_width, tile_height = min(width, 64), min(height, 64)
    data = bytes(pixels[: tile_width * tile_height * cpixel])
    encoded = encode_tile(data, tile_width, tile_height, cpixel)
    [(_, _, _, _, decoded)] = decode_tiles(encoded, tile_width, tile_height, cpixel)
    assert (decoded * (tile_width * tile_height) if len(decoded) == cpixel else decoded) == data

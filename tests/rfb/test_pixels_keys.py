"""Pixel formats, CPIXEL sizes, the choice of ZRLE subencoding, and key names."""

from __future__ import annotations

import pytest

from amtterm.errors import ConfigError
from amtterm.rfb import RGB332, RGB565, RGB888, PixelFormat, parse_keys
from amtterm.rfb.pixels import FromRgb, ToRgb
from amtterm.rfb.zrle import encode_tile

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

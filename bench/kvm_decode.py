"""Benchmark: decoding KVM screens (RFB RAW and ZRLE) in amtterm's RFB client.

Frames are synthetic but shaped like real ones: a text screen (BIOS setup or a Linux
console: a few colours, glyph-like cells, a blue background) and a gradient (a desktop
wallpaper: every pixel differs). They are encoded by amtterm's AMT-shaped RFB server into
64x64 tiles, as AMT sends them, at 16 bpp (RGB565, AMT's default) and 8 bpp (RGB332, AMT's
choice for large screens), once as a whole frame and once as an incremental update (a
tenth of the screen: a dialog that opened), and then fed to ``RfbClient``.

Printed per case: the bytes on the wire per frame (and their share of RAW at the same
depth), decoded frames per second, and the ratio of decode time to ``zlib``'s own inflate
of the same ZRLE bytes (the baseline, measured in the same run): what the tile decoding and
colour conversion cost on top of inflating. RAW has no inflate; its ratio is against
copying the same bytes once (``bytes(bytearray)``).

    .venv/bin/python bench/kvm_decode.py [--rounds 5]

No network and no files.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtterm.rfb import BY_DEPTH, Framebuffer, Rect, RfbClient, RfbServer  # noqa: E402

SIZES = ((1024, 768), (1920, 1080))


def text_screen(width: int, height: int) -> bytes:
    """A BIOS-setup-like screen: 8x16 cells of white, yellow or grey glyph noise on blue, a grey bar."""
    rng = random.Random(1)
    blue, white, yellow, grey = b"\x00\x00\xaa", b"\xff\xff\xff", b"\xff\xff\x55", b"\xaa\xaa\xaa"
    rows = []
    for y in range(height):
        if y < 16:
            rows.append(grey * width)
            continue
        row = bytearray(blue * width)
        if y % 16 < 14:
            line_rng = random.Random(y // 16)
            for cell in range(width // 8):
                if line_rng.random() < 0.55:
                    ink = white if cell % 13 else yellow
                    for bit in range(8):
                        if rng.random() < 0.35:
                            at = (cell * 8 + bit) * 3
                            row[at : at + 3] = ink
        rows.append(bytes(row))
    return b"".join(rows)


def gradient(width: int, height: int) -> bytes:
    """A wallpaper: red across, green down, blue in a diagonal ripple."""
    rows = []
    for y in range(height):
        green = y * 255 // (height - 1)
        rows.append(b"".join(bytes((x * 255 // (width - 1), green, (x + y) & 0xFF)) for x in range(width)))
    return b"".join(rows)


def connected(width: int, height: int, bpp: int, zrle: bool) -> tuple[RfbClient, RfbServer]:
    client = RfbClient(pixel_format=BY_DEPTH[bpp], auto_update=False)
    if not zrle:
        client.encodings = (0,)
    server = RfbServer(width, height)
    for _ in range(8):
        data = server.data_to_send()
        if data:
            client.receive_data(data, 0.0)
        data = client.data_to_send()
        if data:
            server.receive_data(data, 0.0)
    return client, server


def zrle_payloads(wire: bytes) -> list[bytes]:
    """The zlib bytes of every ZRLE rectangle of one FramebufferUpdate."""
    count = int.from_bytes(wire[2:4], "big")
    pos, out = 4, []
    for _ in range(count):
        width, height = (
            int.from_bytes(wire[pos + 4 : pos + 6], "big"),
            int.from_bytes(wire[pos + 6 : pos + 8], "big"),
        )
        encoding = int.from_bytes(wire[pos + 8 : pos + 12], "big", signed=True)
        pos += 12
        if encoding == 16:
            length = int.from_bytes(wire[pos : pos + 4], "big")
            out.append(wire[pos + 4 : pos + 4 + length])
            pos += 4 + length
        else:
            pos += width * height * 2  # not reached: the cases use one encoding each
    return out


def timed(job: Callable[[], object]) -> float:
    """Seconds ``job`` took."""
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def case(width: int, height: int, content: str, bpp: int, zrle: bool, incremental: bool, rounds: int) -> str:
    screen = Framebuffer(width, height)
    screen.rgb[:] = text_screen(width, height) if content == "text" else gradient(width, height)
    rects = [Rect(width // 4, height // 4, width // 2, height // 5)] if incremental else None
    _, server = connected(width, height, bpp, zrle)
    # Record the frame once (one zlib stream per session: each decode replays the session).
    server.send_update(screen, rects)
    wire = server.data_to_send()
    area = (rects[0].area if rects else width * height) * bpp // 8

    def baseline() -> None:
        if zrle:
            inflater = zlib.decompressobj()
            for payload in zrle_payloads(wire):
                inflater.decompress(payload)
        else:
            bytes(bytearray(wire))

    decodes, baselines = [], []
    for _ in range(rounds):  # interleaved, so that a busy moment of the machine hits both
        client, _ = connected(width, height, bpp, zrle)  # a fresh session: one zlib stream each
        decodes.append(timed(functools.partial(client.receive_data, wire, 0.0)))
        baselines.append(timed(baseline))
    took = statistics.median(decodes)
    base = statistics.median(baselines)
    kind = "incr" if incremental else "full"
    encoding = "ZRLE" if zrle else "RAW"
    return (
        f"{width}x{height:<5} {content:8} {bpp:2} bpp {encoding:4} {kind:4} "
        f"{len(wire):>9} B {100 * len(wire) / area:6.1f}% of RAW  {1 / took:7.1f} fps  "
        f"x{took / base:6.1f} vs {'inflate' if zrle else 'copy'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--rounds", type=int, default=5, help="timings per case; the median counts (default 5)"
    )
    args = parser.parse_args(argv)
    print("screen     content  depth  enc  upd   wire/frame  share          decode    decode time / baseline")
    for width, height in SIZES:
        for content in ("text", "gradient"):
            for bpp in (16, 8):
                for zrle in (True, False):
                    for incremental in (False, True):
                        print(case(width, height, content, bpp, zrle, incremental, args.rounds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

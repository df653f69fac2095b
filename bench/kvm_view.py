"""Benchmark: drawing a KVM screen in terminal cells (the console's KVM view, half-blocks).

What one redraw of :class:`amtterm.ui.widgets.kvm_view.KvmView` costs outside Textual: the
framebuffer fitted to the cells with Pillow's box filter (``Image.resize``) and turned into
half-block segments (:func:`half_block_rows`), for a text screen (few colours, long runs) and a
gradient (every cell differs: the worst case for the run merging). The baseline, measured in
the same run, is the plainest pure-Python fit: nearest-neighbour sampling of the same pixels
into a bytes object, no colours averaged and no segments built. The ratio says what the
averaging and the segments cost on top of merely picking pixels; the redraws per second say
whether the view keeps up with its cap of 15. The view keeps the colours and styles it made
(a screen's colours repeat from frame to frame), so the median of the rounds is the steady state of
a still screen; a gradient at 200x60 cells has new colours in every cell, the worst case.

    .venv/bin/python bench/kvm_view.py [--rounds 5]

No network, no files, no terminal.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from amtterm.ui.widgets.kvm_view import MAX_FPS, fit_size, half_block_rows  # noqa: E402

SCREENS = ((720, 400), (1024, 768), (1920, 1080))
TERMINALS = ((80, 23), (200, 60))


def text_screen(width: int, height: int) -> bytearray:
    """A blue screen with grey 'glyphs' every 9x16 cell, like BIOS setup."""
    rgb = bytearray(b"\x00\x00\xaa" * width * height)
    grey = b"\xaa\xaa\xaa"
    for y in range(height):
        if y % 16 in (4, 5, 9, 10):
            for x in range(0, width - 6, 9):
                at = (y * width + x) * 3
                rgb[at : at + 15] = grey * 5
    return rgb


def gradient(width: int, height: int) -> bytearray:
    """Every pixel differs (a wallpaper): the worst case for merging runs."""
    out = bytearray(width * height * 3)
    at = 0
    for y in range(height):
        g = y * 255 // max(1, height - 1)
        for x in range(width):
            out[at] = x * 255 // max(1, width - 1)
            out[at + 1] = g
            out[at + 2] = (x + y) & 0xFF
            at += 3
    return out


def draw(rgb: bytearray, width: int, height: int, columns: int, rows: int) -> int:
    """One KvmView redraw in fit mode: resize and build the segments; returns the segment count."""
    fit_w, fit_h = fit_size(width, height, columns, rows)
    image = Image.frombuffer("RGB", (width, height), rgb, "raw", "RGB", 0, 1)
    pixels = image.resize((fit_w, fit_h), Image.Resampling.BOX).tobytes()
    return sum(len(row) for row in half_block_rows(pixels, fit_w, fit_h))


def nearest(rgb: bytearray, width: int, height: int, columns: int, rows: int) -> int:
    """The baseline: pick the nearest pixel for each half-cell, pure Python."""
    fit_w, fit_h = fit_size(width, height, columns, rows)
    out = bytearray()
    for y in range(fit_h):
        row = (y * height // fit_h) * width
        for x in range(fit_w):
            at = (row + x * width // fit_w) * 3
            out += rgb[at : at + 3]
    return len(out)


def timed(job: Callable[[], int], rounds: int) -> float:
    """The median seconds of ``rounds`` runs."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    """Print a line per screen, content and terminal size."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="runs per case (the median is shown)")
    args = parser.parse_args()
    print(f"{'screen':>10} {'content':>8} {'terminal':>9} {'redraws/s':>10} {'vs nearest':>11}")
    for width, height in SCREENS:
        for name, make in (("text", text_screen), ("gradient", gradient)):
            rgb = make(width, height)
            for columns, rows in TERMINALS:
                case = (rgb, width, height, columns, rows)
                ours = timed(functools.partial(draw, *case), args.rounds)
                base = timed(functools.partial(nearest, *case), args.rounds)
                flag = "" if 1 / ours >= MAX_FPS else "  (below the 15/s cap)"
                print(
                    f"{width}x{height:<5} {name:>8} {columns:>4}x{rows:<4} {1 / ours:>10.0f} "
                    f"{ours / base:>10.2f}x{flag}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())

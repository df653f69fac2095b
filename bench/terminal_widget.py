"""Benchmark: an ANSI-heavy stream through the terminal widget's feed path against pyte alone.

The stream is the simulator's ``flood`` (``amtterm.sim.synthetic.flood``): SGR colours, bold,
cursor moves, erase-to-end-of-line, CP437 box drawing and shade blocks, 80x25. The same bytes go,
in the same run, through:

* **pyte alone**: ``bytes.decode("cp437")`` + ``pyte.Stream.feed`` on an 80x25 ``pyte.Screen``
  (the least any pyte-based terminal must do);
* **widget**: ``TerminalView.feed`` (auto-detecting decoder + pyte + scrollback + dirty-row and
  cursor bookkeeping), then the rendering of every row it marked for repaint
  (``TerminalView.row_strip``: the cached strip ``render_line`` centres), headless, without
  Textual's compositor. Rendering after every chunk is the worst case: in the app, feeds between
  two frames (at most 60 a second) share one repaint.

With ``--app`` it also runs the widget inside a headless Textual app (``App.run_test``) and lets
the compositor draw a frame after every chunk; that figure is process CPU time, not wall time.

Printed: MB/s of each, the overhead ratio (widget time / pyte time), and the share of one CPU
core a 115200-baud flood (11.5 KB/s) would cost the widget. Each measurement is repeated and the
best run kept, alternating the two, so a busy machine disturbs both alike.

    /work/venv/bin/python bench/terminal_widget.py [--mb 4] [--chunk 4096] [--repeat 3] [--app]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyte  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402

from amtterm.sim.synthetic.flood import flood  # noqa: E402
from amtterm.ui.widgets.terminal import TerminalView  # noqa: E402

COLUMNS, ROWS = 80, 25
BAUD_115200 = 115200 / 10  # bytes per second on an 8N1 serial line


def chunks_of(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into reads of ``size`` bytes."""
    return [data[start : start + size] for start in range(0, len(data), size)]


def run_pyte(chunks: list[bytes]) -> float:
    """Seconds for pyte alone."""
    screen = pyte.Screen(COLUMNS, ROWS)
    stream = pyte.Stream(screen)
    stream.use_utf8 = False
    start = time.perf_counter()
    for chunk in chunks:
        stream.feed(chunk.decode("cp437"))
        screen.dirty.clear()
    return time.perf_counter() - start


def run_widget(chunks: list[bytes]) -> tuple[float, int]:
    """Seconds for the widget's feed path and how many rows it rendered."""
    view = TerminalView(columns=COLUMNS, rows=ROWS, encoding="auto")
    rendered = 0
    start = time.perf_counter()
    for chunk in chunks:
        for row in view.feed(chunk):
            view.row_strip(row)
            rendered += 1
    return time.perf_counter() - start, rendered


class _BenchApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TerminalView()


def run_app(chunks: list[bytes]) -> float:
    """CPU seconds for feed + one compositor frame per chunk in a headless app."""

    async def main() -> float:
        app = _BenchApp()
        async with app.run_test(size=(120, 40)) as pilot:
            view = app.query_one(TerminalView)
            await pilot.pause()
            start = time.process_time()
            for chunk in chunks:
                view.feed(chunk)
                await pilot.pause()
            return time.process_time() - start

    return asyncio.run(main())


def best(runs: int, measure: Callable[[], float]) -> float:
    """The fastest of ``runs`` measurements."""
    return min(measure() for _ in range(runs))


def main() -> None:
    """Parse arguments, run both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=4.0, help="flood size in MB (default 4)")
    parser.add_argument("--chunk", type=int, default=4096, help="bytes per read (default 4096)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best kept (default 3)")
    parser.add_argument("--app", action="store_true", help="also run inside a headless Textual app")
    args = parser.parse_args()

    count = int(args.mb * 1_000_000)
    data = b"".join(flood(count, COLUMNS, ROWS))
    chunks = chunks_of(data, max(1, args.chunk))
    size = len(data)
    print(
        f"flood: {size / 1e6:.2f} MB of ANSI + CP437 for {COLUMNS}x{ROWS}, "
        f"{len(chunks)} reads of {args.chunk} B"
    )

    pyte_times: list[float] = []
    widget_times: list[float] = []
    rendered = 0
    for _ in range(max(1, args.repeat)):
        pyte_times.append(run_pyte(chunks))
        seconds, rendered = run_widget(chunks)
        widget_times.append(seconds)
    pyte_s, widget_s = min(pyte_times), min(widget_times)
    pyte_rate, widget_rate = size / pyte_s / 1e6, size / widget_s / 1e6
    print(f"pyte alone            : {pyte_rate:7.2f} MB/s  ({pyte_s:.3f} s)")
    print(f"widget feed + render  : {widget_rate:7.2f} MB/s  ({widget_s:.3f} s, {rendered} rows rendered)")
    print(f"overhead ratio        : {widget_s / pyte_s:7.2f} x pyte alone")
    print(f"115200-baud flood     : {100 * BAUD_115200 / (widget_rate * 1e6):7.2f} % of one core (widget)")
    if args.app:
        app_s = best(1, lambda: run_app(chunks))
        app_rate = size / app_s / 1e6
        print(f"widget in app (CPU)   : {app_rate:7.2f} MB/s  ({app_s:.3f} s CPU, a frame per read)")
        print(f"app overhead ratio    : {app_s / pyte_s:7.2f} x pyte alone")


if __name__ == "__main__":
    main()

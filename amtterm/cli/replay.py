"""``amtterm replay FILE``: play an asciicast v2 recording (``--record`` of sol, the TUI or expect).

On a terminal it plays in the terminal widget (:class:`amtterm.ui.replay.ReplayApp`): the
recorded screen size, markers listed beside it, space pauses, + and - change the speed, n jumps
to the next marker. ``--raw``, or a stdout or stdin that is not a terminal (scripts, pipes),
plays it as before: output events to stdout with their timing, markers on stderr as
``[marker: ...]``. Both divide the timing by ``--speed`` and cut pauses longer than
``--max-wait``; recorded keystrokes are never replayed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amtterm.cli.common import positive_seconds, run_app

if TYPE_CHECKING:
    from amtterm.session import Cast


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


async def play(
    cast: Cast,
    *,
    speed: float = 1.0,
    max_wait: float | None = None,
    out_fd: int | None = None,
    err_fd: int | None = None,
) -> None:
    """Play ``cast``'s output events with their timing, markers on stderr."""
    out = sys.stdout.fileno() if out_fd is None else out_fd
    err = sys.stderr.fileno() if err_fd is None else err_fd
    from amtterm.session import Player

    async for event in Player(cast, speed=speed, max_wait=max_wait).play():
        if event.code == "o":
            _write(out, event.data.encode("utf-8", errors="replace"))
        else:
            _write(err, f"\r\n[marker: {event.data}]\r\n".encode("utf-8", errors="replace"))


async def _replay(args: argparse.Namespace) -> int:
    from amtterm.session import load_cast

    cast = load_cast(args.file)
    status = 0
    if args.raw or not (sys.stdin.isatty() and sys.stdout.isatty()):
        await play(cast, speed=args.speed, max_wait=args.max_wait)
    else:
        from amtterm.ui.replay import ReplayApp

        app = ReplayApp(cast, speed=args.speed, max_wait=args.max_wait, title=args.file.name)
        status = await run_app(app)
    if cast.truncated:
        print(
            f"amtterm: warning: {args.file} is cut off at line {cast.truncated} (its recorder stopped "
            "while writing); everything before that line was played.",
            file=sys.stderr,
            flush=True,
        )
    return status


def add_replay_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``amtterm replay`` on ``sub`` (the main parser's ``add_subparsers()``)."""
    replay = sub.add_parser(
        "replay",
        parents=[common],
        help="play a console recording (--record FILE) in the terminal widget, or raw",
        description="Play an asciicast v2 recording with its timing in the terminal widget, markers "
        "(power and boot events) listed beside it: space pauses, + and - change the speed, n jumps to "
        "the next marker, q quits. With --raw, or when stdout is not a terminal, the output goes to "
        "stdout as it was recorded and markers to stderr. Keystrokes in the recording are not replayed.",
    )
    replay.add_argument("file", type=Path, metavar="FILE", help="the recording (.cast)")
    replay.add_argument(
        "--speed", type=positive_seconds, default=1.0, help="play this many times faster (default 1)"
    )
    replay.add_argument(
        "--max-wait",
        type=positive_seconds,
        metavar="S",
        help="cut pauses longer than S seconds to S (default: keep them)",
    )
    replay.add_argument(
        "--raw",
        action="store_true",
        help="write the output to this terminal as recorded (the default when stdout is no terminal)",
    )
    replay.set_defaults(func=_replay)

"""``amtterm replay FILE``: play an asciicast v2 recording (``amtterm sol --record``) on this terminal.

Output events go to stdout with their timing, divided by ``--speed``; pauses longer than
``--max-wait`` seconds are cut to it. Markers are shown on stderr as ``[marker: ...]``;
recorded keystrokes are not replayed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amtterm.errors import ConfigError


@dataclass(frozen=True)
class CastEvent:
    """One event of a recording: seconds since the start, code ("o", "m", "i", ...), text."""

    time: float
    code: str
    data: str


@dataclass(frozen=True)
class Cast:
    """A parsed asciicast v2 file."""

    header: dict[str, Any]
    events: list[CastEvent]


def load_cast(path: Path) -> Cast:
    """Read and check an asciicast v2 file.

    Raises:
        ConfigError: missing, unreadable, not JSON lines, or not version 2 (one sentence).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"No recording at {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Cannot read the recording {path}: {getattr(exc, 'strerror', None) or exc}."
        ) from None
    lines = text.splitlines()
    try:
        header = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict):
        raise ConfigError(f"{path} is not an asciicast recording: its first line is not a JSON header.")
    if header.get("version") != 2:
        raise ConfigError(
            f"{path} is asciicast version {header.get('version')!r}; amtterm replay plays version 2 only."
        )
    events: list[CastEvent] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            item = None
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not isinstance(item[0], int | float)
            or isinstance(item[0], bool)
            or not isinstance(item[1], str)
            or not isinstance(item[2], str)
        ):
            raise ConfigError(f"{path} is malformed at line {number}: expected [seconds, code, text].")
        events.append(CastEvent(float(item[0]), item[1], item[2]))
    return Cast(header, events)


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
    previous = 0.0
    for event in cast.events:
        if event.code not in ("o", "m"):
            continue
        gap = max(0.0, event.time - previous)
        previous = event.time
        if max_wait is not None:
            gap = min(gap, max_wait)
        if gap > 0:
            await asyncio.sleep(gap / speed)
        if event.code == "o":
            _write(out, event.data.encode("utf-8", errors="replace"))
        else:
            _write(err, f"\r\n[marker: {event.data}]\r\n".encode("utf-8", errors="replace"))


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


async def _replay(args: argparse.Namespace) -> int:
    cast = load_cast(args.file)
    await play(cast, speed=args.speed, max_wait=args.max_wait)
    return 0


def add_replay_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``amtterm replay`` on ``sub`` (the main parser's ``add_subparsers()``)."""
    replay = sub.add_parser(
        "replay",
        parents=[common],
        help="play a console recording (amtterm sol --record FILE) on this terminal",
        description="Play the output of an asciicast v2 recording with its timing; markers (power "
        "changes) are shown on stderr. Keystrokes in the recording are not replayed.",
    )
    replay.add_argument("file", type=Path, metavar="FILE", help="the recording (.cast)")
    replay.add_argument(
        "--speed", type=_positive, default=1.0, help="play this many times faster (default 1)"
    )
    replay.add_argument(
        "--max-wait",
        type=_positive,
        metavar="S",
        help="cut pauses longer than S seconds to S (default: keep them)",
    )
    replay.set_defaults(func=_replay)

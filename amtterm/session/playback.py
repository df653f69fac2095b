"""Reading asciicast v2 recordings back, and playing them with their timing (no UI).

    cast = load_cast(Path("pc42.cast"))          # ConfigError: missing, not asciicast, malformed
    player = Player(cast, speed=4, max_wait=1)
    async for event in player.play():            # "o" (output) and "m" (marker) events, on time
        ...
    player.toggle_pause(); player.faster(); player.skip_to_marker(); player.skip_to_end()

``amtterm replay`` uses it twice: raw to the terminal (:mod:`amtterm.cli.replay`) and in the
terminal widget (:mod:`amtterm.ui.replay`). A recording whose last line was cut off (the
recorder's process was killed while writing it) still plays up to that line; ``truncated`` says
so. Recorded keystrokes (``"i"``) are never played.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amtterm.errors import ConfigError

#: Longest wall-clock sleep between two looks at pause, speed and skip requests (seconds).
SLICE = 0.05
#: The speeds ``faster()`` and ``slower()`` step through.
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


@dataclass(frozen=True)
class CastEvent:
    """One event of a recording: seconds since the start, code ("o", "m", "i", ...), text."""

    time: float
    code: str
    data: str


@dataclass(frozen=True)
class Cast:
    """A parsed asciicast v2 file.

    Attributes:
        header: the first line (version, width, height, title...).
        events: every well-formed event, in file order.
        truncated: the line number of a last line that was cut off, or None.
    """

    header: dict[str, Any]
    events: list[CastEvent]
    truncated: int | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the recorded screen (80x25 when the header does not say)."""
        width, height = self.header.get("width"), self.header.get("height")
        ok = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height))
        return (int(width), int(height)) if ok else (80, 25)  # type: ignore[arg-type]

    @property
    def duration(self) -> float:
        """Seconds from the start to the last event."""
        return self.events[-1].time if self.events else 0.0

    @property
    def markers(self) -> list[CastEvent]:
        """The marker events."""
        return [event for event in self.events if event.code == "m"]


def _event(line: str) -> CastEvent | None:
    try:
        item = json.loads(line)
    except json.JSONDecodeError:
        return None
    if (
        not isinstance(item, list)
        or len(item) != 3
        or not isinstance(item[0], int | float)
        or isinstance(item[0], bool)
        or not isinstance(item[1], str)
        or not isinstance(item[2], str)
    ):
        return None
    return CastEvent(float(item[0]), item[1], item[2])


def load_cast(path: Path) -> Cast:
    """Read and check an asciicast v2 file.

    Raises:
        ConfigError: missing, unreadable, not JSON lines, not version 2, or malformed before its
            last line (one sentence).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"No recording at {path}.") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a recording.") from None
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
    last = len(lines)
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        event = _event(line)
        if event is None:
            if number == last and not text.endswith("\n"):
                return Cast(header, events, truncated=number)
            raise ConfigError(f"{path} is malformed at line {number}: expected [seconds, code, text].")
        events.append(event)
    return Cast(header, events)


class Player:
    """Plays a cast's output and markers with their timing; pause, speed and skips apply at once.

    Args:
        cast: the recording.
        speed: play this many times faster.
        max_wait: cut pauses longer than this (recorded seconds) to it; None keeps them.
        sleep: the wall-clock pause (tests pass a fast one).
    """

    def __init__(
        self,
        cast: Cast,
        *,
        speed: float = 1.0,
        max_wait: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.cast = cast
        self.speed = speed
        self.max_wait = max_wait
        self._sleep = sleep
        self.paused = False
        self._wake = asyncio.Event()  # set by every request; a paused player waits on it
        self._skip: str | None = None  # "marker" | "end"
        #: Where playback stands, in recorded seconds.
        self.position = 0.0
        self.finished = False

    def toggle_pause(self) -> bool:
        """Pause or resume; returns whether it is paused now."""
        self.paused = not self.paused
        self._wake.set()
        return self.paused

    def faster(self) -> float:
        """The next speed up; returns it."""
        self.speed = next((s for s in SPEEDS if s > self.speed), self.speed)
        return self.speed

    def slower(self) -> float:
        """The next speed down; returns it."""
        self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), self.speed)
        return self.speed

    def skip_to_marker(self) -> None:
        """Play everything up to the next marker at once."""
        self._skip = "marker"
        self._wake.set()

    def skip_to_end(self) -> None:
        """Play everything that is left at once."""
        self._skip = "end"
        self._wake.set()

    async def _wait(self, gap: float) -> None:
        remaining = gap
        while remaining > 0 and self._skip is None:
            if self.paused:
                self._wake.clear()
                await self._wake.wait()
                continue
            step = min(remaining, SLICE * self.speed)
            await self._sleep(step / self.speed)
            remaining -= step
            self.position += step

    async def play(self) -> AsyncIterator[CastEvent]:
        """The output ("o") and marker ("m") events, each when its time has come."""
        previous = 0.0
        for event in self.cast.events:
            if event.code not in ("o", "m"):
                continue
            gap = max(0.0, event.time - previous)
            previous = event.time
            if self.max_wait is not None:
                gap = min(gap, self.max_wait)
            await self._wait(gap)
            self.position = event.time
            if event.code == "m" and self._skip == "marker":
                self._skip = None
            yield event
        self.finished = True

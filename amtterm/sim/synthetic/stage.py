"""The pieces of a boot (POST, setup, boot menu, boot loader, OS) as stages of one state machine.

Rules every stage follows:

* A stage is told the time: :meth:`Stage.enter` when it takes over the screen,
  :meth:`Stage.on_key` for each decoded key, :meth:`Stage.tick` when the time it gave in
  :meth:`Stage.deadline` has come. The machine calls ``tick`` with the deadline itself as
  ``now``, so the output does not depend on how often the device polls.
* A stage writes only through its :class:`Context`: full-screen stages hand a whole
  :class:`~amtterm.sim.synthetic.screen.Grid` to :meth:`Context.paint` (the painter sends the
  difference), scrolling stages write bytes with :meth:`Context.write`.
* A stage that hands over (``ctx.go``, ``ctx.reboot``, ``ctx.shut_down``) does nothing after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from amtterm.sim.host import BootTarget
from amtterm.sim.synthetic.keys import Key
from amtterm.sim.synthetic.screen import Grid
from amtterm.sim.synthetic.settings import BiosSettings, Hardware


class Context(Protocol):
    """What a stage may use of the machine it runs on."""

    columns: int
    rows: int
    vendor: str
    hardware: Hardware
    settings: BiosSettings
    #: The one-time boot override this boot started with (already consumed).
    boot_target: BootTarget | None
    #: When this boot started (power on or reset), for uptime.
    booted_at: float

    def paint(self, grid: Grid, cursor: tuple[int, int] | None = None) -> None:
        """Show a full screen (only the difference from the last one is sent)."""
        ...

    def write(self, data: bytes) -> None:
        """Send bytes to the serial port as they are (scrolling text)."""
        ...

    def write_lazy(self, source: Iterator[bytes]) -> None:
        """Send a byte stream that is produced only as the device reads it."""
        ...

    def clear_screen(self) -> None:
        """Clear the terminal and home the cursor (for the scrolling stages)."""
        ...

    def go(self, stage: Stage, now: float) -> None:
        """Hand the screen and keyboard to another stage."""
        ...

    def reboot(self, now: float, target: BootTarget | None = None) -> None:
        """Restart POST (optionally with a boot override, as the OS or setup would ask)."""
        ...

    def shut_down(self, now: float) -> None:
        """Power the PC off (the OS's poweroff)."""
        ...

    def boot_event(self, kind: str, text: str = "") -> None:
        """Report a firmware milestone (``post``, ``setup``, ``boot-device``, ``boot-failed``,
        ``os-boot``) to the AMT device's event log."""
        ...

    def clock(self, now: float) -> datetime:
        """The PC's real-time clock at ``now`` (UTC, with the setup's date change)."""
        ...


class Stage:
    """Base of every stage: ignores keys, has no deadline.

    Args:
        ctx: the machine.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def enter(self, now: float) -> None:
        """Take over the screen."""

    def on_key(self, key: Key, now: float) -> None:
        """A key was pressed."""

    def tick(self, now: float) -> None:
        """The deadline has come (``now`` is the deadline)."""

    def deadline(self) -> float | None:
        """When :meth:`tick` should run next, or None."""
        return None

    def repaint(self) -> None:
        """Draw the whole screen again (after the terminal lost it); scrolling stages cannot."""


# --------------------------------------------------------------------------------------------
# Scripts: timed text for the scrolling stages (PXE banner, kernel log, shutdown).
#
# A script is a generator of steps: bytes (or str, sent as CP437) are written at once, a float
# sleeps that many seconds. Sleeps add up from the scheduled times, not from when the device
# happened to poll, so the same script always produces the same bytes at the same moments.
# --------------------------------------------------------------------------------------------

ScriptStep = float | bytes | str


class Script:
    """Runs a generator of :data:`ScriptStep` against the clock.

    Args:
        ctx: where the text goes.
        steps: the script.
        now: when it starts.
    """

    def __init__(self, ctx: Context, steps: Iterator[ScriptStep], now: float) -> None:
        self._ctx = ctx
        self._steps = steps
        self.wake = now
        self.done = False

    def run(self, now: float) -> bool:
        """Play every step due by ``now``; True once the script has ended."""
        while not self.done and now >= self.wake:
            step = next(self._steps, None)
            if step is None:
                self.done = True
            elif isinstance(step, bytes):
                self._ctx.write(step)
            elif isinstance(step, str):
                self._ctx.write(step.encode("cp437", "replace"))
            else:
                self.wake += max(0.0, step)
        return self.done

    def deadline(self) -> float | None:
        """When the next step is due, or None after the end."""
        return None if self.done else self.wake


class ScriptStage(Stage):
    """A stage that plays a script from :meth:`steps`, then calls :meth:`finished`."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._script: Script | None = None

    def steps(self) -> Iterator[ScriptStep]:
        """The script (a generator)."""
        return iter(())

    def finished(self, now: float) -> None:
        """The script has ended at ``now``."""

    def enter(self, now: float) -> None:
        self._script = Script(self.ctx, self.steps(), now)
        self.tick(now)

    def tick(self, now: float) -> None:
        script = self._script
        if script is not None and not script.done and script.run(now):
            self.finished(script.wake)

    def deadline(self) -> float | None:
        return None if self._script is None else self._script.deadline()

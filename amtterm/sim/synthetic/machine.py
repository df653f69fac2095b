"""SyntheticHost: a whole PC in pure Python, from POST to a shell prompt, on a serial console.

It implements :class:`amtterm.sim.host.Host`. Inside it is a state machine of stages
(``stage.py``): POST -> setup / boot menu -> boot devices -> boot loader -> kernel -> login ->
shell. The machine owns what the stages share: the power state, the key decoder (with its Esc
timeout), the output queue, the screen painter, the saved BIOS settings and the clock.

Time rules:

* Every public call first catches up with ``now``: pending Esc timeouts and stage deadlines
  that fall due by then run in time order, each at its own deadline (not at ``now``), so the
  bytes produced do not depend on how often the device polls.
* A ``now`` earlier than one already seen counts as the latest time seen.

Power rules:

* ``power_off`` (from AMT) and ``reset`` drop output not yet read, as a power cut would.
* Reboots and the power-off the PC does itself (Ctrl-Alt-Del, setup's Save and Exit, the
  shell's ``reboot`` and ``poweroff``) keep it: those bytes were written before the restart.
  After the shell's ``poweroff``, ``read_output`` still returns that last text once, then b"".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Final

from amtterm.sim.host import BootTarget, IderMedia, OutputQueue, parse_boot_target
from amtterm.sim.synthetic.keys import Key, KeyDecoder, KeyName
from amtterm.sim.synthetic.post import PostStage
from amtterm.sim.synthetic.screen import Attr, Color, Grid, Painter, message_box, render_region
from amtterm.sim.synthetic.settings import BiosSettings, Hardware
from amtterm.sim.synthetic.stage import Stage

#: Wall-clock time (Unix seconds) shown when ``now`` is 0: 2024-06-01 09:00:00 UTC.
DEFAULT_EPOCH: Final = 1_717_232_400.0
#: ``now`` values at least this large are taken as Unix time already.
_UNIX_TIME: Final = 1e9
_MESSAGE: Final = Attr(Color.WHITE, Color.RED, bold=True)
_MAX_STEPS: Final = 100_000  # catch-up guard against a stage whose deadline never moves


class SyntheticHost:
    """A simulated PC: BIOS POST, setup utility, boot menu, PXE, boot loader and a demo shell.

    Args:
        columns: screen width (60-255; 80 by default, 100 for a 100x30 console).
        rows: screen height (20-100; 25 by default, 24 works too).
        vendor: the manufacturer name on the POST and setup screens.
        epoch: Unix time that ``now == 0`` stands for (``now`` values that already look like
            Unix time, 1e9 and above, are used as they are).
        hardware: the machine's fixed facts (CPU, memory, disk, MAC...).

    Raises:
        ValueError: a size outside the supported range.
    """

    def __init__(
        self,
        columns: int = 80,
        rows: int = 25,
        vendor: str = "DemoTech",
        *,
        epoch: float = DEFAULT_EPOCH,
        hardware: Hardware | None = None,
    ) -> None:
        if not (60 <= columns <= 255 and 20 <= rows <= 100):
            raise ValueError(f"screen size {columns}x{rows} not supported: use 60-255 columns, 20-100 rows")
        self.columns = columns
        self.rows = rows
        self.vendor = vendor
        self.epoch = epoch
        self.hardware = hardware or Hardware()
        #: The saved BIOS settings (they survive reboots of this PC).
        self.settings = BiosSettings()
        #: The boot override the current boot started with.
        self.boot_target: BootTarget | None = None
        #: When the current boot started.
        self.booted_at = 0.0
        #: How many times POST has started (power on, reset, reboot).
        self.boot_count = 0
        #: The IDE-R drive the AMT device offers (the device keeps it up to date).
        self.ider_media = IderMedia()
        #: Told of firmware milestones as ``(kind, text)``: ``post``, ``setup``, ``boot-device``,
        #: ``boot-failed``, ``os-boot`` (see amtterm.sim.wsman.eventlog); set by the device.
        self.on_boot_event: Callable[[str, str], None] | None = None
        self._powered = False
        self._next_boot: BootTarget | None = None
        self._queue = OutputQueue()
        self._decoder = KeyDecoder()
        self._painter = Painter(columns, rows)
        self._stage: Stage | None = None
        self._now = float("-inf")
        self._message: list[str] | None = None
        self._grid: Grid | None = None  # the last full screen a stage painted (None: scrolling text)
        self._cursor: tuple[int, int] | None = None

    # -- Host: power and boot -----------------------------------------------------------------

    @property
    def powered(self) -> bool:
        """Whether the PC is on."""
        return self._powered

    @property
    def stage(self) -> Stage | None:
        """The stage that has the screen (None while off); for tests and diagnostics."""
        return self._stage

    @property
    def next_boot(self) -> BootTarget | None:
        """The boot override waiting for the next power on or reset."""
        return self._next_boot

    def power_on(self, now: float) -> None:
        """Switch on and start POST (no effect when already on)."""
        self._advance(now)
        if self._powered:
            return
        self._powered = True
        self._queue.clear()
        self._boot(self._now)

    def power_off(self, now: float) -> None:
        """Cut the power; output not yet read is dropped."""
        self._advance(now)
        self._switch_off()
        self._queue.clear()

    def reset(self, now: float) -> None:
        """Hard reset: POST starts again at once (a PC that is off is switched on)."""
        if not self._powered:
            self.power_on(now)
            return
        self._advance(now)
        self._queue.clear()
        self._boot(self._now)

    def set_next_boot(self, target: BootTarget | None) -> None:
        """Set the one-time boot override for the next power on or reset.

        Args:
            target: ``bios``, ``bios-pause``, ``pxe``, ``disk``, ``cd``, ``ider-cd``,
                ``ider-floppy``, or None for a normal boot.

        Raises:
            ValueError: an unknown target.
        """
        self._next_boot = parse_boot_target(target)

    def show_message(self, text: str | None) -> None:
        """Show ``text`` (lines split at newlines) in a centred red box; None or "" removes it.

        On a full-screen page the box stays on top until removed; on scrolling text it is
        drawn once where the middle of the screen is (and blanked when removed).
        """
        old = self._message
        self._message = (text.splitlines() or [""]) if text else None
        if not self._powered or self._stage is None:
            return
        if self._grid is not None:
            self._paint_grid()
        elif self._message is not None:
            self._queue.write(self._message_bytes(self._message, erase=False))
        elif old is not None:
            self._queue.write(self._message_bytes(old, erase=True))

    # -- Host: the serial port ----------------------------------------------------------------

    def feed(self, keys: bytes, now: float) -> None:
        """Keys typed on the remote console; ignored while off."""
        if not self._powered:
            return
        self._advance(now)
        for key in self._decoder.feed(keys, self._now):
            if not self._powered:
                break
            self._dispatch(key, self._now)

    def read_output(self, now: float, max_bytes: int | None = None) -> bytes:
        """Serial output produced by ``now``; at most ``max_bytes`` (the rest stays queued)."""
        if self._powered:
            self._advance(now)
        return self._queue.read(max_bytes)

    def next_deadline(self) -> float | None:
        """When to call ``read_output`` next: at once if output is queued, else the next timed event."""
        if self._queue.pending:
            return self._now
        if not self._powered:
            return None
        due = [self._decoder.deadline(), self._stage.deadline() if self._stage else None]
        times = [t for t in due if t is not None]
        return min(times) if times else None

    @property
    def pending_output(self) -> bool:
        """Whether output is waiting to be read."""
        return self._queue.pending

    # -- what stages use (stage.Context) ------------------------------------------------------

    def paint(self, grid: Grid, cursor: tuple[int, int] | None = None) -> None:
        """Show a full screen (the message box, if any, on top)."""
        self._grid = grid
        self._cursor = cursor
        self._paint_grid()

    def write(self, data: bytes) -> None:
        """Send raw bytes (scrolling text)."""
        self._grid = None
        self._painter.invalidate()
        self._queue.write(data)

    def write_lazy(self, source: Iterator[bytes]) -> None:
        """Send a lazily produced byte stream."""
        self._grid = None
        self._painter.invalidate()
        self._queue.write_lazy(source)

    def clear_screen(self) -> None:
        """Clear the terminal and home the cursor; redraw the message box, if any."""
        self.write(b"\x1b[0m\x1b[2J\x1b[H")
        if self._message is not None:
            self._queue.write(self._message_bytes(self._message, erase=False))

    def go(self, stage: Stage, now: float) -> None:
        """Give the screen to ``stage``."""
        self._stage = stage
        stage.enter(now)

    def reboot(self, now: float, target: BootTarget | None = None) -> None:
        """Restart POST, keeping output already written (optionally with a boot override)."""
        if target is not None:
            self._next_boot = target
        self._boot(now)

    def shut_down(self, now: float) -> None:
        """The OS switches the PC off; its last output can still be read."""
        self._switch_off()

    def boot_event(self, kind: str, text: str = "") -> None:
        """Report a firmware milestone to the device (its event log)."""
        if self.on_boot_event is not None:
            self.on_boot_event(kind, text)

    def clock(self, now: float) -> datetime:
        """The real-time clock: ``epoch + now`` plus the date offset saved in setup, in UTC."""
        seconds = now if now >= _UNIX_TIME else self.epoch + now
        seconds += self.settings.date_offset_days * 86400
        return datetime.fromtimestamp(seconds, tz=UTC)

    # -- internals ----------------------------------------------------------------------------

    def _boot(self, now: float) -> None:
        self._decoder.reset()
        self._painter.invalidate()
        self._grid = None
        self.boot_target, self._next_boot = self._next_boot, None
        self.booted_at = now
        self.boot_count += 1
        self._queue.write(b"\x1bc")  # full terminal reset, as SeaBIOS starts
        self.go(PostStage(self), now)

    def _switch_off(self) -> None:
        self._powered = False
        self._stage = None
        self._grid = None
        self._decoder.reset()
        self._painter.invalidate()

    def _advance(self, now: float) -> None:
        """Run every Esc timeout and stage deadline due by ``now``, in time order."""
        now = max(now, self._now)
        for _ in range(_MAX_STEPS):
            if not self._powered:
                break
            esc_due = self._decoder.deadline()
            stage_due = self._stage.deadline() if self._stage else None
            times = [t for t in (esc_due, stage_due) if t is not None]
            if not times or min(times) > now:
                break
            due = min(times)
            self._now = max(self._now, due)
            if esc_due is not None and esc_due <= due:
                for key in self._decoder.flush(due):
                    if self._powered:
                        self._dispatch(key, self._now)
            elif self._stage is not None:
                self._stage.tick(self._now)
        self._now = now

    def _dispatch(self, key: Key, now: float) -> None:
        if key.name is KeyName.CTRL_ALT_DEL:
            self._boot(now)
        elif key.name is KeyName.CHAR and key.char == "\x0c" and self._grid is not None:
            self._painter.invalidate()  # Ctrl-L on a full-screen page: redraw it all
            self._paint_grid()
        elif self._stage is not None:
            self._stage.on_key(key, now)

    def _paint_grid(self) -> None:
        if self._grid is None:
            return
        grid = self._grid
        if self._message is not None:
            grid = grid.copy()
            message_box(grid, self._message, _MESSAGE)
        self._queue.write(self._painter.paint(grid, self._cursor))

    def _message_bytes(self, lines: list[str], *, erase: bool) -> bytes:
        grid = Grid(self.columns, self.rows)
        top, left, height, width = message_box(grid, lines, _MESSAGE)
        if erase:
            grid = Grid(self.columns, self.rows)
        return render_region(grid, top, left, height, width)

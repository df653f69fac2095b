"""The firmware / BIOS side of IDE-R for the simulator: pure, time passed in.

    host = IderHost(device_conn)                 # a device-role RedirectionConnection
    for event in device_conn.receive_data(data, now):
        host.handle_event(event, now)            # 0x48 enable, 0x47, command answers
    host.host_reset(now)                         # the simulated PC resets ("on reset" timing)
    host.handle_timer(now)                       # at host.next_timer_at()
    pending = host.read(lba, count)              # a block read for an NBD export; pending.result later
    host.report                                  # BootReport once the boot script has run

When the console enables the drives (0x48 SET_STATE + ENABLE; at once for
"immediately" / "gracefully", at the next :meth:`IderHost.host_reset` for "on
reset"), the host announces a bus reset (0x46), waits for 0x47, then runs the
command script of ``shared/protocol/redirection.md`` 6.12 as a BIOS would, one
command at a time: TEST UNIT READY until ready, READ CAPACITY, READ(10) of LBA 16
(primary volume descriptor) and 17 (El Torito boot record), the boot catalog and
the boot image. A script is a generator that yields :class:`Command` or
:class:`Wait` and receives :class:`CommandResult`, so a test can write its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from amtterm.redir import ConnectionState, IderDrive, IderStartTiming, RedirectionConnection
from amtterm.redir import events as ev
from amtterm.sim.ider_scripts import (
    BootReport,
    Command,
    CommandResult,
    Script,
    Wait,
    cd_boot_script,
    floppy_boot_script,
    read10,
)

__all__ = [
    "BootReport",
    "Command",
    "CommandResult",
    "IderHost",
    "PendingCommand",
    "Script",
    "Wait",
    "cd_boot_script",
    "floppy_boot_script",
    "read10",
]


@dataclass
class PendingCommand:
    """A command queued with :meth:`IderHost.submit`; ``result`` is set when the console answered."""

    command: Command
    result: CommandResult | None = None
    #: Called with the result (or None if the session ended first).
    callbacks: list[Callable[[CommandResult | None], None]] = field(default_factory=list)
    cancelled: bool = False

    def finish(self, result: CommandResult | None) -> None:
        """Record the result and tell the callbacks."""
        self.result = result
        self.cancelled = result is None
        for callback in self.callbacks:
            callback(result)


class IderHost:
    """Drives a device-role IDE-R connection as the simulated PC's BIOS does.

    Attributes:
        phase: idle, waiting-for-reset, resetting, booting, booted, stopped.
        report: the boot script's result, once it has run.
        log: every finished command, in order.
    """

    def __init__(
        self,
        conn: RedirectionConnection,
        *,
        drive: IderDrive = IderDrive.CD,
        script: Callable[[], Script] | None = None,
    ) -> None:
        self.conn = conn
        #: The drive the BIOS boots from; the simulator may change it before a reset.
        self.drive = drive
        self._custom_script = script
        self.phase = "idle"
        self.enabled = False
        self.report: BootReport | None = None
        self.log: list[CommandResult] = []
        self.now = 0.0
        self._script: Script | None = None
        self._script_command: PendingCommand | None = None
        self._wake_at: float | None = None
        self._queue: deque[PendingCommand] = deque()
        self._outstanding: PendingCommand | None = None
        self._write_left = b""

    # --- what the simulator tells us -----------------------------------------------------------

    def handle_event(self, event: ev.Event, now: float) -> None:
        """Feed one event of the device-role connection."""
        self.now = now
        if isinstance(event, ev.IderStateSet) and event.accepted:
            self.enabled = event.enable
            if not event.enable:
                self._stop("idle")
            elif event.timing == IderStartTiming.ON_RESET:
                self.phase = "waiting-for-reset"
            else:
                self._announce_reset()
        elif isinstance(event, ev.IderResetAcknowledged) and self.phase == "resetting":
            self.phase = "booting"
            default = cd_boot_script if self.drive is IderDrive.CD else floppy_boot_script
            self._script = (self._custom_script or default)()
            self._advance(None)
        elif isinstance(event, ev.IderCommandCompleted):
            self._on_completed(event)
        elif isinstance(event, ev.IderWriteDataRequested):
            data, self._write_left = (
                self._write_left[: event.byte_count],
                self._write_left[event.byte_count :],
            )
            self.conn.send_ider_write_data(data.ljust(event.byte_count, b"\x00"))
        elif isinstance(
            event, ev.IderEndRequested | ev.SessionEndRequested | ev.PeerTimeout | ev.ConnectionClosed
        ):
            self._stop("stopped")

    def host_reset(self, now: float) -> None:
        """The simulated PC reset: with the drives enabled, the BIOS boots from them again."""
        self.now = now
        if self.enabled and self.phase != "stopped":
            self._script = None
            self._script_command = None
            self._announce_reset()

    def next_timer_at(self) -> float | None:
        """When a script pause ends, or None."""
        return self._wake_at

    def handle_timer(self, now: float) -> None:
        """Resume a paused script when its time has come."""
        self.now = now
        if self._wake_at is not None and now >= self._wake_at:
            self._wake_at = None
            self._advance(None)

    # --- block reads (for an NBD export) ---------------------------------------------------------

    def submit(self, command: Command) -> PendingCommand:
        """Queue a command of our own; it is sent once the boot script has finished."""
        pending = PendingCommand(command)
        if self.phase == "stopped":
            pending.finish(None)
            return pending
        self._queue.append(pending)
        self._dispatch()
        return pending

    def read(self, lba: int, count: int, drive: IderDrive | None = None) -> PendingCommand:
        """Queue a READ(10) of ``count`` blocks (<= 65535) from ``lba``."""
        return self.submit(Command(read10(lba, count), drive or self.drive))

    # --- internals ----------------------------------------------------------------------------------

    def _announce_reset(self) -> None:
        if self.conn.state is not ConnectionState.IDER_ACTIVE:
            return
        self.phase = "resetting"
        self.conn.send_ider_reset(0)

    def _stop(self, phase: str) -> None:
        self.phase = phase
        self._script = None
        self._script_command = None
        self._wake_at = None
        if phase == "stopped":
            waiting = [p for p in (self._outstanding, *self._queue) if p is not None]
            self._outstanding = None
            self._queue.clear()
            for pending in waiting:
                pending.finish(None)

    def _advance(self, result: CommandResult | None) -> None:
        if self._script is None:
            return
        try:
            step = self._script.send(result)
        except StopIteration as stop:
            self.report = stop.value
            self._script = None
            self.phase = "booted"
            self._dispatch()
            return
        if isinstance(step, Wait):
            self._wake_at = self.now + step.seconds
            return
        pending = PendingCommand(step)
        pending.callbacks.append(self._advance)
        self._script_command = pending
        self._dispatch()

    def _dispatch(self) -> None:
        if self._outstanding is not None or self.conn.state is not ConnectionState.IDER_ACTIVE:
            return
        if self.phase not in ("booting", "booted"):
            return
        if self._script_command is not None:
            pending, self._script_command = self._script_command, None
        elif self._script is None and self._queue:
            pending = self._queue.popleft()
        else:
            return
        self._outstanding = pending
        self._write_left = pending.command.data_out
        self.conn.send_ider_command(pending.command.cdb, pending.command.drive)

    def _on_completed(self, event: ev.IderCommandCompleted) -> None:
        pending, self._outstanding = self._outstanding, None
        if pending is None:
            return
        drive = IderDrive.from_register(event.device)
        result = CommandResult(pending.command.cdb, drive, event.data, event.sense, event.status)
        self.log.append(result)
        pending.finish(result)
        self._dispatch()

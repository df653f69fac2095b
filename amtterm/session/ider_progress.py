"""Progress accounting of an IDE-R session: what was served, how fast, what is left, stalls.

:class:`ProgressMeter` is fed by :class:`amtterm.session.ider.IderSession` and reads
time from the clock it is given (tests pass their own); :class:`IderProgress` is
the frozen snapshot a terminal line or a TUI progress bar shows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from amtterm.redir import READ_OPCODES, ServedCommand
from amtterm.redir import events as ev

#: The rate is measured over this many recent seconds.
RATE_WINDOW = 5.0

_NAMES = {
    0x00: "TEST UNIT READY",
    0x03: "REQUEST SENSE",
    0x12: "INQUIRY",
    0x1A: "MODE SENSE(6)",
    0x1B: "START STOP UNIT",
    0x1E: "PREVENT/ALLOW",
    0x23: "READ FORMAT CAPACITIES",
    0x25: "READ CAPACITY",
    0x2A: "WRITE(10)",
    0x43: "READ TOC",
    0x46: "GET CONFIGURATION",
    0x4A: "GET EVENT STATUS",
    0x5A: "MODE SENSE(10)",
    0x9E: "READ CAPACITY(16)",
}


def describe_command(cdb: bytes) -> str:
    """A short human name, with LBA and count for reads: ``READ(10) LBA 16 x1``."""
    op = cdb[0]
    if op in READ_OPCODES:
        if op == 0x08:
            lba, count = ((cdb[1] & 0x1F) << 16) | (cdb[2] << 8) | cdb[3], cdb[4] or 256
            name = "READ(6)"
        elif op == 0x28:
            lba, count, name = int.from_bytes(cdb[2:6], "big"), int.from_bytes(cdb[7:9], "big"), "READ(10)"
        else:
            lba, count, name = int.from_bytes(cdb[2:6], "big"), int.from_bytes(cdb[6:10], "big"), "READ(12)"
        return f"{name} LBA {lba} x{count}"
    return _NAMES.get(op, f"opcode 0x{op:02x}")


@dataclass(frozen=True)
class IderProgress:
    """One look at an IDE-R session.

    Attributes:
        phase: "starting", "waiting" (drives enabled, the host has asked for nothing yet),
            "serving", "idle" (the host has asked for nothing for ``stall_after`` s: normal once
            its boot loader has what it needs), "stalled" (a read is in flight but no byte of it
            went out for ``stall_after`` s: the network or the device is not taking data), "ended".
        commands: commands answered.
        bytes_served: data bytes sent to the host (all commands).
        sectors_served: blocks sent by READ commands.
        elapsed: seconds since the drives were enabled.
        mb_per_s: rate over the last few seconds (MB = 10**6 bytes).
        pending_bytes: bytes of the read in flight not yet sent.
        eta_seconds: time to send them at the current rate, or None.
        since_last_command: seconds since the host's last command, or None before the first.
        stalled: see phase.
        idle: see phase.
        quiet_for: seconds since the last command or byte either way, or None before the first.
        last_command: e.g. ``READ(10) LBA 16 x1``.
        errors: commands answered with a check condition.
        coverage: share of the CD image's blocks read at least once (0 to 1).
    """

    phase: str
    commands: int
    bytes_served: int
    sectors_served: int
    elapsed: float
    mb_per_s: float
    pending_bytes: int
    eta_seconds: float | None
    since_last_command: float | None
    stalled: bool
    last_command: str
    errors: int
    coverage: float
    idle: bool = False
    quiet_for: float | None = None

    def line(self) -> str:
        """One terminal line."""
        rate = f"{self.mb_per_s:.2f} MB/s"
        eta = f", ETA {self.eta_seconds:.0f} s" if self.eta_seconds is not None else ""
        state = "STALLED" if self.stalled else self.phase
        return (
            f"[{state}] {self.sectors_served} sectors, {self.bytes_served / 1e6:.1f} MB, {rate}{eta}"
            f" - {self.last_command or 'no command yet'}"
        )


class ProgressMeter:
    """Collects the figures of one session."""

    def __init__(self, clock: Callable[[], float], cd_blocks: int, stall_after: float) -> None:
        self.clock = clock
        self.stall_after = stall_after
        self.pending = 0
        self._phase = "starting"
        self._enabled_at: float | None = None
        self._last_command_at: float | None = None
        self._last_progress_at: float | None = None  # a command, or bytes of one, went either way
        self._last_command = ""
        self._commands = 0
        self._errors = 0
        self._bytes = 0
        self._sectors = 0
        self._recent: deque[tuple[float, int]] = deque()
        self._cd_blocks = cd_blocks
        self._seen = bytearray((cd_blocks + 7) // 8)
        self._seen_count = 0

    def enabled(self) -> None:
        """The device enabled the drives."""
        self._enabled_at = self.clock()
        self._phase = "waiting"

    def command(self, command: ev.IderCommand) -> None:
        """The host asked for something."""
        self._last_command_at = self._last_progress_at = self.clock()
        self._last_command = describe_command(command.cdb)
        self._phase = "serving"

    def sent(self, count: int) -> None:
        """``count`` bytes of a streamed read went out."""
        self.pending = max(0, self.pending - count)
        self._bytes += count
        self._last_progress_at = self.clock()
        self._recent.append((self._last_progress_at, count))

    def served(self, served: ServedCommand, *, streamed: bool = False) -> None:
        """A command was finished; a ``streamed`` read's bytes were already counted by :meth:`sent`."""
        self._commands += 1
        self._last_progress_at = self.clock()
        if not served.ok:
            self._errors += 1
        if not streamed and served.data_bytes:
            self._bytes += served.data_bytes
            self._recent.append((self.clock(), served.data_bytes))
        self.pending = 0
        self._sectors += served.blocks
        if served.blocks and served.drive.name == "CD":
            self._mark(served.cdb, served.blocks)

    def _mark(self, cdb: bytes, blocks: int) -> None:
        op = cdb[0]
        lba = (
            int.from_bytes(cdb[2:6], "big")
            if op != 0x08
            else ((cdb[1] & 0x1F) << 16) | (cdb[2] << 8) | cdb[3]
        )
        for block in range(lba, min(lba + blocks, self._cd_blocks)):
            byte, bit = divmod(block, 8)
            if not self._seen[byte] & (1 << bit):
                self._seen[byte] |= 1 << bit
                self._seen_count += 1

    def ended(self) -> None:
        """The session is over."""
        self._phase = "ended"

    def snapshot(self) -> IderProgress:
        """The figures now."""
        now = self.clock()
        while self._recent and self._recent[0][0] < now - RATE_WINDOW:
            self._recent.popleft()
        span = RATE_WINDOW
        if self._enabled_at is not None:
            span = min(RATE_WINDOW, max(now - self._enabled_at, 0.001))
        rate = sum(count for _, count in self._recent) / span
        since = None if self._last_command_at is None else now - self._last_command_at
        quiet = None if self._last_progress_at is None else now - self._last_progress_at
        serving = self._phase == "serving" and quiet is not None and quiet >= self.stall_after
        stalled = serving and self.pending > 0
        idle = serving and not self.pending
        eta = self.pending / rate if self.pending and rate > 0 else None
        return IderProgress(
            phase="stalled" if stalled else "idle" if idle else self._phase,
            commands=self._commands,
            bytes_served=self._bytes,
            sectors_served=self._sectors,
            elapsed=0.0 if self._enabled_at is None else now - self._enabled_at,
            mb_per_s=rate / 1e6,
            pending_bytes=self.pending,
            eta_seconds=eta,
            since_last_command=since,
            stalled=stalled,
            idle=idle,
            quiet_for=quiet,
            last_command=self._last_command,
            errors=self._errors,
            coverage=self._seen_count / self._cd_blocks if self._cd_blocks else 0.0,
        )

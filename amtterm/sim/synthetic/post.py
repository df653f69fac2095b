"""POST: the first screen after power on, and where F2 (setup) and F12 (boot menu) are caught.

Timeline from power on, in simulated seconds (Fast Boot shortens the memory count)::

    0.0  vendor logo line, BIOS version
    0.2  CPU
    0.3  memory count-up to the installed size (1.0 s, ten steps)
    1.4  Intel(R) AMT / Serial-over-LAN line, USB and SATA devices
    1.6  "Press F2 for Setup, F12 for Boot Menu" for the setup prompt timeout (3 s by default)
    4.6  boot (or, with the AMT "bios-pause" override, wait for a key)

F2 or Del asks for setup, F12 or F11 for the boot menu: the prompt line says "Entering ..." and
the choice is acted on half a second after the device lines are out. The AMT "bios" override
makes the same choice without a key.
"""

from __future__ import annotations

from typing import Final

from amtterm.sim.synthetic.bootdev import BootSequence, boot_devices
from amtterm.sim.synthetic.bootmenu import BootMenuStage
from amtterm.sim.synthetic.keys import Key, KeyName
from amtterm.sim.synthetic.screen import Attr, Color, Grid
from amtterm.sim.synthetic.setup import SetupStage
from amtterm.sim.synthetic.stage import Context, Stage

PROMPT: Final = "Press F2 for Setup, F12 for Boot Menu"
_TEXT: Final = Attr(Color.WHITE)
_BRIGHT: Final = Attr(Color.WHITE, bold=True)
_LOGO: Final = Attr(Color.CYAN, bold=True)
_OK: Final = Attr(Color.GREEN, bold=True)
_NOTE: Final = Attr(Color.YELLOW, bold=True)
_CHOICE_DELAY: Final = 0.5


class PostStage(Stage):
    """The power-on self test screen."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        settings = ctx.settings
        self._t0 = 0.0
        self._fast = settings.fast_boot
        self._mem_start = 0.3
        self._mem_steps = 3 if self._fast else 10
        self._mem_end = self._mem_start + (0.3 if self._fast else 1.0)
        self._devices_at = self._mem_end + 0.1
        self._prompt_at = self._mem_end + 0.3
        self._end = self._prompt_at + settings.prompt_seconds
        self._choice: str | None = None  # "setup" | "menu"
        self._choice_at = 0.0
        self._paused = False
        self._shown = -1.0  # elapsed time of the last paint

    # -- time ---------------------------------------------------------------------------------

    def _breakpoints(self) -> list[float]:
        step = (self._mem_end - self._mem_start) / self._mem_steps
        points = [0.2, *(self._mem_start + step * n for n in range(self._mem_steps + 1))]
        points += [self._devices_at, self._devices_at + 0.1, self._prompt_at]
        points += [self._prompt_at + n * 0.5 for n in range(1, int(self._end - self._prompt_at) * 2 + 1)]
        return points

    def enter(self, now: float) -> None:
        self._t0 = now
        self.ctx.boot_event("post", "primary processor initialization")
        self.ctx.boot_event("post", "memory initialization")
        if self.ctx.boot_target == "bios":
            self._choose("setup", now)
        self._paint(now)

    def deadline(self) -> float | None:
        if self._choice is not None:
            return self._t0 + self._choice_at
        if self._paused:
            return None
        upcoming = [p for p in self._breakpoints() if p > self._shown + 1e-9 and p < self._end]
        return self._t0 + min(upcoming, default=self._end)

    def tick(self, now: float) -> None:
        elapsed = now - self._t0
        if self._choice is not None and elapsed >= self._choice_at - 1e-9:
            self._act(self._choice, now)
        elif self._choice is None and not self._paused and elapsed >= self._end - 1e-9:
            if self.ctx.boot_target == "bios-pause":
                self._paused = True
                self._paint(now)
            else:
                self._act("boot", now)
        else:
            self._paint(now)

    # -- keys ---------------------------------------------------------------------------------

    def on_key(self, key: Key, now: float) -> None:
        if self._choice is not None:
            return
        if key.name in (KeyName.F2, KeyName.DELETE):
            self._choose("setup", now)
        elif key.name in (KeyName.F12, KeyName.F11):
            self._choose("menu", now)
        elif self._paused:
            self._act("boot", now)
            return
        else:
            return
        self._paint(now)

    def _choose(self, choice: str, now: float) -> None:
        self._choice = choice
        self._choice_at = max(now - self._t0, self._prompt_at) + _CHOICE_DELAY

    def _act(self, choice: str, now: float) -> None:
        if choice == "setup":
            self.ctx.go(SetupStage(self.ctx), now)
        elif choice == "menu":
            self.ctx.go(BootMenuStage(self.ctx), now)
        else:
            devices = boot_devices(self.ctx.boot_target, self.ctx.settings)
            self.ctx.go(BootSequence(self.ctx, devices), now)

    # -- drawing ------------------------------------------------------------------------------

    def repaint(self) -> None:
        self._paint(self._t0 + max(self._shown, 0.0))

    def _paint(self, now: float) -> None:
        elapsed = now - self._t0
        self._shown = elapsed
        self.ctx.paint(self._render(elapsed), cursor=(self.ctx.rows - 1, 0))

    def _render(self, elapsed: float) -> Grid:
        ctx, hw = self.ctx, self.ctx.hardware
        grid = Grid(ctx.columns, ctx.rows)
        grid.text(0, 1, f"▓▒░ {ctx.vendor} ░▒▓", _LOGO)
        grid.text(1, 1, f"{ctx.vendor} BIOS Version {hw.bios_version}, Build Date {hw.bios_date}", _TEXT)
        if elapsed >= 0.2 - 1e-9:
            grid.text(3, 1, f"CPU         : {hw.cpu}", _TEXT)
            grid.text(4, 1, f"              {hw.cores} Cores, {hw.cores} Threads", _TEXT)
        if elapsed >= self._mem_start - 1e-9:
            span = self._mem_end - self._mem_start
            done = min(1.0, (elapsed - self._mem_start) / span + 1e-9)
            steps = int(done * self._mem_steps)
            size = hw.memory_mb * steps // self._mem_steps
            label = "Memory      : " if self._fast else "Memory Test : "
            grid.text(5, 1, f"{label}{size} MB", _TEXT)
            if steps >= self._mem_steps:
                grid.text(5, 16 + len(str(size)) + 3, "(Fast Boot)" if self._fast else "OK", _OK)
        if elapsed >= self._devices_at - 1e-9:
            grid.text(7, 1, f"Intel(R) AMT {hw.amt_version} - Serial-over-LAN redirection active", _NOTE)
            grid.text(8, 1, f"Intel(R) ME Firmware {hw.me_version}", _TEXT)
        if elapsed >= self._devices_at + 0.1 - 1e-9:
            grid.text(10, 1, "USB Devices : 1 Keyboard, 1 Mouse, 1 Hub", _TEXT)
            grid.text(11, 1, f"SATA Port 0 : {hw.disk}", _TEXT)
            grid.text(12, 1, f"SATA Port 1 : {hw.optical}", _TEXT)
        self._render_prompt(grid, elapsed)
        return grid

    def _render_prompt(self, grid: Grid, elapsed: float) -> None:
        rows = grid.rows
        if self._choice == "setup":
            grid.text(rows - 3, 1, "Entering Setup...", _BRIGHT)
        elif self._choice == "menu":
            grid.text(rows - 3, 1, "Entering Boot Menu...", _BRIGHT)
        elif self._paused:
            grid.text(rows - 4, 1, "Boot paused by a remote Intel(R) AMT request.", _NOTE)
            grid.text(rows - 3, 1, "Press any key to continue, F2 for Setup, F12 for Boot Menu", _BRIGHT)
        elif elapsed >= self._prompt_at - 1e-9:
            grid.text(rows - 3, 1, PROMPT, _BRIGHT)
        # A progress bar in shade blocks on the bottom line, as some vendors draw it.
        width = min(32, grid.columns - 4)
        filled = int(width * min(1.0, max(0.0, elapsed) / self._end))
        grid.text(rows - 1, grid.columns - width - 2, "▓" * filled + "░" * (width - filled), _LOGO)

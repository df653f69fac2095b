"""The boot loader (a GRUB-like menu with a countdown) and the kernel's boot messages.

The menu is a full-screen ASCII frame, as GRUB draws it on a serial terminal. Up/Down move the
highlight (and stop the countdown), Enter boots the highlighted entry; when the countdown runs
out the first entry boots. "UEFI Firmware Settings" reboots into setup, the memory test entry
shows GRUB's "file not found" error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from amtterm.sim.synthetic.keys import Key, KeyName
from amtterm.sim.synthetic.screen import Attr, Color, Grid
from amtterm.sim.synthetic.shell import LoginStage
from amtterm.sim.synthetic.stage import Context, ScriptStage, ScriptStep, Stage

#: Menu entries, the first is the default.
ENTRIES: Final = (
    "Demo Linux",
    "Demo Linux (recovery mode)",
    "Memory test (memtest86+x64.efi)",
    "UEFI Firmware Settings",
)
#: Seconds before the default entry boots.
TIMEOUT: Final = 5

_NORMAL: Final = Attr(Color.WHITE)
_HIGHLIGHT: Final = Attr(Color.BLACK, Color.WHITE)
_OK: Final = "\x1b[0;32m  OK  \x1b[0m"


class GrubStage(Stage):
    """The boot loader menu."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._selected = 0
        self._started = 0.0
        self._countdown: int | None = TIMEOUT
        self._error = False

    def enter(self, now: float) -> None:
        self._started = now
        self.repaint()

    def deadline(self) -> float | None:
        if self._countdown is None or self._error:
            return None
        return self._started + (TIMEOUT - self._countdown + 1)

    def tick(self, now: float) -> None:
        if self._countdown is None or self._error:
            return
        self._countdown -= 1
        if self._countdown <= 0:
            self._boot(0, now)
        else:
            self.repaint()

    def on_key(self, key: Key, now: float) -> None:
        if self._error:
            self._error = False
            self.repaint()
            return
        name = key.name
        if name is KeyName.ENTER:
            self._boot(self._selected, now)
            return
        self._countdown = None
        if name is KeyName.UP:
            self._selected = max(0, self._selected - 1)
        elif name is KeyName.DOWN:
            self._selected = min(len(ENTRIES) - 1, self._selected + 1)
        elif name in (KeyName.HOME, KeyName.PAGE_UP):
            self._selected = 0
        elif name in (KeyName.END, KeyName.PAGE_DOWN):
            self._selected = len(ENTRIES) - 1
        self.repaint()

    def _boot(self, entry: int, now: float) -> None:
        if entry == 3:
            self.ctx.reboot(now, "bios")
        elif entry == 2:
            self._error = True
            self._countdown = None
            self.repaint()
        else:
            self.ctx.go(KernelStage(self.ctx, recovery=entry == 1), now)

    def repaint(self) -> None:
        ctx = self.ctx
        grid = Grid(ctx.columns, ctx.rows)
        if self._error:
            grid.text(0, 0, "error: file `/boot/memtest86+x64.efi' not found.", _NORMAL)
            grid.text(2, 0, "Press any key to continue...", _NORMAL)
            ctx.paint(grid, cursor=(2, 28))
            return
        columns, rows = ctx.columns, ctx.rows
        grid.center(1, "GNU GRUB  version 2.06-13", _NORMAL)
        top, bottom = 3, max(3 + len(ENTRIES) + 2, rows - 8)
        grid.box(top, 1, bottom - top + 1, columns - 2, _NORMAL, style="ascii")
        for n, entry in enumerate(ENTRIES):
            selected = n == self._selected
            mark = "*" if selected else " "
            attr = _HIGHLIGHT if selected else _NORMAL
            grid.text(top + 1 + n, 2, f"{mark}{entry}", attr, width=columns - 4)
        help_row = bottom + 2
        grid.text(help_row, 5, "Use the ^ and v keys to select which entry is highlighted.", _NORMAL)
        grid.text(help_row + 1, 5, "Press enter to boot the selected OS, `e' to edit the commands", _NORMAL)
        grid.text(help_row + 2, 5, "before booting or `c' for a command-line.", _NORMAL)
        if self._countdown is not None:
            grid.text(
                help_row + 3, 3,
                f"The highlighted entry will be executed automatically in {self._countdown}s.", _NORMAL,
            )  # fmt: skip
        ctx.paint(grid, cursor=(top + 1 + self._selected, columns - 3))


class KernelStage(ScriptStage):
    """The kernel and init messages, ending at the login prompt.

    Args:
        ctx: the machine.
        recovery: boot the recovery mode entry (only the messages differ).
    """

    def __init__(self, ctx: Context, *, recovery: bool = False) -> None:
        super().__init__(ctx)
        self.recovery = recovery

    def enter(self, now: float) -> None:
        self.ctx.clear_screen()
        super().enter(now)

    def steps(self) -> Iterator[ScriptStep]:
        hw, vendor = self.ctx.hardware, self.ctx.vendor
        kernel_version = hw.kernel
        title = ENTRIES[1] if self.recovery else ENTRIES[0]
        yield f"  Booting `{title}'\r\n\r\n"
        yield f"Loading Linux {kernel_version} ...\r\n"
        yield 0.4
        yield "Loading initial ramdisk ...\r\n"
        yield 0.6
        cmdline = "root=/dev/sda2 ro quiet console=ttyS4,115200n8" + (" single" if self.recovery else "")
        kernel = (
            (0.0, f"Linux version {kernel_version} (gcc-12 12.2.0) #1 SMP Demo"),
            (0.0, f"Command line: {cmdline}"),
            (0.0, f"DMI: {vendor[:20]} Demo PC, BIOS {hw.bios_version} {hw.bios_date}"),
            (0.012345, "tsc: Detected 3000.000 MHz processor"),
            (0.152004, f"smpboot: CPU0: {hw.cpu}"),
            (0.310522, f"Memory: {hw.memory_mb * 1024 - 417000}K/{hw.memory_mb * 1024}K available"),
            (0.842117, "Serial: 8250/16550 driver, 4 ports, IRQ sharing enabled"),
            (0.843001, "0000:00:16.3: ttyS4 at I/O 0xf0a0 (irq = 19) is a 16550A"),
            (1.204311, f"ata1.00: ATA-10: {hw.disk}, max UDMA/133"),
            (1.532890, "e1000e 0000:00:1f.6 eth0: Intel(R) PRO/1000 Network Connection"),
            (2.011002, "EXT4-fs (sda2): mounted filesystem with ordered data mode."),
        )
        previous = 0.0
        for stamp, text in kernel:
            yield max(0.05, stamp - previous)
            previous = stamp
            yield f"[{stamp:12.6f}] {text}\r\n"
        yield 0.3
        yield "\r\nWelcome to \x1b[1mDemo Linux 12\x1b[0m!\r\n\r\n"
        services = (
            "systemd-journald.service - Journal Service",
            "systemd-udevd.service - Rule-based Manager for Device Events",
            "networking.service - Raise network interfaces",
            "ssh.service - OpenBSD Secure Shell server",
            "serial-getty@ttyS4.service - Serial Getty on ttyS4",
        )
        for service in services:
            yield 0.15
            yield f"[{_OK}] Started {service}.\r\n"
        yield 0.15
        yield f"[{_OK}] Reached target multi-user.target - Multi-User System.\r\n"
        yield 0.3

    def finished(self, now: float) -> None:
        self.ctx.go(LoginStage(self.ctx), now)

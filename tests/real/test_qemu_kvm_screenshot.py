"""`amtterm kvm --screenshot` through `amtterm sim --qemu` equals QEMU's own screendump.

Both are real processes as a user runs them: the simulator with a QEMU machine (SeaBIOS on
``-vga std``), re-serving QEMU's VNC screen AMT's way (64x64 tiles, RGB565, KVMR preamble and
digest auth), and `amtterm kvm` writing a PNG. The simulator's ``--verbose`` line "QEMU started
(..., work directory DIR)" says where QEMU's QMP socket is; the test pauses the machine there
(QMP ``stop``) once SeaBIOS has written its banner, takes QEMU's ``screendump``, and compares
it with the screenshot pixel by pixel. The tolerance is RGB565's rounding on the way through:
one step of a 5-bit channel (8) for any channel; nothing else may differ, not even one tile.
"""

from __future__ import annotations

import asyncio
import os
import re
import select
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from amtterm.rfb import Framebuffer
from amtterm.sim.kvm.font import load_vga_font
from amtterm.sim.qemu_host import qmp_command
from tests.real.test_qemu_vnc import read_ppm
from tests.sim.test_kvm_screen import screen_text
from tests.support.simproc import SimProcess, amtterm_argv, isolated_env, start_sim

pytestmark = [pytest.mark.real, pytest.mark.timeout(300)]

WORKDIR_RE = re.compile(r"QEMU started \(pid \d+, .*work directory (\S+)\)")
#: RGB565 keeps 5 bits of red and blue: 8-bit values come back at most one step (8.2) off.
RGB565_TOLERANCE = 8


def qemu_workdir(sim: SimProcess, timeout: float) -> Path:
    """The work directory of the simulator's QEMU, from its --verbose line."""
    text = "\n".join(sim.lines)
    assert sim.proc.stdout is not None
    deadline = time.monotonic() + timeout
    while (match := WORKDIR_RE.search(text)) is None:
        left = deadline - time.monotonic()
        assert left > 0 and sim.proc.poll() is None, f"no 'QEMU started' line from amtterm sim: {text}"
        ready, _, _ = select.select([sim.proc.stdout], [], [], min(left, 0.5))
        if ready:
            text += os.read(sim.proc.stdout.fileno(), 65536).decode(errors="replace")
    return Path(match.group(1))


def picture(width: int, height: int, rgb: bytes) -> Framebuffer:
    framebuffer = Framebuffer(width, height)
    framebuffer.rgb[:] = rgb
    return framebuffer


def dump_until_banner(qmp: Path, dump: Path, timeout: float) -> None:
    """Screendumps until SeaBIOS's banner is on the VGA text screen."""
    font = load_vga_font()
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        if qmp.exists():
            try:
                asyncio.run(qmp_command(qmp, "screendump", timeout=30, arguments={"filename": str(dump)}))
            except (OSError, TimeoutError):
                pass
            else:
                width, height, rgb = read_ppm(dump)
                if (width, height) == (720, 400):
                    text = screen_text(picture(width, height, rgb), font)
                    if "SeaBIOS" in text:
                        return
        time.sleep(1)
    pytest.fail(f"SeaBIOS's banner did not appear on QEMU's screen within {timeout:g} s: {text!r}")


def test_kvm_screenshot_through_the_simulator_equals_qemus_screendump(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    sim = start_sim(
        env, "--qemu", "--qemu-memory", "128", "--power-on", "start", "--verbose", tls=False, timeout=60
    )
    try:
        qmp = qemu_workdir(sim, 60) / "qmp.sock"
        dump = tmp_path / "screen.ppm"
        dump_until_banner(qmp, dump, 120)
        asyncio.run(qmp_command(qmp, "stop", timeout=20))  # the screen holds still from here
        asyncio.run(qmp_command(qmp, "screendump", timeout=30, arguments={"filename": str(dump)}))
        width, height, expected = read_ppm(dump)
        shown = screen_text(picture(width, height, expected), load_vga_font())
        assert "SeaBIOS" in shown and len(set(expected)) >= 2

        shot = tmp_path / "kvm.png"
        assert sim.plain_port is not None
        result = subprocess.run(
            [*amtterm_argv(), "kvm", "127.0.0.1", str(sim.plain_port), "-P", "--screenshot", str(shot)],
            env=dict(env, AMT_PASSWORD=sim.password),
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr
        image = Image.open(shot).convert("RGB")
        assert image.size == (width, height)
        got = image.tobytes()
        worst = max(abs(a - b) for a, b in zip(got, expected, strict=True))
        assert worst <= RGB565_TOLERANCE, f"a channel is {worst} off QEMU's screendump"
        assert got != expected  # it did go through AMT's RGB565
        assert screen_text(picture(width, height, got), load_vga_font()) == shown
    finally:
        sim.stop()

"""`amtterm kvm` against `amtterm sim`, both as real processes: what a user gets on disk and on screen.

The screenshot is read back as text with the VGA font (``tests/sim/test_kvm_screen.py``), so the
test checks what a person would see in the picture.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image

from amtterm.rfb import Framebuffer
from amtterm.sim.kvm.font import load_vga_font
from tests.sim.test_kvm_screen import screen_text
from tests.support.simproc import SimProcess, amtterm_argv, start_sim

pytestmark = pytest.mark.timeout(120)


def kvm(env: dict[str, str], sim: SimProcess, *argv: str) -> subprocess.CompletedProcess[str]:
    assert sim.plain_port is not None
    return subprocess.run(
        [*amtterm_argv(), "kvm", "127.0.0.1", str(sim.plain_port), "-P", *argv],
        env=dict(env, AMT_PASSWORD=sim.password),
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )


def picture_text(path: Path) -> str:
    image = Image.open(path).convert("RGB")
    assert image.size == (720, 400)
    framebuffer = Framebuffer(*image.size)
    framebuffer.rgb[:] = image.tobytes()
    return screen_text(framebuffer, load_vga_font())


def test_a_screenshot_of_bios_setup_entered_with_f2(env: dict[str, str], tmp_path: Path) -> None:
    sim = start_sim(env, "--amt-version", "16.1", tls=False)
    try:
        shot = tmp_path / "setup.png"
        result = kvm(env, sim, "--screenshot", str(shot), "--keys", "F2", "--settle", "3")
        assert result.returncode == 0, result.stderr
        assert "Save & Exit" in picture_text(shot)
    finally:
        sim.stop()


def test_standard_manageability_says_it_has_no_kvm(env: dict[str, str], tmp_path: Path) -> None:
    sim = start_sim(env, "--sku", "ism", tls=False)
    try:
        result = kvm(env, sim, "--screenshot", str(tmp_path / "none.png"))
        assert result.returncode != 0
        assert "does not offer KVM" in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr and not (tmp_path / "none.png").exists()
    finally:
        sim.stop()

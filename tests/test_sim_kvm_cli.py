"""`amtterm kvm` against `amtterm sim`, both as real processes: what a user gets on disk and on screen.

The screenshot is read back as text with the VGA font (``tests/sim/test_kvm_screen.py``), so the
test checks what a person would see in the picture.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from amtterm.rfb import Framebuffer
from amtterm.sim.kvm.font import load_vga_font
from tests.sim.test_kvm_screen import screen_text
from tests.support.ptyproc import PtyProcess
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


def wsman(env: dict[str, str], sim: SimProcess, *argv: str) -> subprocess.CompletedProcess[str]:
    """``amtterm COMMAND 127.0.0.1 ARGS`` over the simulator's plain WS-Man port."""
    command, *rest = argv
    ports = ["-P", "--wsman-port", str(sim.wsman_port), "--redir-port", str(sim.plain_port)]
    return subprocess.run(
        [*amtterm_argv(), command, "127.0.0.1", *rest, *ports],
        env=dict(env, AMT_PASSWORD=sim.password),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a refused command prints on stderr (no traceback)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    return result.stderr.strip()


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
    sim = start_sim(env, "--sku", "ism", tls=False, wsman=True)
    try:
        result = kvm(env, sim, "--screenshot", str(tmp_path / "none.png"))
        assert result.returncode != 0
        assert "does not offer KVM" in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr and not (tmp_path / "none.png").exists()
        info = subprocess.run(
            [*amtterm_argv(), "info", "127.0.0.1", "-P", "--wsman-port", str(sim.wsman_port)],
            env=dict(env, AMT_PASSWORD=sim.password),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert "SKU:             Intel Standard Manageability (no KVM), corporate" in info.stdout, info
        assert "features:        KVM no, SOL yes" in info.stdout
        status = wsman(env, sim, "redirection", "status")
        assert status.stdout.strip() == (
            "127.0.0.1: redirection: listener on, SOL on, IDE-R on, "
            "no KVM on this machine (Standard Manageability)"
        ), status
        assert "has no KVM: this machine is Intel Standard Manageability" in one_sentence(
            wsman(env, sim, "redirection", "enable", "--kvm")
        )
        doctor = wsman(env, sim, "doctor")
        assert doctor.returncode == 0, doctor.stdout
        kvm_line = next(line for line in doctor.stdout.splitlines() if " kvm" in line)
        assert "This machine has no KVM (Intel Standard Manageability, or no Intel graphics)" in kvm_line
    finally:
        sim.stop()


def test_kvm_switched_off_and_on_over_wsman(env: dict[str, str], tmp_path: Path) -> None:
    sim = start_sim(env, "--amt-version", "16.1", tls=False, wsman=True)
    try:
        status = wsman(env, sim, "redirection")
        assert status.stdout.strip() == "127.0.0.1: redirection: listener on, SOL on, IDE-R on, KVM on"
        assert one_sentence(wsman(env, sim, "redirection", "status", "--kvm")).startswith(
            "amtterm: --kvm goes with enable or disable"
        )
        off = wsman(env, sim, "redirection", "disable", "--kvm")
        assert off.stdout.strip() == "127.0.0.1: KVM disabled: listener on, SOL on, IDE-R on, KVM off", off
        shot = tmp_path / "off.png"
        refused = one_sentence(kvm(env, sim, "--screenshot", str(shot)))
        assert refused.endswith(
            "refused KVM because it is disabled: run 'amtterm redirection 127.0.0.1 enable --kvm' "
            "(on a machine without KVM 'amtterm doctor' says so)."
        ), refused
        assert not shot.exists()
        doctor = wsman(env, sim, "doctor")
        assert "[WARN] kvm" in doctor.stdout and "KVM (the remote screen) is disabled" in doctor.stdout
        assert "fix: amtterm redirection 127.0.0.1 enable --kvm -P --wsman-port" in doctor.stdout, doctor
        # SOL's switch is separate from KVM's: a plain 'redirection disable' leaves KVM alone.
        assert wsman(env, sim, "redirection", "disable").stdout.strip().endswith("IDE-R off, KVM off")
        on = wsman(env, sim, "redirection", "enable", "--kvm", "--json")
        data = json.loads(on.stdout)
        assert data["kvm"] == {"present": True, "enabled": True, "enabled_state": 6}
        assert data["listener"] is True and data["sol"] is False  # the listener opened, SOL stays off
        assert kvm(env, sim, "--screenshot", str(shot)).returncode == 0
        assert "DemoTech BIOS Version" in picture_text(shot)
    finally:
        sim.stop()


def test_client_control_mode_asks_for_the_consent_code(env: dict[str, str], tmp_path: Path) -> None:
    sim = start_sim(
        env, "--amt-version", "16.1", "--control-mode", "client", "--power-on", "start", tls=False, wsman=True
    )
    try:
        shot = tmp_path / "consent.png"
        refused = one_sentence(kvm(env, sim, "--screenshot", str(shot)))
        assert refused.endswith(
            "refused the KVM session: it needs the user consent code shown on the PC's screen: run "
            "'amtterm consent 127.0.0.1 request' then 'amtterm consent 127.0.0.1 code NNNNNN'."
        ), refused
        assert "255" not in refused and not shot.exists()
        # What the sentence says to do: the code appears on the PC's screen (read here over SOL,
        # which needs no consent), goes back with 'consent code', and then KVM opens.
        sol = PtyProcess(
            [*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port)],
            env=dict(env, AMT_PASSWORD=sim.password),
        )
        try:
            sol.expect(b"DemoTech", timeout=30)
            request = wsman(env, sim, "consent", "request")
            assert "6-digit code" in request.stdout, request
            sol.expect(b"user consent code: ", timeout=30)
            match = re.search(rb"user consent code: (\d{6})", sol.drain(1))
            assert match is not None, sol.output[-500:]
        finally:
            sol.close()
        given = wsman(env, sim, "consent", "code", match.group(1).decode())
        assert given.returncode == 0, given
        assert kvm(env, sim, "--screenshot", str(shot)).returncode == 0
        assert "DemoTech" in picture_text(shot)
    finally:
        sim.stop()

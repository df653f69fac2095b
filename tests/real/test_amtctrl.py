"""PyPI's `amt` package (its `amtctrl` command, 0.8.0 in uv.lock) against `amtterm sim`.

amtctrl is a WS-Man client no one here wrote (derived from OpenStack Ironic's AMT driver):
digest auth through `requests`, its own SOAP envelopes, and a Get of
CIM_AssociatedPowerManagementService without selectors for the power state. It always talks
to port 16992 (the port is fixed in amt.client), so the simulator serves WS-Man on 16992 of
an address of its own in 127.0.0.0/8 and amtctrl runs unmodified. What it changes is judged
by what a console on SOL (Debian's amtterm) sees: POST after power-on and reboot, the PXE
boot agent after ``pxeboot``.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real.test_debian_amtterm import DEBIAN_AMTTERM
from tests.support.ptyproc import PtyProcess
from tests.support.simproc import SimProcess, start_sim

pytestmark = [pytest.mark.real, pytest.mark.timeout(120)]

AMTCTRL = Path(sys.executable).parent / "amtctrl"
WSMAN_HTTP_PORT = 16992  # amt.client.AMT_PROTOCOL_PORT_MAP["http"]


@pytest.fixture
def sim_16992(env: dict[str, str]) -> Iterator[SimProcess]:
    """A simulator, powered off, with WS-Man on port 16992 of a random 127.x.y.z address."""
    failures = []
    for _ in range(5):
        address = f"127.{random.randint(100, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        try:
            sim = start_sim(
                env, "--listen", address, "--wsman-port", str(WSMAN_HTTP_PORT), "--wsman-tls-port", "off",
                "--power-on", "off", tls=False, wsman=True,
            )  # fmt: skip
        except AssertionError as exc:  # that address's 16992 is taken: try another
            failures.append(str(exc))
            continue
        assert sim.address == address and sim.wsman_port == WSMAN_HTTP_PORT, sim.lines
        yield sim
        sim.stop()
        return
    raise AssertionError(f"no simulator on port {WSMAN_HTTP_PORT}: {failures}")


def amtctrl(env: dict[str, str], sim: SimProcess, command: str, tmp: Path) -> str:
    """Run `amtctrl -p ADDRESS COMMAND` (the password on stdin, as -p reads it); its output."""
    assert AMTCTRL.is_file(), f"{AMTCTRL} missing: the test extra installs PyPI's amt (setup-venv --test)"
    run_env = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
    run_env["XDG_CONFIG_HOME"] = str(tmp / "amtctrl-config")  # its host database, never the real one
    result = subprocess.run(
        [str(AMTCTRL), "-p", sim.address, command],
        input=sim.password + "\n",
        env=run_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def acted(output: str) -> None:
    """amtctrl prints nothing when ReturnValue is 0, the reply's XML when it is not, and
    "Error: ..." on an HTTP error."""
    assert output == "", output


def watch(env: dict[str, str], sim: SimProcess) -> PtyProcess:
    """A SOL console on the simulator: Debian's amtterm, which is up within milliseconds, so it
    sees the POST of a boot that amtctrl started just before (the POST prompt is out 1.6 s after
    power-on, the boot device from 4.6 s on)."""
    assert sim.plain_port is not None
    return PtyProcess(
        [DEBIAN_AMTTERM, "-u", "admin", sim.address, str(sim.plain_port)],
        env=dict(env, AMT_PASSWORD=sim.password),
    )


def leave(console: PtyProcess) -> None:
    """Detach (Ctrl-]) and give the device a moment to close the session: AMT refuses off and
    power cycle while a redirection session is open (wsman.md section 11, rule 6)."""
    console.send(b"\x1d")
    console.wait(10)
    console.close()
    time.sleep(0.5)


def test_amtctrl_status_on_reboot_off(env: dict[str, str], sim_16992: SimProcess, tmp_path: Path) -> None:
    assert amtctrl(env, sim_16992, "status", tmp_path).strip() == "off"

    acted(amtctrl(env, sim_16992, "on", tmp_path))
    console = watch(env, sim_16992)
    try:
        console.expect(b"Booting from Hard Disk", timeout=30)
        assert amtctrl(env, sim_16992, "status", tmp_path).strip() == "on"
        # With a console on SOL, the power cycle that amtctrl's reboot asks for (PowerState 5)
        # is refused: ReturnValue 2, which amtctrl shows as the reply's XML.
        refused = amtctrl(env, sim_16992, "reboot", tmp_path)
        assert "<g:ReturnValue>2</g:ReturnValue>" in refused, refused
    finally:
        leave(console)

    # reboot is RequestPowerStateChange 5 (power cycle): the PC runs POST again.
    acted(amtctrl(env, sim_16992, "reboot", tmp_path))
    console = watch(env, sim_16992)
    try:
        console.expect(b"Booting from Hard Disk", timeout=30)
        assert b"Press F2" in console.output  # POST, so a boot, not a console joining late
        assert amtctrl(env, sim_16992, "status", tmp_path).strip() == "on"
    finally:
        leave(console)

    acted(amtctrl(env, sim_16992, "off", tmp_path))
    assert amtctrl(env, sim_16992, "status", tmp_path).strip() == "off"


def test_amtctrl_reboot_of_a_powered_off_pc_is_refused(
    env: dict[str, str], sim_16992: SimProcess, tmp_path: Path
) -> None:
    """A power cycle needs a running PC: AMT answers ReturnValue 2 and the PC stays off."""
    output = amtctrl(env, sim_16992, "reboot", tmp_path)
    assert "<g:ReturnValue>2</g:ReturnValue>" in output, output
    assert amtctrl(env, sim_16992, "status", tmp_path).strip() == "off"


def test_amtctrl_pxeboot_boots_the_network_once(
    env: dict[str, str], sim_16992: SimProcess, tmp_path: Path
) -> None:
    """pxeboot = ChangeBootOrder(Force PXE Boot) + SetBootConfigRole(1) + power cycle."""
    acted(amtctrl(env, sim_16992, "on", tmp_path))
    assert amtctrl(env, sim_16992, "status", tmp_path).strip() == "on"
    acted(amtctrl(env, sim_16992, "pxeboot", tmp_path))
    console = watch(env, sim_16992)
    try:
        console.expect(b"Intel(R) Boot Agent GE", timeout=30)
        console.expect(b"PXE-E51: No DHCP or proxy DHCP offers were received.", timeout=30)
        assert b"Press F2" in console.output  # this boot's POST
    finally:
        leave(console)
    # One time only: the next power cycle boots the disk without the boot agent.
    acted(amtctrl(env, sim_16992, "reboot", tmp_path))
    console = watch(env, sim_16992)
    try:
        console.expect(b"Booting from Hard Disk", timeout=30)
        assert b"Press F2" in console.output
        assert b"Boot Agent" not in console.output
    finally:
        leave(console)


def test_amtctrl_wrong_password_is_an_http_401(
    env: dict[str, str], sim_16992: SimProcess, tmp_path: Path
) -> None:
    wrong = SimProcess(sim_16992.proc, "not-the-password", devices=sim_16992.devices)
    output = amtctrl(env, wrong, "on", tmp_path)
    assert output.startswith("Error: 401"), output
    assert amtctrl(env, sim_16992, "status", tmp_path).strip() == "off"

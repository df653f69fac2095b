"""Remote boot from a local image, end to end, on software no one here wrote.

`amtterm sim --qemu` puts a QEMU PC (SeaBIOS) behind the simulated AMT device; its CD-ROM is
the device's NBD export, fed over IDE-R by `amtterm ider` (a separate process, as a user runs
it). What is checked is what the admin sees:

* Debian's ``ipxe.iso`` served with ``amtterm ider --cd ipxe.iso --boot``: SeaBIOS boots the
  DVD/CD and the iPXE banner appears on ``amtterm sol``, read over IDE-R;
* an installer ISO built here from Debian's netboot installer, served the same way while the
  console (the TUI) runs in tmux: the installer's "Select a language" dialog appears in the TUI,
  and an Enter typed there moves it to "Select your location".

In both the image file is untouched. The QEMU NIC sits on a restricted user network, so
nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import os
import re
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import installer_iso
from tests.support.ptyproc import PtyProcess
from tests.support.simproc import SimProcess, amtterm_argv, start_sim
from tests.support.tmux import Tmux, tmux_running

pytestmark = pytest.mark.real

IPXE_ISO = Path("/usr/lib/ipxe/ipxe.iso")


def _need(path: Path | str, package: str) -> None:
    found = Path(path).exists() if isinstance(path, Path) else shutil.which(path) is not None
    if not found:
        pytest.fail(f"{path} is missing: install the Debian package {package} (.ci/run does)")


@pytest.fixture
def qemu_sim(env: dict[str, str]) -> Iterator[SimProcess]:
    """A QEMU-backed simulated PC, off until something powers it on; plain ports for brevity."""
    _need("qemu-system-x86_64", "qemu-system-x86")
    sim = start_sim(env, "--qemu", "--power-on", "off", tls=False, wsman=True)
    yield sim
    sim.stop()


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns


class Ider:
    """`amtterm ider ... --boot` running in the background; its stderr collected."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)  # fmt: skip
        self.err = b""

    def drain(self) -> str:
        assert self.proc.stderr is not None
        while select.select([self.proc.stderr], [], [], 0)[0]:
            chunk = os.read(self.proc.stderr.fileno(), 65536)
            if not chunk:
                break
            self.err += chunk
        return self.err.decode(errors="replace")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        text = self.drain()
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return text


def ider_argv(sim: SimProcess, host: str, *extra: str) -> list[str]:
    assert sim.plain_port and sim.wsman_port
    ports = ["--redir-port", str(sim.plain_port), "--wsman-port", str(sim.wsman_port)]
    return [*amtterm_argv(), "ider", host, "-P", *ports, *extra]


ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1bc")


def plain_text(output: bytes) -> str:
    """What the console showed, without escape sequences (the BIOS positions its text freely)."""
    return ANSI.sub(b"", output).decode(errors="replace")


def served_megabytes(progress: str) -> float:
    figures = re.findall(r"([0-9.]+) MB served", progress)
    return float(figures[-1]) if figures else 0.0


@pytest.mark.timeout(300)
def test_ipxe_iso_served_over_ider_boots_to_the_ipxe_banner_on_sol(
    env: dict[str, str], qemu_sim: SimProcess
) -> None:
    _need(IPXE_ISO, "ipxe")
    before = fingerprint(IPXE_ISO)
    run_env = dict(env, AMT_PASSWORD=qemu_sim.password)
    assert qemu_sim.plain_port
    sol = PtyProcess([*amtterm_argv(), "sol", "-P", "127.0.0.1", str(qemu_sim.plain_port), "--timeout", "90"],
                     env=run_env)  # fmt: skip
    ider = None
    try:
        sol.expect(b"powered off", timeout=30)  # attached before the PC starts: nothing is missed
        ider = Ider(ider_argv(qemu_sim, "127.0.0.1", "--cd", str(IPXE_ISO), "--boot"), run_env)
        # Generous timeouts: QEMU emulates the CPU (TCG), several times slower on a loaded machine.
        sol.expect(b"SeaBIOS", timeout=60)
        sol.expect(b"Booting from DVD/CD", timeout=60)
        seen = plain_text(sol.expect(b"Open Source Network Boot Firmware", timeout=120))
        # The banner came from the CD, not the NIC's own iPXE ROM that SeaBIOS tries after a
        # failed device: it follows the CD boot with no "Boot failed" in between.
        cd_boot = seen[seen.index("Booting from DVD/CD") : seen.index("Open Source Network Boot Firmware")]
        assert "Boot failed" not in cd_boot, cd_boot
        assert "Booting from ROM" not in cd_boot, cd_boot
        assert re.search(r"iPXE 1\.\d+\.\d+", cd_boot), "no iPXE version line before the banner"
        progress = ider.drain()
        assert "boots into the IDE-R CD image with its text on SOL" in progress, progress
        assert served_megabytes(progress) >= 0.3, progress  # ISOLINUX + ipxe.krn came over IDE-R
        sol.send(b"\x1d")
        assert sol.wait(10) == 0
    finally:
        sol.close()
        if ider is not None:
            ider.stop()
    assert fingerprint(IPXE_ISO) == before


@pytest.fixture
def installer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gone = installer_iso.missing()
    if gone:
        pytest.fail(f"missing {', '.join(gone)}: apt-get install {installer_iso.PACKAGES} (.ci/run does)")
    return installer_iso.build(tmp_path_factory.mktemp("iso") / "installer.iso")


@pytest.mark.timeout(480)
def test_installer_iso_over_ider_reaches_select_a_language_in_the_tui_and_enter_moves_on(
    env: dict[str, str], qemu_sim: SimProcess, installer: Path, tmp_path: Path
) -> None:
    before = fingerprint(installer)
    assert qemu_sim.plain_port and qemu_sim.wsman_port
    hosts = tmp_path / "hosts.toml"
    hosts.write_text(
        "[hosts.lab-pc]\n"
        'address = "127.0.0.1"\n'
        "tls = false\n"
        f"redir_port = {qemu_sim.plain_port}\n"
        f"wsman_port = {qemu_sim.wsman_port}\n"
        'password_env = "AMT_PASSWORD"\n'
    )
    run_env = dict(env, AMT_PASSWORD=qemu_sim.password)
    tui = [sys.executable, "-m", "amtterm", "lab-pc", "--hosts-file", str(hosts)]
    tmux_gen = tmux_running(run_env, tmp_path, tui)
    tmux: Tmux = next(tmux_gen)
    ider = None
    try:
        tmux.wait_for("Ctrl-] then", timeout=30)  # the console is up (the PC is still off)
        ider = Ider([*amtterm_argv(), "ider", "lab-pc", "--hosts-file", str(hosts), "--cd", str(installer),
                     "--boot"], run_env)  # fmt: skip
        tmux.wait_for("Booting from DVD/CD", timeout=60)
        tmux.wait_for("Select a language", timeout=240)
        screen = tmux.wait_for("English", timeout=60)  # the dialog's list, drawn after its title
        assert "Traceback" not in screen
        progress = ider.drain()
        assert served_megabytes(progress) >= 40, progress  # the kernel and initrd came over IDE-R
        tmux.keys("Enter")
        screen = tmux.wait_for("Select your location", timeout=60)
        assert "Traceback" not in screen
        tmux.keys("C-]", "q")
        tmux.wait_for("AMTTERM-EXIT=0", timeout=20)
    finally:
        if ider is not None:
            ider.stop()
        tmux_gen.close()
    assert fingerprint(installer) == before

"""`amtterm sim --qemu`: a real SeaBIOS in QEMU behind the simulated device, seen with `amtterm sol`.

SeaBIOS mirrors its text screen to QEMU's serial port, which is the device's SOL stream; a key
typed in the console reaches SeaBIOS. Stopping the simulator stops QEMU.
"""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from tests.support.ptyproc import PtyProcess
from tests.support.simproc import amtterm_argv, start_sim

pytestmark = pytest.mark.real

ESC = b"\x1b"


def _children(pid: int) -> list[int]:
    """The PIDs of the processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.timeout(90)
def test_seabios_boot_menu_over_sol(env: dict[str, str]) -> None:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail(
            "qemu-system-x86_64 is missing: install the Debian package qemu-system-x86 (.ci/run does)"
        )
    started = time.monotonic()
    sim = start_sim(env, "--qemu", tls=False)
    qemu_pids: list[int] = []
    term = None
    try:
        assert sim.plain_port
        term = PtyProcess(
            [*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port)],
            env=dict(env, AMT_PASSWORD=sim.password),
        )
        term.expect(b"SeaBIOS", timeout=30)
        qemu_pids = _children(sim.proc.pid)
        assert qemu_pids, "no QEMU process under the simulator"
        seen = term.expect(b"Press ESC for boot menu", timeout=20)
        assert re.search(rb"SeaBIOS \(version", seen)
        mark = len(term.output)
        term.send(ESC)
        term.expect(b"Select boot device", timeout=20, since=mark)
        term.send(b"\x1d")  # Ctrl-] quits the console
        assert term.wait(10) == 0
    finally:
        if term is not None:
            term.close()
        sim.stop()
    for pid in qemu_pids:
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid), f"QEMU (pid {pid}) still runs after the simulator stopped"
    assert time.monotonic() - started < 60

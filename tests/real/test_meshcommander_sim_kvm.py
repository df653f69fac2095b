"""MeshCommander's KVM viewer (from MeshCentral's npm package) against `amtterm sim`.

No one here wrote that viewer: ``public/scripts/amt-desktop-0.0.2.js`` (RFB, MeshCommander's
decoder of AMT's ZRLE tiles) inside ``amt-redir-ws-0.1.0.js`` (the ``KVMR`` redirection session)
runs under node with a TCP socket for its WebSocket and an in-memory canvas
(``tests/node/meshcommander_kvm.js``). It disconnects from anything that is not shaped like
AMT ("Invalid tile size" for a rectangle larger than 64x64, a stall on an empty update), so
these tests judge the simulator's KVM by another implementation's reading of AMT.

What the viewer drew is read back as text from its canvas (``tests/sim/test_kvm_screen.py``
matches each 9x16 cell against the VGA font), as a person would read it.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from amtterm.rfb import Framebuffer
from amtterm.sim.kvm.font import VgaFont, load_vga_font
from tests.real.test_meshcommander import NODE_DIR, node_binary
from tests.sim.test_kvm_screen import screen_text
from tests.support.simproc import SimProcess, start_sim

pytestmark = [pytest.mark.real, pytest.mark.timeout(120)]

DRIVER = NODE_DIR / "meshcommander_kvm.js"
F2 = 0xFFBF

Event = dict[str, Any]


class Viewer:
    """The node driver as a child process: JSON events out, JSON commands in."""

    def __init__(
        self, port: int, env: dict[str, str], password: str, tmp: Path, *, tls: bool = False
    ) -> None:
        self.tmp = tmp
        self._stderr_path = tmp / "meshcommander-kvm.err"
        self._stderr = self._stderr_path.open("wb")
        args = ["--host", "127.0.0.1", "--port", str(port), *(["--tls"] if tls else [])]
        self.proc = subprocess.Popen(
            [node_binary(), str(DRIVER), *args],
            cwd=NODE_DIR,
            env=dict(env, AMT_PASSWORD=password),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.events: list[Event] = []
        self._buf = b""
        self._dumps = 0

    def _read(self, timeout: float) -> bool:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return False
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            return False
        self._buf += chunk
        *lines, self._buf = self._buf.split(b"\n")
        self.events.extend(json.loads(line) for line in lines if line.strip())
        return True

    def wait_for(self, what: str, match: Callable[[Event], bool], timeout: float, since: int = 0) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[since:]:
                if match(event):
                    return event
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.2)) and self.proc.poll() is not None):
                raise AssertionError(f"MeshCommander KVM: {what} not seen; {self.describe()}")

    def send(self, command: Event) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        self.proc.stdin.flush()

    def canvas(self) -> Framebuffer:
        """What the viewer's canvas shows now."""
        self._dumps += 1
        target = self.tmp / f"canvas-{self._dumps}.ppm"
        mark = len(self.events)
        self.send({"dump": str(target)})
        self.wait_for("the canvas dump", lambda e: e["event"] == "dumped", 10, since=mark)
        data = target.read_bytes()
        _magic, size, _depth, pixels = data.split(b"\n", 3)
        width, height = (int(v) for v in size.split())
        framebuffer = Framebuffer(width, height)
        framebuffer.rgb[:] = pixels
        return framebuffer

    def wait_text(self, font: VgaFont, needle: str, timeout: float) -> str:
        """Wait until the canvas reads ``needle``; the whole screen's text."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            canvas = self.canvas()
            if (canvas.width, canvas.height) == (720, 400):
                text = screen_text(canvas, font)
                if needle in text:
                    return text
            self._read(0.5)
        raise AssertionError(
            f"MeshCommander KVM: {needle!r} not drawn; last screen:\n{text}\n{self.describe()}"
        )

    def quit(self) -> Event:
        if self.proc.poll() is None:
            self.send({"quit": True})
        return self.wait_for("exit", lambda e: e["event"] == "exit", 10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()

    def stderr(self) -> str:
        return self._stderr_path.read_text(errors="replace")

    def describe(self) -> str:
        return f"events {self.events[-10:]}, stderr: {self.stderr()[-2000:]}"


@pytest.fixture
def viewer(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Viewer]]:
    started: list[Viewer] = []

    def start(sim: SimProcess, *, tls: bool = False) -> Viewer:
        port = sim.tls_port if tls else sim.plain_port
        assert port is not None
        folder = tmp_path / f"viewer-{len(started)}"
        folder.mkdir()
        client = Viewer(port, env, sim.password, folder, tls=tls)
        started.append(client)
        return client

    yield start
    for client in started:
        client.close()


def assert_stayed_connected(client: Viewer) -> None:
    """It never dropped the session itself (state 0 comes only with our quit)."""
    states = [e["state"] for e in client.events if e["event"] == "state"]
    assert 3 in states and 0 not in states[:-1], states
    assert "Invalid tile size" not in client.stderr()
    assert "Invalid deflate data" not in client.stderr()


def test_meshcommander_kvm_draws_post_and_enters_setup(
    sim: SimProcess, viewer: Callable[..., Viewer]
) -> None:
    font = load_vga_font()
    client = viewer(sim)
    client.wait_for("session up", lambda e: e == {"event": "state", "state": 3}, timeout=20)
    text = client.wait_text(font, "Press F2", timeout=30)
    assert "BIOS Version" in text
    client.send({"key": F2})  # its sendkey: RFB KeyEvents down and up
    setup = client.wait_text(font, "Save & Exit", timeout=30)
    assert "Setup Utility" in setup
    frame = [e for e in client.events if e["event"] == "frame"][-1]
    assert (frame["width"], frame["height"]) == (720, 400) and frame["updates"] >= 2
    client.quit()
    assert_stayed_connected(client)


def test_meshcommander_kvm_over_tls_on_amt16(env: dict[str, str], viewer: Callable[..., Viewer]) -> None:
    sim = start_sim(env, "--amt-version", "16.1", plain=False)
    try:
        client = viewer(sim, tls=True)
        text = client.wait_text(load_vga_font(), "Intel(R) AMT 16.1", timeout=30)
        assert "DemoTech" in text
        client.quit()
        assert_stayed_connected(client)
    finally:
        sim.stop()


def test_meshcommander_kvm_shows_seabios_through_qemu(
    env: dict[str, str], viewer: Callable[..., Viewer]
) -> None:
    """The QEMU-backed PC: QEMU's own screen, re-tiled by the simulator, drawn by MeshCommander."""
    sim = start_sim(env, "--qemu", "--qemu-memory", "256", "--amt-version", "16.1", tls=False, timeout=30)
    try:
        font = load_vga_font()
        client = viewer(sim)
        first = client.wait_text(font, "SeaBIOS", timeout=60)
        frame = client.wait_for("a drawn frame", lambda e: e["event"] == "frame" and e["nonblack"] > 1000, 30)
        assert (frame["width"], frame["height"]) == (720, 400)
        # The BIOS goes on (boot attempts, the NIC's ROM): rows that were empty fill with text.
        later = client.wait_text(font, "Booting from", timeout=90)
        assert later != first
        client.quit()
        assert_stayed_connected(client)
    finally:
        sim.stop()

"""MeshCommander's redirection code (from MeshCentral's npm package) against `amtterm sim`.

No one here wrote that code: its SOL transport and VT100 terminal emulator
(``public/scripts/amt-redir-ws-0.1.0.js``, ``amt-terminal-0.0.2.js``) and its IDE-R
(``amt/amt-redir-mesh.js``, ``amt/amt-ider-module.js``) run under node, loaded from
``tests/node/node_modules`` (``npm ci`` there; the version is pinned in package-lock.json),
with a TCP socket where the browser has a WebSocket (``tests/node/meshcommander.js``).
It speaks digest authentication only (no legacy plain), so these tests judge the
simulator's digest, session setup, SOL data and IDE-R command handling by another
implementation's reading of the protocol.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.redir.eltorito import build_iso, floppy_image
from tests.support.simproc import SimProcess, amtterm_argv, start_sim

pytestmark = [pytest.mark.real, pytest.mark.timeout(90)]

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
DRIVER = NODE_DIR / "meshcommander.js"
MESHCENTRAL = NODE_DIR / "node_modules" / "meshcentral"

# Key codes as a browser's keydown gives them (e.which), which MeshCommander's terminal maps
# to bytes itself: F2 becomes ESC [ O Q (its default "Intel" F-key mode), Right ESC [ C.
KEY_F2 = 113
KEY_RIGHT = 39

Event = dict[str, Any]


def node_binary() -> str:
    node = shutil.which("node")
    assert node, "node is not installed: .ci/run installs Node.js (apt nodejs) when it is missing"
    assert (MESHCENTRAL / "package.json").is_file(), f"run 'npm ci' in {NODE_DIR} (.ci/run does)"
    return node


class MeshCommander:
    """The node driver as a child process: JSON events out, JSON commands in."""

    def __init__(self, args: list[str], env: dict[str, str], password: str, stderr: Path) -> None:
        self._stderr_path = stderr
        self._stderr = stderr.open("wb")
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
        """The first event from index ``since`` on that ``match`` accepts, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        checked = since
        while True:
            for event in self.events[checked:]:
                if match(event):
                    return event
            checked = max(checked, len(self.events))
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.2)) and self.proc.poll() is not None):
                while self._read(0.05):
                    pass
                if any(match(e) for e in self.events[since:]):
                    return next(e for e in self.events[since:] if match(e))
                raise AssertionError(f"MeshCommander: {what} not seen; {self.describe()}")

    def screen(self) -> str:
        """The terminal's last rendered screen."""
        screens = [e for e in self.events if e["event"] == "screen"]
        return "\n".join(screens[-1]["lines"]) if screens else ""

    def wait_screen(self, text: str, timeout: float, since: int = 0) -> str:
        event = self.wait_for(
            f"{text!r} on its screen", lambda e: e["event"] == "screen" and text in "\n".join(e["lines"]),
            timeout, since,
        )  # fmt: skip
        return "\n".join(event["lines"])

    def send(self, command: Event) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        self.proc.stdin.flush()

    def quit(self, timeout: float = 10) -> Event:
        """Stop the session; the driver's exit statistics."""
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self.send({"quit": True})
        return self.wait_for("exit", lambda e: e["event"] == "exit", timeout)

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
        others = [e for e in self.events if e["event"] != "screen"]
        return f"events {others[-20:]}, screen:\n{self.screen()}\nstderr: {self.stderr()[-2000:]}"


class SimLog:
    """What `amtterm sim` writes (its stdout and stderr), read as it comes."""

    def __init__(self, sim: SimProcess) -> None:
        self.sim = sim
        self.text = "\n".join(sim.lines)

    def wait_for(self, needle: str, timeout: float) -> str:
        stdout = self.sim.proc.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} not in the simulator's output: {self.text[-2000:]}")
            ready, _, _ = select.select([stdout], [], [], min(left, 0.2))
            if ready:
                chunk = os.read(stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError(f"the simulator exited before {needle!r}: {self.text[-2000:]}")
                self.text += chunk.decode(errors="replace")
        return self.text


@pytest.fixture
def sim_wsman(env: dict[str, str]) -> Iterator[SimProcess]:
    """`amtterm sim` (AMT 11.8) with redirection and WS-Man, plain and TLS."""
    process = start_sim(env, wsman=True)
    yield process
    process.stop()


@pytest.fixture
def commander(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., MeshCommander]]:
    """Start MeshCommander drivers; each is closed at the end of the test."""
    started: list[MeshCommander] = []

    def start(
        sim: SimProcess, mode: str, *extra: str, tls: bool = False, port: int | None = None
    ) -> MeshCommander:
        """The driver in ``mode`` against ``sim``'s redirection port (plain or TLS), or ``port``."""
        if port is None:
            port = sim.tls_port if tls else sim.plain_port
        assert port is not None
        args = [mode, "--host", "127.0.0.1", "--port", str(port), *(["--tls"] if tls else []), *extra]
        client = MeshCommander(args, env, sim.password, tmp_path / f"meshcommander-{len(started)}.err")
        started.append(client)
        return client

    yield start
    for client in started:
        client.close()


def test_meshcommander_terminal_shows_post_and_enters_setup(
    sim: SimProcess, commander: Callable[..., MeshCommander]
) -> None:
    """Digest auth, SOL settings, keep-alives and SOL data, as MeshCommander's own terminal renders them."""
    client = commander(sim, "sol")
    client.wait_for("session up", lambda e: e == {"event": "state", "state": 3}, timeout=15)
    screen = client.wait_screen("Press F2", timeout=30)
    assert "BIOS Version" in screen
    mark = len(client.events)
    client.send({"key": KEY_F2})  # its keydown handler sends the bytes
    setup = client.wait_screen("Save & Exit", timeout=15, since=mark)
    assert "Press F2" not in setup
    # The setup screen redraws when an arrow key from MeshCommander reaches it.
    mark = len(client.events)
    client.send({"key": KEY_RIGHT})
    client.wait_for("a redraw after Right", lambda e: e["event"] == "screen", timeout=10, since=mark)
    stats = client.quit()
    assert stats["stats"]["received"] > 0
    # MeshCommander stops the session on anything it does not understand ("Unknown Intel AMT command").
    assert "Unknown Intel AMT command" not in client.stderr()
    # It leaves by closing the socket, without ending SOL: the one SOL slot is free again at once.
    again = commander(sim, "sol")
    again.wait_for("a second session", lambda e: e == {"event": "state", "state": 3}, timeout=15)
    again.quit()


def test_meshcommander_terminal_over_tls_on_amt16(
    env: dict[str, str], commander: Callable[..., MeshCommander]
) -> None:
    """AMT 16: digest only, TLS only; MeshCommander's relay opens TLS the way MeshCentral does."""
    sim = start_sim(env, "--amt-version", "16.1", plain=False)
    try:
        client = commander(sim, "sol", tls=True)
        screen = client.wait_screen("Press F2", timeout=30)
        assert "Intel(R) AMT 16.1" in screen
        client.quit()
    finally:
        sim.stop()
    assert "Unknown Intel AMT command" not in client.stderr()


def test_meshcommander_wrong_password_gets_no_session(
    sim: SimProcess, env: dict[str, str], tmp_path: Path
) -> None:
    client = MeshCommander(
        ["sol", "--host", "127.0.0.1", "--port", str(sim.plain_port)], env, "not-the-password",
        tmp_path / "wrong.err",
    )  # fmt: skip
    try:
        # It gives up (state 0) when the digest is refused, and never sees the session start.
        client.wait_for("the session closed", lambda e: e == {"event": "state", "state": 0}, timeout=20)
        assert {"event": "state", "state": 3} not in client.events
        assert client.screen().strip() == ""
    finally:
        client.close()


def test_meshcommander_ider_serves_a_cd_the_bios_reads_at_once(
    sim: SimProcess, commander: Callable[..., MeshCommander], tmp_path: Path
) -> None:
    """MeshCommander's IDE-R module serves an ISO; the simulated BIOS reads its boot records ("now")."""
    iso = tmp_path / "boot.iso"
    iso.write_bytes(build_iso(volume_id="MESHCMDR_CD", total_blocks=64))
    log = SimLog(sim)
    client = commander(sim, "ider", "--cd", str(iso), "--start", "now")
    log.wait_for("IDE-R: BIOS read MESHCMDR_CD: bootable", timeout=30)
    # What MeshCommander says it was asked for: the volume descriptor, the El Torito boot record,
    # the boot catalog and the boot image (tests/redir/eltorito.py's layout).
    client.wait_for("the boot image read", lambda e: e["event"] == "sectors" and e["lba"] == 20, timeout=10)
    reads = [(e["lba"], e["count"]) for e in client.events if e["event"] == "sectors" and e["drive"] == "cd"]
    assert reads[:4] == [(16, 1), (17, 1), (19, 1), (20, 1)], reads
    stats = client.quit()["stats"]
    # It sent those four 2048-byte sectors (and command replies), and the device told it the
    # firmware's IDE-R protocol version and buffer sizes in OPEN_SESSION's reply.
    assert stats["bytesToAmt"] >= 4 * 2048
    assert stats["iderinfo"]["proto"] == 0
    assert stats["iderinfo"]["readbfr"] <= 8192
    assert "Unknown IDER command" not in client.stderr()


@pytest.mark.parametrize(
    ("drive", "shown", "boot_read"),
    [
        ("floppy", "Booting from IDE-R floppy: boot sector loaded over IDE-R", (0, 1)),
        ("cd", "El Torito boot image loaded over IDE-R", (20, 1)),
    ],
)
def test_meshcommander_ider_boots_at_reset_with_its_terminal_watching(
    sim_wsman: SimProcess,
    env: dict[str, str],
    commander: Callable[..., MeshCommander],
    tmp_path: Path,
    drive: str,
    shown: str,
    boot_read: tuple[int, int],
) -> None:
    """MeshCommander serves a floppy or CD "on next boot" and watches SOL in its terminal; WS-Man
    (ours) sets the one-time IDE-R boot and resets the PC, which boots what MeshCommander serves."""
    image = tmp_path / ("boot.img" if drive == "floppy" else "boot.iso")
    image.write_bytes(floppy_image() if drive == "floppy" else build_iso(volume_id="MESHCMDR_CD"))
    terminal = commander(sim_wsman, "sol")
    terminal.wait_screen("BIOS Version", timeout=30)
    ider = commander(sim_wsman, "ider", f"--{drive}", str(image), "--start", "reboot")
    ider.wait_for("the IDE-R session", lambda e: e == {"event": "state", "state": 2}, timeout=15)
    assert sim_wsman.wsman_port is not None
    mark = len(terminal.events)
    boot = subprocess.run(
        [*amtterm_argv(), "boot", "127.0.0.1", f"ider-{drive}", "--sol", "--then", "reset", "-P",
         "--wsman-port", str(sim_wsman.wsman_port)],
        env=dict(env, AMT_PASSWORD=sim_wsman.password), capture_output=True, text=True, timeout=30,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert boot.returncode == 0, boot.stderr
    screen = terminal.wait_screen(shown, timeout=30, since=mark)
    if drive == "cd":
        assert "Booting from IDE-R CD-ROM: MESHCMDR_CD" in screen
    ider.wait_for("the boot read", lambda e: e["event"] == "sectors" and e["lba"] == boot_read[0], timeout=10)
    reads = [(e["lba"], e["count"]) for e in ider.events if e["event"] == "sectors"]
    assert boot_read in reads, reads
    assert all(e["drive"] == drive for e in ider.events if e["event"] == "sectors")
    ider.quit()
    terminal.quit()


def test_meshcommander_ider_over_tls_on_amt16(
    env: dict[str, str], commander: Callable[..., MeshCommander], tmp_path: Path
) -> None:
    """The same CD over TLS to the AMT 16 profile, with MeshCentral's own TLS options."""
    iso = tmp_path / "boot.iso"
    iso.write_bytes(build_iso(volume_id="MESHCMDR_TLS", total_blocks=64))
    sim = start_sim(env, "--amt-version", "16.1", plain=False)
    try:
        log = SimLog(sim)
        client = commander(sim, "ider", "--cd", str(iso), "--start", "now", tls=True)
        log.wait_for("IDE-R: BIOS read MESHCMDR_TLS: bootable", timeout=30)
        client.wait_for("the boot image", lambda e: e["event"] == "sectors" and e["lba"] == 20, timeout=10)
        stats = client.quit()["stats"]
        assert stats["iderinfo"]["fwmajor"] == 16
    finally:
        sim.stop()


def test_meshcentral_wsman_powers_on_what_its_terminal_shows(
    env: dict[str, str], commander: Callable[..., MeshCommander]
) -> None:
    """MeshCentral's own WS-Man stack (amt/amt-wsman-comm.js, amt-wsman.js, amt-xml.js, amt.js)
    reads the power state and AMT's general settings and powers the PC on; MeshCommander's
    terminal, attached while it was off, shows the POST that follows. Its power poll is an
    Enumerate+Pull of CIM_ServiceAvailableToElement, as MeshCentral does it."""
    sim = start_sim(env, "--power-on", "off", wsman=True)
    try:
        assert sim.wsman_port is not None
        terminal = commander(sim, "sol")
        terminal.wait_for("session up", lambda e: e == {"event": "state", "state": 3}, timeout=15)
        wsman = commander(sim, "wsman", port=sim.wsman_port)
        wsman.send({"enum": ["*AMT_GeneralSettings", "*CIM_AssociatedPowerManagementService"]})
        first = wsman.wait_for("the Gets", lambda e: e["event"] == "reply", timeout=20)
        assert first["status"] == 200, first
        general = first["responses"]["AMT_GeneralSettings"]["response"]
        assert general["DigestRealm"].startswith("Digest:") and len(general["DigestRealm"]) == 39
        power = first["responses"]["CIM_AssociatedPowerManagementService"]["response"]
        assert power["PowerState"] == 8, power
        assert "BIOS Version" not in terminal.screen()

        mark = len(wsman.events)
        wsman.send({"power": 2})
        done = wsman.wait_for("power on", lambda e: e["event"] == "reply", timeout=20, since=mark)
        assert done["status"] == 200 and done["responses"]["Body"]["ReturnValue"] == 0, done
        terminal.wait_screen("Press F2", timeout=30)

        mark = len(wsman.events)
        wsman.send({"enum": ["*CIM_AssociatedPowerManagementService"]})
        after = wsman.wait_for("the Get", lambda e: e["event"] == "reply", timeout=20, since=mark)
        power = after["responses"]["CIM_AssociatedPowerManagementService"]["response"]
        assert power["PowerState"] == 2, power

        mark = len(wsman.events)
        wsman.send({"enum": ["CIM_ServiceAvailableToElement"]})
        polled = wsman.wait_for("the poll", lambda e: e["event"] == "reply", timeout=20, since=mark)
        assert polled["status"] == 200, polled
        [association] = polled["responses"]["CIM_ServiceAvailableToElement"]["responses"]
        assert association["PowerState"] == 2 and association["RequestedPowerState"] == 2, association
        wsman.quit()
        terminal.quit()
    finally:
        sim.stop()

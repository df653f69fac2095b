"""Start `amtterm sim` as a separate process on loopback with free ports, and stop it.

``start_sim(env)`` serves the redirection ports only (plain and TLS), as before WS-Man
existed; ``start_sim(env, wsman=True)`` also serves WS-Man (HTTP and HTTPS) on free ports;
``start_sim(env, "--hosts", "20", wsman=True)`` serves 20 devices. The listener lines are
parsed per device address into :attr:`SimProcess.devices`.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ptyproc import PtyProcess

LISTEN_RE = re.compile(rb"amtterm sim: (redirection|wsman) listening on (\S+):(\d+) \((plain|TLS)")
READY = b"amtterm sim: ready"


@dataclass
class SimDevice:
    """The ports of one simulated device (None when not served)."""

    address: str
    plain_port: int | None = None
    tls_port: int | None = None
    wsman_port: int | None = None
    wsman_tls_port: int | None = None


@dataclass
class SimProcess:
    """A running simulator: its ports, password and process."""

    proc: subprocess.Popen[bytes]
    password: str
    plain_port: int | None = None
    tls_port: int | None = None
    wsman_port: int | None = None
    wsman_tls_port: int | None = None
    devices: list[SimDevice] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        """The first device's address."""
        return self.devices[0].address if self.devices else "127.0.0.1"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def amtterm_argv() -> list[str]:
    """How to run our amtterm: the venv's interpreter with -m."""
    return [sys.executable, "-m", "amtterm"]


def _record(sim: SimProcess, kind: bytes, address: str, port: int, tls: bool) -> None:
    device = next((d for d in sim.devices if d.address == address), None)
    if device is None or getattr(device, _field(kind, tls)) is not None:  # distinct ports on one address
        device = SimDevice(address)
        sim.devices.append(device)
    setattr(device, _field(kind, tls), port)


def _field(kind: bytes, tls: bool) -> str:
    if kind == b"redirection":
        return "tls_port" if tls else "plain_port"
    return "wsman_tls_port" if tls else "wsman_port"


def start_sim(
    env: dict[str, str],
    *extra: str,
    password: str = "Sim-Pass-123!",
    plain: bool = True,
    tls: bool = True,
    wsman: bool = False,
    timeout: float = 15.0,
) -> SimProcess:
    """Start `amtterm sim` on free ports and wait until it says it is ready.

    Args:
        env: the environment (see :func:`isolated_env`).
        extra: more `amtterm sim` options (they win over the port options below).
        password: the AMT password (passed as AMT_PASSWORD).
        plain: serve the plain redirection port.
        tls: serve the TLS redirection port.
        wsman: serve WS-Man on HTTP and HTTPS.
        timeout: seconds to wait for the ready line.
    """
    sim_env = dict(env, AMT_PASSWORD=password)
    ports = ["--redir-port", "0" if plain else "off", "--redir-tls-port", "0" if tls else "off"]
    ports += ["--wsman-port", "0" if wsman else "off", "--wsman-tls-port", "0" if wsman else "off"]
    proc = subprocess.Popen(
        [*amtterm_argv(), "sim", *ports, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=sim_env,
    )
    sim = SimProcess(proc, password)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            if READY in buf:
                for m in LISTEN_RE.finditer(buf):
                    _record(sim, m.group(1), m.group(2).decode(), int(m.group(3)), m.group(4) == b"TLS")
                if sim.devices:
                    first = sim.devices[0]
                    sim.plain_port, sim.tls_port = first.plain_port, first.tls_port
                    sim.wsman_port, sim.wsman_tls_port = first.wsman_port, first.wsman_tls_port
                sim.lines = buf.decode(errors="replace").splitlines()
                return sim
        elif proc.poll() is not None:
            break
    sim.stop()
    raise AssertionError(f"amtterm sim did not start: {buf.decode(errors='replace')}")


def isolated_env(tmp: Path) -> dict[str, str]:
    """An environment whose config and state dirs are private to one test."""
    env = dict(os.environ)
    env["AMTTERM_CONFIG_DIR"] = str(tmp / "config")
    env["AMTTERM_STATE_DIR"] = str(tmp / "state")
    env.pop("AMT_PASSWORD", None)
    # A terminal's size comes from its pty (tmux, PtyProcess); pytest-xdist's workers export
    # COLUMNS=80 LINES=24, which Textual and Python would take over the pty's real size.
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def sol_at_post(tmp: Path) -> Iterator[tuple[SimProcess, PtyProcess]]:
    """A plain `amtterm sim` and `amtterm sol -P` on a pseudo-terminal, once POST has shown."""
    env = isolated_env(tmp)
    sim = start_sim(env, tls=False)
    term = PtyProcess(
        [*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port)],
        env=dict(env, AMT_PASSWORD=sim.password),
    )
    try:
        term.expect(b"Press F2", timeout=20)
        yield sim, term
    finally:
        term.close()
        sim.stop()

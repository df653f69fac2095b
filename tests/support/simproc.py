"""Start `amtterm sim` as a separate process on loopback with free ports, and stop it."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

LISTEN_RE = re.compile(rb"redirection listening on (\S+):(\d+) \((plain|TLS)")


@dataclass
class SimProcess:
    """A running simulator: its ports, password and process."""

    proc: subprocess.Popen[bytes]
    password: str
    plain_port: int | None = None
    tls_port: int | None = None
    lines: list[str] = field(default_factory=list)

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


def start_sim(
    env: dict[str, str],
    *extra: str,
    password: str = "Sim-Pass-123!",
    plain: bool = True,
    tls: bool = True,
    timeout: float = 15.0,
) -> SimProcess:
    """Start `amtterm sim` with free plain and/or TLS ports and wait for its listener lines."""
    sim_env = dict(env, AMT_PASSWORD=password)
    ports = ["--redir-port", "0" if plain else "off", "--redir-tls-port", "0" if tls else "off"]
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
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            for m in LISTEN_RE.finditer(buf):
                if m.group(3) == b"plain":
                    sim.plain_port = int(m.group(2))
                else:
                    sim.tls_port = int(m.group(2))
            if (sim.plain_port or not plain) and (sim.tls_port or not tls):
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
    env["PYTHONUNBUFFERED"] = "1"
    return env

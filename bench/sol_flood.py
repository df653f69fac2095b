"""Benchmark: a flood of ANSI-heavy console output through `amtterm sol` and Debian's `amtterm`.

Both clients run on a pseudo-terminal, against the same `amtterm sim` (plain port,
legacy plain auth, so Debian's 1.4 client can log in), in the same run. The
simulator sends ``FLOOD-BEGIN``, N bytes of coloured text, and ``FLOOD-END N SHA256``
as soon as the SOL session starts. The pty is read as fast as possible ("fast"), and
then by a deliberately slow reader ("slow terminal") that is slower than the
network, where a good client pushes back instead of dropping bytes.

Printed per client and scenario: MB/s from the first flood byte to the end marker,
bytes lost (N minus bytes delivered), whether the SHA-256 matched, CPU seconds per MB
(user + system of the client process), and the ratio ours / theirs.

    .venv/bin/python bench/sol_flood.py [--mb 8] [--slow-kbps 2000]

Everything runs on 127.0.0.1 and stops by itself (each run is bounded in time).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pty
import re
import resource
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.simproc import isolated_env, start_sim  # noqa: E402

DEBIAN_AMTTERM = "/usr/bin/amtterm"
# The flood's trailer: colours reset, cursor to the last row, then the end line.
END_RE = re.compile(rb"\x1b\[0m\x1b\[\d+;1H\r\nFLOOD-END (\d+) ([0-9a-f]{64})\r\n")
BEGIN_RE = re.compile(rb"FLOOD-BEGIN (\d+)\r?\n")
RUN_TIMEOUT = 180.0
#: Silence after the flood began that counts as "the end marker is not coming".
IDLE_END = 3.0


@dataclass
class Result:
    """One client, one scenario."""

    name: str
    scenario: str
    expected: int
    delivered: int
    seconds: float
    cpu: float
    hash_ok: bool
    wall: float = 0.0  # from starting the client process to the end marker (start-up included)

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.delivered)

    @property
    def mbps(self) -> float:
        return self.delivered / 1e6 / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_per_mb(self) -> float:
        return self.cpu / (self.delivered / 1e6) if self.delivered else float("inf")


def run_client(
    argv: list[str], env: dict[str, str], name: str, scenario: str, slow_bps: float | None
) -> Result:
    """Run one client on a pty until the flood's end marker (or timeout); measure it."""
    t_launch = time.monotonic()
    master, slave = pty.openpty()
    # Output post-processing off (no LF -> CR LF), as `tty.setraw` leaves it: Debian's
    # amtterm keeps whatever it finds, so both clients deliver bytes 1:1.
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    buf = bytearray()
    t_begin: float | None = None
    begin_at = 0
    deadline = time.monotonic() + RUN_TIMEOUT
    end = None
    read_size = 65536 if slow_bps is None else 4096
    last_data = time.monotonic()
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready and t_begin is not None and time.monotonic() - last_data > IDLE_END:
                break  # the end marker was lost: the client dropped bytes
            if ready:
                last_data = time.monotonic()
                try:
                    chunk = os.read(master, read_size)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                if t_begin is None:
                    m = BEGIN_RE.search(buf)
                    if m:
                        t_begin = time.monotonic()
                        begin_at = m.end()
                if t_begin is not None:
                    # Only the new bytes (and a marker's length before them) can hold
                    # the end marker: scanning all of buf each time would be quadratic.
                    end = END_RE.search(buf, max(begin_at, len(buf) - len(chunk) - 200))
                    if end:
                        break
                if slow_bps:
                    time.sleep(len(chunk) / slow_bps)
            elif proc.poll() is not None:
                break
        t_end = last_data if end is None else time.monotonic()
        os.write(master, b"\x1d")  # Ctrl-]: both clients end the session
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    finally:
        os.close(master)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    if t_begin is None:
        return Result(name, scenario, 0, 0, 0.0, cpu, False)
    expected = int(BEGIN_RE.search(buf).group(1))  # type: ignore[union-attr]
    if end is not None:
        body = bytes(buf[begin_at : end.start()])
        hash_ok = hashlib.sha256(body).hexdigest() == end.group(2).decode()
    else:
        body = bytes(buf[begin_at:])
        hash_ok = False
    return Result(name, scenario, expected, len(body), t_end - t_begin, cpu, hash_ok, t_end - t_launch)


def measure(argv: list[str], env: dict[str, str], name: str, scenario: str, slow: float | None) -> Result:
    """Run a client and charge it only the CPU it used (children rusage is cumulative)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_client(argv, env, name, scenario, slow)
    result.cpu -= before.ru_utime + before.ru_stime
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=8.0, help="flood size in MB (default 8)")
    parser.add_argument(
        "--slow-kbps", type=float, default=2000.0, help="slow terminal reader speed in kB/s (default 2000)"
    )
    args = parser.parse_args()
    if not os.path.exists(DEBIAN_AMTTERM):
        print(f"{DEBIAN_AMTTERM} is missing: apt-get install amtterm", file=sys.stderr)
        return 2
    nbytes = int(args.mb * 1e6)
    with tempfile.TemporaryDirectory(prefix="amtterm-bench-") as tmp:
        env = isolated_env(Path(tmp))
        sim = start_sim(env, "--power-on", "off", "--flood-on-attach", str(nbytes), tls=False)
        try:
            client_env = dict(env, AMT_PASSWORD=sim.password)
            port = str(sim.plain_port)
            ours = [sys.executable, "-m", "amtterm", "sol", "-P", "-L", "127.0.0.1", port]
            theirs = [DEBIAN_AMTTERM, "-q", "-u", "admin", "127.0.0.1", port]
            results = []
            for scenario, slow in (("fast reader", None), ("slow terminal", args.slow_kbps * 1000)):
                results.append(measure(ours, client_env, "amtterm sol (ours)", scenario, slow))
                results.append(measure(theirs, client_env, "Debian amtterm 1.4", scenario, slow))
        finally:
            sim.stop()

    print(f"\nSOL flood: {nbytes / 1e6:.1f} MB of ANSI-heavy output, plain port, loopback\n")
    print("MB/s: delivered bytes from the first flood byte on the terminal to the end marker;")
    print("wall s: from starting the client to the end marker (connecting and start-up included).\n")
    header = f"{'client':<22} {'scenario':<14} {'MB/s':>8} {'wall s':>7} {'lost bytes':>11} {'sha256':>7}"
    print(f"{header} {'CPU s/MB':>9}")
    for r in results:
        print(
            f"{r.name:<22} {r.scenario:<14} {r.mbps:>8.2f} {r.wall:>7.2f} {r.lost:>11} "
            f"{'ok' if r.hash_ok else 'BAD':>7} {r.cpu_per_mb:>9.3f}"
        )
    print()
    for scenario in ("fast reader", "slow terminal"):
        ours_r, theirs_r = (r for r in results if r.scenario == scenario)
        speed = ours_r.mbps / theirs_r.mbps if theirs_r.mbps else float("inf")
        cpu = ours_r.cpu_per_mb / theirs_r.cpu_per_mb if theirs_r.cpu_per_mb else float("inf")
        print(
            f"{scenario}: throughput ours/theirs = {speed:.2f}x, CPU per MB ours/theirs = {cpu:.2f}x, "
            f"lost ours {ours_r.lost} vs theirs {theirs_r.lost}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: `amtterm power status --all` over 1,000 simulated AMT devices.

One `amtterm sim --hosts N` process serves N complete devices (redirection and WS-Man,
plain and TLS, each device on its own loopback address 127.0.x.y) and writes a hosts
file that names them with their TLS pins. Then `amtterm power status --all` runs as a
separate process, as a user would run it, over HTTPS with digest auth, once with the
default concurrency (16) and once with concurrency 1 as the baseline.

Printed per run: wall time, status queries per second, HTTP requests per second (each
query is one Get, answered 401 first and then 200: two requests), peak memory (maximum
resident set) of the client process, and the speed-up over concurrency 1. The
simulator's own peak memory is printed too.

    .venv/bin/python bench/wsman_power.py [--hosts 1000] [--concurrency 16] [--plain] [--delay 0.01]

On loopback with no delay the run measures CPU cost (client and simulator share the
machine), so concurrency gains little; ``--delay`` makes each device answer later, as a
busy ME or a distant network does, and shows what the bound on concurrency buys.

Everything runs on loopback and stops by itself: each run is bounded in time, and the
simulator is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.simproc import amtterm_argv, isolated_env, start_sim  # noqa: E402

RUN_TIMEOUT = 300.0
HTTP_REQUESTS_PER_QUERY = 2  # the unauthenticated 401, then the digest-authenticated 200


@dataclass
class Result:
    """One `amtterm power status --all` run."""

    concurrency: int
    hosts: int
    seconds: float
    peak_rss_mb: float
    failed: int

    @property
    def queries_per_second(self) -> float:
        return self.hosts / self.seconds

    @property
    def requests_per_second(self) -> float:
        return self.hosts * HTTP_REQUESTS_PER_QUERY / self.seconds


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a running process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_status(env: dict[str, str], hosts_file: Path, concurrency: int, plain: bool) -> Result:
    """Run `amtterm power status --all` once; measure wall time and the client's peak memory."""
    argv = [*amtterm_argv(), "power", "status", "--all", "--hosts-file", str(hosts_file)]
    argv += ["--concurrency", str(concurrency)]
    if plain:
        argv.append("-P")
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = started + RUN_TIMEOUT
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit(f"amtterm power status --all did not finish within {RUN_TIMEOUT:.0f} s")
            time.sleep(0.01)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = out.read().decode(errors="replace").splitlines()
    failed = sum(" error: " in line for line in lines)
    hosts = sum(1 for line in lines if line.startswith("sim"))
    if proc.returncode != 0 and not failed:
        raise SystemExit(f"amtterm failed: {lines[-3:]}")
    return Result(concurrency, hosts, seconds, usage.ru_maxrss / 1024, failed)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=1000, help="simulated devices (default 1000)")
    parser.add_argument("--concurrency", type=int, default=16, help="hosts queried at once (default 16)")
    parser.add_argument("--plain", action="store_true", help="plain HTTP (16992) instead of HTTPS")
    parser.add_argument(
        "--delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="each simulated device answers each request this much later (a slow ME, a far network)",
    )
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="amtterm-bench-") as scratch:
        env = isolated_env(Path(scratch))
        hosts_file = Path(scratch) / "hosts.toml"
        started = time.monotonic()
        sim = start_sim(
            env,
            "--hosts",
            str(options.hosts),
            "--amt-version",
            "16.1",
            "--write-hosts",
            str(hosts_file),
            "--wsman-delay",
            str(options.delay),
            wsman=True,
            timeout=120,
        )
        try:
            startup = time.monotonic() - started
            print(
                f"amtterm sim --hosts {options.hosts}: {len(sim.devices)} devices, "
                f"{len(sim.devices) * 4} listening sockets, ready in {startup:.1f} s"
            )
            run_env = dict(env, AMT_PASSWORD=sim.password)
            if options.plain:  # the same hosts, on their plain HTTP ports
                sections = [
                    f'[hosts.sim{i:0{len(str(options.hosts))}d}]\naddress = "{device.address}"\n'
                    f"tls = false\nwsman_port = {device.wsman_port}\n"
                    for i, device in enumerate(sim.devices, 1)
                ]
                hosts_file.write_text('[defaults]\npassword_env = "AMT_PASSWORD"\n\n' + "\n".join(sections))
            scheme = "HTTP" if options.plain else "HTTPS"
            runs = [run_status(run_env, hosts_file, options.concurrency, options.plain)]
            if options.concurrency != 1:
                runs.append(run_status(run_env, hosts_file, 1, options.plain))
            sim_rss = peak_rss_mb(sim.proc.pid)
        finally:
            sim.stop()

    base = runs[-1]
    delay = f", {options.delay * 1000:g} ms per reply" if options.delay else ", no added delay (loopback)"
    print(f"amtterm power status --all over {scheme}, digest auth, {options.hosts} hosts{delay}:")
    columns = ("concurrency", "wall s", "hosts/s", "HTTP req/s", "client peak MB", "speed-up")
    widths = (11, 7, 8, 10, 14, 8)
    print("  ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True)))
    for run in runs:
        print(
            f"{run.concurrency:>11}  {run.seconds:>7.2f}  {run.queries_per_second:>8.0f}  "
            f"{run.requests_per_second:>10.0f}  {run.peak_rss_mb:>14.1f}  {base.seconds / run.seconds:>7.1f}x"
        )
        if run.failed or run.hosts != options.hosts:
            print(f"  ({run.failed} hosts failed, {run.hosts} answered)")
    print(f"simulator peak memory: {sim_rss:.0f} MB for {options.hosts} devices (one process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

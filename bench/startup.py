"""Benchmark: how soon ``amtterm demo`` shows POST text, and its peak memory, against baselines.

Each program runs on a pseudo-terminal of its own (as a person starts it), one after another and
alternating in rounds, so that a busy machine disturbs all alike. Imports are read from byte code
(a private cache, filled by a first round that is not counted), as after ``pip install``:

* ``python -c pass``: the interpreter alone;
* ``python -c "import textual"``: the interpreter and Textual, which the console cannot do without;
* ``amtterm demo``: the simulator and the console in one process, until the simulated PC's first
  POST text (``DemoTech``) has been drawn on the terminal; then SIGTERM (the console leaves the
  terminal as it found it).

Printed per program: median and worst wall time to exit (baselines) or to the first POST text
(demo), and its peak resident memory (``ru_maxrss`` of that child alone, from ``wait4``).
Targets: demo <= 1 s to POST and <= 120 MB.

    .venv/bin/python bench/startup.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.ptyproc import PtyProcess  # noqa: E402
from tests.support.simproc import isolated_env  # noqa: E402

POST_TEXT = b"DemoTech"
TARGET_SECONDS = 1.0
TARGET_MB = 120.0


def run_once(argv: list[str], env: dict[str, str], until: bytes | None) -> tuple[float, float]:
    """Start ``argv``; return (seconds to exit, or to ``until`` on the terminal; peak RSS in MB)."""
    started = time.monotonic()
    term = PtyProcess(argv, env=env, cols=120, rows=40)
    try:
        if until is not None:
            term.expect(until, timeout=60)
            took = time.monotonic() - started
            term.proc.send_signal(signal.SIGTERM)
        # Drain the terminal while the child ends, then reap it with its own rusage.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not term._read_some(0.05):
                pid, status, usage = os.wait4(term.proc.pid, os.WNOHANG)
                if pid:
                    term.proc.returncode = os.waitstatus_to_exitcode(status)
                    break
        else:
            raise RuntimeError(f"{argv} did not end")
        if until is None:
            took = time.monotonic() - started
        return took, usage.ru_maxrss / 1024
    finally:
        term.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each program (default 5)")
    args = parser.parse_args()
    python = sys.executable
    programs = {
        "python -c pass": ([python, "-c", "pass"], None),
        'python -c "import textual"': ([python, "-c", "import textual"], None),
        "amtterm demo (to POST)": ([python, "-m", "amtterm", "demo"], POST_TEXT),
    }
    times: dict[str, list[float]] = {name: [] for name in programs}
    peaks: dict[str, list[float]] = {name: [] for name in programs}
    with tempfile.TemporaryDirectory(prefix="amtterm-bench-") as scratch:
        env = isolated_env(Path(scratch))
        # As installed: imports come from byte code (pip compiles it), kept in a private cache here
        # so that the venv is not touched; a first round, not counted, fills it.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "pycache")
        for argv, until in programs.values():
            run_once(argv, env, until)
        for _ in range(args.rounds):
            for name, (argv, until) in programs.items():
                took, peak = run_once(argv, env, until)
                times[name].append(took)
                peaks[name].append(peak)
    print(f"{'program':30} {'median s':>9} {'worst s':>8} {'peak MB':>8}")
    for name in programs:
        print(
            f"{name:30} {statistics.median(times[name]):9.3f} {max(times[name]):8.3f} {max(peaks[name]):8.1f}"
        )
    demo = "amtterm demo (to POST)"
    median, peak = statistics.median(times[demo]), max(peaks[demo])
    verdict = "met" if median <= TARGET_SECONDS and peak <= TARGET_MB else "missed"
    print(f"target <= {TARGET_SECONDS:g} s and <= {TARGET_MB:g} MB: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

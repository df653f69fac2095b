"""bench/ider_throughput.py runs to its end and every byte read over IDE-R matches the image.

No timing is asserted: the figures depend on the machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "ider_throughput.py"


def test_the_ider_benchmark_reads_the_whole_image_intact(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--mb", "2", "--max-read", "256", "--repeat", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith(("IDE-R ", "copy "))]
    table = [row for row in rows if row.rstrip().endswith(("ok", "BAD"))]
    assert len(table) == 8 and all(row.rstrip().endswith("ok") for row in table), result.stdout
    assert "x the plain copy" in result.stdout and "x the TLS copy" in result.stdout
    assert "real AMT's ~1.5 MB/s" in result.stdout

"""bench/kvm_latency.py runs to its end against a real QEMU (iPXE on SeaBIOS) and prints both tables.

No timing is asserted: the figures depend on the machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent.parent / "bench" / "kvm_latency.py"

pytestmark = [pytest.mark.real, pytest.mark.timeout(400)]


def test_the_kvm_latency_benchmark_types_on_ipxe_and_counts_frame_bytes(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--keys", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=360,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"KVM through amtterm sim\s+\d+\.\d\s+\d+\.\d", out), out
    assert re.search(r"QEMU's VNC socket \(baseline\)\s+\d+\.\d\s+\d+\.\d", out), out
    sizes = re.findall(r"720x400\s+(\d+)\s+(\d+)\s+", out)
    assert len(sizes) == 2, out
    # A text screen compresses: ZRLE is far below RAW's 720x400x2 bytes (plus headers).
    assert all(int(zrle) < int(raw) // 10 and int(raw) > 720 * 400 * 2 for zrle, raw in sizes), sizes

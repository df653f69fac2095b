"""bench/fuzz.py: the small profile .ci/run runs is clean, and a crash or a hang is reported."""

from __future__ import annotations

import importlib.util
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["redir-console", "redir-device", "frames", "scsi", "nbd", "wsman", "uefi-params"]


def load_fuzz(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("amtterm_bench_fuzz", ROOT / "bench" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_the_small_profile_runs_every_target_without_findings() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fuzz.py"), "--cases", "3500"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in TARGETS:
        assert re.search(rf"^{name}\s+500 cases", result.stdout, re.MULTILINE), result.stdout
    assert result.stdout.rstrip().endswith("total 3500 cases, 0 findings"), result.stdout


def test_a_crash_and_a_hang_are_findings_with_their_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fuzz = load_fuzz(monkeypatch)

    def crash(rng: random.Random, data: bytes) -> None:
        raise IndexError("planted")

    def hang(rng: random.Random, data: bytes) -> None:
        time.sleep(5)

    monkeypatch.setattr(fuzz, "scsi_case", crash)
    assert fuzz.main(["--target", "scsi", "--cases", "3"]) == 1
    out = capsys.readouterr().out
    assert out.count("FINDING scsi case") == 3 and "IndexError: planted" in out
    assert re.search(r"input: [0-9a-f]{24}", out), out

    monkeypatch.setattr(fuzz, "frames_case", hang)
    started = time.monotonic()
    assert fuzz.main(["--target", "frames", "--cases", "1"]) == 1
    assert "ran longer than 1 s" in capsys.readouterr().out
    assert time.monotonic() - started < 3

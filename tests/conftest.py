"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.simproc import SimProcess, isolated_env, start_sim


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A process environment with private config and state directories."""
    return isolated_env(tmp_path)


@pytest.fixture
def sim(env: dict[str, str]) -> Iterator[SimProcess]:
    """`amtterm sim` (AMT 11.8 profile) on free loopback ports, plain and TLS."""
    process = start_sim(env)
    yield process
    process.stop()


@pytest.fixture
def sim_modern(env: dict[str, str]) -> Iterator[SimProcess]:
    """`amtterm sim --amt-version 16.1`: digest only, TLS only."""
    process = start_sim(env, "--amt-version", "16.1", plain=False)
    yield process
    process.stop()

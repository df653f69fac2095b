"""Fixtures for the synthetic host tests (the helpers live in ``tests/sim/console.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.sim.console import Console


@pytest.fixture
def console() -> Callable[..., Console]:
    """Make a powered-off Console: ``console(columns=80, rows=25, vendor=...)``."""
    return Console


@pytest.fixture
def booted() -> Callable[..., Console]:
    """Make a Console that is powered on and showing the start of POST."""

    def make(columns: int = 80, rows: int = 25, **options: object) -> Console:
        con = Console(columns, rows, **options)
        con.power_on()
        return con

    return make


@pytest.fixture
def shell() -> Callable[..., Console]:
    """Make a Console logged in at the shell prompt (user ``alice``)."""

    def make(columns: int = 80, rows: int = 25, **options: object) -> Console:
        con = Console(columns, rows, **options)
        con.power_on()
        con.wait_for("login:")
        con.send(b"alice\r")
        con.wait_for("Password:")
        con.send(b"secret\r")
        con.wait_for("alice@demo-host:~$")
        return con

    return make

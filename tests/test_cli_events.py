"""`amtterm events`, `boot ... --wait` and `info` as a user runs them, against a real simulator.

The simulator is `amtterm sim` in its own process (real sockets, its synthetic PC booting on
its own clock), except for the firmware that ignores AMT's boot options: that device runs in
this process on loopback so the test can switch its BIOS that way.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from amtterm.sim.app import RunningSim, SimOptions, start_sim
from tests.support.simproc import SimProcess
from tests.support.simproc import start_sim as start_sim_process
from tests.test_cli_ider import iso, start_ider, stop, wait_for_text  # noqa: F401  (iso: the fixture)
from tests.test_cli_wsman import Amtterm, amtterm  # noqa: F401  (the fixture)

pytestmark = pytest.mark.timeout(90)
PASSWORD = "Sim-Pass-123!"  # what the amtterm fixture puts in AMT_PASSWORD


@pytest.fixture
def booted(env: dict[str, str]) -> Iterator[SimProcess]:
    """`amtterm sim` (AMT 16.1) whose PC was powered on at start."""
    process = start_sim_process(env, "--amt-version", "16.1", "--power-on", "start", wsman=True)
    yield process
    process.stop()


def plain(port: int | None) -> list[str]:
    return ["-P", "--wsman-port", str(port)]


def wait_for_events(run: Amtterm, opts: list[str], text: str, seconds: float = 30) -> list[str]:
    """The event lines once one contains ``text`` (the synthetic PC boots in about 5 s)."""
    deadline = time.monotonic() + seconds
    lines: list[str] = []
    while time.monotonic() < deadline:
        result = run("events", "127.0.0.1", *opts)
        assert result.code == 0, result.err
        lines = result.out.splitlines()
        if any(text in line for line in lines):
            return lines
        time.sleep(0.5)
    raise AssertionError(f"no {text!r} in the event log: {lines}")


def test_events_after_power_on_say_post_boot_device_and_os_boot(
    amtterm: Amtterm,  # noqa: F811  (the fixture of tests/test_cli_wsman.py)
    booted: SimProcess,
) -> None:
    opts = plain(booted.wsman_port)
    lines = wait_for_events(amtterm, opts, "BIOS: starting OS boot")
    texts = [line.split("  ", 1)[1] for line in lines]
    assert texts[:5] == [
        "power: powered on",
        "BIOS: primary processor initialization",
        "BIOS: memory initialization",
        "boot device selected: hard disk",
        "BIOS: starting OS boot",
    ]
    assert lines[0][:4].isdigit() and lines[0][13] == ":"  # 2026-12-07 12:03:41  ...

    data = json.loads(amtterm("events", "127.0.0.1", "--json", *opts).out)
    assert [e["kind"] for e in data["events"]][:5] == ["power", "post", "post", "boot-device", "os-boot"]
    assert data["events"][3]["device"] == "disk" and data["events"][0]["iso_time"].endswith("Z")

    assert amtterm("events", "127.0.0.1", "--since", "1h", *opts).out.splitlines() == lines
    after = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(data["events"][-1]["time"] + 1))
    none = amtterm("events", "127.0.0.1", "--since", after, *opts)
    assert none.code == 0 and none.out.strip() == f"127.0.0.1: no events since {after}."
    bad = amtterm("events", "127.0.0.1", "--since", "soon", *opts).one_sentence()
    assert bad.startswith("--since 'soon' is neither a duration")


def test_boot_bios_then_reset_wait_says_it_entered_setup(
    amtterm: Amtterm,  # noqa: F811  (the fixture of tests/test_cli_wsman.py)
    booted: SimProcess,
) -> None:
    opts = plain(booted.wsman_port)
    run = amtterm("boot", "127.0.0.1", "bios", "--then", "reset", "--wait", "60", *opts)
    assert run.code == 0, run.out + run.err
    assert run.out.splitlines()[-1] == "127.0.0.1: entered BIOS setup"
    lines = amtterm("events", "127.0.0.1", "--since", "1h", *opts).out.splitlines()
    assert lines[-1].endswith("BIOS: entered BIOS setup") and any("power: hard reset" in x for x in lines)

    ider = amtterm("boot", "127.0.0.1", "ider-cd", "--then", "reset", "--wait", "60", "--json", *opts)
    assert ider.code == 1  # nobody serves an IDE-R image: the BIOS found no medium
    outcome = json.loads(ider.out)["outcome"]
    assert not outcome["happened"]
    assert outcome["message"] == "the IDE-R CD did not boot: no bootable medium"

    alone = amtterm("boot", "127.0.0.1", "bios", "--wait", *opts).one_sentence()
    assert alone.startswith("--wait follows a boot that starts now")


def test_info_says_what_the_machine_is(
    amtterm: Amtterm,  # noqa: F811  (the fixture of tests/test_cli_wsman.py)
    booted: SimProcess,
) -> None:
    run = amtterm("info", "127.0.0.1", *plain(booted.wsman_port))
    assert run.code == 0, run.err
    assert "AMT version:     16.1.0" in run.out  # the lines before stay as they were
    assert "SKU:             Intel AMT (full manageability), corporate" in run.out
    assert "features:        KVM yes, SOL yes, IDE-R yes, OCR no, Platform Erase no" in run.out
    assert "BIOS:            DemoTech 2.17.1249 (2024-03-14)" in run.out
    assert "machine:         DemoTech Demo PC" in run.out
    assert "platform GUID:   4C4C4544-0042-3510-8052-B7C04F4D3732" in run.out
    data = json.loads(amtterm("info", "127.0.0.1", "--json", *plain(booted.wsman_port)).out)
    assert data["machine"]["bios_vendor"] == "DemoTech" and data["machine"]["sku_value"] == 16392


class ThreadedSim:
    """The whole simulator (synthetic PC, redirection and WS-Man on loopback) in a thread of this
    process, so a test can reach into its device state."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        options = SimOptions(
            redir_port=0,
            redir_tls_port=None,
            wsman_port=0,
            amt_version=(16, 1),
            password=PASSWORD,
            power_on="start",
        )
        self.sim: RunningSim = asyncio.run_coroutine_threadsafe(
            start_sim(options, log=lambda line: None), self.loop
        ).result(10)
        self.host = self.sim.hosts[0]

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.sim.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def test_a_setting_the_bios_ignores_is_reported_as_cleared_without_use(
    amtterm: Amtterm,  # noqa: F811  (the fixture of tests/test_cli_wsman.py)
) -> None:
    device = ThreadedSim()
    try:
        device.host.state.events.honour_boot_options = False  # firmware without AMT boot support
        opts = plain(device.host.port("wsman", False))
        run = amtterm("boot", "127.0.0.1", "bios", "--then", "reset", "--wait", "60", *opts)
        assert run.code == 1, run.out + run.err
        lines = run.out.splitlines()
        assert lines[1] == (
            "127.0.0.1: the one-time setting was cleared without being used "
            "(did not enter BIOS setup: the machine booted the hard disk)"
        )
        assert any(line.endswith("boot device selected: hard disk") for line in lines[2:])
    finally:
        device.close()


def test_boot_ider_cd_wait_says_it_booted_the_ider_cd_while_an_image_is_served(
    amtterm: Amtterm,  # noqa: F811
    env: dict[str, str],
    iso: Path,  # noqa: F811  (the fixture of tests/test_cli_ider.py)
) -> None:
    sim = start_sim_process(env, wsman=True, tls=False)
    ider = start_ider(env, sim, "--cd", str(iso))  # served from the next reset on
    try:
        wait_for_text(ider, "IDE-R [waiting]", timeout=30)
        run = amtterm(
            "boot", "127.0.0.1", "ider-cd", "--then", "reset", "--wait", "60", *plain(sim.wsman_port)
        )
        assert run.code == 0, run.out + run.err
        assert run.out.splitlines()[-1] == "127.0.0.1: booted the IDE-R CD"
    finally:
        stop(ider)
        sim.stop()

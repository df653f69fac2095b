"""`amtterm info`, `doctor` and `power status` as a user sees them when a device is odd.

An in-process simulated device serves WS-Man on a loopback port from a thread (so a test can
make it refuse one Get, as some firmware does); `amtterm` runs in this process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from amtterm.sim.wsman.server import WsmanServer
from amtterm.sim.wsman.state import DeviceState
from tests.test_cli_wsman import Amtterm, CannedServer, amtterm  # noqa: F401  (the fixture)
from tests.wsman.conftest import FakeHost

pytestmark = pytest.mark.timeout(60)
PASSWORD = "Sim-Pass-123!"  # what the amtterm fixture puts in AMT_PASSWORD
APMS = "CIM_AssociatedPowerManagementService"


class ThreadedDevice:
    """A simulated device's WS-Man server on 127.0.0.1 (plain HTTP), run by its own event loop."""

    def __init__(self) -> None:
        self.state = DeviceState(host=FakeHost(), amt_version="16.1.25")
        self.server = WsmanServer(self.state, password=PASSWORD)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self.server.start("127.0.0.1", 0), self.loop).result(10)

    @property
    def opts(self) -> list[str]:
        return ["-P", "--wsman-port", str(self.port)]

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def device() -> Iterator[ThreadedDevice]:
    running = ThreadedDevice()
    yield running
    running.close()


def test_power_status_works_when_only_enumerate_answers(
    amtterm: Amtterm,  # noqa: F811  (the fixture of tests/test_cli_wsman.py)
    device: ThreadedDevice,
) -> None:
    device.state.get_refused.add(APMS)
    status = amtterm("power", "127.0.0.1", "status", *device.opts)
    assert status.code == 0, status.err
    assert status.out.startswith("127.0.0.1: on (can: off, cycle, reset")
    info = amtterm("info", "127.0.0.1", *device.opts)
    assert info.code == 0, info.err
    assert "power:           on (can: off, cycle, reset" in info.out


def test_info_prints_what_it_could_read_and_one_sentence_for_the_rest(
    amtterm: Amtterm,  # noqa: F811
    device: ThreadedDevice,
) -> None:
    device.state.get_refused.add("AMT_GeneralSettings")
    info = amtterm("info", "127.0.0.1", *device.opts)
    assert info.code == 0, info.err
    lines = dict(line.split(":", 1) for line in info.out.splitlines())
    assert lines["AMT version"].strip() == "16.1.25"
    assert lines["control mode"].strip() == "admin"
    assert lines["power"].strip().startswith("on (can:")
    assert lines["redirection"].strip() == "listener on, SOL on, IDE-R on"
    host = lines["host name"].strip()
    assert host.startswith("not read: The device has no such class or instance (DestinationUnreachable)")
    assert host.endswith(".") and "Traceback" not in info.out + info.err
    assert lines["digest realm"].strip() == "not read"
    doctor = amtterm("doctor", "127.0.0.1", *device.opts)
    assert (
        "[ok  ] identify         AMT 16.1 (Intel Corporation) answers WS-Management Identify." in doctor.out
    )
    assert "[WARN] device" in doctor.out and "host name not read: The device has no such class" in doctor.out


def test_wrong_password_is_told_apart_from_a_port_that_is_not_amt(
    amtterm: Amtterm,  # noqa: F811
    device: ThreadedDevice,
) -> None:
    wrong = amtterm("info", "127.0.0.1", *device.opts, password="not-it").one_sentence()
    assert wrong == (
        f"AMT 16.1 answers at 127.0.0.1:{device.port}, but the log-on failed: wrong user name or "
        "password, or the account is locked after repeated failures "
        "(AMT locks it for a while after 10 in a row)."
    )
    doctor = amtterm("doctor", "127.0.0.1", *device.opts, password="not-it")
    assert doctor.code == 1
    assert "[ok  ] identify" in doctor.out and "[FAIL] log-on" in doctor.out
    assert "AMT 16.1 answers, but the log-on as admin failed" in doctor.out

    for status, body in (("404 Not Found", "nothing here"), ("200 OK", "<html><body>Router</body></html>")):
        server = CannedServer(status, body)
        try:
            opts = ["-P", "--wsman-port", str(server.port)]
            not_amt = amtterm("info", "127.0.0.1", *opts).one_sentence()
            assert not_amt.startswith(
                f"127.0.0.1:{server.port} answers, but not as AMT's WS-Management port"
            ), not_amt
            doctor = amtterm("doctor", "127.0.0.1", *opts)
            assert doctor.code == 1
            assert "[FAIL] identify" in doctor.out and "[skip] log-on" in doctor.out
        finally:
            server.close()

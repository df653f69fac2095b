"""A UEFI PC behind the simulator: Debian's OVMF in QEMU, on SOL, and its One Click Recovery HTTPS boot.

OVMF writes its boot manager and setup screens to the serial port, which is the device's SOL stream;
a key typed in `amtterm sol` reaches it. For HTTPS boot the firmware itself fetches Debian's
``ipxe.efi`` from a TLS server on loopback and checks its certificate against the trusted roots the
device hands it; iPXE's banner on the serial console shows that the fetched image runs.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from amtterm.sim.host import HttpsBoot
from amtterm.sim.qemu_host import UefiQemuHost
from amtterm.sim.uefi import CERT_REFUSED, find_ovmf
from tests.support.https_boot import BootServer, make_ca
from tests.support.ptyproc import PtyProcess
from tests.support.simproc import amtterm_argv, start_sim

pytestmark = pytest.mark.real

ESC = b"\x1b"
IPXE_EFI = Path("/usr/lib/ipxe/ipxe.efi")


def _need_qemu_and_ovmf() -> None:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail(
            "qemu-system-x86_64 is missing: install the Debian package qemu-system-x86 (.ci/run does)"
        )
    if find_ovmf() is None:
        pytest.fail("OVMF is missing: install the Debian package ovmf (.ci/run does)")
    if not IPXE_EFI.is_file():
        pytest.fail(f"{IPXE_EFI} is missing: install the Debian package ipxe (.ci/run does)")


@pytest.mark.timeout(180)
def test_ovmf_setup_over_sol(env: dict[str, str]) -> None:
    """Esc during OVMF's boot timeout opens its setup on the SOL console; arrows and Enter work in it."""
    _need_qemu_and_ovmf()
    sim = start_sim(env, "--qemu", "--firmware", "uefi", tls=False)
    term = None
    try:
        assert sim.plain_port
        term = PtyProcess(
            [*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port)],
            env=dict(env, AMT_PASSWORD=sim.password),
        )
        term.expect(b"\x1b[2J", timeout=60)  # OVMF clears the screen once its console is up
        deadline = time.monotonic() + 90
        while b"Device Manager" not in term.output and time.monotonic() < deadline:
            term.send(ESC)  # the boot timeout is 5 s; Esc in it is OVMF's hot key for setup
            term.drain(1.0)
        assert b"Device Manager" in term.output, term.output[-2000:]
        term.expect(b"Boot Maintenance Manager", timeout=30)
        term.drain(2.0)
        mark = len(term.output)
        term.send(b"\x1b[B")  # Down twice: from "Select Language" to "Boot Manager"
        term.drain(1.0)
        term.send(b"\x1b[B")
        term.drain(1.0)
        term.send(b"\r")
        term.expect(b"EFI Internal Shell", timeout=30, since=mark)
        menu = bytes(term.output[mark:])
        assert b"Boot Manager Menu" in menu and b"UEFI QEMU DVD-ROM" in menu, menu[-2000:]
        term.send(b"\x1d")  # Ctrl-] quits the console
        assert term.wait(10) == 0
    finally:
        if term is not None:
            term.close()
        sim.stop()


Events = list[tuple[str, str]]


async def _boot(
    server: BootServer,
    roots: tuple[bytes, ...],
    done: Callable[[UefiQemuHost, bytes, Events], bool],
    timeout: float,
) -> tuple[UefiQemuHost, bytes, Events]:
    """Power on a UEFI host with an HTTPS boot of the server's file; read its serial until ``done``."""
    host = UefiQemuHost(memory_mb=512)
    events: list[tuple[str, str]] = []
    host.on_boot_event = lambda kind, text: events.append((kind, text))
    host.set_https_boot(HttpsBoot(server.url(), roots))
    output = bytearray()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    host.power_on(loop.time())
    try:
        while loop.time() < deadline:
            await asyncio.sleep(0.2)
            output += host.read_output(loop.time())
            if done(host, bytes(output), events):
                break
    finally:
        await host.aclose()
    return host, bytes(output), events


@pytest.mark.timeout(240)
def test_https_boot_of_ipxe_with_the_right_ca() -> None:
    """OVMF fetches ipxe.efi over TLS (trusting only the uploaded root) and iPXE's banner shows on SOL."""
    _need_qemu_and_ovmf()
    server = BootServer(IPXE_EFI)
    try:
        host, output, events = asyncio.run(
            _boot(server, (server.ca.der,), lambda host, out, _: b"iPXE initialising" in out, 200)
        )
    finally:
        server.close()
    assert b"iPXE initialising devices" in output, output[-2000:]
    outcome = host.last_https_boot
    assert outcome is not None and outcome.ok, outcome
    assert outcome.firmware_url == f"https://10.0.2.2:{server.port}/ipxe.efi"
    assert outcome.size == IPXE_EFI.stat().st_size
    assert server.requests[-1] == "GET /ipxe.efi"
    kinds = [kind for kind, _ in events]
    assert "starting" in kinds and "https-boot" in kinds
    assert any("Boot0100" in text and kind == "starting" for kind, text in events)


@pytest.mark.timeout(300)
def test_https_boot_with_a_wrong_ca_is_refused_and_the_pc_boots_on() -> None:
    """A chain no trusted root signs: no GET, the sentence, and OVMF goes on to its next boot option."""
    _need_qemu_and_ovmf()
    server = BootServer(IPXE_EFI)
    wrong = make_ca("someone else's CA")
    try:
        host, output, events = asyncio.run(_boot(server, (wrong.der,), _went_on, 260))
    finally:
        server.close()
    outcome = host.last_https_boot
    assert outcome is not None and not outcome.ok, output[-2000:]
    assert outcome.sentence == CERT_REFUSED
    assert "GET /ipxe.efi" not in server.requests
    assert server.handshakes_failed >= 1
    assert b"iPXE initialising" not in output
    assert ("https-boot", CERT_REFUSED) in events
    # Like real AMT firmware, the PC then boots as usual: OVMF tries its next boot option.
    assert any(kind in ("loading", "failed") and "Boot0100" not in text for kind, text in events), events


def _went_on(host: UefiQemuHost, output: bytes, events: Events) -> bool:
    """The HTTPS boot has an outcome and OVMF has moved on to another boot option."""
    return host.last_https_boot is not None and any(
        kind in ("loading", "failed") and "Boot0100" not in text for kind, text in events
    )

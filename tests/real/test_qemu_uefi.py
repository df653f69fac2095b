"""A UEFI PC behind the simulator: Debian's OVMF in QEMU, on SOL, and its One Click Recovery HTTPS boot.

OVMF writes its boot manager and setup screens to the serial port, which is the device's SOL stream;
a key typed in `amtterm sol` reaches it. For HTTPS boot the firmware itself fetches Debian's
``ipxe.efi`` from a TLS server on loopback and checks its certificate against the trusted roots the
device hands it; iPXE's banner on the serial console shows that the fetched image runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from amtterm.redir.connection import ConsoleConfig
from amtterm.session.sol import SolClient
from amtterm.sim.app import SimOptions
from amtterm.sim.app import start_sim as start_sim_inprocess
from amtterm.sim.host import HttpsBoot
from amtterm.sim.qemu_host import UefiQemuHost
from amtterm.sim.uefi import CERT_REFUSED, VariableStore, find_ovmf
from amtterm.transport.tcp import open_stream
from tests.real.test_qemu_ider import plain_text
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
PASSWORD = "Uefi-Pass-123!"


async def _boot(
    server: BootServer,
    roots: tuple[bytes, ...],
    done: Callable[[UefiQemuHost, bytes, Events], bool],
    timeout: float,
) -> tuple[UefiQemuHost, bytes, Events]:
    """A simulator with a UEFI PC, an HTTPS boot of the server's file set on its host, then a SOL
    console (whose arrival powers the PC on) read until ``done``: (host, SOL text, boot events)."""
    options = SimOptions(
        redir_port=0, redir_tls_port=None, password=PASSWORD, qemu=True, firmware="uefi", qemu_memory=512
    )
    sim = await start_sim_inprocess(options, log=lambda _: None)
    host = sim.device.host
    assert isinstance(host, UefiQemuHost)
    events: Events = []
    host.on_boot_event = lambda kind, text: events.append((kind, text))
    host.set_https_boot(HttpsBoot(server.url(), roots))
    output = bytearray()
    try:
        stream = await open_stream("127.0.0.1", sim.listeners[0].port, tls=None)
        client = SolClient(stream, ConsoleConfig(user="admin", password=PASSWORD), target="uefi-pc")
        await client.start()
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not done(host, bytes(output), events) and loop.time() < deadline:
                with contextlib.suppress(TimeoutError):
                    output += await asyncio.wait_for(client.read(), 1.0)
        finally:
            await client.close()
    finally:
        await sim.close()
    return host, bytes(output), events


@pytest.mark.timeout(180)
def test_https_boot_of_ipxe_with_the_right_ca() -> None:
    """OVMF fetches ipxe.efi over TLS (trusting only the uploaded root) and iPXE's banner shows on SOL,
    read through the simulator's redirection port."""
    _need_qemu_and_ovmf()
    server = BootServer(IPXE_EFI)
    try:
        host, output, events = asyncio.run(
            _boot(
                server,
                (server.ca.der,),
                _ipxe_runs,
                120,
            )
        )
    finally:
        server.close()
    assert b"iPXE initialising devices" in output, output[-2000:]
    assert b"Open Source Network Boot Firmware" in output
    outcome = host.last_https_boot
    assert outcome is not None and outcome.ok, outcome
    assert outcome.firmware_url == f"https://10.0.2.2:{server.port}/ipxe.efi"
    assert outcome.size == IPXE_EFI.stat().st_size
    assert server.requests[-1] == "GET /ipxe.efi"
    kinds = [kind for kind, _ in events]
    assert "https-boot-ok" in kinds  # the device's event log hears of it (amtterm events)
    assert any("Boot0100" in text and kind == "os-boot" for kind, text in events), events


@pytest.mark.timeout(180)
def test_https_boot_with_a_wrong_ca_is_refused_and_the_pc_boots_on() -> None:
    """A chain no trusted root signs: no GET, the sentence, and OVMF goes on to its next boot option."""
    _need_qemu_and_ovmf()
    server = BootServer(IPXE_EFI)
    wrong = make_ca("someone else's CA")
    try:
        host, output, events = asyncio.run(_boot(server, (wrong.der,), _went_on, 120))
    finally:
        server.close()
    outcome = host.last_https_boot
    assert outcome is not None and not outcome.ok, output[-2000:]
    assert outcome.sentence == CERT_REFUSED
    assert "GET /ipxe.efi" not in server.requests
    assert server.handshakes_failed >= 1
    assert b"iPXE initialising" not in output
    assert ("https-boot-failed", CERT_REFUSED) in events
    # Like real AMT firmware, the PC then boots as usual: OVMF tries its next boot option.
    assert any(kind in ("boot-device", "boot-failed") and "Boot0100" not in text for kind, text in events), (
        events
    )


def _ipxe_runs(host: UefiQemuHost, output: bytes, events: Events) -> bool:
    """iPXE's banner is on SOL, and the host has judged the HTTPS boot and reported the OS boot."""
    return (
        b"Open Source Network Boot Firmware" in output
        and host.last_https_boot is not None
        and any(kind == "os-boot" and "Boot0100" in text for kind, text in events)
    )


def _went_on(host: UefiQemuHost, output: bytes, events: Events) -> bool:
    """The HTTPS boot has an outcome and OVMF has moved on to another boot option."""
    return host.last_https_boot is not None and any(
        kind in ("boot-device", "boot-failed") and "Boot0100" not in text for kind, text in events
    )


@pytest.mark.timeout(120)
def test_boot_override_bios_opens_ovmf_setup_without_a_key() -> None:
    """AMT's "enter BIOS setup" override: the next start goes straight to OVMF's front page."""
    _need_qemu_and_ovmf()

    async def run() -> tuple[bytes, Events]:
        host = UefiQemuHost(memory_mb=512)
        events: Events = []
        host.on_boot_event = lambda kind, text: events.append((kind, text))
        host.set_next_boot("bios")
        loop = asyncio.get_running_loop()
        host.power_on(loop.time())
        output = bytearray()
        try:
            deadline = loop.time() + 90
            while b"Boot Maintenance Manager" not in output and loop.time() < deadline:
                await asyncio.sleep(0.2)
                output += host.read_output(loop.time())
        finally:
            await host.aclose()
        return bytes(output), events

    output, events = asyncio.run(run())
    assert b"Device Manager" in output and b"Boot Maintenance Manager" in output, output[-2000:]
    assert any(kind == "setup" and '"UiApp"' in text for kind, text in events), events


@pytest.mark.timeout(60)
def test_https_boot_from_a_host_the_pc_cannot_reach_fails_at_once() -> None:
    _need_qemu_and_ovmf()

    async def run() -> tuple[UefiQemuHost, Events, bytes | None]:
        host = UefiQemuHost(memory_mb=512)
        events: Events = []
        host.on_boot_event = lambda kind, text: events.append((kind, text))
        host.set_https_boot(HttpsBoot("https://boot.example.invalid/ipxe.efi", (make_ca().der,)))
        loop = asyncio.get_running_loop()
        host.power_on(loop.time())
        boot_next = VariableStore(host.nvram).get("BootNext")
        await host.aclose()
        return host, events, boot_next

    host, events, boot_next = asyncio.run(run())
    outcome = host.last_https_boot
    assert outcome is not None and not outcome.ok and outcome.firmware_url is None
    assert outcome.sentence.startswith(
        "HTTPS boot failed: the simulated PC cannot reach boot.example.invalid"
    )
    assert events == [("https-boot-failed", outcome.sentence)]
    assert boot_next is None  # the firmware was not asked to try


@pytest.mark.timeout(240)
def test_ider_cd_boot_on_ovmf_starts_the_isos_uefi_image(env: dict[str, str]) -> None:
    """``amtterm ider --cd ipxe.iso --boot`` on the UEFI PC: OVMF boots the CD-ROM, starts the
    ISO's El Torito UEFI image read over IDE-R, and iPXE runs; the console and the event log
    (``amtterm events``) both tell."""
    from tests.real.test_qemu_ider import IPXE_ISO, Ider, fingerprint, ider_argv

    _need_qemu_and_ovmf()
    before = fingerprint(IPXE_ISO)
    sim = start_sim(env, "--qemu", "--firmware", "uefi", "--power-on", "off", tls=False, wsman=True)
    run_env = dict(env, AMT_PASSWORD=sim.password)
    sol = ider = None
    try:
        assert sim.plain_port and sim.wsman_port
        sol = PtyProcess(
            [*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port), "--timeout", "90"], env=run_env
        )
        sol.expect(b"powered off", timeout=30)  # attached before the PC starts: nothing is missed
        ider = Ider(ider_argv(sim, "127.0.0.1", "--cd", str(IPXE_ISO), "--boot"), run_env)
        seen = plain_text(sol.expect(b"Open Source Network Boot Firmware", timeout=150))
        assert 'BdsDxe: starting Boot0001 "UEFI QEMU DVD-ROM' in seen, seen[-2000:]
        assert "Boot0100" not in seen and "Start PXE" not in seen  # the CD came first, nothing else tried
        progress = ider.drain()
        assert "boots into the IDE-R CD image" in progress, progress
        events = subprocess.run(
            [*amtterm_argv(), "events", "-P", "127.0.0.1", "--wsman-port", str(sim.wsman_port)],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert events.returncode == 0, events.stderr
        assert "boot device selected: IDE-R CD" in events.stdout, events.stdout
        sol.send(b"\x1d")
        assert sol.wait(10) == 0
    finally:
        if sol is not None:
            sol.close()
        if ider is not None:
            ider.stop()
        sim.stop()
    assert fingerprint(IPXE_ISO) == before


@pytest.mark.timeout(180)
def test_boot_pxe_on_ovmf_tries_the_network_before_the_cd(env: dict[str, str]) -> None:
    """``amtterm boot HOST pxe --then on``: OVMF's own order has the DVD-ROM first; AMT's PXE
    override puts the NIC first for that one boot, and the next boot is back to the usual order."""
    _need_qemu_and_ovmf()
    sim = start_sim(env, "--qemu", "--firmware", "uefi", "--power-on", "off", tls=False, wsman=True)
    run_env = dict(env, AMT_PASSWORD=sim.password)
    sol = None
    try:
        assert sim.plain_port and sim.wsman_port
        sol = PtyProcess([*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port)], env=run_env)
        sol.expect(b"powered off", timeout=30)

        def boot(*args: str) -> None:
            wsman = ["-P", "127.0.0.1", "--wsman-port", str(sim.wsman_port)]
            done = subprocess.run(
                [*amtterm_argv(), "boot", *wsman, *args],
                env=run_env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert done.returncode == 0, done.stderr

        boot("pxe", "--then", "on")
        seen = plain_text(sol.expect(b">>Start PXE over IPv4", timeout=90))
        assert "DVD-ROM" not in seen, seen[-2000:]  # the network first
        mark = len(sol.output)
        subprocess.run(
            [*amtterm_argv(), "power", "-P", "127.0.0.1", "--wsman-port", str(sim.wsman_port), "reset"],
            env=run_env,
            capture_output=True,
            timeout=30,
            check=True,
        )
        again = plain_text(sol.expect(b"DVD-ROM", timeout=90, since=mark)[mark:])
        assert "Start PXE" not in again, again[-2000:]  # one time only: the usual order again
        sol.send(b"\x1d")
        assert sol.wait(10) == 0
    finally:
        if sol is not None:
            sol.close()
        sim.stop()

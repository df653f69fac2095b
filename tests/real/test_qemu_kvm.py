"""KVM of `amtterm sim --qemu`: QEMU's real VGA screen (SeaBIOS) through the simulator's bridge.

The simulator is a VNC client of QEMU's screen socket and serves it again the AMT way; the console
here is amtterm's RFB client behind a byte-for-byte ``KVMR`` handshake, and the screen is read back
from its pixels with the VGA font. A key pressed on the KVM console must reach the real BIOS, and
a reset that starts a new QEMU process (a boot override, over WS-Man) must show up on the same
KVM session.
"""

from __future__ import annotations

import pytest

from amtterm.sim.app import SimOptions, start_sim
from amtterm.sim.kvm.font import load_vga_font
from amtterm.sim.qemu_host import QemuHost
from amtterm.wsman import boot
from amtterm.wsman.client import WsmanClient
from tests.sim.test_kvm_screen import screen_text, wait_text
from tests.support.kvm_console import KvmConsole, open_kvm

pytestmark = [pytest.mark.real, pytest.mark.timeout(150)]

PASSWORD = "Sim-Pass-123!"
ESC = 0xFF1B


async def test_esc_on_the_kvm_console_opens_seabios_boot_menu() -> None:
    options = SimOptions(
        redir_port=0, redir_tls_port=None, wsman_port=0, password=PASSWORD, qemu=True, qemu_memory=256
    )
    sim = await start_sim(options, log=lambda line: None)
    try:
        host = sim.device.host
        assert isinstance(host, QemuHost)
        host.set_next_boot("bios")  # SeaBIOS then waits 30 s at "Press ESC for boot menu."
        port = sim.hosts[0].port("redirection", False)
        assert port is not None
        reader, writer = await open_kvm(port, PASSWORD)  # the first console powers QEMU on
        console = KvmConsole(reader, writer)
        font = load_vga_font()
        try:
            screen = await wait_text(console, font, "Press ESC for boot menu", timeout=90)
            assert "SeaBIOS" in screen
            assert all(r.width <= 64 and r.height <= 64 for u in console.updates() for r in u.rects)
            console.send_keys([(ESC, True), (ESC, False)])
            menu = await wait_text(console, font, "Select boot device", timeout=60)
            assert "DVD/CD" in menu or "Floppy" in menu or "iPXE" in menu
            # Into the BIOS again, over WS-Man: a new QEMU process, whose screen the session follows.
            wsman = sim.hosts[0].port("wsman", False)
            client = WsmanClient("127.0.0.1", user="admin", password=PASSWORD, tls=False, port=wsman)
            try:
                await boot.boot_override(client, "bios", then="reset")
            finally:
                await client.aclose()
            await console.wait_for(
                "the old menu gone",
                lambda: "Select boot device" not in screen_text(console.client.framebuffer, font),
                60,
            )
            await wait_text(console, font, "Press ESC for boot menu", timeout=90)
        finally:
            await console.close()
    finally:
        await sim.close()

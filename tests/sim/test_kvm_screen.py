"""The synthetic PC's KVM screen, as a console decodes it from a real socket (plain and TLS).

The console is amtterm's own RFB client (``amtterm.rfb``) behind a byte-for-byte ``KVMR``
redirection handshake (``tests/support/kvm_console.py``). What it decodes is read back as text
by matching every 9x16 cell against the VGA font's glyphs, so these tests check what a person
at a KVM viewer would read, not the simulator's own model of it.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import pytest

from amtterm.errors import WsmanReturnValueError
from amtterm.rfb import RGB565, Bell, FramebufferUpdated, KvmDataChannel
from amtterm.rfb import Framebuffer as RfbFramebuffer
from amtterm.sim.app import RunningSim, SimOptions, start_sim
from amtterm.sim.kvm.font import VgaFont, load_vga_font
from amtterm.wsman import operations
from amtterm.wsman.client import WsmanClient
from tests.support.kvm_console import KvmConsole, open_kvm

pytestmark = pytest.mark.timeout(90)

PASSWORD = "Sim-Pass-123!"
F2, RIGHT = 0xFFBF, 0xFF53
PRINTABLE = [chr(c) for c in range(0x20, 0x7F)]


def read_cell(fb: RfbFramebuffer, font: VgaFont, row: int, column: int) -> str:
    """The character a 9x16 cell shows, matched against the font (``?`` when nothing matches)."""
    x0, y0 = column * 9, row * 16
    background = fb.pixel(x0 + 8, y0)  # column 9 is background for every printable glyph
    bits = [sum(1 << (8 - x) for x in range(9) if fb.pixel(x0 + x, y0 + y) != background) for y in range(16)]
    if not any(bits):
        return " "
    for char in PRINTABLE:
        if list(font.rows(char)) == bits:
            return char
    return "?"


def screen_text(fb: RfbFramebuffer, font: VgaFont) -> str:
    """The whole 80x25 screen read from pixels."""
    return "\n".join("".join(read_cell(fb, font, r, c) for c in range(80)).rstrip() for r in range(25))


async def running(**options: object) -> RunningSim:
    base: dict[str, object] = {
        "redir_port": 0,
        "redir_tls_port": 0,
        "wsman_port": 0,
        "password": PASSWORD,
        "amt_version": (16, 1),
    }
    base.update(options)
    return await start_sim(SimOptions(**base))  # type: ignore[arg-type]


@pytest.fixture
async def sim(tmp_path: object) -> AsyncIterator[RunningSim]:
    running_sim = await running(state_dir=tmp_path)
    yield running_sim
    await running_sim.close()


def port(sim: RunningSim, kind: str = "redirection", tls: bool = False) -> int:
    found = sim.hosts[0].port(kind, tls)
    assert found is not None
    return found


async def wait_text(console: KvmConsole, font: VgaFont, needle: str, timeout: float = 30) -> str:
    await console.wait_for(
        f"{needle!r} on the screen",
        lambda: console.client.frame_complete and needle in screen_text(console.client.framebuffer, font),
        timeout,
    )
    return screen_text(console.client.framebuffer, font)


async def test_post_screen_arrives_as_amt_tiles_and_reads_as_text(sim: RunningSim) -> None:
    font = load_vga_font()
    reader, writer = await open_kvm(port(sim), PASSWORD)
    console = KvmConsole(reader, writer)
    try:
        text = await wait_text(console, font, "Press F2 for Setup")
        assert "DemoTech BIOS Version" in text
        client = console.client
        # AMT 16.1's greeting, ServerInit and what comes before the first update (modern-amt.md §2.1).
        assert console.received.startswith(b"RFB 004.000\n\x01\x80")
        size = (client.framebuffer.width, client.framebuffer.height)
        assert (size, client.name) == ((720, 400), "Intel(r) AMT KVM")
        assert client.server_pixel_format == RGB565
        first = next(i for i, e in enumerate(console.events) if isinstance(e, FramebufferUpdated))
        kinds = [type(e) for e in console.events[:first]]
        assert Bell in kinds and KvmDataChannel in kinds
        # The first update is the whole 720x400 screen in 64x64 tiles, one per rectangle.
        whole = console.updates()[0]
        assert len(whole.rects) == 12 * 7 and whole.complete
        assert all(r.width <= 64 and r.height <= 64 for u in console.updates() for r in u.rects)
        # Later updates carry only the tiles that changed (the memory count-up, new lines).
        await console.wait_for("a second update", lambda: len(console.updates()) > 1)
        assert all(0 < len(u.rects) < 84 for u in console.updates()[1:])
    finally:
        await console.close()


async def test_keys_from_the_kvm_console_enter_bios_setup(sim: RunningSim) -> None:
    font = load_vga_font()
    reader, writer = await open_kvm(port(sim), PASSWORD)
    console = KvmConsole(reader, writer)
    try:
        await wait_text(console, font, "Press F2")
        console.send_keys([(F2, True), (F2, False)])
        setup = await wait_text(console, font, "Save & Exit")
        assert "Press F2" not in setup
        marks = len(console.updates())
        console.send_keys([(RIGHT, True), (RIGHT, False)])
        await console.wait_for("a redraw after Right", lambda: len(console.updates()) > marks)
        assert len(console.updates()[marks].rects) < 84  # only the tiles of the tabs and the page
    finally:
        await console.close()


async def test_kvm_over_tls_and_the_session_flags_on_wsman(sim: RunningSim) -> None:
    font = load_vga_font()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    reader, writer = await open_kvm(port(sim, tls=True), PASSWORD, tls=context)
    console = KvmConsole(reader, writer)
    client = WsmanClient("127.0.0.1", user="admin", password=PASSWORD, tls=False, port=port(sim, "wsman"))
    try:
        await wait_text(console, font, "BIOS Version")
        # While the KVM session runs, the access point says enabled-and-in-use and power off is refused.
        assert (await operations.get_instance(client, "CIM_KVMRedirectionSAP")).integer("EnabledState") == 2
        with pytest.raises(WsmanReturnValueError, match="redirection session"):
            await operations.power_action(client, "off")
    finally:
        await console.close()
    for _ in range(100):
        if sim.device.kvm_owner is None:
            break
        await asyncio.sleep(0.02)
    assert (await operations.get_instance(client, "CIM_KVMRedirectionSAP")).integer("EnabledState") == 6
    await client.aclose()


async def test_amt12_greets_with_rfb_3_8() -> None:
    sim = await running(amt_version=(12, 0), redir_tls_port=None)
    try:
        reader, writer = await open_kvm(port(sim), PASSWORD)
        console = KvmConsole(reader, writer)
        await console.wait_for("the first frame", lambda: console.client.frame_complete)
        assert console.received.startswith(b"RFB 003.008\n")
        assert console.client.version == (3, 8)
        await console.close()
    finally:
        await sim.close()

"""Benchmark: key-to-screen latency over KVM through the simulator to QEMU, and bytes per frame.

A simulated AMT machine whose PC is QEMU (``amtterm sim --qemu`` in this process) boots from
its NIC, and iPXE's command line is opened with Ctrl-B typed on the KVM console. There a typed
letter is echoed on the VGA text screen. In the same run, alternating one sample each:

* **KVM**: amtterm's ``KvmClient`` over the simulator's redirection port (KVMR, digest auth,
  RFB at RGB565): the key goes to the simulator, which passes it to QEMU's VNC socket, and the
  changed 64x64 tile comes back re-encoded the AMT way;
* **VNC** (the baseline): a second ``KvmClient`` straight on QEMU's own VNC socket (a unix socket
  in the machine's work directory, shared with the simulator), the same key, the same pixel format.

A sample types ``x`` and runs until the prompt's cell reads ``x`` in that client's framebuffer
(read with the VGA font, as a person would read it), then Backspace until it no longer does.
Printed: p50 and p99 in milliseconds for both, and KVM over VNC.

Then the bytes of one whole frame on the wire, as AMT's encoder (``amtterm.rfb.RfbServer``, the
simulator's) sends it in 64x64 tiles at 16 bpp, ZRLE against RAW, for two screens captured over
KVM in this run: SeaBIOS/iPXE's (QEMU) and the synthetic PC's BIOS setup (entered with F2).
Decode speed is ``bench/kvm_decode.py``'s subject, not this one's.

    .venv/bin/python bench/kvm_latency.py [--keys 40]

Loopback only; needs qemu-system-x86_64 (SeaBIOS and iPXE from Debian) and a VGA console font.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtterm.rfb import BY_DEPTH, Framebuffer, FramebufferUpdated, RfbClient, RfbEvent, RfbServer  # noqa: E402
from amtterm.session.endpoint import console_config  # noqa: E402
from amtterm.session.kvm import KvmClient  # noqa: E402
from amtterm.sim.app import RunningSim, SimOptions, start_sim  # noqa: E402
from amtterm.sim.kvm.font import VgaFont, load_vga_font  # noqa: E402
from amtterm.sim.qemu_host import QemuHost  # noqa: E402
from amtterm.transport.tcp import Stream, open_stream  # noqa: E402
from tests.sim.test_kvm_screen import read_cell, screen_text  # noqa: E402

PASSWORD = "Bench-Pass-1!"
CTRL, LETTER_B, LETTER_X, BACKSPACE, F2 = 0xFFE3, 0x62, 0x78, 0xFF08, 0xFFBF
BOOT_TIMEOUT = 180.0
ECHO_TIMEOUT = 10.0


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the samples lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class Watched:
    """A KvmClient and an event set whenever an update has been decoded."""

    def __init__(self, client: KvmClient) -> None:
        self.client = client
        self.changed = asyncio.Event()
        client.listeners.append(self._on_event)

    def _on_event(self, event: RfbEvent) -> None:
        if isinstance(event, FramebufferUpdated):
            self.changed.set()

    async def until(self, done: Callable[[], bool], timeout: float) -> None:
        """Wait (event-driven) until ``done()`` holds for the framebuffer."""
        async with asyncio.timeout(timeout):
            while not done():
                self.changed.clear()
                await self.changed.wait()

    async def key(self, keysym: int) -> None:
        await self.client.send_keys([(keysym, True), (keysym, False)])


async def kvm_console(sim: RunningSim) -> Watched:
    port = sim.hosts[0].port("redirection", False)
    assert port is not None
    stream = await open_stream("127.0.0.1", port, tls=None)
    client = KvmClient(stream, console_config("admin", PASSWORD), target=f"127.0.0.1:{port}")
    await client.start()
    await client.wait_for_frame(60)
    return Watched(client)


async def vnc_console(socket: Path) -> Watched:
    reader, writer = await asyncio.open_unix_connection(str(socket))
    client = KvmClient(Stream(reader, writer), None, target=str(socket))
    await client.start()
    await client.wait_for_frame(60)
    return Watched(client)


async def ipxe_prompt(console: Watched, font: VgaFont) -> tuple[int, int]:
    """Ctrl-B until iPXE's command line shows (iPXE offers it for 2 s); the prompt's (row, column).

    Ctrl-B is typed from the start, four times a second: SeaBIOS ignores it, and reading the
    screen is too slow to catch iPXE's short offer.
    """

    async def press() -> None:
        while True:
            chord = [(CTRL, True), (LETTER_B, True), (LETTER_B, False), (CTRL, False)]
            await console.client.send_keys(chord)
            await asyncio.sleep(0.25)

    presser = asyncio.create_task(press())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOOT_TIMEOUT
    text = ""
    try:
        while loop.time() < deadline:
            text = screen_text(console.client.framebuffer, font)
            prompts = [r for r, line in enumerate(text.splitlines()) if line.startswith("iPXE>")]
            if prompts:
                return prompts[-1], len("iPXE> ")
            await asyncio.sleep(1)
    finally:
        presser.cancel()
        await asyncio.gather(presser, return_exceptions=True)
    raise SystemExit(f"iPXE's command line did not open within {BOOT_TIMEOUT:g} s; the screen:\n{text}")


async def sample(console: Watched, font: VgaFont, row: int, column: int) -> float:
    """Seconds from typing ``x`` until the prompt's cell shows it; then erase it again."""
    loop = asyncio.get_running_loop()

    def cell() -> str:
        return read_cell(console.client.framebuffer, font, row, column)

    started = loop.time()
    await console.key(LETTER_X)
    await console.until(lambda: cell() == "x", ECHO_TIMEOUT)
    took = loop.time() - started
    await console.key(BACKSPACE)
    await console.until(lambda: cell() != "x", ECHO_TIMEOUT)
    return took


async def settled(consoles: tuple[Watched, ...], font: VgaFont, row: int, column: int) -> None:
    """Until every console shows the prompt's cell erased (the other path's echo gone there too)."""

    def erased(framebuffer: Framebuffer) -> bool:
        return read_cell(framebuffer, font, row, column) != "x"

    for console in consoles:
        await console.until(functools.partial(erased, console.client.framebuffer), ECHO_TIMEOUT)


def frame_bytes(screen: Framebuffer, zrle: bool) -> int:
    """Bytes of one whole-screen FramebufferUpdate from AMT's encoder (64x64 tiles, 16 bpp)."""
    client = RfbClient(pixel_format=BY_DEPTH[16], auto_update=False)
    if not zrle:
        client.encodings = (0,)
    server = RfbServer(screen.width, screen.height)
    for _ in range(8):
        if data := server.data_to_send():
            client.receive_data(data, 0.0)
        if data := client.data_to_send():
            server.receive_data(data, 0.0)
    server.send_update(screen, None)
    return len(server.data_to_send())


def copy_screen(source: Framebuffer) -> Framebuffer:
    screen = Framebuffer(source.width, source.height)
    screen.rgb[:] = source.rgb
    return screen


async def synthetic_setup_screen(font: VgaFont) -> Framebuffer:
    """The synthetic PC's BIOS setup screen, as a KVM console receives it."""
    options = SimOptions(
        redir_port=0, redir_tls_port=None, wsman_port=None, wsman_tls_port=None, password=PASSWORD
    )
    sim = await start_sim(options, log=lambda line: None)
    try:
        console = await kvm_console(sim)
        try:
            await console.until(lambda: "Press F2" in screen_text(console.client.framebuffer, font), 60)
            await console.key(F2)
            await console.until(lambda: "Save & Exit" in screen_text(console.client.framebuffer, font), 60)
            return copy_screen(console.client.framebuffer)
        finally:
            await console.client.close()
    finally:
        await sim.close()


async def run(keys: int) -> int:
    font = load_vga_font()
    options = SimOptions(
        redir_port=0,
        redir_tls_port=None,
        wsman_port=None,
        wsman_tls_port=None,
        password=PASSWORD,
        qemu=True,
        qemu_memory=128,
    )
    sim = await start_sim(options, log=lambda line: None)
    try:
        host = sim.device.host
        assert isinstance(host, QemuHost)
        host.set_next_boot("pxe")  # straight to the NIC's iPXE; the first console powers QEMU on
        kvm = await kvm_console(sim)
        try:
            print("waiting for iPXE (QEMU, software CPU) ...", flush=True)
            row, column = await ipxe_prompt(kvm, font)
            socket = host.vnc_socket()
            assert socket is not None
            vnc = await vnc_console(socket)
            try:
                await sample(kvm, font, row, column)  # warm both paths once
                await settled((kvm, vnc), font, row, column)
                await sample(vnc, font, row, column)
                via_kvm: list[float] = []
                direct: list[float] = []
                for _ in range(keys):  # alternating, so a busy moment hits both alike
                    await settled((kvm, vnc), font, row, column)
                    via_kvm.append(await sample(kvm, font, row, column))
                    await settled((kvm, vnc), font, row, column)
                    direct.append(await sample(vnc, font, row, column))
                qemu_screen = copy_screen(kvm.client.framebuffer)
            finally:
                await vnc.client.close()
        finally:
            await kvm.client.close()
    finally:
        await sim.close()

    print(f"\nkey-to-screen latency, {keys} keys each (ms)      p50      p99")
    for name, values in (("KVM through amtterm sim", via_kvm), ("QEMU's VNC socket (baseline)", direct)):
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(f"  {name:<40} {1000 * p50:8.1f} {1000 * p99:8.1f}")
    ratio50 = percentile(via_kvm, 0.5) / percentile(direct, 0.5)
    ratio99 = percentile(via_kvm, 0.99) / percentile(direct, 0.99)
    print(f"  {'KVM / baseline':<40} {ratio50:7.2f}x {ratio99:7.2f}x")

    setup = await synthetic_setup_screen(font)
    print("\none whole frame at 16 bpp in 64x64 tiles      ZRLE (B)    RAW (B)   ZRLE/RAW")
    for name, screen in (("iPXE on SeaBIOS (QEMU)", qemu_screen), ("synthetic BIOS setup", setup)):
        zrle, raw = frame_bytes(screen, True), frame_bytes(screen, False)
        label = f"{name} {screen.width}x{screen.height}"
        print(f"  {label:<40} {zrle:>10} {raw:>10} {100 * zrle / raw:8.1f}%")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--keys", type=int, default=40, help="keys per path (default 40)")
    args = parser.parse_args(argv)
    if args.keys < 1:
        parser.error("--keys needs at least 1")
    return asyncio.run(run(args.keys))


if __name__ == "__main__":
    sys.exit(main())

"""MeshCommander's KVM decoder (``amt-desktop-0.0.2.js`` from MeshCentral's npm package) reads RfbServer.

The simulator's KVM sends what :class:`amtterm.rfb.RfbServer` encodes, and MeshCommander is the
AMT console that most people use, so its decoder judges the encoder: AMT's greeting, 64x64
tiles, every ZRLE subencoding our encoder picks, at 16 bpp (what MeshCommander takes without
SetPixelFormat) and at 8 bpp (its SetPixelFormat). The screens have widths that leave narrow
edge tiles, where MeshCommander reads packed palettes without RFC 6143's row padding.

The picture MeshCommander drew must equal the device's screen as its own colour expansion
makes it: RGB565 with the low bits zero (``(v >> 8) & 248`` ...), RGB332 the same with its
``_fixColor`` (+32 for blue above 127).
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from amtterm.rfb import AMT_16, Framebuffer, RfbServer, UpdateRequested
from tests.real.test_meshcommander import NODE_DIR, node_binary

pytestmark = pytest.mark.real

DRIVER = NODE_DIR / "meshcommander_desktop.js"


def screen(width: int, height: int, seed: int) -> Framebuffer:
    """Zones of one colour, two-colour stripes, 12 colours, a gradient and noise, 64 pixels each.

    The narrow tiles at a ragged right edge get the stripes and the 12 colours: packed palettes
    whose rows need padding.
    """
    rng = random.Random(seed)
    edge = width - width % 64
    colours = [bytes(rng.randrange(256) for _ in range(3)) for _ in range(40)]
    rgb = bytearray()
    for y in range(height):
        for x in range(width):
            zone = (x // 64 + y // 64) % 5 if x < edge else 1 + (y // 64) % 2
            if zone == 0:
                rgb += colours[0]
            elif zone == 1:
                rgb += colours[(x // 3 + y) % 2]
            elif zone == 2:
                rgb += colours[(x // 5 + y // 7) % 12]
            elif zone == 3:
                rgb += bytes((x * 255 // width, y * 255 // height, (x ^ y) & 0xFF))
            else:
                rgb += colours[rng.randrange(40)] if rng.random() < 0.3 else colours[1]
    framebuffer = Framebuffer(width, height)
    framebuffer.rgb[:] = rgb
    return framebuffer


def as_meshcommander_draws(rgb: bytes, bpp: int) -> bytes:
    """What MeshCommander paints for our pixels: the server's rounding, then its own expansion."""
    out = bytearray()
    for at in range(0, len(rgb), 3):
        r, g, b = rgb[at : at + 3]
        if bpp == 16:
            out += bytes(
                (((r * 31 + 127) // 255) << 3, ((g * 63 + 127) // 255) << 2, ((b * 31 + 127) // 255) << 3)
            )
        else:
            blue = ((b * 3 + 127) // 255) << 6
            out += bytes(
                (((r * 7 + 127) // 255) << 5, ((g * 7 + 127) // 255) << 5, blue + 32 if blue > 127 else blue)
            )
    return bytes(out)


async def meshcommander_picture(framebuffer: Framebuffer, bpp: int) -> tuple[int, int, bytes]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server = RfbServer(framebuffer.width, framebuffer.height, variant=AMT_16)
        sent = False
        writer.write(server.data_to_send())
        while data := await reader.read(65536):
            for event in server.receive_data(data, 0.0):
                # AMT: the whole screen first, then only changes (there are none); never empty.
                if isinstance(event, UpdateRequested) and not (event.incremental and sent):
                    server.send_update(framebuffer)
                    sent = True
            writer.write(server.data_to_send())
            await writer.drain()
        writer.close()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with listener:
        port = listener.sockets[0].getsockname()[1]
        node = await asyncio.create_subprocess_exec(
            node_binary(),
            str(DRIVER),
            "--port",
            str(port),
            "--bpp",
            str(bpp),
            cwd=NODE_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(node.communicate(), 90)
    assert node.returncode == 0, err.decode(errors="replace")
    picture = json.loads(out)
    return picture["width"], picture["height"], bytes.fromhex(picture["rgb"])


@pytest.mark.timeout(180)
@pytest.mark.parametrize("bpp", [16, 8])
@pytest.mark.parametrize("size", [(201, 99), (800, 600)], ids=["ragged-edges", "800x600"])
def test_meshcommander_draws_what_the_server_sent(bpp: int, size: tuple[int, int], tmp_path: Path) -> None:
    framebuffer = screen(*size, seed=size[0])
    width, height, drawn = asyncio.run(meshcommander_picture(framebuffer, bpp))
    assert (width, height) == size
    expected = as_meshcommander_draws(bytes(framebuffer.rgb), bpp)
    wrong = sum(1 for at in range(0, len(drawn), 3) if drawn[at : at + 3] != expected[at : at + 3])
    assert wrong == 0, f"{wrong} of {width * height} pixels differ"

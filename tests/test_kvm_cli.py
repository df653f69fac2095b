"""`amtterm kvm HOST --screenshot FILE.png` against a loopback KVM device made of our device-role codecs.

The device is the redirection codec in the device role with the AMT-shaped RFB server
behind it (the simulator's KVM is built on the same two); the picture on disk must be
the device's screen at RGB565, and the sentences for a busy device, a device without
KVM, a wrong password and an unwritable file must be amtterm's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from amtterm.redir import DeviceConfig, RedirectionConnection, StartStatus
from amtterm.redir import events as ev
from amtterm.rfb import AMT_16, ClientInitReceived, Framebuffer, KeyPressed, RfbServer, UpdateRequested
from tests.support.simproc import amtterm_argv, isolated_env

USER, PASSWORD = "admin", "Kvm-Pass-1!"
WIDTH, HEIGHT = 200, 100


def device_screen() -> Framebuffer:
    """A screen with bands of colour and a gradient: tiles of several subencodings."""
    framebuffer = Framebuffer(WIDTH, HEIGHT)
    rgb = bytearray()
    for y in range(HEIGHT):
        for x in range(WIDTH):
            if y < 30:
                rgb += b"\xff\xff\xff" if (x // 4 + y // 8) % 2 else b"\x00\x00\xaa"
            else:
                rgb += bytes((x * 255 // WIDTH, y * 255 // HEIGHT, 64))
    framebuffer.rgb[:] = rgb
    return framebuffer


@dataclass
class KvmDevice:
    """What the device saw and how it behaves."""

    refuse: StartStatus | None = None
    #: Hang up right after the console's ClientInit, as AMT does when its graphics cannot do KVM.
    hang_up_at_init: bool = False
    keys: list[tuple[int, bool]] = field(default_factory=list)
    screen: Framebuffer = field(default_factory=device_screen)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        conn = RedirectionConnection(DeviceConfig({USER: PASSWORD}, firmware_version=(16, 1)))
        rfb = RfbServer(WIDTH, HEIGHT, variant=AMT_16)
        sent_screen = False
        conn.start(loop.time())
        try:
            while True:
                data = await reader.read(65536)
                for event in conn.receive_data(data, loop.time()):
                    if isinstance(event, ev.SessionRequested):
                        if self.refuse is None:
                            conn.accept_session()
                        else:
                            conn.refuse_session(self.refuse)
                    elif isinstance(event, ev.KvmStarted):
                        conn.send_kvm_data(rfb.data_to_send())
                    elif isinstance(event, ev.KvmData):
                        for request in rfb.receive_data(event.data, loop.time()):
                            if isinstance(request, ClientInitReceived) and self.hang_up_at_init:
                                return
                            if isinstance(request, KeyPressed):
                                self.keys.append((request.keysym, request.down))
                            # AMT: the whole screen first, never an empty update.
                            if isinstance(request, UpdateRequested) and not (
                                request.incremental and sent_screen
                            ):
                                rfb.send_update(self.screen)
                                sent_screen = True
                        conn.send_kvm_data(rfb.data_to_send())
                writer.write(conn.data_to_send())
                await writer.drain()
                if not data or conn.state.value == "closed":
                    return
        except Exception:
            return
        finally:
            writer.close()


@asynccontextmanager
async def kvm_device(device: KvmDevice) -> AsyncIterator[int]:
    server = await asyncio.start_server(device.serve, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def run_amtterm(tmp_path: Path, *words: str, password: str = PASSWORD) -> tuple[int, str]:
    env = isolated_env(tmp_path)
    env["AMT_PASSWORD"] = password
    proc = await asyncio.create_subprocess_exec(
        *amtterm_argv(),
        "kvm",
        *words,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_screenshot_of_the_devices_screen_and_keys_typed_first(tmp_path: Path) -> None:
    device = KvmDevice()
    shot = tmp_path / "screen.png"
    async with kvm_device(device) as port:
        status, said = await run_amtterm(
            tmp_path,
            "127.0.0.1",
            str(port),
            "-P",
            "--screenshot",
            str(shot),
            "--keys",
            "ctrl-alt-del",
            "--settle",
            "0.2",
        )
    assert status == 0, said
    assert said == ""
    image = Image.open(shot)
    assert image.size == (WIDTH, HEIGHT) and image.mode == "RGB"
    # RGB565 on the wire: the device rounds 8 bits to 5 (red, blue) or 6 (green), the console
    # expands them back; no channel moves by more than half a 5-bit step.
    got = image.tobytes()
    assert max(abs(a - b) for a, b in zip(got, bytes(device.screen.rgb), strict=True)) <= 4
    assert got != bytes(device.screen.rgb)  # it did go through RGB565
    assert device.keys == [
        (0xFFE3, True),
        (0xFFE9, True),
        (0xFFFF, True),
        (0xFFFF, False),
        (0xFFE9, False),
        (0xFFE3, False),
    ]


@pytest.mark.asyncio
@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("refuse", "words"),
    [
        (StartStatus.BUSY, "is busy: another console holds its KVM session"),
        (StartStatus.UNSUPPORTED, "does not offer KVM (status 3)"),
    ],
)
async def test_busy_and_no_kvm_are_one_sentence(tmp_path: Path, refuse: StartStatus, words: str) -> None:
    async with kvm_device(KvmDevice(refuse=refuse)) as port:
        status, said = await run_amtterm(
            tmp_path, "127.0.0.1", str(port), "-P", "--screenshot", str(tmp_path / "x.png")
        )
    assert status == 1
    assert words in said and said.count("\n") == 1 and "Traceback" not in said
    assert not (tmp_path / "x.png").exists()


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_wrong_password_and_unwritable_file(tmp_path: Path) -> None:
    async with kvm_device(KvmDevice()) as port:
        words = ("127.0.0.1", str(port), "-P", "--screenshot", str(tmp_path / "x.png"))
        status, said = await run_amtterm(tmp_path, *words, password="wrong")
    assert status == 1 and "Wrong user name or password for 'admin'" in said
    status, said = await run_amtterm(tmp_path, "127.0.0.1", "--screenshot", str(tmp_path / "no" / "x.png"))
    missing = tmp_path / "no"
    assert status == 2
    assert said == (
        f"amtterm: Cannot write the screenshot {missing / 'x.png'}: the directory {missing} does not exist.\n"
    )
    status, said = await run_amtterm(tmp_path, "127.0.0.1", "--screenshot", str(tmp_path / "x.jpg"))
    assert status == 2 and "must be a .png file" in said


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_a_hang_up_in_the_rfb_handshake_suggests_8_bit_colour(tmp_path: Path) -> None:
    async with kvm_device(KvmDevice(hang_up_at_init=True)) as port:
        status, said = await run_amtterm(
            tmp_path, "127.0.0.1", str(port), "-P", "--screenshot", str(tmp_path / "x.png")
        )
    assert status == 1
    assert said == (
        f"amtterm: 127.0.0.1:{port} closed the KVM connection during the RFB handshake: this machine's "
        "graphics may not support KVM, or its screen needs 8-bit colour (try --bpp 8).\n"
    )

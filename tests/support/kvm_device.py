"""A KVM device on loopback made of our device-role codecs: redirection (KVMR) with the AMT-shaped RFB server.

Used by the tests of ``amtterm kvm`` and of :class:`amtterm.session.KvmClient`; the simulator's
KVM is built on the same two codecs, while QEMU's VNC server and MeshCommander's decoder judge
them from outside (``tests/real``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from amtterm.redir import DeviceConfig, RedirectionConnection, StartStatus
from amtterm.redir import events as ev
from amtterm.rfb import (
    AMT_16,
    ClientInitReceived,
    Framebuffer,
    KeyPressed,
    RfbEvent,
    RfbServer,
    UpdateRequested,
)

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
    #: Every RFB event the console's bytes caused, in order.
    seen: list[RfbEvent] = field(default_factory=list)
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
                            self.seen.append(request)
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

"""KvmClient over a loopback KVM device (our device-role codecs): the AMT stacking of RFB in redirection.

What the Textual view and `amtterm kvm` build on: listeners see each decoded update, keys and
the pointer reach the device, and the 5 s keep-alive of AMT's KVM data channel goes out on its own.
"""

from __future__ import annotations

import asyncio

import pytest

from amtterm.redir import ConsoleConfig
from amtterm.rfb import FramebufferUpdated, KvmDataChannel, PointerMoved, RfbEvent, ServerInit
from amtterm.session import KvmClient
from amtterm.transport.tcp import open_stream
from tests.support.kvm_device import HEIGHT, PASSWORD, USER, WIDTH, KvmDevice, kvm_device


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_updates_reach_listeners_input_reaches_the_device_and_keepalives_go_out() -> None:
    device = KvmDevice()
    async with kvm_device(device) as port:
        stream = await open_stream("127.0.0.1", port, tls=None)
        client = KvmClient(stream, ConsoleConfig(USER, PASSWORD), target=f"127.0.0.1:{port}")
        heard: list[RfbEvent] = []
        client.listeners.append(heard.append)
        try:
            await client.start()
            assert client.server_init is not None and client.server_init.name == "Intel(r) AMT KVM"
            framebuffer = await client.wait_for_frame(timeout=30)
            assert bytes(framebuffer.rgb[:3]) != b"\0\0\0" and framebuffer.width == WIDTH
            await client.send_pointer(WIDTH + 50, 10, 1)
            await asyncio.sleep(5.6)  # one keep-alive interval (MeshCommander: 5 s)
        finally:
            await client.close()
    assert isinstance(heard[0], ServerInit)
    assert any(isinstance(event, FramebufferUpdated) and event.complete for event in heard)
    assert PointerMoved(WIDTH - 1, 10, 1) in device.seen
    assert KvmDataChannel(b"") in device.seen
    assert framebuffer.height == HEIGHT

"""The device side of a KVM redirection session once the console is authenticated.

After digest authentication of a ``KVMR`` session the console sends ``40 00 00 00 00 00 00 00``
and the firmware answers ``41 00 00 00 00 00 00 00``, immediately followed by plain RFB on the
same socket (redirection.md §7, modern-amt.md §2.1; 0x40/0x41 mean something else in an IDE-R
session). This module does that exchange on the connection's own streams and hands the rest to
:class:`~amtterm.sim.kvm.viewer.KvmViewer`.

It is an adapter: the sans-IO redirection codec (``redir/``) has no KVM device role yet, so the
simulator's redirection handler calls :func:`serve_kvm` from its ``Authenticated`` event, while the
pump waits for it and so reads nothing itself. When the codec learns KVM, this exchange belongs
there.
"""

from __future__ import annotations

import asyncio
from typing import Final

from amtterm.errors import RemoteProtocolError
from amtterm.sim.kvm.viewer import KvmViewer

#: Console -> firmware: start KVM; firmware -> console: started (8 bytes each, the rest zero).
START_KVM: Final = 0x40
KVM_STARTED: Final = bytes((0x41,)) + bytes(7)
MESSAGE_SIZE: Final = 8
#: Bytes read from the console at a time.
READ_SIZE: Final = 65536
#: How long a console may take to send 0x40 after authentication (seconds).
START_TIMEOUT: Final = 30.0


async def serve_kvm(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, viewer: KvmViewer) -> None:
    """Run one KVM session until the console leaves.

    Raises:
        RemoteProtocolError: the console sent something else than 0x40, or broke RFB.
        asyncio.IncompleteReadError, TimeoutError, OSError: the console went away or stayed silent.
    """
    head = await asyncio.wait_for(reader.readexactly(MESSAGE_SIZE), START_TIMEOUT)
    if head[0] != START_KVM:
        raise RemoteProtocolError(
            f"the console sent message 0x{head[0]:02x} where a KVM session starts with 0x40"
        )
    writer.write(KVM_STARTED)
    await writer.drain()
    try:
        await viewer.start()
        while not viewer.closed:
            data = await reader.read(READ_SIZE)
            await viewer.receive(data)
            if not data:
                break
    finally:
        await viewer.close()

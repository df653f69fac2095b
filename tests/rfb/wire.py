"""Helpers for the RFB tests: a client brought to the NORMAL state with golden handshake bytes."""

from __future__ import annotations

import struct
import zlib

from amtterm.rfb import RGB565, PixelFormat, RfbClient, RfbServer

#: AMT's ServerInit pixel format (modern-amt.md 2.1).
AMT_FORMAT = bytes.fromhex("10 10 00 01 001F 003F 001F 0B 05 00 000000")


def amt_server_init(width: int, height: int, name: bytes = b"Intel(r) AMT KVM") -> bytes:
    """ServerInit as AMT writes it."""
    return struct.pack(">HH", width, height) + AMT_FORMAT + struct.pack(">I", len(name)) + name


def ready_client(
    width: int, height: int, pixel_format: PixelFormat = RGB565, *, amt: bool = True
) -> RfbClient:
    """A client that went through AMT 16.1's handshake (4.0, types 01 80) and took its ServerInit."""
    client = RfbClient(pixel_format=pixel_format, amt=amt)
    client.receive_data(b"RFB 004.000\n" + b"\x01\x80" + b"\x00\x00\x00\x00", 0.0)
    client.receive_data(amt_server_init(width, height), 0.0)
    client.data_to_send()
    return client


def rect(x: int, y: int, width: int, height: int, encoding: int) -> bytes:
    """A rectangle header."""
    return struct.pack(">HHHHi", x, y, width, height, encoding)


def update(*rects: bytes) -> bytes:
    """A FramebufferUpdate holding ``rects`` (each header + data)."""
    return struct.pack(">BxH", 0, len(rects)) + b"".join(rects)


class Deflater:
    """One zlib stream per session, sync-flushed per rectangle, as a ZRLE server keeps it."""

    def __init__(self) -> None:
        self._z = zlib.compressobj()

    def zrle(self, tiles: bytes) -> bytes:
        """The u32 length and deflated bytes of one rectangle's tile data."""
        body = self._z.compress(tiles) + self._z.flush(zlib.Z_SYNC_FLUSH)
        return struct.pack(">I", len(body)) + body


def connect(client: RfbClient, server: RfbServer) -> None:
    """Move bytes both ways until neither side has more to say."""
    for _ in range(20):
        moved = False
        data = server.data_to_send()
        if data:
            client.receive_data(data, 0.0)
            moved = True
        data = client.data_to_send()
        if data:
            server.receive_data(data, 0.0)
            moved = True
        if not moved:
            return

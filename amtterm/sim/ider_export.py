"""The redirected CD-ROM of a simulated device as an NBD export, for a QEMU-backed PC.

    export = IderExport(device)          # device: a SimDevice whose host is a QemuHost
    await export.start()                 # NBD server on 127.0.0.1, a free port
    export.url                           # nbd://127.0.0.1:PORT, what QEMU's CD-ROM opens
    await export.close()

Each NBD read becomes READ(10) commands over the IDE-R session of whichever console holds
the device's IDE-R slot, through :class:`amtterm.sim.ider_firmware.IderFirmware`: the
QEMU PC's BIOS (SeaBIOS, ISOLINUX, a kernel) reads the image the console serves, as an AMT
PC's BIOS reads it through the firmware. The size is READ CAPACITY's answer, asked when
QEMU opens the drive. No console, a disabled drive or no medium is an NBD error, which
QEMU shows as a drive it cannot read.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from amtterm.redir import IderDrive
from amtterm.sim.ider_firmware import IderFirmware, IderReadError
from amtterm.sim.nbd import NbdServer, NbdSourceError

if TYPE_CHECKING:
    from amtterm.sim.device import SimDevice

#: The largest READ(10) one NBD read is split into (blocks of 2048 bytes: 256 KiB).
READ_CHUNK_BLOCKS = 128
#: How many blocks a read fetches at least (128 KiB), kept for the sequential reads that follow.
READ_AHEAD_BLOCKS = 64
#: How long QEMU's drive open may wait for the console's drive to become ready (seconds).
READY_TIMEOUT = 30.0


class IderCdSource:
    """The :class:`amtterm.sim.nbd.BlockSource` behind the export: the console's CD over IDE-R.

    QEMU's emulated ATAPI drive asks for one 2048-byte sector per NBD read while the BIOS
    reads by PIO, so each read fetches :data:`READ_AHEAD_BLOCKS` at once and keeps them:
    the next sequential sectors then cost no round trip to the console. The cache is
    dropped whenever the IDE-R session changes, so a new image is never served stale.
    """

    def __init__(self, device: SimDevice) -> None:
        self.device = device
        #: Bytes asked for through the export, and READ(10) commands sent for them.
        self.bytes_read = 0
        self.commands = 0
        self._block_size = 2048
        self._blocks = 0
        self._cache_owner: object = None
        self._cache_lba = 0
        self._cache = b""

    def _firmware(self) -> IderFirmware:
        owner = self.device.ider_owner
        if owner is None or owner.ider is None or not owner.ider.host.enabled:
            raise NbdSourceError("no console holds an enabled IDE-R session")
        if owner.ider is not self._cache_owner:
            self._cache_owner, self._cache = owner.ider, b""
        return owner.ider

    async def size(self) -> int:
        """READ CAPACITY over IDE-R, waiting (bounded) for the BIOS's reads to finish first."""
        firmware = self._firmware()
        try:
            blocks, block_size = await asyncio.wait_for(firmware.capacity(IderDrive.CD), READY_TIMEOUT)
        except IderReadError as exc:
            raise NbdSourceError(str(exc)) from exc
        except TimeoutError as exc:
            raise NbdSourceError(f"the IDE-R drive was not ready within {READY_TIMEOUT:.0f} s") from exc
        self._block_size = block_size or 2048
        self._blocks = blocks
        self._cache = b""
        return blocks * self._block_size

    async def read(self, offset: int, length: int) -> bytes:
        """The bytes at ``offset``: from the read-ahead cache, else READ(10)s of whole blocks."""
        firmware = self._firmware()
        size = self._block_size
        first, end = offset // size, -(-(offset + length) // size)
        cached_end = self._cache_lba + len(self._cache) // size
        if not (self._cache and self._cache_lba <= first and end <= cached_end):
            await self._fill(firmware, first, max(end - first, READ_AHEAD_BLOCKS))
        start = offset - self._cache_lba * size
        chunk = self._cache[start : start + length]
        if len(chunk) != length:
            raise NbdSourceError(f"the console sent {len(self._cache)} bytes for blocks from {first}")
        self.bytes_read += length
        return chunk

    async def _fill(self, firmware: IderFirmware, lba: int, count: int) -> None:
        if self._blocks:
            count = max(1, min(count, self._blocks - lba))
        parts: list[bytes] = []
        done = 0
        try:
            while done < count:
                step = min(READ_CHUNK_BLOCKS, count - done)
                parts.append(await firmware.read(lba + done, step, IderDrive.CD))
                self.commands += 1
                done += step
        except IderReadError as exc:
            self._cache = b""
            raise NbdSourceError(str(exc)) from exc
        self._cache_lba, self._cache = lba, b"".join(parts)


class IderExport:
    """An NBD server on loopback serving the device's redirected CD (see the module docstring)."""

    def __init__(self, device: SimDevice) -> None:
        self.source = IderCdSource(device)
        self.server = NbdServer(self.source, name="ider-cd", log=device.log)

    async def start(self, host: str = "127.0.0.1") -> None:
        """Listen on a free port of ``host``."""
        await self.server.start(host, 0)

    @property
    def url(self) -> str:
        """The ``nbd://`` URL of the export."""
        return self.server.url

    async def close(self) -> None:
        """Stop serving."""
        await self.server.close()


__all__ = ["IderCdSource", "IderExport"]

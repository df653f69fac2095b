"""The register blocks and status values of IDE-R replies, and the drive select values.

Section numbers refer to ``shared/protocol/redirection.md``. The console's 0x51,
0x52 and 0x54 carry ATA register blocks whose fill follows MeshCommander, the
client proven on real firmware (6.8): good status C5/00/03/../50, check
condition 87/key<<4/03/../51, data chunks B5 (PIO) or B4 (DMA) with interrupt
reason 02 and status 58, the last chunk's output registers 85/00/03/../50.
"""

from __future__ import annotations

import enum

from amtterm.redir.messages import (
    AtaRegisters,
    IderCommandEndResponse,
    IderDataToHost,
    IderGetDataFromHost,
)

#: (sense key, ASC, ASCQ); (0, 0, 0) is GOOD.
Sense = tuple[int, int, int]
GOOD: Sense = (0, 0, 0)

#: Largest data field of one 0x54 / 0x53: the length is 16 bits (6.9).
MAX_IDER_DATA = 0xFFFF

#: Attributes byte of the console's data / status messages (6.2).
ATTR_DMA = 0x01
ATTR_LAST = 0x02

#: ATA status register values (6.8): DRDY+DSC, + ERR, DRDY+DSC+DRQ.
STATUS_GOOD = 0x50
STATUS_CHECK = 0x51
STATUS_DATA = 0x58


class IderDrive(enum.IntEnum):
    """The device/head register of 0x50: floppy = master 0xA0, CD-ROM = slave 0xB0 (6.1, 6.7)."""

    FLOPPY = 0xA0
    CD = 0xB0

    @classmethod
    def from_register(cls, device: int) -> IderDrive:
        """Bit 4 set means the slave, which is the CD-ROM (6.7)."""
        return cls.CD if device & 0x10 else cls.FLOPPY


# --- register fills (6.8) -----------------------------------------------------------------------


def status_registers(device: int, sense: Sense) -> AtaRegisters:
    """Output registers of 0x51: good = C5/00/03/../50, check condition = 87/key<<4/03/../51 (6.8)."""
    if sense[0] == 0:
        return AtaRegisters(mask=0xC5, sector_count=0x03, device=device, status=STATUS_GOOD)
    return AtaRegisters(
        mask=0x87, error=(sense[0] << 4) & 0xFF, sector_count=0x03, device=device, status=STATUS_CHECK
    )


def command_end(device: int, sense: Sense, sequence: int) -> IderCommandEndResponse:
    """The 0x51 that ends a command with ``sense`` (attributes 0x02, 6.8)."""
    return IderCommandEndResponse(
        attributes=ATTR_LAST,
        sequence=sequence,
        output_registers=status_registers(device, sense),
        sense_key=sense[0],
        asc=sense[1],
        ascq=sense[2],
    )


def data_chunk(device: int, data: bytes, *, dma: bool, last: bool, sequence: int) -> IderDataToHost:
    """One 0x54 with MeshCommander's PIO/DMA register fill (6.8).

    Input registers: mask B5 (PIO) / B4 (DMA), interrupt reason 02, byte count n
    (PIO) / 0 (DMA), status 58. Output registers only on the last chunk:
    85, 0, 03, 0, 0, device, 50.
    """
    inputs = AtaRegisters(
        mask=0xB4 if dma else 0xB5,
        sector_count=0x02,
        byte_count=0 if dma else len(data),
        device=device,
        status=STATUS_DATA,
    )
    outputs = (
        AtaRegisters(mask=0x85, sector_count=0x03, device=device, status=STATUS_GOOD)
        if last
        else AtaRegisters()
    )
    attributes = (ATTR_LAST if last else 0) | (ATTR_DMA if dma else 0)
    return IderDataToHost(data, attributes, sequence, inputs, outputs)


def write_request(device: int, byte_count: int, sequence: int) -> IderGetDataFromHost:
    """The 0x52 that asks the device for ``byte_count`` bytes of a host write (6.8)."""
    inputs = AtaRegisters(mask=0xB5, byte_count=byte_count, device=device, status=STATUS_DATA)
    return IderGetDataFromHost(sequence=sequence, transfer_bytes=byte_count, input_registers=inputs)

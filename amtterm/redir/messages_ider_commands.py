"""IDE-R command and data messages 0x50-0x54 (``shared/protocol/redirection.md`` 6.7, 6.8).

The device forwards each ATAPI PACKET command of the host as 0x50; the console
answers with status (0x51), read data (0x54), or asks for write data (0x52),
which arrives as 0x53. 0x51, 0x52 and 0x54 carry two 8-byte ATA register
blocks (:class:`AtaRegisters`). Header byte 3 ("attributes") of the console's
messages: 0x02 = command complete / last chunk, 0x01 = DMA (6.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from amtterm.errors import LocalProtocolError
from amtterm.redir.constants import MessageType
from amtterm.redir.framing import (
    FROM_CONSOLE,
    FROM_DEVICE,
    Message,
    encode_header,
    header_attributes,
    header_sequence,
    length_at,
    pack,
    u16,
)

#: Bytes of an ATAPI command block in 0x50 (6.7).
CDB_SIZE = 12


@dataclass(frozen=True)
class AtaRegisters:
    """One 8-byte ATA register block of 0x51 / 0x52 / 0x54 (6.8).

    Order on the wire: mask, error, sector count (= interrupt reason), sector
    number, byte count (u16), device, status.
    """

    mask: int = 0
    error: int = 0
    sector_count: int = 0
    sector_number: int = 0
    byte_count: int = 0
    device: int = 0
    status: int = 0

    def encode(self) -> bytes:
        """The 8 register bytes."""
        return pack(
            "BBBBHBB",
            self.mask,
            self.error,
            self.sector_count,
            self.sector_number,
            self.byte_count,
            self.device,
            self.status,
        )

    @classmethod
    def decode(cls, frame: bytes, offset: int) -> Self:
        """Read the block at ``offset``."""
        b = frame[offset : offset + 8]
        return cls(b[0], b[1], b[2], b[3], u16(frame, offset + 4), b[6], b[7])


@dataclass(frozen=True)
class IderCommandWritten(Message):
    """0x50, device -> console, 28 bytes: the ATA registers and ATAPI CDB of a host command (6.7)."""

    TYPE = MessageType.IDER_COMMAND_WRITTEN
    SENDERS = FROM_DEVICE
    SIZE = 28

    cdb: bytes = bytes(CDB_SIZE)
    device: int = 0xB0
    command: int = 0xA0
    features: int = 0
    sector_count: int = 0
    sector_number: int = 0
    byte_count_limit: int = 0
    cable_select: int = 0
    sequence: int = 0

    def encode(self) -> bytes:
        """Header, registers, CDB padded with zeros to 12 bytes."""
        if len(self.cdb) > CDB_SIZE:
            raise LocalProtocolError(f"an ATAPI CDB is at most {CDB_SIZE} bytes, not {len(self.cdb)}")
        regs = pack(
            "BBBBHBB",
            self.cable_select,
            self.features,
            self.sector_count,
            self.sector_number,
            self.byte_count_limit,
            self.device,
            self.command,
        )
        return encode_header(self.TYPE, self.sequence) + regs + self.cdb.ljust(CDB_SIZE, b"\x00")

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Read registers and the full 12-byte CDB."""
        return cls(
            cdb=bytes(frame[16:28]),
            device=frame[14],
            command=frame[15],
            features=frame[9],
            sector_count=frame[10],
            sector_number=frame[11],
            byte_count_limit=u16(frame, 12),
            cable_select=frame[8],
            sequence=header_sequence(frame),
        )


@dataclass(frozen=True)
class _IderStatusMessage(Message):
    """The 31-byte console message shared by 0x51 and 0x52 (6.8).

    header(attributes) | cable select | transfer bytes (u16) | packet number |
    input registers (8) | output registers (8) | sense key, ASC, ASCQ.
    """

    SENDERS = FROM_CONSOLE
    SIZE = 31

    attributes: int = 0
    sequence: int = 0
    cable_select: int = 0
    transfer_bytes: int = 0
    packet_number: int = 0
    input_registers: AtaRegisters = field(default_factory=AtaRegisters)
    output_registers: AtaRegisters = field(default_factory=AtaRegisters)
    sense_key: int = 0
    asc: int = 0
    ascq: int = 0

    def encode(self) -> bytes:
        """The 31 bytes."""
        return (
            encode_header(self.TYPE, self.sequence, self.attributes)
            + pack("BHB", self.cable_select, self.transfer_bytes, self.packet_number)
            + self.input_registers.encode()
            + self.output_registers.encode()
            + pack("BBB", self.sense_key, self.asc, self.ascq)
        )

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Read every field."""
        return cls(
            attributes=header_attributes(frame),
            sequence=header_sequence(frame),
            cable_select=frame[8],
            transfer_bytes=u16(frame, 9),
            packet_number=frame[11],
            input_registers=AtaRegisters.decode(frame, 12),
            output_registers=AtaRegisters.decode(frame, 20),
            sense_key=frame[28],
            asc=frame[29],
            ascq=frame[30],
        )


@dataclass(frozen=True)
class IderCommandEndResponse(_IderStatusMessage):
    """0x51, console -> device, 31 bytes: ends a command with status and sense (6.8).

    Good status: attributes 0x02, output mask 0xC5, status 0x50, sense 0/0/0.
    """

    TYPE = MessageType.IDER_COMMAND_END_RESPONSE


@dataclass(frozen=True)
class IderGetDataFromHost(_IderStatusMessage):
    """0x52, console -> device, 31 bytes: asks for the data of a host write (6.8)."""

    TYPE = MessageType.IDER_GET_DATA_FROM_HOST


@dataclass(frozen=True)
class IderDataFromHost(Message):
    """0x53, device -> console, 14 + n bytes: header, ?, n (u16), 3 x ?, data (6.8)."""

    TYPE = MessageType.IDER_DATA_FROM_HOST
    SENDERS = FROM_DEVICE
    SIZE = 14

    data: bytes = b""
    attributes: int = 0
    sequence: int = 0

    def encode(self) -> bytes:
        """Unknown bytes are sent as zero."""
        body = pack("BH3s", 0, len(self.data), bytes(3))
        return encode_header(self.TYPE, self.sequence, self.attributes) + body + self.data

    @classmethod
    def frame_length(cls, buf: bytes) -> int | None:
        """14 + n, n being the u16 at offset 9."""
        return length_at(buf, offset=9, size=2, fixed=14)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Unknown bytes 8 and 11-13 are ignored."""
        return cls(bytes(frame[14:]), header_attributes(frame), header_sequence(frame))


@dataclass(frozen=True)
class IderDataToHost(Message):
    """0x54, console -> device, 34 + n bytes: read data for the host (6.8).

    ``attributes`` 0x02 marks the last chunk (with the output registers filled),
    0x01 a DMA transfer.
    """

    TYPE = MessageType.IDER_DATA_TO_HOST
    SENDERS = FROM_CONSOLE
    SIZE = 34

    data: bytes = b""
    attributes: int = 0
    sequence: int = 0
    input_registers: AtaRegisters = field(default_factory=AtaRegisters)
    output_registers: AtaRegisters = field(default_factory=AtaRegisters)
    sense_key: int = 0
    asc: int = 0
    ascq: int = 0

    def encode(self) -> bytes:
        """Header, 0, n, 0, registers, sense, 3 reserved bytes, data."""
        return (
            encode_header(self.TYPE, self.sequence, self.attributes)
            + pack("BHB", 0, len(self.data), 0)
            + self.input_registers.encode()
            + self.output_registers.encode()
            + pack("BBB3s", self.sense_key, self.asc, self.ascq, bytes(3))
            + self.data
        )

    @classmethod
    def frame_length(cls, buf: bytes) -> int | None:
        """34 + n, n being the u16 at offset 9."""
        return length_at(buf, offset=9, size=2, fixed=34)

    @classmethod
    def decode_frame(cls, frame: bytes) -> Self:
        """Reserved bytes 8, 11 and 31-33 are ignored."""
        return cls(
            data=bytes(frame[34:]),
            attributes=header_attributes(frame),
            sequence=header_sequence(frame),
            input_registers=AtaRegisters.decode(frame, 12),
            output_registers=AtaRegisters.decode(frame, 20),
            sense_key=frame[28],
            asc=frame[29],
            ascq=frame[30],
        )

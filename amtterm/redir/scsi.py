"""The ATAPI/SCSI commands of a virtual CD-ROM and floppy, answered over a BlockDevice.

    result = handle(cdb, device, state)    # device None = no medium
    result.data, result.sense              # bytes for 0x54, (key, ASC, ASCQ) for 0x51
    result.write_bytes                     # a host write: take this many bytes, then refuse

Pure: no sockets, no clock, no files. :class:`MemoryDevice` serves bytes in memory; the
file-backed, read-only :class:`amtterm.session.images.ImageDevice` lives outside the codec.
The commands and their replies are those of ``shared/protocol/redirection.md``
6.11 and 6.11b, answered the way MeshCommander *means* to (real sense data where
its flag bug sends GOOD):

* a unit attention 06/28/00 is reported once after a reset or a medium change,
  except to INQUIRY, REQUEST SENSE, GET CONFIGURATION and GET EVENT STATUS;
* no medium: 02/3A/00 for every command that needs one;
* unknown opcode 05/20/00; LBA out of range 05/21/00; bad CDB field 05/24/00;
* every write 07/27/00 (write protected), after taking the host's data as MeshCommander does;
* every reply is clipped to the CDB's allocation length.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from amtterm.redir import scsi_pages as pages
from amtterm.redir.scsi_pages import DriveKind

__all__ = ["BlockDevice", "DriveKind", "MemoryDevice", "ScsiResult", "ScsiState", "handle"]


@dataclass(frozen=True)
class MemoryDevice:
    """A BlockDevice over bytes in memory (tests, the simulator)."""

    data: bytes
    block_size: int = 2048

    @property
    def block_count(self) -> int:
        """Whole blocks in ``data``."""
        return len(self.data) // self.block_size

    def read(self, lba: int, count: int) -> bytes:
        """A slice of ``data``."""
        return self.data[lba * self.block_size : (lba + count) * self.block_size]


Sense = tuple[int, int, int]
GOOD: Sense = (0, 0, 0)
NO_MEDIUM: Sense = (0x02, 0x3A, 0x00)
MEDIUM_CHANGED: Sense = (0x06, 0x28, 0x00)
INVALID_OPCODE: Sense = (0x05, 0x20, 0x00)
LBA_OUT_OF_RANGE: Sense = (0x05, 0x21, 0x00)
INVALID_FIELD: Sense = (0x05, 0x24, 0x00)
SAVING_NOT_SUPPORTED: Sense = (0x05, 0x39, 0x00)
WRITE_PROTECTED: Sense = (0x07, 0x27, 0x00)
READ_ERROR: Sense = (0x03, 0x11, 0x00)


class BlockDevice(Protocol):
    """A read-only run of fixed-size blocks."""

    @property
    def block_size(self) -> int:
        """Bytes per block (2048 CD, 512 floppy)."""
        ...

    @property
    def block_count(self) -> int:
        """Number of blocks."""
        ...

    def read(self, lba: int, count: int) -> bytes:
        """``count`` blocks from ``lba``; the caller has checked the range."""
        ...


@dataclass
class ScsiState:
    """What one drive remembers between commands."""

    kind: DriveKind
    #: Report 06/28/00 to the next command (after a bus reset or a medium change).
    unit_attention: bool = True
    #: The last check condition, for REQUEST SENSE.
    last_sense: Sense = GOOD
    #: A "new media" event is waiting for GET EVENT STATUS NOTIFICATION.
    media_event: bool = False

    def reset(self) -> None:
        """The host reset the bus: a unit attention is due."""
        self.unit_attention = True

    def medium_changed(self) -> None:
        """An image was inserted or swapped."""
        self.unit_attention = True
        self.media_event = True


@dataclass(frozen=True)
class ScsiResult:
    """The answer to one command: data (may be empty) and sense; GOOD is (0, 0, 0)."""

    data: bytes = b""
    sense: Sense = GOOD
    #: For a write: bytes of host data to take (0x52 / 0x53) before answering ``sense``.
    write_bytes: int = 0


def _u16(cdb: bytes, at: int) -> int:
    value: int = struct.unpack_from(">H", cdb, at)[0]
    return value


def _u32(cdb: bytes, at: int) -> int:
    value: int = struct.unpack_from(">I", cdb, at)[0]
    return value


def _fail(sense: Sense) -> ScsiResult:
    return ScsiResult(sense=sense)


def _data(data: bytes, allocation: int) -> ScsiResult:
    return ScsiResult(data[:allocation])


# --- transfer commands ------------------------------------------------------------------------


def _extent(cdb: bytes) -> tuple[int, int]:
    """(LBA, block count) of READ/WRITE(6), (10), (12) and SEEK(10)."""
    op = cdb[0]
    if op in (0x08, 0x0A):  # 6-byte: 21-bit LBA, count 0 means 256
        return ((cdb[1] & 0x1F) << 16) | (cdb[2] << 8) | cdb[3], cdb[4] or 256
    if op in (0xA8, 0xAA):
        return _u32(cdb, 2), _u32(cdb, 6)
    if op == 0x2B:
        return _u32(cdb, 2), 0
    return _u32(cdb, 2), _u16(cdb, 7)


def _read(cdb: bytes, device: BlockDevice, state: ScsiState) -> ScsiResult:
    lba, count = _extent(cdb)
    if lba + count > device.block_count or (count == 0 and lba > device.block_count):
        return _fail(LBA_OUT_OF_RANGE)
    if count == 0:
        return ScsiResult()
    try:
        data = device.read(lba, count)
    except OSError:
        return _fail(READ_ERROR)
    if len(data) != count * device.block_size:
        return _fail(READ_ERROR)  # the file shrank under us
    return ScsiResult(data)


def _write(cdb: bytes, device: BlockDevice, state: ScsiState) -> ScsiResult:
    # Take the data, then refuse: the medium is write-protected (6.8, MeshCommander).
    _, count = _extent(cdb)
    return ScsiResult(sense=WRITE_PROTECTED, write_bytes=count * device.block_size)


def _seek(cdb: bytes, device: BlockDevice, state: ScsiState) -> ScsiResult:
    lba, _ = _extent(cdb)
    return _fail(LBA_OUT_OF_RANGE) if lba >= device.block_count else ScsiResult()


# --- capacity ------------------------------------------------------------------------------------


def _read_capacity(cdb: bytes, device: BlockDevice, state: ScsiState) -> ScsiResult:
    last = min(device.block_count - 1, 0xFFFFFFFF)
    return ScsiResult(struct.pack(">II", last, device.block_size))


def _read_capacity16(cdb: bytes, device: BlockDevice, state: ScsiState) -> ScsiResult:
    if cdb[1] & 0x1F != 0x10:
        return _fail(INVALID_FIELD)
    data = struct.pack(">QI", device.block_count - 1, device.block_size).ljust(32, b"\x00")
    return _data(data, _u32(cdb, 10))


def _read_format_capacities(cdb: bytes, device: BlockDevice, state: ScsiState) -> ScsiResult:
    # One "formatted media" descriptor with the real size (MeshCommander hard-codes 1.44 MB).
    count = min(device.block_count, 0xFFFFFFFF)
    descriptor = struct.pack(">IB", count, 0x02) + device.block_size.to_bytes(3, "big")
    return _data(bytes((0, 0, 0, 8)) + descriptor, _u16(cdb, 7))


# --- commands that work without a medium -----------------------------------------------------------


Handler = Callable[[bytes, BlockDevice | None, ScsiState], ScsiResult]


def _good(cdb: bytes, device: BlockDevice | None, state: ScsiState) -> ScsiResult:
    return ScsiResult()


def _request_sense(cdb: bytes, device: BlockDevice | None, state: ScsiState) -> ScsiResult:
    if state.unit_attention and device is not None:
        state.unit_attention = False
        sense = MEDIUM_CHANGED
    elif state.last_sense != GOOD:
        sense = state.last_sense
    else:
        sense = NO_MEDIUM if device is None else GOOD
    state.last_sense = GOOD
    return _data(pages.request_sense_data(sense), cdb[4])


def _inquiry(cdb: bytes, device: BlockDevice | None, state: ScsiState) -> ScsiResult:
    if cdb[1] & 0x01 or cdb[2]:
        return _fail(INVALID_FIELD)  # no vital product data pages
    return _data(pages.inquiry_data(state.kind), _u16(cdb, 3))


def _mode_sense(cdb: bytes, device: BlockDevice | None, state: ScsiState) -> ScsiResult:
    code, control = cdb[2] & 0x3F, cdb[2] >> 6
    if control == 3:
        return _fail(SAVING_NOT_SUPPORTED)
    count = device.block_count if device is not None else None
    body = pages.mode_pages(state.kind, count).get(code)
    if body is None:
        return _fail(INVALID_FIELD)
    if control == 1:
        body = pages.blank_page_bodies(body)
    medium = pages.medium_type(state.kind, count)
    if cdb[0] == 0x1A:  # MODE SENSE(6): 4-byte header, write-protected, no block descriptors
        header = bytes((3 + len(body), medium, 0x80, 0))
        return _data(header + body, cdb[4])
    header = struct.pack(">HBBHH", 6 + len(body), medium, 0x80, 0, 0)
    return _data(header + body, _u16(cdb, 7))


def _event_status(cdb: bytes, device: BlockDevice | None, state: ScsiState) -> ScsiResult:
    if not cdb[1] & 0x01:
        return _fail(INVALID_FIELD)  # asynchronous notification is not supported
    if cdb[4] & 0x10:  # the media class was asked for
        event = 0x02 if state.media_event and device is not None else 0
        state.media_event = False
        present = 0x02 if device is not None else 0
        data = struct.pack(">HBB", 6, 0x04, 0x10) + bytes((event, present, 0, 0))
    else:
        data = struct.pack(">HBB", 2, 0x80, 0x10)  # no event available; media class supported
    return _data(data, _u16(cdb, 7))


def _configuration(cdb: bytes, device: BlockDevice | None, state: ScsiState) -> ScsiResult:
    rt = cdb[1] & 0x03
    if rt == 3:
        return _fail(INVALID_FIELD)
    return _data(pages.configuration(device is not None, rt, _u16(cdb, 2)), _u16(cdb, 7))


def _performance(cdb: bytes, device: BlockDevice | None, state: ScsiState) -> ScsiResult:
    return ScsiResult(struct.pack(">IBBH", 4, 0, 0, 0))  # header only: no descriptors


def _read_toc(cdb: bytes, device: BlockDevice, state: ScsiState) -> ScsiResult:
    msf = bool(cdb[1] & 0x02)
    form = cdb[2] & 0x0F or cdb[9] >> 6  # old SFF-8020 drives put the format in byte 9
    if form == 0:
        data = pages.toc_format0(device.block_count, cdb[6], msf)
        if data is None:
            return _fail(INVALID_FIELD)
    elif form == 1:
        data = pages.toc_format1(msf)
    else:
        return _fail(INVALID_FIELD)
    return _data(data, _u16(cdb, 7))


@dataclass(frozen=True)
class _Command:
    run: Callable[..., ScsiResult]
    needs_medium: bool = True
    #: Answered even while a unit attention is pending (which it leaves pending).
    ignores_attention: bool = False
    cd_only: bool = False


_COMMANDS: dict[int, _Command] = {
    0x00: _Command(_good),  # TEST UNIT READY
    0x03: _Command(_request_sense, needs_medium=False, ignores_attention=True),
    0x08: _Command(_read),  # READ(6)
    0x0A: _Command(_write),  # WRITE(6)
    0x12: _Command(_inquiry, needs_medium=False, ignores_attention=True),
    0x1A: _Command(_mode_sense, needs_medium=False),  # MODE SENSE(6)
    0x1B: _Command(_good, needs_medium=False),  # START STOP UNIT
    0x1E: _Command(_good, needs_medium=False),  # PREVENT / ALLOW MEDIUM REMOVAL
    0x23: _Command(_read_format_capacities),
    0x25: _Command(_read_capacity),  # READ CAPACITY(10)
    0x28: _Command(_read),  # READ(10)
    0x2A: _Command(_write),  # WRITE(10)
    0x2B: _Command(_seek),  # SEEK(10)
    0x2E: _Command(_write),  # WRITE AND VERIFY(10)
    0x43: _Command(_read_toc, cd_only=True),
    0x46: _Command(_configuration, needs_medium=False, ignores_attention=True, cd_only=True),
    0x4A: _Command(_event_status, needs_medium=False, ignores_attention=True),
    0x5A: _Command(_mode_sense, needs_medium=False),  # MODE SENSE(10)
    0x9E: _Command(_read_capacity16),
    0xA8: _Command(_read),  # READ(12)
    0xAA: _Command(_write),  # WRITE(12)
    0xAC: _Command(_performance, needs_medium=False, cd_only=True),
}


def handle(cdb: bytes, device: BlockDevice | None, state: ScsiState) -> ScsiResult:
    """Answer one command for the drive whose memory is ``state``; ``device`` None = no medium.

    MODE SELECT, LOG SELECT / SENSE, READ DISC / TRACK INFORMATION and every opcode
    not listed in 6.11 / 6.11b are refused with 05/20/00.
    """
    cdb = bytes(cdb).ljust(16, b"\x00")
    command = _COMMANDS.get(cdb[0])
    if command is None or (command.cd_only and state.kind is not DriveKind.CD):
        result = _fail(INVALID_OPCODE)
    elif state.unit_attention and device is not None and not command.ignores_attention:
        state.unit_attention = False
        result = _fail(MEDIUM_CHANGED)
    elif command.needs_medium and device is None:
        result = _fail(NO_MEDIUM)
    else:
        result = command.run(cdb, device, state)
    if cdb[0] != 0x03:
        state.last_sense = result.sense
    return result

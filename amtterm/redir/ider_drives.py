"""The console's virtual floppy and CD-ROM behind one IDE-R connection (pure).

    drives = IderDrives(conn, cd=ImageDevice.open(iso, DriveKind.CD))   # amtterm.session.images
    for event in conn.receive_data(data, now):
        served = drives.handle(event)          # answers commands, resets, write data
    socket.write(conn.data_to_send())

Each IderCommand goes to :func:`amtterm.redir.scsi.handle` for the drive its
device register names (0xB0 CD, 0xA0 floppy; ``shared/protocol/redirection.md``
6.1, 6.7), and the result goes back as 0x54 data chunks, a 0x51 status, or 0x52
requests for the host's write data followed by a 0x51 07/27/00 (6.8). A bus
reset (0x46) leaves a unit attention pending on both drives (6.6, 6.11).
"""

from __future__ import annotations

from dataclasses import dataclass

from amtterm.redir.connection import RedirectionConnection
from amtterm.redir.events import Event, IderCommand, IderReset, IderWriteData
from amtterm.redir.ider import GOOD, IderDrive, Sense
from amtterm.redir.scsi import BlockDevice, DriveKind, ScsiResult, ScsiState, handle

#: Opcodes that read blocks: READ(6), READ(10), READ(12).
READ_OPCODES = frozenset({0x08, 0x28, 0xA8})


@dataclass(frozen=True)
class ServedCommand:
    """What one finished command did, for progress accounting and logs."""

    drive: IderDrive
    cdb: bytes
    #: Data bytes sent to the host.
    data_bytes: int
    sense: Sense
    #: Blocks read, for READ commands that succeeded; else 0.
    blocks: int = 0

    @property
    def opcode(self) -> int:
        """The SCSI operation code."""
        return self.cdb[0]

    @property
    def ok(self) -> bool:
        """GOOD status."""
        return self.sense == GOOD


@dataclass
class _Write:
    """A host write being taken before it is refused."""

    command: IderCommand
    result: ScsiResult
    left: int


class IderDrives:
    """Answers IDE-R commands for a CD-ROM and a floppy, each with or without a medium.

    Args:
        conn: a console-role IDE-R connection.
        cd: the CD-ROM's medium (2048-byte blocks), or None.
        floppy: the floppy's medium (512-byte blocks), or None.
    """

    def __init__(
        self,
        conn: RedirectionConnection,
        *,
        cd: BlockDevice | None = None,
        floppy: BlockDevice | None = None,
    ) -> None:
        self.conn = conn
        self.media: dict[IderDrive, BlockDevice | None] = {IderDrive.CD: cd, IderDrive.FLOPPY: floppy}
        self.states = {IderDrive.CD: ScsiState(DriveKind.CD), IderDrive.FLOPPY: ScsiState(DriveKind.FLOPPY)}
        self._write: _Write | None = None

    def execute(self, command: IderCommand) -> ScsiResult:
        """Run ``command`` against its drive (updates the drive's sense and attention state)."""
        drive = IderDrive.from_register(command.device)
        return handle(command.cdb, self.media[drive], self.states[drive])

    def answer(self, command: IderCommand, result: ScsiResult) -> ServedCommand | None:
        """Put ``result`` on the wire; returns the record, or None while a write's data is still due."""
        if result.write_bytes:
            self._write = _Write(command, result, result.write_bytes)
            self._ask_for_write_data()
            return None
        if result.data and result.sense == GOOD:
            self.conn.send_ider_data(result.data)
        else:
            self.conn.send_ider_status(result.sense)
        return self.record(command, result, len(result.data) if result.sense == GOOD else 0)

    def record(self, command: IderCommand, result: ScsiResult, sent: int) -> ServedCommand:
        drive = IderDrive.from_register(command.device)
        blocks = 0
        medium = self.media[drive]
        if command.opcode in READ_OPCODES and result.sense == GOOD and medium is not None:
            blocks = sent // medium.block_size
        return ServedCommand(drive, command.cdb, sent, result.sense, blocks)

    def _ask_for_write_data(self) -> None:
        assert self._write is not None
        piece = min(self._write.left, self.conn.ider_write_buffer or 0xFFFF)
        self._write.left -= piece
        self.conn.request_ider_write_data(piece)

    def handle(self, event: Event) -> ServedCommand | None:
        """React to one codec event; returns a record when a command was finished."""
        if isinstance(event, IderCommand):
            return self.answer(event, self.execute(event))
        if isinstance(event, IderReset):
            for state in self.states.values():
                state.reset()
        elif isinstance(event, IderWriteData) and event.remaining == 0 and self._write is not None:
            if self._write.left:
                self._ask_for_write_data()
                return None
            write, self._write = self._write, None
            self.conn.send_ider_status(write.result.sense)
            return self.record(write.command, write.result, 0)
        return None

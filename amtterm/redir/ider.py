"""IDE-R (storage redirection) after authentication, console side, and the register fills both sides share.

Section numbers refer to ``shared/protocol/redirection.md``. The transition table
is in :mod:`amtterm.redir.state`; the device side is :mod:`amtterm.redir.ider_device`.

Rules this module implements:

* Sequence numbers (2.3): the console numbers its own IDE-R messages 0, 1, 2, ...
  starting with 0x40; the device numbers every message from 0 (0x41) with no gap,
  and the console checks that, as MeshCommander does.
* After 0x41 the console sends 0x48 SET_STATE with the start timing + ENABLE at
  once, without asking for the supported features first (6.5, MeshCommander).
* Every 0x50 is answered exactly once: 0x51 status, or 0x54 data chunks of at most
  the device's read buffer with the last one marked 0x02, or 0x52 write-data
  requests followed by 0x51 (6.8, 6.9). Commands are answered in the order they came.
* 0x46 is answered by 0x47, deferred until no command is left unanswered (6.6, 6.9).
* 0x4B is answered by our own 0x4B, 0x44 by 0x45; we also send a 0x4B when we have
  been quiet for a quarter of the device's RxTimeout (6.10).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.redir.constants import IderFeature, IderStartTiming
from amtterm.redir.events import (
    ConnectionClosed,
    Event,
    IderCommand,
    IderDevicesEnabled,
    IderEnableRejected,
    IderError,
    IderFeatureReport,
    IderRefused,
    IderReset,
    IderStarted,
    IderWriteData,
)
from amtterm.redir.framing import Message, describe_type
from amtterm.redir.ider_registers import (
    GOOD,
    MAX_IDER_DATA,
    IderDrive,
    Sense,
    command_end,
    data_chunk,
    write_request,
)
from amtterm.redir.messages import (
    EndIderRedirection,
    EndIderRedirectionReply,
    EndRedirectionSession,
    IderCommandWritten,
    IderDataFromHost,
    IderDataToHost,
    IderDisableEnableFeatures,
    IderDisableEnableFeaturesReply,
    IderErrorOccurred,
    IderHeartbeat,
    IderKeepAlivePing,
    IderKeepAlivePong,
    IderResetOccurred,
    IderResetOccurredResponse,
    StartIderRedirection,
    StartIderRedirectionReply,
)
from amtterm.redir.state import ConnectionCore, ConnectionState

__all__ = [
    "GOOD",
    "MAX_IDER_DATA",
    "IderConsoleProtocol",
    "IderDrive",
    "IderSettings",
    "Sense",
    "enable_value",
]


@dataclass(frozen=True)
class IderSettings:
    """The four values of 0x40 (6.3); the defaults are MeshCommander's."""

    rx_timeout_ms: int = 30000
    tx_timeout_ms: int = 0
    heartbeat_ms: int = 20000
    version: int = 1

    def as_tuple(self) -> tuple[int, int, int, int]:
        """The values in wire order."""
        return (self.rx_timeout_ms, self.tx_timeout_ms, self.heartbeat_ms, self.version)


# --- console side ---------------------------------------------------------------------------------


@dataclass
class _Unanswered:
    """A 0x50 the owner has not finished answering."""

    command: IderCommandWritten
    write_expected: int = 0  # bytes of 0x53 still due for our last 0x52


class IderConsoleProtocol:
    """The console's IDE-R sub-protocol, from 0x40 to 0x43.

    Args:
        core: the connection's shared state and outbox.
        settings: the 0x40 values.
        enable_value: the 0x48 SET_STATE value sent after 0x41 (timing | ENABLE).
    """

    def __init__(self, core: ConnectionCore, settings: IderSettings, enable_value: int) -> None:
        self._core = core
        self.settings = settings
        self._enable_value = enable_value
        self._tx_sequence = 0
        self._rx_sequence = 0
        self.read_buffer = 0
        self.write_buffer = 0
        self._pending_features: deque[int] = deque()
        self._unanswered: deque[_Unanswered] = deque()
        self._reset_owed = False
        self._partial = bytearray()  # data of the head command not yet put in a full chunk
        rx_seconds = (settings.rx_timeout_ms or 30000) / 1000
        self.heartbeat_interval = max(1.0, rx_seconds / 4)

    def _send(self, message: Message) -> None:
        self._core.send(message)
        self._tx_sequence = (self._tx_sequence + 1) & 0xFFFFFFFF

    def begin(self) -> None:
        """Queue 0x40 with sequence 0 (6.3, 2.3) and wait for 0x41."""
        self._send(StartIderRedirection(*self.settings.as_tuple(), sequence=self._tx_sequence))
        self._core.move_to(ConnectionState.IDER_STARTING)

    # --- received --------------------------------------------------------------------------------

    def handle(self, message: Message) -> list[Event]:
        """React to one IDE-R message the table allowed."""
        sequence = getattr(message, "sequence", None)
        if sequence != self._rx_sequence:
            raise RemoteProtocolError(
                f"the device numbered {describe_type(message.TYPE)} {sequence}, but {self._rx_sequence} "
                f"was next: IDE-R messages from the device are numbered without gaps (2.3)"
            )
        self._rx_sequence = (self._rx_sequence + 1) & 0xFFFFFFFF
        closing = self._core.state is ConnectionState.IDER_CLOSING
        if isinstance(message, IderHeartbeat):
            self._send(IderHeartbeat(self._tx_sequence))
            return []
        if isinstance(message, IderKeepAlivePing):
            self._send(IderKeepAlivePong(self._tx_sequence))
            return []
        if isinstance(message, IderKeepAlivePong):
            return []
        if isinstance(message, EndIderRedirectionReply):
            # After 0x43 the console ends the session with 0x12 and closes (6.10, 3.3).
            self._core.send(EndRedirectionSession())
            self._core.move_to(ConnectionState.CLOSED)
            return [ConnectionClosed("the IDE-R session ended")]
        if closing:
            return []  # the session is ending: commands, resets and replies are dropped
        if isinstance(message, StartIderRedirectionReply):
            return self._on_start_reply(message)
        if isinstance(message, IderDisableEnableFeaturesReply):
            return self._on_features(message)
        if isinstance(message, IderResetOccurred):
            self._reset_owed = True
            self._pay_reset()
            return [IderReset(message.mask)]
        if isinstance(message, IderCommandWritten):
            return self._on_command(message)
        if isinstance(message, IderDataFromHost):
            return self._on_write_data(message)
        if isinstance(message, IderErrorOccurred):
            # MeshCommander logs it and carries on (6.10).
            return [IderError(message.code, message.detail)]
        return []

    def _on_start_reply(self, reply: StartIderRedirectionReply) -> list[Event]:
        if reply.status != 0:
            self._core.send(EndRedirectionSession())
            self._core.move_to(ConnectionState.CLOSED)
            return [IderRefused(reply.status)]
        if reply.read_buffer == 0:
            raise RemoteProtocolError("the device offers an IDE-R read buffer of 0 bytes (6.4)")
        self.read_buffer = min(reply.read_buffer, MAX_IDER_DATA)
        self.write_buffer = reply.write_buffer
        self._core.move_to(ConnectionState.IDER_ACTIVE)
        self.request_features(IderFeature.SET_STATE, self._enable_value)
        return [
            IderStarted(
                reply.protocol_version,
                reply.firmware_version,
                reply.read_buffer,
                reply.write_buffer,
                reply.feature_byte,
                reply.oem_iana,
            )
        ]

    def _on_features(self, reply: IderDisableEnableFeaturesReply) -> list[Event]:
        if not self._pending_features or self._pending_features[0] != reply.subcommand:
            raise RemoteProtocolError(
                f"the device answered IDE-R feature sub-command {int(reply.subcommand)}, which we did not ask"
            )
        asked = self._pending_features.popleft()
        if asked == IderFeature.SET_STATE:
            # 1 = done, anything else = rejected (a host command was in progress) (6.5).
            if reply.value == 1:
                return [IderDevicesEnabled(self._enable_value)]
            return [IderEnableRejected(reply.value)]
        return [IderFeatureReport(IderFeature(asked), reply.value)]

    def _on_command(self, message: IderCommandWritten) -> list[Event]:
        self._unanswered.append(_Unanswered(message))
        return [
            IderCommand(
                cdb=message.cdb,
                device=message.device,
                dma=bool(message.features & 0x01),
                byte_count_limit=message.byte_count_limit,
                sequence=message.sequence,
            )
        ]

    def _on_write_data(self, message: IderDataFromHost) -> list[Event]:
        head = self._unanswered[0] if self._unanswered else None
        if head is None or len(message.data) > head.write_expected:
            expected = head.write_expected if head else 0
            raise RemoteProtocolError(
                f"the device sent {len(message.data)} bytes of write data, "
                f"but {expected} were asked for (6.8)"
            )
        head.write_expected -= len(message.data)
        return [IderWriteData(message.data, head.write_expected)]

    # --- owner actions ---------------------------------------------------------------------------

    def _head(self, what: str) -> _Unanswered:
        if self._core.state is not ConnectionState.IDER_ACTIVE:
            raise LocalProtocolError(f"cannot {what} while the connection is {self._core.state.value}")
        if not self._unanswered:
            raise LocalProtocolError(f"cannot {what}: no IDE-R command is waiting for an answer")
        return self._unanswered[0]

    def send_status(self, sense: Sense = GOOD) -> None:
        """End the oldest unanswered command with 0x51 (6.8); data already queued is flushed first."""
        head = self._head("send IDE-R status")
        device = head.command.device
        if self._partial:
            self._flush_partial(head, last=sense == GOOD)
            if sense == GOOD:
                self._finish()
                return
        self._send(command_end(device, sense, self._tx_sequence))
        self._finish()

    def send_data(self, data: bytes, *, last: bool = True) -> None:
        """Answer the oldest unanswered command with read data, chunked by the read buffer (6.9).

        ``last=False`` keeps the command open for more data (streaming a long
        read); chunks then stay full-sized, only the final one may be shorter.
        Empty data with ``last`` ends the command with GOOD status.
        """
        head = self._head("send IDE-R data")
        self._partial += data
        size = self.read_buffer
        whole = len(self._partial) if last else len(self._partial) - len(self._partial) % size
        view = memoryview(self._partial)
        try:
            for start in range(0, whole, size):
                piece = bytes(view[start : start + size])
                final = last and start + size >= whole
                self._send(self._chunk(head, piece, final))
        finally:
            view.release()
        del self._partial[:whole]
        if last:
            if whole == 0:
                self._send(command_end(head.command.device, GOOD, self._tx_sequence))
            self._finish()

    def _chunk(self, head: _Unanswered, piece: bytes, last: bool) -> IderDataToHost:
        dma = bool(head.command.features & 0x01)
        return data_chunk(head.command.device, piece, dma=dma, last=last, sequence=self._tx_sequence)

    def _flush_partial(self, head: _Unanswered, *, last: bool) -> None:
        data = bytes(self._partial)
        self._partial.clear()
        for start in range(0, len(data), self.read_buffer):
            piece = data[start : start + self.read_buffer]
            self._send(self._chunk(head, piece, last and start + self.read_buffer >= len(data)))

    def request_write_data(self, byte_count: int) -> None:
        """Ask for ``byte_count`` bytes of the host's write with 0x52 (<= the write buffer, 6.8)."""
        head = self._head("ask for IDE-R write data")
        limit = self.write_buffer or MAX_IDER_DATA
        if not 0 < byte_count <= limit or head.write_expected:
            raise LocalProtocolError(
                f"ask for 1 to {limit} bytes of write data at a time, after the previous ones arrived"
            )
        head.write_expected = byte_count
        self._send(write_request(head.command.device, byte_count, self._tx_sequence))

    def _finish(self) -> None:
        self._unanswered.popleft()
        self._pay_reset()

    def _pay_reset(self) -> None:
        # MeshCommander answers 0x46 only once the read in flight is sent (6.6, 6.9).
        if self._reset_owed and not self._unanswered:
            self._reset_owed = False
            self._send(IderResetOccurredResponse(self._tx_sequence))

    def request_features(self, subcommand: IderFeature, value: int = 0) -> None:
        """Queue 0x48: get supported (1), get state (2) or set state (3, with ``value``) (6.5)."""
        if self._core.state is not ConnectionState.IDER_ACTIVE:
            raise LocalProtocolError(
                f"cannot send IDE-R features while the connection is {self._core.state.value}"
            )
        if subcommand == IderFeature.SET_STATE:
            self._enable_value = value
        self._pending_features.append(int(subcommand))
        self._send(IderDisableEnableFeatures(subcommand, value, self._tx_sequence))

    def close(self) -> None:
        """0x42 (6.10); the device answers 0x43, after which we send 0x12."""
        self._unanswered.clear()
        self._partial.clear()
        self._send(EndIderRedirection(self._tx_sequence))
        self._core.move_to(ConnectionState.IDER_CLOSING)

    @property
    def unanswered(self) -> int:
        """How many commands wait for an answer."""
        return len(self._unanswered)

    def send_heartbeat(self) -> None:
        """Our own 0x4B, so the device's RxTimeout never fires while we are idle (6.10)."""
        self._send(IderHeartbeat(self._tx_sequence))


def enable_value(timing: IderStartTiming) -> int:
    """The SET_STATE value for ``timing``: its bits + ENABLE (6.5)."""
    return int(timing) | int(IderStartTiming.ENABLE)

"""IDE-R after authentication, device (firmware) side, as the simulator plays it.

Section numbers refer to ``shared/protocol/redirection.md``; the transition table
is in :mod:`amtterm.redir.state`. Behaviour follows the recommended simulator
profile (12):

* 0x41 carries sequence 0, every later message we send 1, 2, 3, ... (2.3);
  read / write buffer from DeviceConfig (8192), byte 21 = 0, IANA 343 (6.4).
* RxTimeout below 10 s (amtterm HEAD's malformed 0x40 gives 0) is raised to 30 s (6.3).
* 0x48 is answered with 0x49: supported = 1, state = 2 when enabled, set = 1 done or
  0 rejected when "gracefully" was asked while a host command is in progress (6.5).
* One outstanding 0x50 at a time; its 0x54 chunks (each <= our read buffer) are
  joined until the one marked last; 0x51 must be self-consistent (ERR bit <=> sense key) (6.8).
* Keep-alive: 0x4B every HeartbeatInterval, or a 0x44 after 5 s without sending
  when it is 0; also a 0x44 when the console has been silent for half its RxTimeout,
  because MeshCommander answers pings but ignores heartbeats (6.10).
* A 0x44 that arrives while a ping of ours is unanswered is the console's answer:
  amtider echoes our 0x44 unchanged and knows no 0x45, so answering the echo with
  0x45 would end its session (6.10, 11). Only a 0x44 the console starts gets a 0x45.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.redir.constants import IderFeature, IderStartTiming
from amtterm.redir.events import (
    Event,
    IderCommandCompleted,
    IderEndRequested,
    IderResetAcknowledged,
    IderStartRequested,
    IderStateSet,
    IderWriteDataRequested,
    PeerTimeout,
)
from amtterm.redir.framing import Message
from amtterm.redir.ider import MAX_IDER_DATA, IderDrive
from amtterm.redir.messages import (
    EndIderRedirection,
    EndIderRedirectionReply,
    IderCommandEndResponse,
    IderCommandWritten,
    IderDataFromHost,
    IderDataToHost,
    IderDisableEnableFeatures,
    IderDisableEnableFeaturesReply,
    IderErrorOccurred,
    IderGetDataFromHost,
    IderHeartbeat,
    IderKeepAlivePing,
    IderKeepAlivePong,
    IderResetOccurred,
    IderResetOccurredResponse,
    StartIderRedirection,
    StartIderRedirectionReply,
)
from amtterm.redir.messages_ider import CDB_SIZE
from amtterm.redir.state import ConnectionCore, ConnectionState

if TYPE_CHECKING:
    from amtterm.redir.connection import DeviceConfig


#: RxTimeout used when the console asks for less than the SDK's minimum of 10 s (6.3).
DEFAULT_IDER_RX_TIMEOUT_MS = 30000
MIN_IDER_RX_TIMEOUT_MS = 10000
#: With HeartbeatInterval 0 the device pings after this much idle time (6.10).
IDLE_PING_SECONDS = 5.0


@dataclass
class _Outstanding:
    """Our 0x50 the console has not finished."""

    cdb: bytes
    device: int
    chunks: list[bytes] = field(default_factory=list)


class IderDeviceProtocol:
    """The firmware's IDE-R sub-protocol, from 0x40 to 0x43."""

    def __init__(self, core: ConnectionCore, config: DeviceConfig) -> None:
        self._core = core
        self._config = config
        self._sequence = 0
        self.rx_timeout_ms = DEFAULT_IDER_RX_TIMEOUT_MS
        self.heartbeat_ms = 0
        self.enabled = False
        self._reset_pending = False
        self._command: _Outstanding | None = None
        self._next_heartbeat: float | None = None
        self._pinged_at: float | None = None
        self._pings_unanswered = 0

    def _send(self, message: Message) -> None:
        self._core.send(message)
        self._sequence = (self._sequence + 1) & 0xFFFFFFFF

    # --- received --------------------------------------------------------------------------------

    def start(self, request: StartIderRedirection) -> list[Event]:
        """Answer 0x40 with 0x41 (sequence 0) and enter IDER_ACTIVE (6.3, 6.4)."""
        rx = request.rx_timeout_ms
        self.rx_timeout_ms = rx if rx >= MIN_IDER_RX_TIMEOUT_MS else DEFAULT_IDER_RX_TIMEOUT_MS
        self.heartbeat_ms = request.heartbeat_ms
        reply = StartIderRedirectionReply(
            sequence=self._sequence,
            firmware_version=self._config.firmware_version,
            read_buffer=self._config.ider_read_buffer,
            write_buffer=self._config.ider_write_buffer,
        )
        self._send(reply)
        self._core.move_to(ConnectionState.IDER_ACTIVE)
        if self.heartbeat_ms:
            self._next_heartbeat = self._core.now + self.heartbeat_ms / 1000
        return [
            IderStartRequested(self.rx_timeout_ms, request.tx_timeout_ms, self.heartbeat_ms, request.version)
        ]

    def handle(self, message: Message) -> list[Event]:
        """React to one IDE-R message the table allowed."""
        self._pinged_at = None  # the console spoke: it is alive
        if isinstance(message, IderKeepAlivePing):
            if self._pings_unanswered:
                self._pings_unanswered -= 1  # an echo of our ping: its answer, not a question
            else:
                self._send(IderKeepAlivePong(self._sequence))
            return []
        if isinstance(message, IderKeepAlivePong):
            self._pings_unanswered = 0
            return []
        if self._core.state is ConnectionState.IDER_CLOSING or not isinstance(
            message,
            IderDisableEnableFeatures
            | IderResetOccurredResponse
            | IderCommandEndResponse
            | IderDataToHost
            | IderGetDataFromHost
            | EndIderRedirection,
        ):
            return []  # 0x4B, 0x45: they only reset the rx timeout; the rest is dropped while closing
        if isinstance(message, IderDisableEnableFeatures):
            return self._on_features(message)
        if isinstance(message, IderResetOccurredResponse):
            if not self._reset_pending:
                raise RemoteProtocolError("the console answered a reset (0x47) that we did not announce")
            self._reset_pending = False
            return [IderResetAcknowledged()]
        if isinstance(message, EndIderRedirection):
            self._send(EndIderRedirectionReply(self._sequence))
            self._core.move_to(ConnectionState.IDER_CLOSING)
            self._command = None
            return [IderEndRequested()]
        return self._on_answer(message)

    def _on_features(self, request: IderDisableEnableFeatures) -> list[Event]:
        subcommand = request.subcommand
        events: list[Event] = []
        if subcommand == IderFeature.GET_SUPPORTED:
            value = 1  # enabling / disabling the primary channel is supported (6.5)
        elif subcommand == IderFeature.GET_STATE:
            value = 0x02 if self.enabled else 0
        else:
            wants_on = bool(request.value & IderStartTiming.ENABLE)
            graceful = request.value & 0x18 == IderStartTiming.GRACEFULLY
            accepted = not (graceful and self._command is not None)
            value = 1 if accepted else 0
            if accepted:
                self.enabled = wants_on
            events.append(IderStateSet(request.value, accepted))
        self._send(IderDisableEnableFeaturesReply(subcommand, value, self._sequence))
        return events

    def _on_answer(self, message: Message) -> list[Event]:
        command = self._command
        if command is None:
            raise RemoteProtocolError(
                f"the console sent {message.name}, but no IDE-R command of ours is waiting for an answer"
            )
        if isinstance(message, IderGetDataFromHost):
            return [IderWriteDataRequested(message.transfer_bytes)]
        if isinstance(message, IderDataToHost):
            limit = self._config.ider_read_buffer
            if len(message.data) > limit:
                raise RemoteProtocolError(
                    f"the console sent {len(message.data)} bytes in one IDE-R data message; "
                    f"our read buffer is {limit} (6.9)"
                )
            command.chunks.append(message.data)
            if not message.attributes & 0x02:
                return []
            regs = message.output_registers
            sense = (message.sense_key, message.asc, message.ascq)
            return [self._complete(command, regs.status, sense)]
        assert isinstance(message, IderCommandEndResponse)
        status = message.output_registers.status
        sense = (message.sense_key, message.asc, message.ascq)
        if bool(status & 0x01) != bool(sense[0]):
            raise RemoteProtocolError(
                f"the console ended a command with status 0x{status:02x} but sense "
                f"{sense[0]:02x}/{sense[1]:02x}/{sense[2]:02x}: error bit and sense key disagree (6.8)"
            )
        return [self._complete(command, status, sense)]

    def _complete(
        self, command: _Outstanding, status: int, sense: tuple[int, int, int]
    ) -> IderCommandCompleted:
        self._command = None
        data = b"".join(command.chunks)
        return IderCommandCompleted(command.cdb, command.device, data, status, *sense)

    # --- owner actions ---------------------------------------------------------------------------

    def _require_active(self, what: str) -> None:
        if self._core.state is not ConnectionState.IDER_ACTIVE:
            raise LocalProtocolError(f"cannot {what} while the connection is {self._core.state.value}")

    def send_command(
        self, cdb: bytes, drive: IderDrive | int, *, dma: bool = False, byte_count_limit: int = 0xFFFE
    ) -> None:
        """Forward one ATAPI PACKET command as 0x50; one at a time (6.7, 12)."""
        self._require_active("send an IDE-R command")
        if self._command is not None:
            raise LocalProtocolError("an IDE-R command is still waiting for its answer; one at a time")
        if not 1 <= len(cdb) <= CDB_SIZE:
            raise LocalProtocolError(f"an ATAPI CDB is 1 to {CDB_SIZE} bytes, not {len(cdb)}")
        cdb = cdb.ljust(CDB_SIZE, b"\x00")
        self._command = _Outstanding(cdb, int(drive))
        message = IderCommandWritten(
            cdb=cdb,
            device=int(drive),
            features=0x01 if dma else 0,
            byte_count_limit=byte_count_limit,
            sequence=self._sequence,
        )
        self._send(message)

    def send_reset(self, mask: int = 0) -> None:
        """Announce a host bus reset (0x46); the console answers 0x47 (6.6)."""
        self._require_active("announce an IDE-R reset")
        self._reset_pending = True
        self._send(IderResetOccurred(mask, self._sequence))

    def send_write_data(self, data: bytes) -> None:
        """Send host write data as 0x53 chunks of at most our write buffer (6.8)."""
        self._require_active("send IDE-R write data")
        if self._command is None:
            raise LocalProtocolError("no IDE-R command is waiting for write data")
        size = min(self._config.ider_write_buffer, MAX_IDER_DATA) or MAX_IDER_DATA
        for start in range(0, len(data), size):
            self._send(IderDataFromHost(bytes(data[start : start + size]), sequence=self._sequence))

    def send_error(self, code: int, detail: bytes = b"\x00\x00") -> None:
        """Report an error with 0x4A (6.10)."""
        self._require_active("report an IDE-R error")
        self._send(IderErrorOccurred(code, detail, self._sequence))

    @property
    def command_outstanding(self) -> bool:
        """Whether our 0x50 still waits for its answer."""
        return self._command is not None

    # --- timers ---------------------------------------------------------------------------------------

    def _rx_timeout(self) -> float:
        return self.rx_timeout_ms / 1000

    def _ping_due(self) -> float | None:
        if self._core.state is not ConnectionState.IDER_ACTIVE:
            return None
        candidates = []
        if self._pinged_at is None:
            # The console has been silent for half its RxTimeout: ask it to speak.
            candidates.append(self._core.last_rx + self._rx_timeout() / 2)
        if not self.heartbeat_ms:
            candidates.append(self._core.last_tx + IDLE_PING_SECONDS)
        return min(candidates, default=None)

    def next_deadline(self) -> float | None:
        """The earliest of: rx timeout, next heartbeat, next ping."""
        if self._core.state not in (ConnectionState.IDER_ACTIVE, ConnectionState.IDER_CLOSING):
            return None
        deadlines = [self._core.last_rx + self._rx_timeout()]
        if self._core.state is ConnectionState.IDER_ACTIVE and self._next_heartbeat is not None:
            deadlines.append(self._next_heartbeat)
        ping = self._ping_due()
        if ping is not None:
            deadlines.append(ping)
        return min(deadlines)

    def on_timer(self, now: float) -> list[Event]:
        """Fire what is due at ``now``."""
        if self._core.state not in (ConnectionState.IDER_ACTIVE, ConnectionState.IDER_CLOSING):
            return []
        if now >= self._core.last_rx + self._rx_timeout():
            self._core.move_to(ConnectionState.CLOSED)
            return [PeerTimeout(self._rx_timeout())]
        if self._core.state is not ConnectionState.IDER_ACTIVE:
            return []
        beat = self._next_heartbeat
        if beat is not None and now >= beat:
            self._send(IderHeartbeat(self._sequence))
            interval = self.heartbeat_ms / 1000
            following = beat + interval
            self._next_heartbeat = following if following > now else now + interval
        ping = self._ping_due()
        if ping is not None and now >= ping:
            self._send(IderKeepAlivePing(self._sequence))
            self._pinged_at = now
            self._pings_unanswered += 1
        return []

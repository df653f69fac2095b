"""RedirectionConnection: the sans-IO state machine of one redirection TCP connection.

API CONTRACT (the session layer and the simulator are written against it; keep it):

    conn = RedirectionConnection(ConsoleConfig(...))      # or DeviceConfig(...)
    conn.start(now)                  # console: queues 0x10. device: arms timers.
    events = conn.receive_data(data, now)   # bytes in any split -> list[Event]; b"" = peer EOF
    frames = conn.frames_to_send()   # list of whole messages queued since last call, in order
    data   = conn.data_to_send()     # the same, joined (console side writes this)
    events = conn.handle_timer(now)  # heartbeats, peer-timeout; call at next_timer_at()
    t      = conn.next_timer_at()    # absolute time of the next deadline, or None
    conn.state                        # ConnectionState

  console role:
    conn.send_sol_data(b"...")        # 0x28, split into chunks of at most 65535 bytes
    conn.close()                      # SOL running: 0x22, then 0x12 after 0x23; else 0x12 at once
                                      # IDE-R running: 0x42, then 0x12 after 0x43

  console role, IDE-R session (ConsoleConfig(session_type=SessionType.IDER)); answer each
  IderCommand event, oldest first, with exactly one of:
    conn.send_ider_status(sense)      # 0x51: GOOD (0, 0, 0) or a check condition
    conn.send_ider_data(data, last=True)   # 0x54 chunks of the read buffer, last marked 0x02
    conn.request_ider_write_data(n)   # 0x52 (n <= write buffer); IderWriteData events follow,
                                      # then send_ider_status()
    conn.request_ider_features(IderFeature.GET_STATE)               # 0x48; 0x49 -> event

  device role, IDE-R session (the simulated firmware's BIOS side):
    conn.send_ider_reset(mask)        # 0x46; IderResetAcknowledged follows
    conn.send_ider_command(cdb, IderDrive.CD, dma=False)           # 0x50, one at a time;
                                      # IderCommandCompleted (or IderWriteDataRequested) follows
    conn.send_ider_write_data(data)   # 0x53 chunks, after IderWriteDataRequested
    conn.send_ider_error(code)        # 0x4A

  KVM session (ConsoleConfig(session_type=SessionType.KVM); the device accepts a KVMR
  SessionRequested like any other): after KvmStarted every received byte comes as KvmData
  (RFB, for amtterm.rfb) and both roles send RFB with
    conn.send_kvm_data(b"...")

  device role:
    conn.accept_session() / conn.refuse_session(StartStatus.BUSY)   # after SessionRequested
    conn.send_sol_data(b"...")        # 0x2A, chunked by the console's MaxTxBuffer
    conn.send_sol_controls(SolControl, SolStatus)                    # 0x29
    conn.close()

Errors: receive_data() raises amtterm.errors.RemoteProtocolError for bytes that break
the protocol (unknown type, bad length, message not allowed in this state) and then
the connection is CLOSED; it raises nothing else, whatever the input. Calling a send
method in the wrong state raises LocalProtocolError.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from amtterm.errors import ConfigError, LocalProtocolError, RemoteProtocolError
from amtterm.redir import kvm
from amtterm.redir.console_role import ConsoleProtocol
from amtterm.redir.constants import (
    AuthType,
    IderFeature,
    IderStartTiming,
    SessionType,
    SolControl,
    SolStatus,
    StartStatus,
)
from amtterm.redir.device_role import DeviceProtocol
from amtterm.redir.events import Event, KvmData
from amtterm.redir.framing import MAX_ELEMENT_LENGTH, describe_type
from amtterm.redir.ider import GOOD, IderConsoleProtocol, IderDrive, IderSettings, Sense
from amtterm.redir.ider_device import IderDeviceProtocol
from amtterm.redir.messages import SolSettings, decode_message, gap_after
from amtterm.redir.state import ConnectionCore, ConnectionState, Role, check_receivable

__all__ = [
    "ConnectionState",
    "ConsoleConfig",
    "DeviceConfig",
    "IderDrive",
    "IderSettings",
    "RedirectionConnection",
    "Role",
    "gap_after",
]

#: Role and ConnectionState are defined in amtterm.redir.state, beside the
#: transition table they belong to, and re-exported here.


@dataclass(frozen=True)
class ConsoleConfig:
    """What a console needs to open a SOL session."""

    user: str
    password: str = field(repr=False)
    #: Methods we are willing to use, most preferred first. PLAIN only if asked (-L).
    auth_methods: tuple[AuthType, ...] = (AuthType.DIGEST, AuthType.DIGEST_NO_QOP)
    #: Legacy mode: send plain auth right after 0x11 without a query, like amtterm 1.4.
    legacy_plain: bool = False
    sol_settings: SolSettings = field(default_factory=SolSettings)
    #: Peer silence after which PeerTimeout is raised (amtterm gives up after 20 s); 0 = never.
    peer_timeout: float = 20.0
    #: SOL (the default), IDE-R (6) or KVM (7: after 0x40 / 0x41 the connection carries RFB).
    session_type: SessionType = SessionType.SOL
    #: IDE-R only: the 0x40 values (6.3) and when the drives appear to the host (6.5).
    ider_settings: IderSettings = field(default_factory=IderSettings)
    ider_timing: IderStartTiming = IderStartTiming.ON_RESET


@dataclass(frozen=True)
class DeviceConfig:
    """What the simulated firmware needs."""

    users: dict[str, str] = field(repr=False)
    firmware_version: tuple[int, int] = (11, 8)
    #: Methods answered to the query, and accepted. AMT 12+: (DIGEST,) only.
    auth_methods: tuple[AuthType, ...] = (AuthType.PLAIN, AuthType.DIGEST_NO_QOP, AuthType.DIGEST)
    #: Send a 0x29 (controls, power state) right after 0x21.
    initial_controls: bool = True
    powered_on: bool = True
    #: Digest realm; None = ``Digest:`` + 32 random uppercase hex digits per connection (4.4).
    realm: str | None = None
    #: IDE-R buffers announced in 0x41: most data bytes per 0x54 / 0x53 (6.4; MeshCommander needs <= 8192).
    ider_read_buffer: int = 8192
    ider_write_buffer: int = 8192


def _check_console_config(config: ConsoleConfig) -> None:
    # User and password travel as one-byte-length elements (4.2).
    for what, value in (("user name", config.user), ("password", config.password)):
        if len(value.encode("utf-8")) > MAX_ELEMENT_LENGTH:
            raise ConfigError(
                f"The {what} is longer than the {MAX_ELEMENT_LENGTH} bytes AMT can carry; use a shorter one."
            )
    usable = {AuthType.PLAIN, AuthType.DIGEST_NO_QOP, AuthType.DIGEST}
    if not config.auth_methods or not set(config.auth_methods) <= usable:
        raise ConfigError("Choose the auth methods among plain, digest and digest without qop.")
    # The six SOL settings are 16-bit fields (5.1).
    if not all(0 <= value <= 0xFFFF for value in config.sol_settings.as_tuple()):
        raise ConfigError("Each SOL setting must be between 0 and 65535.")
    # Three 16-bit timeouts and a 32-bit version (6.3).
    rx, tx, heartbeat, version = config.ider_settings.as_tuple()
    if not all(0 <= value <= 0xFFFF for value in (rx, tx, heartbeat)) or not 0 <= version <= 0xFFFFFFFF:
        raise ConfigError("Each IDE-R timeout must be between 0 and 65535 ms.")


def _check_device_config(config: DeviceConfig) -> None:
    if not all(0 <= part <= 0xFF for part in config.firmware_version):
        raise ConfigError("A firmware version is two numbers between 0 and 255.")
    if config.realm is not None and len(config.realm.encode("utf-8")) > MAX_ELEMENT_LENGTH:
        raise ConfigError(f"The digest realm is longer than {MAX_ELEMENT_LENGTH} bytes; use a shorter one.")
    if not (1 <= config.ider_read_buffer <= 0xFFFF and 1 <= config.ider_write_buffer <= 0xFFFF):
        raise ConfigError("The IDE-R read and write buffers must be between 1 and 65535 bytes.")


class RedirectionConnection:
    """Sans-IO state machine of one redirection TCP connection, in the console or device role.

    The role follows from the config type. See the module docstring for the
    API contract and :mod:`amtterm.redir.state` for the transition table.

    Args:
        config: ConsoleConfig (we are the console) or DeviceConfig (we are the firmware).
        random_bytes: source of randomness for cnonce, realm and nonce; tests
            inject a deterministic one.

    Raises:
        ConfigError: the config cannot be put on the wire (e.g. a 300-byte password).
    """

    def __init__(
        self,
        config: ConsoleConfig | DeviceConfig,
        *,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._buffer = bytearray()
        self._impl: ConsoleProtocol | DeviceProtocol
        if isinstance(config, ConsoleConfig):
            _check_console_config(config)
            self._core = ConnectionCore(Role.CONSOLE, random_bytes)
            self._impl = ConsoleProtocol(self._core, config)
        elif isinstance(config, DeviceConfig):
            _check_device_config(config)
            self._core = ConnectionCore(Role.DEVICE, random_bytes)
            self._impl = DeviceProtocol(self._core, config)
        else:
            raise TypeError(f"expected ConsoleConfig or DeviceConfig, not {type(config).__name__}")
        self.config = config

    @property
    def role(self) -> Role:
        """CONSOLE or DEVICE."""
        return self._core.role

    @property
    def state(self) -> ConnectionState:
        """The current state."""
        return self._core.state

    def start(self, now: float) -> None:
        """Begin: the console queues StartRedirectionSession, the device arms its timers.

        Raises:
            LocalProtocolError: already started.
        """
        self._core.now = now
        self._impl.start()

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes from the peer, split anywhere; ``b""`` means the peer closed TCP.

        Returns:
            The events the bytes caused, in order. Replies the protocol requires
            (echoes, auth steps, SOL start replies) are queued for
            :meth:`frames_to_send` without appearing here.

        Raises:
            RemoteProtocolError: the bytes break the protocol (unknown type, bad
                length, message not allowed now, EOF inside a message). The
                connection is CLOSED afterwards. Nothing else is ever raised.
        """
        core = self._core
        if core.closed:
            return []
        core.now = now
        if core.state is ConnectionState.IDLE and core.role is Role.DEVICE:
            self._impl.start()
        if not data:
            return self._handle_eof()
        core.last_rx = now
        if core.state is ConnectionState.IDLE:
            self._fail()
            raise RemoteProtocolError("the device spoke before the console started the session")
        self._buffer += data
        events: list[Event] = []
        try:
            while not core.closed:
                if core.state is ConnectionState.KVM_ACTIVE:
                    # Every byte is RFB now: hand it over whole (7).
                    if self._buffer:
                        events.append(KvmData(bytes(self._buffer)))
                        self._buffer.clear()
                    break
                if self._kvm_start_due():
                    if len(self._buffer) < kvm.KVM_START_SIZE:
                        break
                    frame = bytes(self._buffer[: kvm.KVM_START_SIZE])
                    del self._buffer[: kvm.KVM_START_SIZE]
                    events += self._kvm_start(frame)
                    continue
                decoded = decode_message(self._buffer, direction=core.role.peer_direction)
                if decoded is None:
                    break
                message, length = decoded
                frame = bytes(self._buffer[:length])
                del self._buffer[:length]
                check_receivable(core.role, core.state, message)
                events += self._impl.handle(message, frame)
        except RemoteProtocolError:
            self._fail()
            raise
        if core.closed:
            self._buffer.clear()
        return events

    def _kvm_start_due(self) -> bool:
        """Whether the next bytes are KVM's 8-byte 0x41 (console) or 0x40 (device) (7)."""
        if self._core.state is ConnectionState.KVM_STARTING:
            return True
        return (
            isinstance(self._impl, DeviceProtocol)
            and self._impl.kvm_session
            and self._core.state is ConnectionState.AUTHENTICATED
            and self._buffer[:1] == kvm.KVM_START[:1]
        )

    def _kvm_start(self, frame: bytes) -> list[Event]:
        if self._core.role is Role.CONSOLE:
            return kvm.console_on_reply(self._core, frame)
        return kvm.device_on_start(self._core, frame)

    def send_kvm_data(self, data: bytes) -> None:
        """Queue RFB bytes (either role) once KvmStarted has been seen (7).

        Raises:
            LocalProtocolError: KVM is not running.
        """
        kvm.send_data(self._core, data)

    def _handle_eof(self) -> list[Event]:
        if self._buffer:
            message_type = self._buffer[0]
            held = len(self._buffer)
            self._fail()
            peer = self._core.role.peer_direction.sender
            raise RemoteProtocolError(
                f"the {peer} closed the connection in the middle of {describe_type(message_type)} "
                f"({held} bytes received)"
            )
        return self._impl.handle_eof()

    def _fail(self) -> None:
        self._buffer.clear()
        self._core.move_to(ConnectionState.CLOSED)

    def frames_to_send(self) -> list[bytes]:
        """Whole messages queued since the last call, each its own bytes object, in order.

        Frames queued just before the connection became CLOSED (an auth failure
        reply, a refusal, the final 0x12) are still returned: flush them, then
        close the socket. A device writes them one by one with :func:`gap_after`.
        """
        frames, self._core.outbox = self._core.outbox, []
        return frames

    def data_to_send(self) -> bytes:
        """The same as :meth:`frames_to_send`, joined into one bytes object."""
        return b"".join(self.frames_to_send())

    def next_timer_at(self) -> float | None:
        """Absolute time of the next deadline (heartbeat, peer timeout), or None."""
        if self._core.closed:
            return None
        return self._impl.next_deadline()

    def handle_timer(self, now: float) -> list[Event]:
        """Run what is due at ``now``; calling early or often is harmless.

        Returns:
            PeerTimeout if the peer was silent too long (the connection is then
            CLOSED); heartbeats are queued without an event.
        """
        if self._core.closed:
            return []
        self._core.now = now
        return self._impl.on_timer(now)

    def send_sol_data(self, data: bytes) -> None:
        """Queue serial data: console 0x28 (<= 65535 bytes each), device 0x2A (<= MaxTxBuffer each).

        Raises:
            LocalProtocolError: SOL is not running.
        """
        self._impl.send_sol_data(data)

    def close(self) -> None:
        """End the session in an orderly way (console: 0x22 / 0x12; device: just CLOSED)."""
        self._impl.close()
        if self._core.closed:
            self._buffer.clear()

    def accept_session(self) -> None:
        """Device: answer the pending StartRedirectionSession with status 0.

        Raises:
            LocalProtocolError: not a device, or no SessionRequested pending.
        """
        self._device("accept_session").accept_session()

    def refuse_session(self, status: StartStatus | int) -> None:
        """Device: answer the pending StartRedirectionSession with ``status`` (e.g. BUSY) and close.

        Raises:
            LocalProtocolError: not a device, no request pending, or status 0.
        """
        self._device("refuse_session").refuse_session(status)

    def send_sol_controls(self, control: SolControl, status: SolStatus) -> None:
        """Device: queue a 0x29 with the host's modem lines and power state.

        Raises:
            LocalProtocolError: not a device, or SOL is not running.
        """
        self._device("send_sol_controls").send_sol_controls(control, status)

    def _device(self, method: str) -> DeviceProtocol:
        if not isinstance(self._impl, DeviceProtocol):
            raise LocalProtocolError(f"{method}() is for the device role; this connection is a console")
        return self._impl

    # --- IDE-R (6) ----------------------------------------------------------------------------------

    def _ider_console(self, method: str) -> IderConsoleProtocol:
        if not isinstance(self._impl, ConsoleProtocol):
            raise LocalProtocolError(f"{method}() is for the console role; this connection is a device")
        if self._impl.ider is None:
            raise LocalProtocolError(f"{method}() needs an IDE-R session; this is a SOL session")
        return self._impl.ider

    def _ider_device(self, method: str) -> IderDeviceProtocol:
        return self._device(method).ider

    @property
    def ider_read_buffer(self) -> int:
        """Console: the most data bytes per 0x54, from 0x41 (0 before it). Device: what we announce."""
        if isinstance(self._impl, ConsoleProtocol):
            return self._impl.ider.read_buffer if self._impl.ider else 0
        assert isinstance(self.config, DeviceConfig)
        return self.config.ider_read_buffer

    @property
    def ider_write_buffer(self) -> int:
        """Console: the most data bytes per 0x53, from 0x41 (0 before it). Device: what we announce."""
        if isinstance(self._impl, ConsoleProtocol):
            return self._impl.ider.write_buffer if self._impl.ider else 0
        assert isinstance(self.config, DeviceConfig)
        return self.config.ider_write_buffer

    def send_ider_status(self, sense: Sense = GOOD) -> None:
        """Console: end the oldest unanswered IderCommand with 0x51 and ``sense`` (key, ASC, ASCQ) (6.8).

        Raises:
            LocalProtocolError: not an IDE-R console, IDE-R not running, or no command waiting.
        """
        self._ider_console("send_ider_status").send_status(sense)

    def send_ider_data(self, data: bytes, *, last: bool = True) -> None:
        """Console: answer the oldest unanswered IderCommand with read data as 0x54 chunks (6.8, 6.9).

        ``last=False`` keeps the command open for more data; empty data with
        ``last`` ends it with GOOD status. Raises LocalProtocolError as :meth:`send_ider_status`.
        """
        self._ider_console("send_ider_data").send_data(data, last=last)

    def request_ider_write_data(self, byte_count: int) -> None:
        """Console: ask for ``byte_count`` bytes (<= the write buffer) of a host write with 0x52 (6.8)."""
        self._ider_console("request_ider_write_data").request_write_data(byte_count)

    def request_ider_features(self, subcommand: IderFeature, value: int = 0) -> None:
        """Console: queue 0x48 (get supported, get state, set state with ``value``) (6.5)."""
        self._ider_console("request_ider_features").request_features(subcommand, value)

    def send_ider_command(
        self, cdb: bytes, drive: IderDrive | int = IderDrive.CD, *, dma: bool = False
    ) -> None:
        """Device: forward one ATAPI command as 0x50 (6.7); one at a time.

        Raises:
            LocalProtocolError: not a device, IDE-R not running, or a command still outstanding.
        """
        self._ider_device("send_ider_command").send_command(cdb, drive, dma=dma)

    def send_ider_reset(self, mask: int = 0) -> None:
        """Device: announce a host bus reset with 0x46 (6.6)."""
        self._ider_device("send_ider_reset").send_reset(mask)

    def send_ider_write_data(self, data: bytes) -> None:
        """Device: send host write data as 0x53 after IderWriteDataRequested (6.8)."""
        self._ider_device("send_ider_write_data").send_write_data(data)

    def send_ider_error(self, code: int, detail: bytes = b"\x00\x00") -> None:
        """Device: report an error with 0x4A (6.10)."""
        self._ider_device("send_ider_error").send_error(code, detail)

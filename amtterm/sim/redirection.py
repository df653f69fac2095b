"""The simulated firmware's redirection port: one task per console connection.

Rules of real AMT this follows (redirection.md sections 3, 4, 5, 11, 12):
- one SOL session per machine: a second console gets StartRedirectionSessionReply BUSY;
- likewise one IDE-R session (its own slot, so SOL and IDE-R can run side by side), refused
  UNSUPPORTED when IDE-R is disabled over WS-Man; the simulated BIOS side is
  :class:`amtterm.sim.ider_firmware.IderFirmware`, told of host resets by SimDevice;
- SOL disabled over WS-Man (AMT_RedirectionService, wsman.md 8.1): StartRedirectionSession
  for SOL is answered UNSUPPORTED (redirection.md 3.2); a disabled listener is a closed
  port (the device closes its server sockets, redirection.md 2.1);
- a wrong password is refused, and each further failure from the same address within
  a minute is answered more slowly (1, 2, 4, up to 8 s), as firmware does against guessing;
- KVM (tag ``KVMR``, modern-amt.md §2): one session per machine like SOL (a second console gets
  BUSY); on a SKU without KVM (``amtterm sim --sku ism``) the request is UNKNOWN_SESSION_TYPE,
  KVM disabled over WS-Man (CIM_KVMRedirectionSAP) UNSUPPORTED like a disabled SOL, and KVM
  without the user consent code where consent is needed (client control mode always; admin
  control mode when IPS_OptInService.OptInRequired says so) ERROR (0xFF). Which status real
  firmware uses for the last is not documented; MeshCommander stops on any non-zero status.
  After authentication the codec answers the console's 0x40 with 0x41 (KvmStarted), and the RFB
  that follows (KvmData, ``send_kvm_data``) is served by :class:`amtterm.sim.kvm.viewer.KvmViewer`;
- the auth methods offered follow the AMT version: 11 and older also accept plain
  (type 1), 12 and later digest only;
- writes are paced (see session/redirection.py) so that Debian amtterm loses nothing, unless
  the device was made unpaced for a console known to read exactly (``amtterm demo``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING

from amtterm.errors import AmtError
from amtterm.redir import (
    AuthType,
    ConnectionState,
    DeviceConfig,
    IderStartTiming,
    RedirectionConnection,
    SessionType,
    SolControl,
    SolStatus,
    StartStatus,
)
from amtterm.redir import events as ev
from amtterm.session import RedirectionPump
from amtterm.sim.ider_firmware import IderFirmware
from amtterm.sim.ider_host import BootReport
from amtterm.sim.kvm.viewer import KvmViewer
from amtterm.sim.wsman import kvm as kvm_rules

if TYPE_CHECKING:
    from amtterm.sim.device import SimDevice

#: Failed logins from one address are remembered this long (seconds).
FAILURE_WINDOW = 60.0
#: Longest delay before a failed login is answered (seconds).
FAILURE_DELAY_MAX = 8.0
#: A console that has not started SOL this long after connecting is dropped, so a
#: silent client cannot hold the one SOL slot (the codec's own timeouts start with SOL).
START_DEADLINE = 30.0


def auth_methods_for(version: tuple[int, int]) -> tuple[AuthType, ...]:
    """The methods firmware of this AMT version offers (redirection.md 4.3, 8.2)."""
    if version[0] >= 12:
        return (AuthType.DIGEST,)
    return (AuthType.PLAIN, AuthType.DIGEST_NO_QOP, AuthType.DIGEST)


class RedirectionHandler:
    """Serves one console connection for a SimDevice."""

    def __init__(self, device: SimDevice, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.device = device
        self.peer = str((writer.get_extra_info("peername") or ("?",))[0])
        #: The power state the first 0x29 of this session reports.
        self.initial_powered = device.will_be_powered()
        config = DeviceConfig(
            users={device.user: device.password},
            firmware_version=device.amt_version,
            auth_methods=auth_methods_for(device.amt_version),
            initial_controls=True,
            powered_on=self.initial_powered,
        )
        self.conn = RedirectionConnection(config)
        self.pump = RedirectionPump(self.conn, reader, writer, self._on_event, paced=device.paced)
        self.writer = writer
        self.holds_sol = False
        self.holds_ider = False
        self.holds_kvm = False
        #: A KVM session runs (RFB after the 0x41).
        self.kvm_active = False
        #: The RFB server side of this console's KVM session, once it started.
        self.kvm_viewer: KvmViewer | None = None
        #: The simulated BIOS's side of this console's IDE-R session, once it asked for one.
        self.ider: IderFirmware | None = None

    def _request_ider(self) -> None:
        device = self.device
        if not device.ider_enabled:
            self.conn.refuse_session(StartStatus.UNSUPPORTED)
        elif device.ider_owner is not None:
            self.conn.refuse_session(StartStatus.BUSY)
        else:
            device.attach_ider(self, self.pump.clock())
            self.holds_ider = True
            self.conn.accept_session()
            self.ider = IderFirmware(self.conn, self.pump, on_boot=self._on_boot)

    def _request_kvm(self) -> None:
        device = self.device
        settings = device.state.kvm
        if settings is None:
            self.conn.refuse_session(StartStatus.UNKNOWN_SESSION_TYPE)
        elif not settings.enabled:
            self.conn.refuse_session(StartStatus.UNSUPPORTED)
        elif device.kvm_owner is not None:
            self.conn.refuse_session(StartStatus.BUSY)
        elif device.kvm_screen is None or not kvm_rules.consent_granted(device.state, self.pump.clock()):
            self.conn.refuse_session(StartStatus.ERROR)
        else:
            # Claimed now, before authentication, as for SOL.
            device.kvm_owner = self
            self.holds_kvm = True
            self.conn.accept_session()

    async def _start_kvm(self) -> None:
        """The codec answered 0x40 with 0x41 (queued): from now on RFB, served by a KvmViewer."""
        device = self.device
        screen = device.kvm_screen
        if screen is None:
            return
        self.kvm_active = True
        await self.pump.flush()  # the 0x41 goes out before the RFB version line
        conn, pump, writer = self.conn, self.pump, self.writer

        async def write(data: bytes) -> None:
            if conn.state is ConnectionState.KVM_ACTIVE:
                conn.send_kvm_data(data)
                await pump.flush()

        self.kvm_viewer = KvmViewer(screen, device.amt_version, write, pump.clock, device.log, writer.close)
        await self.kvm_viewer.start()

    def _on_boot(self, report: BootReport) -> None:
        self.device.ider_booted(self, report)

    async def _on_event(self, event: ev.Event) -> None:
        device = self.device
        now = self.pump.clock()
        if self.ider is not None:
            await self.ider.on_event(event)
            if isinstance(event, ev.IderStateSet) and event.accepted:
                immediate = event.timing != IderStartTiming.ON_RESET
                device.ider_drives_changed(now=immediate or not event.enable)
        if isinstance(event, ev.SessionRequested):
            if event.session_type is SessionType.IDER:
                self._request_ider()
            elif event.session_type is SessionType.KVM:
                self._request_kvm()
            elif event.session_type is not SessionType.SOL or not device.sol_enabled:
                self.conn.refuse_session(StartStatus.UNSUPPORTED)
            elif device.sol_owner is not None:
                self.conn.refuse_session(StartStatus.BUSY)
            else:
                # Claimed now, before authentication, as firmware does: a second
                # console is told BUSY even while the first is still logging in.
                device.sol_owner = self
                self.holds_sol = True
                self.conn.accept_session()
        elif isinstance(event, ev.AuthFailed):
            await asyncio.sleep(device.failure_delay(self.peer, now))
        elif isinstance(event, ev.Authenticated):
            device.forget_failures(self.peer)
            if self.holds_kvm:
                device.attach_kvm(self, now)
        elif isinstance(event, ev.KvmStarted):
            await self._start_kvm()
        elif isinstance(event, ev.KvmData):
            if self.kvm_viewer is not None:
                await self.kvm_viewer.receive(event.data)
        elif isinstance(event, ev.SolStartRequested):
            device.attach_console(self, now)
        elif isinstance(event, ev.SolData):
            device.host_input(event.data, now)
        elif isinstance(event, (ev.SolEndRequested, ev.SessionEndRequested, ev.PeerTimeout)):
            self.release()

    def release(self) -> None:
        """Give up the SOL or IDE-R session slot."""
        if self.holds_ider:
            self.holds_ider = False
            self.device.detach_ider(self)
        if self.holds_sol:
            self.holds_sol = False
            self.device.detach_console(self)
        if self.holds_kvm:
            self.holds_kvm = False
            self.device.detach_kvm(self)

    async def send_output(self, data: bytes) -> None:
        """Send host serial output to this console (back-pressure through drain)."""
        if self.conn.state is ConnectionState.SOL_ACTIVE:
            self.conn.send_sol_data(data)
            await self.pump.flush()

    async def send_controls(self, powered_on: bool) -> None:
        """Tell the console the host's power state changed (0x29)."""
        if self.conn.state is ConnectionState.SOL_ACTIVE:
            status = SolStatus.POWER_ON if powered_on else SolStatus.NONE
            self.conn.send_sol_controls(SolControl.RTS | SolControl.DTR, status)
            await self.pump.flush()

    def _drop_if_not_started(self) -> None:
        started = (
            ConnectionState.SOL_ACTIVE,
            ConnectionState.IDER_ACTIVE,
            ConnectionState.IDER_CLOSING,
            ConnectionState.CLOSED,
        )
        if self.conn.state not in started and not self.kvm_active:
            self.device.log(
                f"console {self.peer}: no SOL, IDE-R or KVM session after {START_DEADLINE:.0f} s, dropped"
            )
            self.release()
            self.writer.close()

    async def run(self) -> None:
        """Serve until the console leaves; never raises."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn.start(self.pump.clock())
        watchdog = asyncio.get_running_loop().call_later(START_DEADLINE, self._drop_if_not_started)
        try:
            await self.pump.run()
        except AmtError as exc:
            self.device.log(f"console {self.peer}: {exc}")
        except (ConnectionError, OSError):
            pass
        finally:
            watchdog.cancel()
            if self.kvm_viewer is not None:
                await self.kvm_viewer.close()
            if self.ider is not None:
                self.ider.host.handle_event(ev.ConnectionClosed("closed"), self.pump.clock())
                self.ider.close()
            self.release()
            if not self.writer.is_closing():
                self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()

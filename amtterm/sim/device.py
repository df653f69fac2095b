"""SimDevice: one simulated AMT machine: its host PC, its credentials, its redirection listeners.

The host (amtterm.sim.host) is pure and told the time; this class owns the one
asyncio task that drives it and carries its serial output to the console that
holds the SOL session. With nobody attached, output goes nowhere, as on a real
serial port.

The device's WS-Man side (amtterm.sim.wsman) shares its :class:`DeviceState` with this
class, and the two meet only there:

* WS-Man power actions drive the host through ``state.host``; every change of the host's
  power (WS-Man, or the PC switching itself off) reaches the attached console as a 0x29
  whose "powered on" bit says so, and the console stays attached across resets and power
  cycles (it sees POST again).
* ``state.listener_enabled`` opens and closes the redirection sockets (a closed listener
  refuses connections, as on real AMT); ``state.sol_enabled`` False refuses SOL sessions.
* The SOL session flag (``state.set_session_open("sol", ...)``) follows consoles coming and
  going, so WS-Man refuses power off while a console is attached.
* The "first-console" power policy (power on when the first console starts SOL) applies
  only until the first WS-Man power action: from then on WS-Man decides.
* KVM (``state.kvm`` set: a SKU with KVM): :attr:`SimDevice.kvm_screen` is the PC's screen as
  KVM consoles see it (:mod:`amtterm.sim.kvm.screens`); the host driver passes it the PC's
  output and power state. One KVM session at a time (:attr:`SimDevice.kvm_owner`), flagged in
  the state like SOL; a KVM console starting counts as a first console for the power policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from amtterm.errors import AmtError
from amtterm.redir import IderDrive
from amtterm.sim.host import Host, IderMedia
from amtterm.sim.ider_host import BootReport
from amtterm.sim.kvm.font import FontMissing
from amtterm.sim.kvm.screens import KvmScreen, screen_for
from amtterm.sim.redirection import FAILURE_DELAY_MAX, FAILURE_WINDOW, RedirectionHandler
from amtterm.sim.synthetic.flood import flood
from amtterm.sim.wsman.inventory import facts_for_host
from amtterm.sim.wsman.state import DeviceState, PowerEvent
from amtterm.transport.memory import connect_in_memory
from amtterm.transport.tcp import Stream

if TYPE_CHECKING:
    from amtterm.sim.ider_export import IderExport

#: Largest piece of host output taken in one go (a flood is sent in these).
OUTPUT_CHUNK = 65536
#: Pending connections a listening socket holds.
BACKLOG = 100


@dataclass
class Listener:
    """One open (or, for a disabled redirection listener, closed) server socket of the device."""

    kind: str  # "redirection" or "wsman"
    tls: bool
    host: str
    port: int
    server: asyncio.Server | None = field(default=None, repr=False)
    context: ssl.SSLContext | None = field(default=None, repr=False)


def bind_socket(address: str, port: int) -> socket.socket:
    """A listening TCP socket on ``address:port`` (port 0 picks a free one).

    Raises:
        OSError: the address cannot be bound (in use, not local).
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return socket.create_server((address, port), family=family, backlog=BACKLOG, reuse_port=False)


class SimDevice:
    """A simulated AMT device.

    Args:
        host: the simulated PC behind it.
        user: the AMT admin user name.
        password: its password.
        amt_version: firmware (major, minor); 12 and later refuse plain auth.
        power_on: "first-console" powers the PC on when the first SOL session
            starts (so it shows POST from the top), "start" at once, "off" never.
            A WS-Man power action ends the "first-console" policy.
        flood_on_attach: benchmarks: bytes of test output each console gets first.
        log: where one-line diagnostics go.
        state: the device state shared with its WS-Man server; by default a new one
            with ``host`` behind it.
        paced: leave the gaps after "greedy" messages that clients which drop coalesced
            bytes need (Debian amtterm, 9front; redirection.md section 11). Off only where the
            console is known to read every message exactly (``amtterm demo``).
    """

    def __init__(
        self,
        host: Host,
        *,
        user: str,
        password: str,
        amt_version: tuple[int, int] = (11, 8),
        power_on: str = "first-console",
        flood_on_attach: int = 0,
        log: Callable[[str], None] | None = None,
        state: DeviceState | None = None,
        paced: bool = True,
    ) -> None:
        self.host = host
        self.paced = paced
        self.user = user
        self.password = password
        self.amt_version = amt_version
        self.power_policy = power_on
        self.state = state or DeviceState(host=host, amt_version=f"{amt_version[0]}.{amt_version[1]}.0")
        self.state.host = host
        self.state.power_listeners.append(self._on_power_event)
        self.state.change_listeners.append(self._on_state_changed)
        #: Benchmarks: each console that starts SOL first gets this many bytes of flood.
        self.flood_on_attach = flood_on_attach
        self._flood: Iterator[bytes] | None = None
        self.sol_owner: RedirectionHandler | None = None
        #: The console holding the one IDE-R session slot.
        self.ider_owner: RedirectionHandler | None = None
        self._ider_tasks: set[asyncio.Task[None]] = set()
        #: The redirected CD as an NBD export, for hosts that read it that way (QEMU; set by the sim).
        self.ider_export: IderExport | None = None
        self.listeners: list[Listener] = []
        self._log = log or (lambda line: print(line, file=sys.stderr))
        self._failures: dict[str, tuple[int, float]] = {}
        self._attached: RedirectionHandler | None = None
        self._told_powered: bool | None = None  # the power state the attached console last heard
        self._wakeup = asyncio.Event()
        self._driver: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._ever_powered = False
        #: The console holding the one KVM session slot.
        self.kvm_owner: RedirectionHandler | None = None
        #: The PC's screen for KVM consoles (None on a SKU without KVM).
        self.kvm_screen: KvmScreen | None = None
        if self.state.kvm is not None:
            try:
                self.kvm_screen = screen_for(host, self.host_input)
            except FontMissing as exc:  # SOL and the rest still work; KVM sessions are refused
                self.log(f"{exc} Until then KVM sessions are refused.")
        self._accepting = True
        self._clock = asyncio.get_running_loop().time
        if hasattr(host, "on_output"):  # a host fed by I/O (QEMU) wakes the driver when bytes arrive
            host.on_output = self._wakeup.set
        self._wire_event_log(host)
        if power_on == "start":
            self._power_on()

    def _wire_event_log(self, host: Host) -> None:
        """The host's firmware reports boot events into the device's event log (AMT_MessageLog),
        and CIM_BIOSElement / CIM_Chassis report what this host is."""
        self.state.hardware = facts_for_host(host)
        if hasattr(host, "on_boot_event"):

            def boot_event(kind: str, text: str) -> None:
                self.state.log_event(self._clock(), kind, text)

            host.on_boot_event = boot_event

    @property
    def clock(self) -> Callable[[], float]:
        """The time source of this device (the WS-Man server must use the same)."""
        return self._clock

    # -- power --------------------------------------------------------------------------------

    def _power_on(self) -> None:
        self._ever_powered = True
        self.state.events.power_event(self._clock(), "on")
        self.host.power_on(self._clock())
        self._ider_host_reset()
        self._wakeup.set()

    def _on_power_event(self, event: PowerEvent) -> None:
        # From the first WS-Man power action on, WS-Man decides; the policy is over.
        self._ever_powered = True
        if event.powered and event.kind != "off":
            self._ider_host_reset()
        self._wakeup.set()

    # -- IDE-R --------------------------------------------------------------------------------

    @property
    def ider_enabled(self) -> bool:
        """Whether IDE-R sessions are accepted (AMT_RedirectionService, set over WS-Man)."""
        return self.state.ider_enabled

    @property
    def ider_media(self) -> IderMedia | None:
        """The host's view of the IDE-R drive, if the host has one."""
        media = getattr(self.host, "ider_media", None)
        return media if isinstance(media, IderMedia) else None

    def attach_ider(self, handler: RedirectionHandler, now: float) -> None:
        """A console took the IDE-R session slot."""
        self.ider_owner = handler
        self.state.set_session_open("ider", True, now)
        media = self.ider_media
        if media is not None:
            media.forget()
            media.attached = True

    def detach_ider(self, handler: RedirectionHandler) -> None:
        """The IDE-R console left."""
        if self.ider_owner is handler:
            self.ider_owner = None
            self.state.set_session_open("ider", False, self._clock())
            media = self.ider_media
            if media is not None:
                media.forget()
            self.ider_drives_changed(now=True)
            self._wakeup.set()

    def ider_drives_changed(self, *, now: bool) -> None:
        """The IDE-R console enabled or disabled its drives, or left: tell a host that reads the
        CD through the NBD export (``now``: at once, else at the host's next reset)."""
        set_cd = getattr(self.host, "set_ider_cd", None)
        if self.ider_export is None or set_cd is None:
            return
        owner = self.ider_owner
        enabled = owner is not None and owner.ider is not None and owner.ider.host.enabled
        set_cd(self.ider_export.url if enabled else None, now=now)

    def ider_booted(self, handler: RedirectionHandler, report: BootReport) -> None:
        """The BIOS finished reading the boot records over IDE-R."""
        media = self.ider_media
        if self.ider_owner is handler and media is not None:
            media.volume_id = report.volume_id
            media.bootable = report.bootable
            media.boot_sectors = report.boot_sectors
            media.error = report.error
            media.drive = "floppy" if report.drive is IderDrive.FLOPPY else "cd"
            media.ready = True
            media.reports += 1
        self.log(
            f"IDE-R: BIOS read {report.volume_id or 'the drive'}: "
            + ("bootable" if report.bootable else f"not bootable ({report.error})")
        )
        self._wakeup.set()

    def _ider_host_reset(self) -> None:
        """The PC reset or powered on: an "on reset" IDE-R drive starts the BIOS reads."""
        owner = self.ider_owner
        if owner is None or owner.ider is None:
            return
        firmware = owner.ider
        # The BIOS reads the drive it was told to boot from: the floppy for an ider-floppy boot.
        boot = getattr(self.host, "boot_target", None)
        firmware.host.drive = IderDrive.FLOPPY if boot == "ider-floppy" else IderDrive.CD
        media = self.ider_media
        if media is not None:
            media.volume_id, media.bootable, media.error, media.ready = "", False, None, False

        async def reset() -> None:
            with contextlib.suppress(ConnectionError, OSError, AmtError):
                await firmware.host_reset()

        task = asyncio.get_running_loop().create_task(reset())
        self._ider_tasks.add(task)
        task.add_done_callback(self._ider_tasks.discard)

    def _on_state_changed(self) -> None:
        self._wakeup.set()
        if self.state.listener_enabled != self._accepting:
            self._set_accepting(self.state.listener_enabled)

    @property
    def host_size(self) -> tuple[int, int]:
        """The remote screen's (columns, rows)."""
        return (getattr(self.host, "columns", 80), getattr(self.host, "rows", 25))

    def will_be_powered(self) -> bool:
        """Whether the host is (or is about to be, by policy) powered on."""
        return self.host.powered or (self.power_policy == "first-console" and not self._ever_powered)

    # -- failed logins ------------------------------------------------------------------------

    def failure_delay(self, peer: str, now: float) -> float:
        """Record a failed login from ``peer``; return how long to wait before answering."""
        count, last = self._failures.get(peer, (0, now))
        if now - last > FAILURE_WINDOW:
            count = 0
        count += 1
        self._failures[peer] = (count, now)
        return 0.0 if count == 1 else min(FAILURE_DELAY_MAX, float(2 ** (count - 2)))

    def forget_failures(self, peer: str) -> None:
        """A good login clears the address's record."""
        self._failures.pop(peer, None)

    # -- SOL ----------------------------------------------------------------------------------

    @property
    def sol_enabled(self) -> bool:
        """Whether SOL sessions are accepted (AMT_RedirectionService, set over WS-Man)."""
        return self.state.sol_enabled

    def attach_console(self, handler: RedirectionHandler, now: float) -> None:
        """The console holding the SOL slot has started SOL: send it the host's output."""
        self._attached = handler
        self._told_powered = handler.initial_powered
        self.state.set_session_open("sol", True, now)
        if self.flood_on_attach:
            columns, rows = self.host_size
            self._flood = flood(self.flood_on_attach, columns, rows)
        if self.power_policy == "first-console" and not self._ever_powered:
            self._power_on()
        self._wakeup.set()

    def detach_console(self, handler: RedirectionHandler) -> None:
        """The console left."""
        if self.sol_owner is handler:
            self.sol_owner = None
        if self._attached is handler:
            self._attached = None
            self._told_powered = None
            self.state.set_session_open("sol", False, self._clock())

    def host_input(self, data: bytes, now: float) -> None:
        """Keys typed by the console."""
        self.host.feed(data, now)
        self._wakeup.set()

    # -- KVM ----------------------------------------------------------------------------------

    def attach_kvm(self, handler: RedirectionHandler, now: float) -> None:
        """A console took the KVM session slot (after authentication)."""
        self.kvm_owner = handler
        self.state.set_session_open("kvm", True, now)
        if self.power_policy == "first-console" and not self._ever_powered:
            self._power_on()
        self._wakeup.set()

    def detach_kvm(self, handler: RedirectionHandler) -> None:
        """The KVM console left."""
        if self.kvm_owner is handler:
            self.kvm_owner = None
            self.state.set_session_open("kvm", False, self._clock())

    async def _tell_power(self, handler: RedirectionHandler | None, powered: bool) -> None:
        """Send the attached console a 0x29 when the host's power changed since it last heard."""
        if handler is None or self._told_powered is None or self._told_powered == powered:
            return
        self._told_powered = powered
        try:
            await handler.send_controls(powered)
        except (ConnectionError, OSError):
            self.detach_console(handler)

    async def _drive_host(self) -> None:
        while True:
            self._wakeup.clear()
            handler = self._attached
            if self.host.powered:  # "powered on" goes out before the POST it announces
                await self._tell_power(handler, True)
            if self._flood is not None:
                data = next(self._flood, b"")
                if not data:
                    self._flood = None
            else:
                data = self.host.read_output(self._clock(), OUTPUT_CHUNK)
                if self.kvm_screen is not None:
                    if data:
                        self.kvm_screen.output(data)
                    self.kvm_screen.power(self.host.powered)
            if data and handler is not None:
                try:
                    await handler.send_output(data)
                except (ConnectionError, OSError):
                    self.detach_console(handler)
            if not self.host.powered:  # ... and "powered off" after the last words
                await self._tell_power(handler, False)
            if len(data) >= OUTPUT_CHUNK or self._flood is not None:
                await asyncio.sleep(0)
                continue
            deadline = self.host.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    # -- listeners ----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await RedirectionHandler(self, reader, writer).run()
        finally:
            if task is not None:
                self._handlers.discard(task)

    def connect_in_memory(self) -> Stream:
        """A console's connection to this device's redirection port, in this process, without a
        socket (plain, as if on 16994): for tests where the socket is not the point."""
        return connect_in_memory(self._serve)

    async def listen(self, address: str, port: int, *, tls: ssl.SSLContext | None = None) -> Listener:
        """Open a redirection listener; port 0 picks a free one.

        Raises:
            OSError: the address cannot be bound.
        """
        sock = bind_socket(address, port)
        bound = int(sock.getsockname()[1])
        listener = Listener("redirection", tls is not None, address, bound, context=tls)
        if self._accepting:
            listener.server = await asyncio.start_server(self._serve, sock=sock, ssl=tls)
        else:
            sock.close()
        self.listeners.append(listener)
        if self._driver is None:
            self._driver = asyncio.create_task(self._drive_host())
        return listener

    def _set_accepting(self, accepting: bool) -> None:
        """Open or close the redirection sockets (AMT_RedirectionService.ListenerEnabled).

        Closing is immediate; reopening binds at once (connections wait in the backlog) and
        starts serving on the next turn of the loop. Open sessions are not cut.
        """
        self._accepting = accepting
        for listener in self.listeners:
            if not accepting and listener.server is not None:
                listener.server.close()
                listener.server = None
            elif accepting and listener.server is None:
                try:
                    sock = bind_socket(listener.host, listener.port)
                except OSError as exc:
                    self.log(f"cannot reopen the redirection listener {listener.host}:{listener.port}: {exc}")
                    continue
                task = asyncio.get_running_loop().create_task(self._reopen(listener, sock))
                self._starting.add(task)
                task.add_done_callback(self._starting.discard)

    async def _reopen(self, listener: Listener, sock: socket.socket) -> None:
        server = await asyncio.start_server(self._serve, sock=sock, ssl=listener.context)
        if self._accepting and listener.server is None:
            listener.server = server
        else:  # disabled again meanwhile
            server.close()

    def log(self, line: str) -> None:
        """Write one diagnostic line."""
        self._log(line)

    async def close(self) -> None:
        """Close every listener and connection and stop driving the host."""
        self._accepting = False
        for task in list(self._starting):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        servers = [listener.server for listener in self.listeners if listener.server is not None]
        for server in servers:
            server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._driver is not None:
            self._driver.cancel()
        for task in [*self._handlers, *([self._driver] if self._driver else [])]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for server in servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self.listeners.clear()
        if self.kvm_screen is not None:
            await self.kvm_screen.aclose()

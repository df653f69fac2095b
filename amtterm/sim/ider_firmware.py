"""The asyncio side of the simulated firmware's IDE-R: an IderHost wired to a RedirectionPump.

Hook for the simulator's redirection handler (``amtterm/sim/redirection.py``)::

    # on SessionRequested with SessionType.IDER: accept, then
    self.ider = IderFirmware(self.conn, self.pump, on_boot=...)
    # and pass every later event on:
    await self.ider.on_event(event)
    # when the simulated PC resets (for the "on reset" start timing):
    await self.ider.host_reset()
    # a block reader for an NBD export:
    data = await self.ider.read(lba, count)

:func:`serve_ider_connection` runs a whole device-role connection that speaks only
IDE-R; tests and demos use it as a stand-in for the full simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable

from amtterm.errors import AmtError
from amtterm.redir import DeviceConfig, IderDrive, RedirectionConnection, SessionType, StartStatus
from amtterm.redir import events as ev
from amtterm.session import RedirectionPump
from amtterm.sim.ider_host import BootReport, IderHost
from amtterm.sim.ider_scripts import READ_CAPACITY, Command, CommandResult, read10


class IderReadError(AmtError):
    """A block read over IDE-R failed (check condition, or the session ended)."""


class IderFirmware:
    """Runs an :class:`IderHost` inside a device-role pump: flushes after each step, owns its timer.

    Args:
        conn: the device-role connection of an IDE-R session.
        pump: the pump around it (its clock is used as ``now``).
        drive: which drive the BIOS boots from.
        on_boot: called with the BootReport when the boot script has run.
    """

    def __init__(
        self,
        conn: RedirectionConnection,
        pump: RedirectionPump,
        *,
        drive: IderDrive = IderDrive.CD,
        on_boot: Callable[[BootReport], None] | None = None,
    ) -> None:
        self.pump = pump
        self.host = IderHost(conn, drive=drive)
        self.on_boot = on_boot
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reported = False

    async def on_event(self, event: ev.Event) -> None:
        """Pass one event of the device-role connection to the BIOS."""
        self.host.handle_event(event, self.pump.clock())
        await self._after()

    async def host_reset(self) -> None:
        """The simulated PC reset: boot from the redirected drive again if it is enabled."""
        self.host.host_reset(self.pump.clock())
        await self._after()

    async def command(self, command: Command) -> CommandResult | None:
        """Send one command of our own once the boot script has run; its result (None: session ended)."""
        pending = self.host.submit(command)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def finished(_: object) -> None:
            if not done.done():
                done.set_result(None)

        pending.callbacks.append(finished)
        if pending.result is not None or pending.cancelled:
            finished(None)
        await self._after()
        await done
        return pending.result

    async def read(self, lba: int, count: int, drive: IderDrive | None = None) -> bytes:
        """Read ``count`` blocks from ``lba`` of the redirected drive (after the boot script).

        Raises:
            IderReadError: the console answered with a check condition, or the session ended.
        """
        result = await self.command(Command(read10(lba, count), drive or self.host.drive))
        if result is None:
            raise IderReadError(f"The IDE-R session ended before blocks {lba}+{count} were read.")
        if not result.ok:
            key, asc, ascq = result.sense
            raise IderReadError(
                f"Reading blocks {lba}+{count} failed with sense {key:02x}/{asc:02x}/{ascq:02x}."
            )
        return result.data

    async def capacity(self, drive: IderDrive | None = None) -> tuple[int, int]:
        """READ CAPACITY(10) of the redirected drive: (block count, block size).

        Raises:
            IderReadError: no medium, a check condition, or the session ended.
        """
        result = await self.command(Command(READ_CAPACITY, drive or self.host.drive))
        if result is None:
            raise IderReadError("The IDE-R session ended before the drive's capacity was read.")
        if not result.ok or len(result.data) < 8:
            key, asc, ascq = result.sense
            if (key, asc) == (0x02, 0x3A):
                raise IderReadError("The redirected drive has no medium.")
            raise IderReadError(f"READ CAPACITY failed with sense {key:02x}/{asc:02x}/{ascq:02x}.")
        last, block_size = struct.unpack(">II", result.data[:8])
        return last + 1, block_size

    async def _after(self) -> None:
        await self.pump.flush()
        if self.host.report is not None and not self._reported:
            self._reported = True
            if self.on_boot is not None:
                self.on_boot(self.host.report)
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        wake = self.host.next_timer_at()
        if wake is None:
            return
        delay = max(0.0, wake - self.pump.clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        task = asyncio.create_task(self._tick())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tick(self) -> None:
        self.host.handle_timer(self.pump.clock())
        with contextlib.suppress(AmtError, ConnectionError, OSError):
            await self._after()

    def close(self) -> None:
        """Stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in self._tasks:
            task.cancel()


async def serve_ider_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    users: dict[str, str],
    firmware_version: tuple[int, int] = (11, 8),
    drive: IderDrive = IderDrive.CD,
    on_firmware: Callable[[IderFirmware], None] | None = None,
    on_boot: Callable[[BootReport], None] | None = None,
) -> None:
    """Serve one console connection as firmware that offers IDE-R only (never raises).

    A SOL request is answered "unsupported". ``on_firmware`` receives the
    IderFirmware once the session exists (to call ``read`` or ``host_reset`` on it).
    """
    conn = RedirectionConnection(DeviceConfig(users=users, firmware_version=firmware_version))
    firmware: IderFirmware | None = None

    async def on_event(event: ev.Event) -> None:
        nonlocal firmware
        if isinstance(event, ev.SessionRequested):
            if event.session_type is SessionType.IDER:
                conn.accept_session()
                firmware = IderFirmware(conn, pump, drive=drive, on_boot=on_boot)
                if on_firmware is not None:
                    on_firmware(firmware)
            else:
                conn.refuse_session(StartStatus.UNSUPPORTED)
        elif firmware is not None:
            await firmware.on_event(event)

    pump = RedirectionPump(conn, reader, writer, on_event, paced=True)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.start(pump.clock())
    try:
        await pump.run()
    except (AmtError, ConnectionError, OSError):
        pass
    finally:
        if firmware is not None:
            firmware.host.handle_event(ev.ConnectionClosed("closed"), pump.clock())
            firmware.close()
        if not writer.is_closing():
            writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


__all__ = ["IderFirmware", "IderReadError", "serve_ider_connection"]

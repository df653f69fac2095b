"""IderJob: one run of "serve these images over IDE-R (and maybe boot from them)".

What ``amtterm ider`` and the console's IDE-R pane both do, in one place::

    request = IderRequest(cd=Path("debian.iso"), timing="on-reset", boot=True)
    request.check()                                    # one sentence (ConfigError) for a bad image
    job = IderJob(request, address, port, tls=tls, config=console_config, name="pc42",
                  check=may_boot, boot=set_ider_boot, on_progress=show, on_message=say)
    await job.run()                                    # serves until the session ends or job.stop()

``run`` opens the images read-only; for a boot it first calls ``check`` with the boot device
(``ider-cd`` or ``ider-floppy``), which raises what the boot would be refused for (user consent,
redirection switched off) so that nothing is started in vain; it connects, starts IDE-R and waits
until the device has enabled the drives; then, for a boot, it calls ``boot``, which sets the
one-time IDE-R boot with SOL over WS-Man and resets the PC; then it serves until the session
ends. How WS-Man is reached differs (the command line opens its own client, the TUI has its
DeviceService), so ``check`` and ``boot`` are passed in. Failures are
:class:`~amtterm.errors.AmtError` s whose text is the sentence to show; :meth:`IderJob.stop`
ends the session politely and makes ``run`` return.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from amtterm.errors import AmtError, ConfigError
from amtterm.redir.connection import ConsoleConfig
from amtterm.redir.constants import IderStartTiming, SessionType
from amtterm.session.ider import IderProgress, IderSession, open_images
from amtterm.transport.jump import JumpRoute
from amtterm.transport.tcp import TlsOptions

__all__ = ["BootStep", "CheckStep", "IderJob", "IderRequest", "Timing"]

Timing = Literal["now", "on-reset"]
#: Sets the one-time boot from ``device`` (``ider-cd`` / ``ider-floppy``) with SOL and resets the
#: PC; returns the sentence to show.
BootStep = Callable[[str], Awaitable[str]]
#: Raises (an AmtError) what setting that boot would be refused for; changes nothing.
CheckStep = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class IderRequest:
    """What to serve and how.

    Attributes:
        cd: the ISO served as the CD-ROM.
        floppy: the image served as the floppy drive.
        timing: ``now`` (the drives appear at once) or ``on-reset`` (at the PC's next reset).
        boot: also set the one-time IDE-R boot (with SOL) and reset the PC.
        stall_after: seconds without a request from the host after which progress says "stalled".
    """

    cd: Path | None = None
    floppy: Path | None = None
    timing: Timing = "on-reset"
    boot: bool = False
    stall_after: float = 10.0

    def check(self) -> int:
        """Open the images read-only and close them again; returns the CD image's size in bytes.

        Raises:
            ConfigError: no image, or one is missing, unreadable or wrongly sized (one sentence).
        """
        cd, floppy = open_images(self.cd, self.floppy)
        size = cd.block_count * cd.block_size if cd is not None else 0
        for image in (cd, floppy):
            if image is not None:
                image.close()
        return size

    @property
    def boot_device(self) -> str:
        """The boot override that boots from the served image: the CD when there is one."""
        return "ider-cd" if self.cd is not None else "ider-floppy"

    @property
    def served(self) -> str:
        """The images, for sentences: ``a.iso and b.img``."""
        return " and ".join(str(path) for path in (self.cd, self.floppy) if path is not None)

    def console_config(self, base: ConsoleConfig) -> ConsoleConfig:
        """``base`` (user, password, auth methods) turned into an IDE-R session config."""
        timing = IderStartTiming.IMMEDIATELY if self.timing == "now" else IderStartTiming.ON_RESET
        return dataclasses.replace(base, session_type=SessionType.IDER, ider_timing=timing)


class IderJob:
    """Serve a request's images to one device over IDE-R, from connect to the session's end.

    Args:
        request: what to serve.
        address, port: the device's redirection port.
        tls: TLS options (None: plain TCP).
        config: user and password (the session type and timing come from the request).
        name: the device's name, for sentences.
        via: SSH jump hosts to reach the device through (None: directly).
        check: for a boot, asked before anything is opened whether the boot would be refused.
        boot: sets the IDE-R boot and resets (needed when ``request.boot``).
        on_progress: called with every progress snapshot of the server.
        on_message: called with each sentence worth showing (serving, the boot's result).
        hint: appended to the "serving" sentence (the command line says how to stop).
    """

    def __init__(
        self,
        request: IderRequest,
        address: str,
        port: int,
        *,
        tls: TlsOptions | None,
        config: ConsoleConfig,
        name: str,
        via: JumpRoute | None = None,
        check: CheckStep | None = None,
        boot: BootStep | None = None,
        on_progress: Callable[[IderProgress], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        hint: str = "",
    ) -> None:
        if request.boot and boot is None:
            raise ConfigError("Booting from the image needs WS-Management, which is not set up.")
        self.request = request
        self.address = address
        self.port = port
        self.tls = tls
        self.config = request.console_config(config)
        self.name = name
        self.via = via
        self._check = check
        self._boot = boot
        self._on_progress = on_progress
        self._on_message = on_message
        self._hint = hint
        self.server: IderSession | None = None
        #: "idle", "connecting", "serving", "stopped" (by :meth:`stop`), "ended", "failed".
        self.state = "idle"
        #: The latest progress snapshot, once the drives are enabled.
        self.progress: IderProgress | None = None
        #: The CD image's size in bytes (0 without a CD), known once :meth:`run` has opened it.
        self.image_bytes = 0
        self._stopping = False
        self._task: asyncio.Task[object] | None = None

    @property
    def active(self) -> bool:
        """Whether the job is connecting or serving."""
        return self.state in ("connecting", "serving")

    @property
    def finished(self) -> bool:
        """Whether the job is over (stopped, ended or failed)."""
        return self.state in ("stopped", "ended", "failed")

    def _progress(self, progress: IderProgress) -> None:
        self.progress = progress
        if self._on_progress is not None:
            self._on_progress(progress)

    def _say(self, text: str) -> None:
        if self._on_message is not None:
            self._on_message(text)

    async def run(self) -> None:
        """Serve until the session ends or :meth:`stop` is called.

        Raises:
            AmtError: the images, the connection, the session or the boot step failed
                (its text is one sentence).
        """
        if self._stopping:
            self.state = "stopped"
            return
        self.state = "connecting"
        self._task = asyncio.current_task()
        try:
            self.image_bytes = self.request.check()
            if self.request.boot and self._check is not None:
                await self._check(self.request.boot_device)
            server = await IderSession.open(
                self.address,
                self.port,
                tls=self.tls,
                config=self.config,
                cd=self.request.cd,
                floppy=self.request.floppy,
                on_progress=self._progress,
                stall_after=self.request.stall_after,
                via=self.via,
            )
        except asyncio.CancelledError:
            if not self._stopping or self._task is None:
                raise
            self._task.uncancel()  # our own stop() cut the connecting short
            self.state = "stopped"
            return
        except BaseException:
            self.state = "stopped" if self._stopping else "failed"
            raise
        self.server = server
        try:
            if self._stopping:
                return
            self.state = "serving"
            self._say(f"Serving {self.request.served} to {self.name} over IDE-R{self._hint}.")
            if self.request.boot and self._boot is not None:
                self._say(await self._boot(self.request.boot_device))
            await server.wait_closed()
        except AmtError:
            if not self._stopping:
                self.state = "failed"
                raise
        finally:
            await server.close()
            if self.state != "failed":
                self.state = "stopped" if self._stopping else "ended"
            self.progress = server.progress()

    async def stop(self) -> None:
        """End the session politely; :meth:`run` returns (without an error) once it has."""
        self._stopping = True
        if self.server is None:
            if self._task is not None and self.state == "connecting":
                self._task.cancel()
            return
        if self.server is not None:
            with contextlib.suppress(AmtError, ConnectionError, OSError, asyncio.TimeoutError):
                await self.server.close()

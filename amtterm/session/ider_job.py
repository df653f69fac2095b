"""IderJob: the one IDE-R flow: check, ask, check the boot, serve, boot with SOL, reset.

``amtterm ider`` and the console's IDE-R pane both run this flow; they only present it (a progress
line on stderr or the pane's bar; for a boot, no question or the pane's dialog)::

    request = IderRequest(cd=Path("debian.iso"), timing="on-reset", boot=True)
    request.check()                                    # one sentence (ConfigError) for a bad request
    job = IderJob(request, address, port, tls=tls, config=console_config, name="pc42",
                  wsman=service, confirm=ask, on_progress=show, on_message=say)
    await job.run()                                    # serves until the session ends or job.stop()

The steps of :meth:`IderJob.run`, in this order; each failure is an
:class:`~amtterm.errors.AmtError` whose text is the one sentence to show, raised before the
next step starts, so that nothing is started in vain:

1. for a boot, ``confirm`` (when given) is asked :attr:`IderJob.question`; "no" ends the job as
   ``cancelled`` with nothing opened or sent;
2. the images are opened read-only and closed again (none given, missing, unreadable, wrongly sized);
3. for a boot, WS-Man is asked what the boot would be refused for, changing nothing: user consent,
   then the redirection switches (the listener and IDE-R, and SOL);
4. the IDE-R session is opened and started, and the job waits until the device has enabled the
   drives (busy with another console, wrong password, ...);
5. for a boot, ``before_boot`` runs (the console attaches SOL, so the boot is seen from POST on),
   then the one-time IDE-R boot with SOL is set over WS-Man and the PC is reset (or powered on);
6. the images are served until the session ends or :meth:`IderJob.stop` ends it politely.

How WS-Man is reached differs (the console has its :class:`~amtterm.wsman.services.DeviceService`,
the command line a bare client wrapped in :class:`WsmanBoot`); both are a :class:`BootService`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from amtterm.errors import AmtError, ConfigError
from amtterm.redir import ConsoleConfig, IderStartTiming, SessionType
from amtterm.session.ider import IderProgress, IderSession, open_images
from amtterm.transport.jump import JumpRoute
from amtterm.transport.tcp import TlsOptions
from amtterm.wsman import boot as wsboot
from amtterm.wsman.operations import Transport
from amtterm.wsman.results import BootResult

__all__ = ["BootService", "Confirm", "IderJob", "IderRequest", "Question", "Timing", "WsmanBoot"]

Timing = Literal["now", "on-reset"]
#: The power step after setting the IDE-R boot: reset (or power on when off).
BOOT_THEN = "reset"
#: The sentence for a request without an image (the pane's fields and ``--cd`` / ``--floppy`` alike).
NO_IMAGE = "Give a CD image (ISO) or a floppy image to serve."
#: The sentence for a boot without WS-Management.
NO_WSMAN = "Booting from the image needs WS-Management, which is not set up for this host."


class BootService(Protocol):
    """WS-Man as the flow needs it for a boot (a DeviceService, or :class:`WsmanBoot`)."""

    async def check_boot(self, target: str, *, sol: bool = False, then: str | None = None) -> None:
        """Raise what :meth:`boot` would be refused for (consent, redirection); change nothing."""

    async def boot(self, target: str, *, sol: bool = False, then: str | None = None) -> BootResult:
        """Set the one-time boot override, then power on or reset."""


class WsmanBoot:
    """A :class:`BootService` over a bare WS-Man client (the command line's).

    Args:
        transport: the open client.
        label: how the command line names the host: the boot's sentence starts with it, as the
            other WS-Man commands' results do (empty: no prefix).
    """

    def __init__(self, transport: Transport, *, label: str = "") -> None:
        self.transport = transport
        self.label = label

    async def check_boot(self, target: str, *, sol: bool = False, then: str | None = None) -> None:
        """See :func:`amtterm.wsman.boot.check_boot`."""
        await wsboot.check_boot(self.transport, target, sol=sol, then=then)

    async def boot(self, target: str, *, sol: bool = False, then: str | None = None) -> BootResult:
        """See :func:`amtterm.wsman.boot.boot_override`."""
        result = await wsboot.boot_override(self.transport, target, sol=sol, then=then)
        if not self.label:
            return result
        return dataclasses.replace(result, message=f"{self.label}: {result.message}")


@dataclass(frozen=True)
class Question:
    """A yes/no question before something that cannot be undone.

    Attributes:
        title: what is about to happen, e.g. "Boot pc42 from debian.iso?".
        text: the consequences, one or two sentences.
        confirm: the label of "yes", e.g. "Reset".
    """

    title: str
    text: str
    confirm: str


#: Asks a :class:`Question`; True for yes (the pane's dialog; the command line's ``--boot`` is its yes).
Confirm = Callable[[Question], Awaitable[bool]]


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
        if self.cd is None and self.floppy is None:
            raise ConfigError(NO_IMAGE)
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
    """Serve a request's images to one device over IDE-R, from the question to the session's end.

    Args:
        request: what to serve.
        address, port: the device's redirection port.
        tls: TLS options (None: plain TCP).
        config: user and password (the session type and timing come from the request).
        name: the device's name, for sentences.
        via: SSH jump hosts to reach the device through (None: directly).
        wsman: WS-Man for a boot (needed when ``request.boot``).
        confirm: for a boot, asked :attr:`question` first (None: do not ask).
        before_boot: called with the boot device right before the boot is set (attach SOL, mark).
        on_state: called with every new :attr:`state`.
        on_progress: called with every progress snapshot of the server.
        on_message: called with each sentence worth showing (serving, the boot's result).
        hint: appended to the "serving" sentence (the command line says how to stop).

    Raises:
        ConfigError: a boot without ``wsman`` (one sentence).
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
        wsman: BootService | None = None,
        confirm: Confirm | None = None,
        before_boot: Callable[[str], None] | None = None,
        on_state: Callable[[str], None] | None = None,
        on_progress: Callable[[IderProgress], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        hint: str = "",
    ) -> None:
        if request.boot and wsman is None:
            raise ConfigError(NO_WSMAN)
        self.request = request
        self.address = address
        self.port = port
        self.tls = tls
        self.config = request.console_config(config)
        self.name = name
        self.via = via
        self.wsman = wsman
        self._confirm = confirm
        self._before_boot = before_boot
        self._on_state = on_state
        self._on_progress = on_progress
        self._on_message = on_message
        self._hint = hint
        self.server: IderSession | None = None
        #: "idle", "connecting", "serving", then "stopped" (by :meth:`stop`), "ended", "failed" or
        #: "cancelled" (the question was answered no).
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
        """Whether the job is over (stopped, ended, failed or cancelled)."""
        return self.state in ("stopped", "ended", "failed", "cancelled")

    @property
    def question(self) -> Question:
        """What a boot asks before anything happens."""
        return Question(
            f"Boot {self.name} from {self.request.served}?",
            "The machine restarts at once (or powers on when off) and boots from the image over "
            "IDE-R, its screen on this console: unsaved work on it is lost.",
            "Reset",
        )

    def _set_state(self, state: str) -> None:
        self.state = state
        if self._on_state is not None:
            self._on_state(state)

    def _progress(self, progress: IderProgress) -> None:
        self.progress = progress
        if self._on_progress is not None:
            self._on_progress(progress)

    def _say(self, text: str) -> None:
        if self._on_message is not None:
            self._on_message(text)

    async def run(self) -> None:
        """Ask, check, serve (and boot) until the session ends or :meth:`stop` is called.

        Raises:
            AmtError: the images, the boot check, the connection, the session or the boot failed
                (its text is one sentence).
        """
        request = self.request
        confirm = self._confirm if request.boot and not self._stopping else None
        if confirm is not None and not await confirm(self.question):
            self._set_state("cancelled")
            return
        if self._stopping:
            self._set_state("stopped")
            return
        self._task = asyncio.current_task()
        self._set_state("connecting")
        try:
            self.image_bytes = request.check()
            if request.boot and self.wsman is not None:
                await self.wsman.check_boot(request.boot_device, sol=True, then=BOOT_THEN)
            server = await IderSession.open(
                self.address,
                self.port,
                tls=self.tls,
                config=self.config,
                cd=request.cd,
                floppy=request.floppy,
                on_progress=self._progress,
                stall_after=request.stall_after,
                via=self.via,
            )
        except asyncio.CancelledError:
            if not self._stopping or self._task is None:
                raise
            self._task.uncancel()  # our own stop() cut the connecting short
            self._set_state("stopped")
            return
        except BaseException:
            self._set_state("stopped" if self._stopping else "failed")
            raise
        self.server = server
        failed = False
        try:
            if self._stopping:
                return
            self._set_state("serving")
            self._say(f"Serving {request.served} to {self.name} over IDE-R{self._hint}.")
            if request.boot and self.wsman is not None:
                if self._before_boot is not None:
                    self._before_boot(request.boot_device)
                result = await self.wsman.boot(request.boot_device, sol=True, then=BOOT_THEN)
                self._say(result.message)
            await server.wait_closed()
        except AmtError:
            if not self._stopping:
                failed = True
                raise
        finally:
            await server.close()
            self.progress = server.progress()
            self._set_state("failed" if failed else "stopped" if self._stopping else "ended")

    async def stop(self) -> None:
        """End the session politely; :meth:`run` returns (without an error) once it has."""
        self._stopping = True
        if self.server is None:
            if self._task is not None and self.state == "connecting":
                self._task.cancel()
            return
        with contextlib.suppress(AmtError, ConnectionError, OSError, asyncio.TimeoutError):
            await self.server.close()

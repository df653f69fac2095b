"""ReinstallJob: boot a PC from an image file, over One Click Recovery HTTPS boot or IDE-R.

``amtterm reinstall`` and the console's "boot from image" pane both run this flow::

    request = ReinstallRequest(Path("debian.iso"), method="auto")
    request.check()                                     # one sentence (ConfigError) for a bad request
    job = ReinstallJob(request, name="pc42", device="192.0.2.7", recovery=ocr, ider=make_ider_job,
                       before_boot=attach_sol, on_progress=show, on_message=say)
    await job.run()                                     # until the image is fetched, stop() or timeout

The steps of :meth:`ReinstallJob.run`, in this order; each failure is an
:class:`~amtterm.errors.AmtError` whose text is the one sentence to show, raised before the next
step starts, so that nothing is started in vain:

1. the image is opened read-only and closed again (missing, unreadable, empty);
2. WS-Man is asked what the machine offers (:meth:`RecoveryService.https_boot_offer`);
   ``auto`` takes HTTPS boot when it is offered, else IDE-R with one sentence saying why;
   ``https`` without the offer is one sentence; IDE-R serves only an ISO (a ``.efi`` is one sentence);
3. HTTPS: the server starts (a port in use or an address not of this machine is one sentence),
   the CA goes into AMT's trusted roots, ``before_boot`` runs (the console attaches SOL), the
   HTTPS boot of the server's URL is set and the PC reset;
4. the job waits for the first of: every byte of the image sent and the server quiet for
   ``settle`` seconds (the firmware has it and boots it), the device's event log telling that the
   boot failed (``boot_log``: "HTTPS boot failed: the firmware refused the server certificate"
   at once; that the machine booted another way, once no request has come for ``DOUBT_GRACE``
   seconds after; the job then fails with that sentence),
   :meth:`ReinstallJob.stop` (Ctrl-C, the SOL session ending), or ``timeout``;
5. whatever was set up is undone, last first: the HTTPS boot settings cleared, the CA removed
   from the trusted roots, the server stopped. A failure there is said, and does not hide the
   failure that ended the job.

IDE-R is :class:`~amtterm.session.ider_job.IderJob`'s flow with the image as the CD and a boot,
made by the caller's ``ider`` factory (it knows the redirection port, TLS and password);
``before_boot`` runs before that job starts, and it ends as that job ends (or at ``timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from amtterm.errors import AmtError, ConfigError
from amtterm.session.ider import IderProgress
from amtterm.session.ider_job import IderJob, IderRequest
from amtterm.session.image_server import (
    ImageProgress,
    ImageServer,
    check_image,
)
from amtterm.transport.local_address import local_address_towards

if TYPE_CHECKING:
    from amtterm.session.boot_authority import BootAuthority
    from amtterm.wsman.bootwatch import BootOutcome

__all__ = [
    "METHODS",
    "BootLog",
    "HttpsBootOffer",
    "Method",
    "RecoveryService",
    "ReinstallJob",
    "ReinstallProgress",
    "ReinstallRequest",
    "image_kind",
]

Method = Literal["auto", "https", "ider"]
#: The choices of ``--method`` and of the pane, in the order shown.
METHODS: tuple[Method, ...] = ("auto", "https", "ider")
#: Seconds the server must be quiet after the whole image was sent before the job ends.
SETTLE = 10.0
#: Longest :meth:`ReinstallJob.stop` waits for the clean-up (seconds: WS-Man's reply timeouts).
STOP_WAIT = 30.0
#: How often the job looks at the server while waiting (seconds).
POLL = 0.25
#: How often the job reads the device's event log while waiting (seconds).
LOG_POLL = 2.0
#: When the event log says the machine booted another way, how long the job still waits for the
#: firmware's first request before it fails with that sentence (seconds): a firmware may log the
#: network as its boot device for an HTTPS boot, so the log alone does not end the job.
DOUBT_GRACE = 30.0
#: Where an ISO 9660 image says so (the primary volume descriptor at sector 16).
ISO_MAGIC_AT, ISO_MAGIC = 0x8001, b"CD001"


def image_kind(path: Path) -> Literal["iso", "efi", "other"]:
    """What the image is, by its bytes: an ISO 9660 image, a UEFI (PE) executable, or neither."""
    try:
        with path.open("rb") as image:
            head = image.read(2)
            image.seek(ISO_MAGIC_AT)
            magic = image.read(len(ISO_MAGIC))
    except OSError:
        return "other"
    if magic == ISO_MAGIC:
        return "iso"
    if head == b"MZ":
        return "efi"
    return "other"


@dataclass(frozen=True)
class HttpsBootOffer:
    """Whether the machine offers One Click Recovery HTTPS boot, and why not.

    Attributes:
        offered: HTTPS boot can be set now.
        reason: when not offered, why, as a clause ("AMT 11.8 has no One Click Recovery").
    """

    offered: bool
    reason: str = ""


class RecoveryService(Protocol):
    """One Click Recovery over WS-Man as this flow needs it."""

    async def https_boot_offer(self) -> HttpsBootOffer:
        """What the machine offers (changes nothing)."""
        ...

    async def add_trusted_root(self, der: bytes) -> str:
        """Put a CA certificate into AMT's trusted roots; returns its handle for removal."""
        ...

    async def remove_trusted_root(self, handle: str) -> None:
        """Remove what :meth:`add_trusted_root` added."""
        ...

    async def set_https_boot(self, url: str) -> str:
        """Set the one-time HTTPS boot of ``url`` (enabling OCR first if needed) and reset the PC.

        Returns:
            The sentence saying what was done.
        """
        ...

    async def clear_https_boot(self) -> None:
        """Undo :meth:`set_https_boot`'s boot settings (and OCR, when it switched it on)."""
        ...


class BootLog(Protocol):
    """The device's event log, followed while the image is served (what it says of the boot)."""

    async def read_boot_log(self) -> object:
        """The log as it is before the boot: what :meth:`boot_outcome` compares with."""
        ...

    async def boot_outcome(self, before: object) -> BootOutcome | None:
        """What the events since ``before`` tell of the HTTPS boot (None: nothing yet)."""
        ...


@dataclass(frozen=True)
class ReinstallRequest:
    """What to boot and how.

    Attributes:
        image: an ISO or a UEFI executable; only ever read.
        method: ``auto`` (HTTPS boot when offered, else IDE-R), ``https`` or ``ider``.
        serve_on: the address and port to serve on (None: the local address that reaches the
            device, a free port).
        url_host: the name or address the device reaches the server by, when not the one served
            on (NAT, port forwarding; None: the served address).
        timeout: end the job after this many seconds (None: no limit).
        settle: quiet seconds after the whole image was sent before the job ends.
    """

    image: Path
    method: Method = "auto"
    serve_on: tuple[str, int] | None = None
    url_host: str | None = None
    timeout: float | None = None
    settle: float = SETTLE

    def check(self) -> int:
        """Open the image read-only and close it again; returns its size in bytes.

        An ``.iso`` is checked as IDE-R checks its CD image (the same sentences); anything else
        as :func:`~amtterm.session.image_server.check_image` does.

        Raises:
            ConfigError: the image is missing, unreadable or empty; IDE-R asked for a non-ISO;
                a timeout that is not positive (one sentence).
        """
        if self.method not in METHODS:
            raise ConfigError(f"The method must be one of {', '.join(METHODS)}, not {self.method!r}.")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError("--timeout must be a positive number of seconds.")
        if self.image.suffix.lower() == ".iso":
            # An ISO may go over IDE-R: its checks and sentences (a whole number of sectors too).
            size = IderRequest(cd=self.image).check()
        else:
            size = check_image(self.image)
        if self.method == "ider" and image_kind(self.image) != "iso":
            raise ConfigError(self.not_for_ider)
        return size

    @property
    def not_for_ider(self) -> str:
        """The sentence for an image IDE-R cannot serve."""
        kind = "a UEFI executable" if image_kind(self.image) == "efi" else "not an ISO image"
        return f"{self.image} is {kind}: IDE-R serves only an ISO as its CD-ROM."


#: Progress of whichever method serves the image.
ReinstallProgress = ImageProgress | IderProgress


class ReinstallJob:
    """Boot one device from a request's image, from the offer check to the clean-up.

    Args:
        request: what to boot.
        name: the device's name, for sentences.
        device: the device's address (the default serving address is the one that reaches it).
        recovery: One Click Recovery over WS-Man (None: only IDE-R is possible).
        ider: makes the IDE-R job for a request (None: no IDE-R fallback).
        authority: the CA (None: :meth:`BootAuthority.load` from the state directory).
        boot_log: the device's event log, followed while serving (None: the job judges the boot
            by the bytes served only).
        before_boot: awaited right before the boot is set (the console attaches SOL).
        on_state: called with every new :attr:`state`.
        on_progress: called with every progress snapshot.
        on_message: called with each sentence worth showing.
    """

    def __init__(
        self,
        request: ReinstallRequest,
        *,
        name: str,
        device: str,
        recovery: RecoveryService | None,
        ider: Callable[[IderRequest], IderJob] | None = None,
        authority: BootAuthority | None = None,
        boot_log: BootLog | None = None,
        before_boot: Callable[[], Awaitable[None]] | None = None,
        on_state: Callable[[str], None] | None = None,
        on_progress: Callable[[ReinstallProgress], None] | None = None,
        on_message: Callable[[str], None] | None = None,
    ) -> None:
        self.request = request
        self.name = name
        self.device = device
        self.recovery = recovery
        self._make_ider = ider
        self._authority = authority
        self._boot_log = boot_log
        self._before_boot = before_boot
        self._on_state = on_state
        self._on_progress = on_progress
        self._on_message = on_message
        #: "idle", "checking", "serving", then "ended", "stopped", "timed out" or "failed".
        self.state = "idle"
        #: The method used once chosen: "https" or "ider".
        self.method: str | None = None
        #: The HTTPS server, while serving.
        self.server: ImageServer | None = None
        #: The IDE-R job, when IDE-R serves the image.
        self.ider_job: IderJob | None = None
        #: The URL set for the HTTPS boot.
        self.url: str | None = None
        self.progress: ReinstallProgress | None = None
        #: What the device's event log told of the boot, once it told something.
        self.outcome: BootOutcome | None = None
        self._stop = asyncio.Event()
        self._stopping = False
        self._running = False
        self._finished = asyncio.Event()

    @property
    def active(self) -> bool:
        """Whether the job is checking or serving."""
        return self.state in ("checking", "serving")

    def _set_state(self, state: str) -> None:
        self.state = state
        if self._on_state is not None:
            self._on_state(state)

    def _say(self, text: str) -> None:
        if self._on_message is not None:
            self._on_message(text)

    def _progress(self, progress: ReinstallProgress) -> None:
        self.progress = progress
        if self._on_progress is not None:
            self._on_progress(progress)

    async def stop(self, *, wait: float = STOP_WAIT) -> None:
        """End the job: :meth:`run` cleans up and returns (without an error).

        Returns once the clean-up is done (at most ``wait`` seconds), so that a caller that closes
        the connection next (the console at exit) does not cut it short.
        """
        self._stopping = True
        self._stop.set()
        if self.ider_job is not None:
            await self.ider_job.stop()
        if self._running and wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finished.wait(), wait)

    async def run(self) -> None:
        """Check, choose the method, serve and boot, wait, clean up.

        Raises:
            AmtError: one sentence for whatever failed (after the clean-up).
        """
        self._set_state("checking")
        self._running = True
        try:
            method = await self._choose()
            if self._stopping:
                self._set_state("stopped")
                return
            self.method = method
            if method == "ider":
                await self._run_ider()
            else:
                await self._run_https()
        except BaseException:
            if self.state in ("checking", "serving"):
                self._set_state("stopped" if self._stopping else "failed")
            raise
        finally:
            self._running = False
            self._finished.set()

    async def _choose(self) -> str:
        request = self.request
        request.check()
        if request.method == "ider":
            if self._make_ider is None:
                raise ConfigError("IDE-R is not available for this host.")
            return "ider"
        if self.recovery is None:
            offer = HttpsBootOffer(False, "WS-Management is not set up for this host")
        else:
            offer = await self.recovery.https_boot_offer()
        if offer.offered:
            return "https"
        if request.method == "https":
            raise ConfigError(f"HTTPS boot is not offered: {offer.reason}.")
        if image_kind(request.image) != "iso":
            raise ConfigError(
                f"HTTPS boot is not offered: {offer.reason}; and IDE-R cannot serve {request.image} "
                "(it serves only an ISO)."
            )
        if self._make_ider is None:
            raise ConfigError(f"HTTPS boot is not offered: {offer.reason}.")
        self._say(f"HTTPS boot is not offered: {offer.reason}; using IDE-R instead.")
        return "ider"

    async def _run_ider(self) -> None:
        assert self._make_ider is not None  # _choose chose IDE-R only with a factory and an ISO
        job = self._make_ider(IderRequest(cd=self.request.image, boot=True))
        self.ider_job = job
        if self._before_boot is not None:
            await self._before_boot()
        self._set_state("serving")
        task = asyncio.ensure_future(job.run())
        timed_out = False
        try:
            if self.request.timeout is None:
                await asyncio.shield(task)
            else:
                done, _ = await asyncio.wait({task}, timeout=self.request.timeout)
                if not done:
                    timed_out = True
                    self._say(
                        f"Gave up after {self.request.timeout:g} s (--timeout); ending the IDE-R session."
                    )
                    await job.stop()
                await task
        except asyncio.CancelledError:
            await job.stop()
            with contextlib.suppress(BaseException):
                await task
            raise
        if job.progress is not None:
            self._progress(job.progress)
        self._set_state("timed out" if timed_out else "stopped" if self._stopping else "ended")

    async def _run_https(self) -> None:
        assert self.recovery is not None
        recovery = self.recovery
        request = self.request
        if request.serve_on is not None:
            address, port = request.serve_on
        else:
            address, port = local_address_towards(self.device), 0
        from amtterm.session.boot_authority import BootAuthority  # cryptography.x509: only now

        authority = self._authority or BootAuthority.load()
        server = ImageServer(
            request.image,
            address,
            port,
            authority=authority,
            url_host=request.url_host,
            on_progress=self._progress,
        )
        await server.start()
        self.server = server
        root: str | None = None
        boot_set = False
        try:
            root = await recovery.add_trusted_root(authority.der)
            self._say(f"Added amtterm's HTTPS boot CA to {self.name}'s trusted roots.")
            if self._before_boot is not None:
                await self._before_boot()
            self.url = server.url
            before = await self._read_log()
            self._set_state("serving")
            boot_set = True
            self._say(await recovery.set_https_boot(server.url))
            self._say(f"Serving {request.image} at {server.url}.")
            self._progress(server.progress())  # "waiting", 0 requests: until the firmware asks
            outcome = await self._wait(server, before)
            self._set_state(outcome)
        finally:
            await self._clean_up(server, root, boot_set)
        if self.state == "failed" and self.outcome is not None:
            raise AmtError(f"{self.name}: {self.outcome.message}.")

    async def _read_log(self) -> object | None:
        """The event log before the boot (None: no log to follow, said in one sentence)."""
        if self._boot_log is None:
            return None
        try:
            return await self._boot_log.read_boot_log()
        except (AmtError, OSError, TimeoutError) as exc:
            why = str(exc).rstrip(".")
            if why[1:2].islower():  # "The device refused ..." mid-sentence; not "AMT ..."
                why = why[:1].lower() + why[1:]
            self._say(
                f"Not following {self.name}'s event log ({why}): the job judges the boot by the bytes "
                "served only."
            )
            return None

    async def _log_outcome(self, before: object) -> BootOutcome | None:
        """What the event log tells now (None: nothing yet, or it could not be read this time)."""
        assert self._boot_log is not None
        try:
            return await self._boot_log.boot_outcome(before)
        except (AmtError, OSError, TimeoutError):
            return None  # read again at the next poll; the bytes served still end the job

    async def _wait(self, server: ImageServer, before: object | None) -> str:
        """Wait for the image to be fetched and the server to settle, the event log telling that
        the boot failed, a stop, or the timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if self.request.timeout is None else loop.time() + self.request.timeout
        next_read = loop.time() + LOG_POLL
        doubt: tuple[BootOutcome, float, int] | None = None  # a "booted another way", its time, requests
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            while not stop.done():
                left = None if deadline is None else deadline - loop.time()
                if left is not None and left <= 0:
                    self._say(f"Gave up after {self.request.timeout:g} s (--timeout).")
                    return "timed out"
                if before is not None and self.outcome is None and loop.time() >= next_read:
                    outcome = await self._log_outcome(before)
                    next_read = loop.time() + LOG_POLL
                    if outcome is not None and outcome.happened:
                        self.outcome = outcome
                        self._say(f"{self.name}'s event log: {outcome.message}.")
                    elif outcome is not None and any(e.kind == "https-boot-failed" for e in outcome.events):
                        self.outcome = outcome
                        return "failed"  # run() raises the sentence after the clean-up
                    elif outcome is not None and doubt is None:
                        doubt = outcome, loop.time(), server.progress().requests
                if doubt is not None:
                    outcome, since, requests = doubt
                    if server.progress().requests > requests:
                        doubt, next_read = None, float("inf")  # the firmware fetches: the log misled
                    elif loop.time() - since >= DOUBT_GRACE:
                        self.outcome = outcome
                        return "failed"
                progress = server.progress()
                if progress.complete and not progress.active and server.quiet_for() >= self.request.settle:
                    self._say(
                        f"{self.name} has fetched the whole image ({progress.size / 1e6:.1f} MB, "
                        f"{progress.mb_per_s:.1f} MB/s) and boots it."
                    )
                    return "ended"
                await asyncio.wait({stop}, timeout=POLL if left is None else min(POLL, left))
            return "stopped"
        finally:
            stop.cancel()

    async def _clean_up(self, server: ImageServer, root: str | None, boot_set: bool) -> None:
        """Undo what was set up, last first; say what could not be undone.

        Each step runs to its end even when the job is cancelled meanwhile (Ctrl-C, the app
        closing): the cancellation is passed on once everything has been tried.
        """
        recovery = self.recovery
        assert recovery is not None
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        if boot_set:
            steps.append(("the HTTPS boot settings were not cleared", recovery.clear_https_boot))
        if root is not None:
            steps.append(
                ("amtterm's CA is still in the trusted roots", lambda: recovery.remove_trusted_root(root))
            )
        problems: list[str] = []
        cancelled = False
        for what, step in steps:
            problem, was_cancelled = await _finish(step())
            cancelled = cancelled or was_cancelled
            if problem is not None:
                problems.append(f"{what} ({problem})")
        await server.close()
        self.progress = server.progress()
        self.server = None
        if problems:
            self._say(f"Cleaning up {self.name}: {'; '.join(problems)}.")
        elif steps:
            self._say(
                f"Cleared {self.name}'s HTTPS boot settings and removed amtterm's CA from its trusted roots."
            )
        if cancelled:
            raise asyncio.CancelledError


async def _finish(step: Awaitable[None]) -> tuple[str | None, bool]:
    """Run ``step`` to its end even if the caller is cancelled meanwhile.

    Returns:
        Its failure's sentence (None: it went through), and whether the caller was cancelled.
    """
    task = asyncio.ensure_future(step)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True  # the step goes on (WS-Man's timeouts bound it); so do we
        except (AmtError, OSError, TimeoutError):
            break
    if task.cancelled():
        return "cancelled", cancelled
    error = task.exception()
    if error is None:
        return None, cancelled
    if isinstance(error, (AmtError, OSError, TimeoutError)):
        return str(error), cancelled
    raise error

"""WsmanRecovery: the :class:`~amtterm.session.reinstall.RecoveryService` of a WS-Man client.

A thin wrapper of :mod:`amtterm.wsman.ocr` (the One Click Recovery client) for
:class:`~amtterm.session.reinstall.ReinstallJob`: it turns :class:`~amtterm.wsman.ocr.OcrSupport`
into the job's yes-or-why (one clause, "AMT 11.8 has no One Click Recovery"), remembers whether it
switched OCR on so that the clean-up switches it off again, and removes from the trusted roots
the CA whatever put it there (it is amtterm's own, so one already there is a left-over of an
earlier run that was killed). It is also the job's :class:`~amtterm.session.reinstall.BootLog`:
the device's event log, judged as ``boot https ... --wait`` judges it
(:mod:`amtterm.wsman.bootwatch`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from amtterm.session.reinstall import HttpsBootOffer
from amtterm.wsman import bootwatch, eventlog, ocr
from amtterm.wsman.operations import Transport

__all__ = ["Caller", "WsmanRecovery", "offer_of"]

T = TypeVar("T")


class Caller(Protocol):
    """Runs one WS-Man operation on a connection (a bare client, or a DeviceService's ``run``)."""

    def __call__(self, operation: Callable[[Transport], Awaitable[T]], /) -> Awaitable[T]:
        """Run ``operation`` with the connection; its failure is one sentence."""
        ...


#: The power step after setting the HTTPS boot: reset (or power on when off).
THEN = "reset"


def offer_of(support: ocr.OcrSupport) -> HttpsBootOffer:
    """The job's view of what the device offers: yes, or why not as a clause."""
    problem = support.problem
    if problem is None:
        return HttpsBootOffer(True)
    if support.major < ocr.MIN_OCR_VERSION:
        short = ".".join((support.amt_version or "").split(".")[:2])
        reason = f"AMT {short} has no One Click Recovery" if short else "this AMT has no One Click Recovery"
        return HttpsBootOffer(False, reason)
    clause = problem.rstrip(".")
    first = clause.split(" ", 1)[0]
    if first in ("This", "The"):  # not a name ("One Click Recovery", "UEFI"): lower case mid-sentence
        clause = clause[:1].lower() + clause[1:]
    return HttpsBootOffer(False, clause)


class WsmanRecovery:
    """One Click Recovery over a WS-Man client, for the reinstall job.

    Args:
        call: runs an operation on the device: :meth:`over` a bare client (the command line), or
            :meth:`amtterm.wsman.services.DeviceService.run` (the console, its errors one sentence).
        label: how the command line names the host: sentences start with it (empty: no prefix).
        timeout: the HTTPS request timeout handed to the firmware on AMT 17+ (None: its default).
    """

    def __init__(self, call: Caller, *, label: str = "", timeout: int | None = None) -> None:
        self._run = call
        self.label = label
        self.timeout = timeout
        self.support: ocr.OcrSupport | None = None
        self._switched_on = False

    @classmethod
    def over(cls, transport: Transport, *, label: str = "", timeout: int | None = None) -> WsmanRecovery:
        """One Click Recovery over a bare WS-Man client."""

        async def call(operation: Callable[[Transport], Awaitable[T]]) -> T:
            return await operation(transport)

        return cls(call, label=label, timeout=timeout)

    async def https_boot_offer(self) -> HttpsBootOffer:
        """Read :func:`amtterm.wsman.ocr.ocr_support` (changes nothing)."""
        self.support = await self._run(ocr.ocr_support)
        return offer_of(self.support)

    async def add_trusted_root(self, der: bytes) -> str:
        """Add the CA (one already there is reused); returns its InstanceID."""
        root = await self._run(lambda transport: ocr.add_trusted_root(transport, der))
        return root.instance_id

    async def remove_trusted_root(self, handle: str) -> None:
        """Remove the CA this job added (nothing for "")."""
        if handle:
            await self._run(lambda transport: ocr.remove_trusted_root(transport, handle))

    async def set_https_boot(self, url: str) -> str:
        """Arm the HTTPS boot of ``url`` and reset (or power on); returns the sentence."""
        support, timeout = self.support, self.timeout
        result = await self._run(
            lambda transport: ocr.set_https_boot(transport, url, then=THEN, timeout=timeout, support=support)
        )
        self._switched_on = result.ocr_switched_on
        return f"{self.label}: {result.message}" if self.label else result.message

    async def clear_https_boot(self) -> None:
        """Clear the boot settings, and switch OCR off again when :meth:`set_https_boot` turned it on."""
        await self._run(ocr.clear_https_boot)
        if self._switched_on:
            await self._run(lambda transport: ocr.set_ocr(transport, False))
            self._switched_on = False

    async def read_boot_log(self) -> Sequence[eventlog.Event]:
        """The event log before the boot (its failure is one sentence: the job then does without)."""
        return await self._run(eventlog.read_events)

    async def boot_outcome(self, before: object) -> bootwatch.BootOutcome | None:
        """What the events since ``before`` tell of the HTTPS boot (None: nothing decisive yet).

        A boot that went another way is explained with AMT_BootSettingData, as ``--wait`` does.
        """
        assert isinstance(before, Sequence)
        fresh = eventlog.new_events(before, await self._run(eventlog.read_events))
        outcome = bootwatch.judge("https", fresh)
        if outcome is None or outcome.happened:
            return outcome
        judged = outcome
        return await self._run(lambda transport: bootwatch.explain_normal_boot(transport, judged))

"""WsmanRecovery: the :class:`~amtterm.session.reinstall.RecoveryService` of a WS-Man client.

A thin wrapper of :mod:`amtterm.wsman.ocr` (the One Click Recovery client) for
:class:`~amtterm.session.reinstall.ReinstallJob`: it turns :class:`~amtterm.wsman.ocr.OcrSupport`
into the job's yes-or-why (one clause, "AMT 11.8 has no One Click Recovery"), remembers whether it
switched OCR on so that the clean-up switches it off again, and removes from the trusted roots
the CA whatever put it there (it is amtterm's own, so one already there is a left-over of an
earlier run that was killed).
"""

from __future__ import annotations

from amtterm.session.reinstall import HttpsBootOffer
from amtterm.wsman import ocr
from amtterm.wsman.operations import Transport

__all__ = ["WsmanRecovery", "offer_of"]

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
    return HttpsBootOffer(False, clause[:1].lower() + clause[1:])


class WsmanRecovery:
    """One Click Recovery over a WS-Man client, for the reinstall job.

    Args:
        transport: the open client (TLS for One Click Recovery).
        label: how the command line names the host: sentences start with it (empty: no prefix).
        timeout: the HTTPS request timeout handed to the firmware on AMT 17+ (None: its default).
    """

    def __init__(self, transport: Transport, *, label: str = "", timeout: int | None = None) -> None:
        self.transport = transport
        self.label = label
        self.timeout = timeout
        self.support: ocr.OcrSupport | None = None
        self._switched_on = False

    async def https_boot_offer(self) -> HttpsBootOffer:
        """Read :func:`amtterm.wsman.ocr.ocr_support` (changes nothing)."""
        self.support = await ocr.ocr_support(self.transport)
        return offer_of(self.support)

    async def add_trusted_root(self, der: bytes) -> str:
        """Add the CA (one already there is reused); returns its InstanceID."""
        root = await ocr.add_trusted_root(self.transport, der)
        return root.instance_id

    async def remove_trusted_root(self, handle: str) -> None:
        """Remove the CA this job added (nothing for "")."""
        if handle:
            await ocr.remove_trusted_root(self.transport, handle)

    async def set_https_boot(self, url: str) -> str:
        """Arm the HTTPS boot of ``url`` and reset (or power on); returns the sentence."""
        result = await ocr.set_https_boot(
            self.transport, url, then=THEN, timeout=self.timeout, support=self.support
        )
        self._switched_on = result.ocr_switched_on
        return f"{self.label}: {result.message}" if self.label else result.message

    async def clear_https_boot(self) -> None:
        """Clear the boot settings, and switch OCR off again when :meth:`set_https_boot` turned it on."""
        await ocr.clear_https_boot(self.transport)
        if self._switched_on:
            await ocr.set_ocr(self.transport, False)
            self._switched_on = False

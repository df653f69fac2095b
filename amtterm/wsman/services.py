"""DeviceService: what the side panes ask of a device over WS-Management, as typed results.

The panes never see httpx, envelopes or exceptions from below: each call returns one of the
typed results of :mod:`amtterm.wsman.results` (``PowerStatus``, ``PowerActionResult``,
``BootResult``, ``DeviceInfo``, ``ConsentStatus``), of :mod:`amtterm.wsman.inventory`
(``MachineInfo``) or :mod:`amtterm.wsman.eventlog` / :mod:`amtterm.wsman.bootwatch` (``Event``,
``BootOutcome``) or raises :class:`ServiceError`, whose text
is the one sentence to show. Panes call these from Textual workers (async, on the app's loop).

One WS-Man client per device is opened on first use and reused (httpx is loaded then, not with
this module, so that a console shows its first screen without waiting for it) (its requests are serialised
by the client); :meth:`DeviceService.aclose` closes it. The TLS certificate is checked by a
:class:`~amtterm.wsman.target.CertificatePinner` (the one check,
:func:`amtterm.transport.trust.check_certificate`) before any credentials are sent, exactly as
``amtterm power`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from amtterm.errors import AmtError, ConnectError, name_host
from amtterm.transport.known_hosts import KnownHosts
from amtterm.wsman import boot as wsboot
from amtterm.wsman import bootwatch, eventlog, inventory
from amtterm.wsman import operations as ops
from amtterm.wsman.bootwatch import BootOutcome
from amtterm.wsman.eventlog import Event
from amtterm.wsman.inventory import MachineInfo
from amtterm.wsman.results import (
    BootResult,
    ConsentStatus,
    DeviceInfo,
    PowerActionResult,
    PowerStatus,
)
from amtterm.wsman.target import CertificatePinner, Target, open_client

if TYPE_CHECKING:
    from amtterm.transport.jump import JumpRoute
    from amtterm.transport.ssh import JumpChain
    from amtterm.wsman.client import WsmanClient

T = TypeVar("T")

#: Power actions that end what runs on the machine: the UI asks before sending them.
DESTRUCTIVE_POWER: frozenset[str] = frozenset({"off", "cycle", "reset", "soft-off", "soft-reset"})
#: Power actions that AMT refuses while a redirection (SOL) session is open (ReturnValue 2).
NEEDS_SOL_CLOSED: frozenset[str] = frozenset({"off", "cycle"})


class ServiceError(AmtError):
    """A WS-Man request failed; ``str()`` is the sentence for the user."""


def describe_error(exc: BaseException) -> str:
    """One sentence for any failure: the AmtError's own, or a short note for a bug."""
    if isinstance(exc, AmtError):
        return str(exc)
    return f"Unexpected {type(exc).__name__}: {exc} (run with --debug and report it)."


class DeviceService:
    """WS-Management for one device, for the panes.

    Args:
        target: where and how to reach it (from :func:`amtterm.wsman.target.resolve_target`).
        password: the AMT password.
        known_hosts: the pin file for trust on first use (None: the user's default).
        accept_new: pin an unknown certificate without asking.
        ask: asked about an unknown certificate (returns True to trust it); None = refuse.
        legacy: allow TLS 1.0/1.1.
        timeout: seconds for connecting and each reply.
        opener: builds the client (tests); :func:`amtterm.wsman.target.open_client` by default.
        via: SSH jump hosts: the client then talks through a forward opened on first use (and again
            after a connection failure).
    """

    def __init__(
        self,
        target: Target,
        password: str,
        *,
        known_hosts: KnownHosts | None = None,
        accept_new: bool = False,
        ask: Callable[[str], bool] | None = None,
        legacy: bool = False,
        timeout: float = 10.0,
        opener: Callable[..., WsmanClient] = open_client,
        via: JumpRoute | None = None,
    ) -> None:
        self.target = target
        self._password = password
        self._legacy = legacy
        self._timeout = timeout
        self._opener = opener
        self.pinner: CertificatePinner | None = (
            CertificatePinner(target, known_hosts, accept_new=accept_new, ask=ask) if target.tls else None
        )
        self._client: WsmanClient | None = None
        self._via = via
        self._chain: JumpChain | None = None
        self._opening = asyncio.Lock()
        #: Seconds the last request took (connect included), or None before any.
        self.round_trip: float | None = None
        #: The last power state read, or None.
        self.last_power: PowerStatus | None = None

    @property
    def where(self) -> str:
        """``address:port`` of the WS-Man endpoint."""
        return self.target.wsman_where

    @property
    def fingerprint(self) -> str | None:
        """The WS-Man certificate's fingerprint, once seen."""
        return self.pinner.fingerprint if self.pinner is not None else None

    async def _get_client(self) -> WsmanClient:
        async with self._opening:
            if self._client is None:
                extra: dict[str, str] = {}
                if self._via is not None:
                    from amtterm.transport.ssh import JumpChain

                    chain = await JumpChain.open(self._via)
                    try:
                        extra["uds"] = await chain.forward_unix(self.target.address, self.target.wsman_port)
                    except BaseException:
                        await chain.aclose()
                        raise
                    self._chain = chain
                self._client = self._opener(
                    self.target,
                    self._password,
                    pinner=self.pinner,
                    legacy=self._legacy,
                    timeout=self._timeout,
                    **extra,
                )
            return self._client

    async def _call(self, operation: Callable[[WsmanClient], Awaitable[T]]) -> T:
        started = time.monotonic()
        try:
            return await operation(await self._get_client())
        except ServiceError:
            raise
        except Exception as exc:
            if self._via is not None and isinstance(exc, ConnectError):
                await self.aclose()  # the tunnel may be gone: open a new one next time
            raise ServiceError(name_host(describe_error(exc), self.target.name)) from exc
        finally:
            self.round_trip = time.monotonic() - started

    async def run(self, operation: Callable[[WsmanClient], Awaitable[T]]) -> T:
        """Run one WS-Man operation over this service's connection, its failure one sentence.

        For flows that call :mod:`amtterm.wsman` functions themselves (the reinstall job's One
        Click Recovery steps).

        Raises:
            ServiceError: the operation failed (the sentence names the host).
        """
        return await self._call(operation)

    async def power(self) -> PowerStatus:
        """The power state now."""
        status = await self._call(ops.power_status)
        self.last_power = status
        return status

    async def power_action(self, action: str) -> PowerActionResult:
        """Run ``on``, ``off``, ``cycle``, ``reset``, ``soft-off`` or ``soft-reset``."""
        return await self._call(lambda client: ops.power_action(client, action))

    async def boot(self, target: str, *, sol: bool = False, then: str | None = None) -> BootResult:
        """Set the one-time boot override (``bios``, ``pxe``, ... ``clear``), then power on/reset."""
        return await self._call(lambda client: wsboot.boot_override(client, target, sol=sol, then=then))

    async def check_boot(self, target: str, *, sol: bool = False, then: str | None = None) -> None:
        """Raise (ServiceError) what :meth:`boot` would refuse (consent, redirection); changes nothing."""
        await self._call(lambda client: wsboot.check_boot(client, target, sol=sol, then=then))

    async def info(self) -> DeviceInfo:
        """AMT version, control mode, names, power and redirection state."""
        info = await self._call(ops.device_info)
        self.last_power = info.power
        return info

    async def machine(self) -> MachineInfo:
        """What the machine is: SKU, features, BIOS, model, firmware versions ("unknown" = None)."""
        return await self._call(inventory.read_machine)

    async def events(self, since: float | None = None) -> list[Event]:
        """The event log, oldest first (only events at or after ``since``, Unix time, if given)."""
        return await self._call(lambda client: eventlog.read_events(client, since))

    async def follow_boot(
        self, target: str, before: list[Event], *, wait: float = bootwatch.DEFAULT_WAIT
    ) -> BootOutcome:
        """Follow the event log after a boot to ``target`` (``before``: the log read before it)."""
        return await self._call(lambda client: bootwatch.follow_boot(client, target, before, wait=wait))

    async def consent(self) -> ConsentStatus:
        """Whether user consent is required, and where the flow stands."""
        return await self._call(ops.consent_status)

    async def consent_request(self) -> ConsentStatus:
        """Make the host show a 6-digit consent code."""
        return await self._call(ops.consent_request)

    async def consent_code(self, code: str) -> ConsentStatus:
        """Send the code read from the host's screen."""
        return await self._call(lambda client: ops.consent_code(client, code))

    async def aclose(self) -> None:
        """Close the connection pool (the next call opens a new one)."""
        client, self._client = self._client, None
        chain, self._chain = self._chain, None
        if client is not None:
            with contextlib.suppress(Exception):  # closing must never fail the caller
                await client.aclose()
        if chain is not None:
            await chain.aclose()

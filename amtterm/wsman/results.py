"""Typed results of the WS-Man operations, each with ``to_json()`` for ``--json`` output."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final, Literal

from amtterm.wsman.resources import (
    OPT_IN_REQUIRED_ALL,
    OPT_IN_REQUIRED_KVM,
    OPT_IN_REQUIRED_NONE,
    OPT_IN_STATE_NAMES,
    POWER_STATE_NAMES,
)

PowerAction = Literal["on", "off", "cycle", "reset", "soft-off", "soft-reset"]
BootTarget = Literal["bios", "bios-pause", "pxe", "disk", "cd", "ider-cd", "ider-floppy", "clear"]
ThenPower = Literal["on", "reset"]

# The RequestPowerStateChange number of each console action (wsman.md §6.2, §10.3).
POWER_ACTION_STATES: Final[dict[str, int]] = {
    "on": 2,
    "off": 8,
    "cycle": 5,
    "reset": 10,
    "soft-off": 12,
    "soft-reset": 14,
}
POWER_ACTIONS: Final = tuple(POWER_ACTION_STATES)
BOOT_TARGETS: Final = ("bios", "bios-pause", "pxe", "disk", "cd", "ider-cd", "ider-floppy", "clear")


def power_state_name(value: int) -> str:
    """A console's word for a reported PowerState; unknown values keep their number."""
    return POWER_STATE_NAMES.get(value, f"unknown ({value})")


class _Json:
    def to_json(self) -> dict[str, Any]:
        """The result as plain JSON-ready data."""
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]


@dataclass(frozen=True)
class PowerStatus(_Json):
    """The host's power state.

    Attributes:
        state: ``on``, ``off``, ``sleep``, ``hibernate``, ``other`` or ``unknown (N)``.
        power_state: the raw CIM PowerState number (§6.1).
        available: AvailableRequestedPowerStates as the device lists them now.
        actions: the console actions this state allows (soft ones only when offered).
    """

    state: str
    power_state: int
    available: tuple[int, ...]
    actions: tuple[str, ...]


@dataclass(frozen=True)
class PowerActionResult(_Json):
    """What a power action did.

    Attributes:
        action: the console action asked for.
        sent: the PowerState number sent, or None when nothing needed sending.
        before: the power state word before the action.
        message: one sentence for the user.
    """

    action: str
    sent: int | None
    before: str
    message: str


@dataclass(frozen=True)
class RedirectionStatus(_Json):
    """AMT_RedirectionService: the listener and the two features (§8.1).

    Attributes:
        listener: the 16994/16995 listener accepts sessions.
        sol: Serial-over-LAN is enabled.
        ider: IDE redirection (USB-R) is enabled.
        enabled_state: the raw EnabledState (32768..32771).
    """

    listener: bool
    sol: bool
    ider: bool
    enabled_state: int

    @property
    def sol_usable(self) -> bool:
        """A SOL session can be opened: listener and SOL both on."""
        return self.listener and self.sol

    @property
    def ider_usable(self) -> bool:
        """An IDE-R session can be opened: listener and IDE-R both on."""
        return self.listener and self.ider


@dataclass(frozen=True)
class KvmStatus(_Json):
    """CIM_KVMRedirectionSAP: whether the machine has KVM and whether it is switched on (§8.2).

    Attributes:
        present: the device has the access point; without it the SKU has no KVM (Intel Standard
            Manageability, or a PC without Intel graphics).
        enabled: KVM is switched on (EnabledState 2 = a session is open, or 6 = enabled, idle).
        enabled_state: the raw EnabledState (None when absent).
    """

    present: bool
    enabled: bool
    enabled_state: int | None

    @property
    def words(self) -> str:
        """``KVM on``, ``KVM off`` or the sentence fragment for a machine without KVM."""
        if not self.present:
            return "no KVM on this machine (Standard Manageability)"
        return "KVM on" if self.enabled else "KVM off"


def consent_required_name(value: int) -> str:
    """``none``, ``kvm`` or ``all`` for IPS_OptInService.OptInRequired."""
    names = {OPT_IN_REQUIRED_NONE: "none", OPT_IN_REQUIRED_KVM: "kvm", OPT_IN_REQUIRED_ALL: "all"}
    return names.get(value, f"unknown ({value})")


@dataclass(frozen=True)
class ConsentStatus(_Json):
    """IPS_OptInService: whether user consent is needed and where the flow stands (§8.3).

    Attributes:
        required: ``none``, ``kvm`` or ``all`` (client control mode is always ``all``).
        state: ``not started``, ``requested``, ``displayed``, ``received`` or ``in session``.
        granted: consent is in place now (state received or in session).
        required_value: the raw OptInRequired.
        state_value: the raw OptInState.
        message: a sentence about what just happened or what to do next, if any.
    """

    required: str
    state: str
    granted: bool
    required_value: int
    state_value: int
    message: str | None = None

    @classmethod
    def from_values(cls, required: int, state: int, message: str | None = None) -> ConsentStatus:
        """Build from the raw OptInRequired and OptInState numbers."""
        return cls(
            required=consent_required_name(required),
            state=OPT_IN_STATE_NAMES.get(state, f"unknown ({state})"),
            granted=state in (3, 4),
            required_value=required,
            state_value=state,
            message=message,
        )

    @property
    def needed_for_boot(self) -> bool:
        """Boot options and IDE-R need consent now: required for all and not yet given."""
        return self.required_value == OPT_IN_REQUIRED_ALL and not self.granted


@dataclass(frozen=True)
class BootResult(_Json):
    """What a boot override did.

    Attributes:
        target: the boot target set (or ``clear``).
        sol: BIOS/boot text was redirected to SOL (UseSOL).
        power: ``on`` or ``reset`` when a power request followed, else None.
        message: one sentence for the user.
    """

    target: str
    sol: bool
    power: str | None
    message: str


@dataclass(frozen=True)
class DeviceInfo(_Json):
    """Identity and state for ``amtterm info`` and the side pane.

    Attributes:
        amt_version: CIM_SoftwareIdentity ``AMT`` VersionString, e.g. ``16.1.25``.
        control_mode: ``admin``, ``client``, ``not provisioned`` or ``unknown (N)``.
        host_name: AMT_GeneralSettings HostName.
        domain_name: AMT_GeneralSettings DomainName.
        digest_realm: the device's digest realm (a cheap identity check, §2.3).
        power: the power state.
        redirection: the redirection state.
    """

    amt_version: str | None
    control_mode: str
    host_name: str | None
    domain_name: str | None
    digest_realm: str | None
    power: PowerStatus
    redirection: RedirectionStatus

    @property
    def fqdn(self) -> str | None:
        """HostName.DomainName, or the host name alone."""
        if self.host_name and self.domain_name:
            return f"{self.host_name}.{self.domain_name}"
        return self.host_name


@dataclass(frozen=True)
class Identity(_Json):
    """A device's answer to WS-Management Identify (DSP0226 section 11), read before log-on.

    Attributes:
        vendor: ProductVendor, ``Intel Corporation`` on AMT.
        product_version: ProductVersion, e.g. ``AMT 16.1``.
        protocol_version: ProtocolVersion, the WS-Management namespace URI.
        dash_version: DASHVersion, when given.
        security_profiles: the SecurityProfileName URIs, in order.
    """

    vendor: str
    product_version: str
    protocol_version: str
    dash_version: str | None = None
    security_profiles: tuple[str, ...] = ()

    @property
    def is_amt(self) -> bool:
        """Whether the vendor is Intel and the product AMT."""
        return self.vendor.startswith("Intel") and "AMT" in self.product_version

    @property
    def amt_version(self) -> str | None:
        """``16.1`` of ``AMT 16.1`` (None when the product is not AMT)."""
        if not self.is_amt:
            return None
        return self.product_version.split("AMT", 1)[1].strip() or None


@dataclass(frozen=True)
class DeviceReport(_Json):
    """What ``amtterm info`` could read, field by field; None where a read failed.

    Attributes:
        amt_version: CIM_SoftwareIdentity ``AMT`` VersionString, else Identify's version.
        control_mode: ``admin``, ``client``, ``not provisioned`` or ``unknown (N)``.
        host_name: AMT_GeneralSettings HostName.
        domain_name: AMT_GeneralSettings DomainName.
        digest_realm: the device's digest realm.
        power: the power state.
        redirection: the redirection state.
        unreadable: for each part that could not be read (``AMT version``, ``control mode``,
            ``host name``, ``power``, ``redirection``), one sentence saying why.
    """

    amt_version: str | None
    control_mode: str | None
    host_name: str | None
    domain_name: str | None
    digest_realm: str | None
    power: PowerStatus | None
    redirection: RedirectionStatus | None
    unreadable: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def fqdn(self) -> str | None:
        """HostName.DomainName, or the host name alone."""
        if self.host_name and self.domain_name:
            return f"{self.host_name}.{self.domain_name}"
        return self.host_name

"""The simulated AMT device's state, shared by its WS-Man service and its redirection server.

One :class:`DeviceState` per simulated device. The WS-Man service (``service.handle``)
changes it by AMT's rules; the redirection server reads the switches (listener, SOL, IDE-R),
sets the session flags through :meth:`DeviceState.set_session_open`, and listens to power
changes through :attr:`DeviceState.power_listeners`. The power state drives the simulated
PC through the :class:`HostControl` protocol. Time is always passed in as ``now`` (seconds,
any monotonic origin).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from amtterm.sim.wsman.ocr_state import OcrState
from amtterm.wsman.resources import (
    BOOT_ROLE_NEXT_SINGLE_USE,
    BOOT_ROLE_NOT_NEXT,
    OPT_IN_REQUIRED_ALL,
    OPT_IN_REQUIRED_NONE,
    SOURCE_CD_DVD,
    SOURCE_HARD_DRIVE,
    SOURCE_PXE,
    PowerState,
)

BootTarget = Literal["bios", "bios-pause", "pxe", "disk", "cd", "ider-cd", "ider-floppy"]


class HostControl(Protocol):
    """The simulated PC behind the device (implemented in ``amtterm/sim/host.py``)."""

    @property
    def powered(self) -> bool:
        """Whether the PC is running."""
        ...

    def power_on(self, now: float) -> None:
        """Switch the PC on; it starts POST."""

    def power_off(self, now: float) -> None:
        """Cut power; the console goes dark."""

    def reset(self, now: float) -> None:
        """Reset a running PC; it starts POST again."""

    def set_next_boot(self, target: BootTarget | None) -> None:
        """Where the next POST goes: a :data:`BootTarget` or None for the normal boot."""

    def show_message(self, text: str | None) -> None:
        """Show a framed line on the PC's screen (so over SOL too), e.g. the consent code; None removes it."""


@dataclass(frozen=True)
class PowerEvent:
    """A power change, as told to :attr:`DeviceState.power_listeners`.

    Attributes:
        kind: ``on``, ``off``, ``reset`` (also graceful reset) or ``cycle``.
        powered: whether the PC runs afterwards.
        now: when it happened.
    """

    kind: Literal["on", "off", "reset", "cycle"]
    powered: bool
    now: float


# Writable AMT_BootSettingData options and their zero values (wsman.md §7.2).
BOOT_OPTION_DEFAULTS: Final[dict[str, bool | int]] = {
    "BIOSPause": False,
    "BIOSSetup": False,
    "BootMediaIndex": 0,
    "ConfigurationDataReset": False,
    "FirmwareVerbosity": 0,
    "ForcedProgressEvents": False,
    "IDERBootDevice": 0,
    "LockKeyboard": False,
    "LockPowerButton": False,
    "LockResetButton": False,
    "LockSleepButton": False,
    "ReflashBIOS": False,
    "UseIDER": False,
    "UseSOL": False,
    "UseSafeMode": False,
    "UserPasswordBypass": False,
}
# Options AMT refuses together with a boot source (§7.2 version-dependent rule).
SOURCE_EXCLUSIVE: Final = ("UseIDER", "UseSOL", "BIOSSetup", "BIOSPause", "ReflashBIOS")
BOOT_SOURCES: Final[dict[str, BootTarget]] = {
    SOURCE_PXE: "pxe",
    SOURCE_HARD_DRIVE: "disk",
    SOURCE_CD_DVD: "cd",
}


@dataclass
class BootSettings:
    """AMT_BootSettingData options, the chosen CIM boot source and the config role (§7).

    Attributes:
        options: AMT property name -> value, the writable options of AMT_BootSettingData.
        enforce_secure_boot: EnforceSecureBoot (kept as written).
        source: the InstanceID of the chosen CIM_BootSourceSetting, or None.
        role: 1 = used on the next boot only, 32768 = not used.
        options_cleared: OptionsCleared: true once a boot consumed the options.
    """

    options: dict[str, bool | int] = field(default_factory=lambda: dict(BOOT_OPTION_DEFAULTS))
    enforce_secure_boot: bool = False
    source: str | None = None
    role: int = BOOT_ROLE_NOT_NEXT
    options_cleared: bool = True

    def next_target(self) -> BootTarget | None:
        """The :data:`BootTarget` the next boot takes, or None for a normal boot."""
        if self.role != BOOT_ROLE_NEXT_SINGLE_USE:
            return None
        if self.source is not None:
            return BOOT_SOURCES.get(self.source)
        if self.options["UseIDER"]:
            return "ider-cd" if self.options["IDERBootDevice"] == 1 else "ider-floppy"
        if self.options["BIOSSetup"]:
            return "bios"
        if self.options["BIOSPause"]:
            return "bios-pause"
        return None

    def clear(self) -> None:
        """Zero the options, drop the source and disarm: what a boot (or consent expiry) does."""
        self.options = dict(BOOT_OPTION_DEFAULTS)
        self.source = None
        self.role = BOOT_ROLE_NOT_NEXT
        self.options_cleared = True


@dataclass
class ConsentState:
    """IPS_OptInService's flow (wsman.md §8.3).

    Attributes:
        required: OptInRequired in admin control mode (client control mode forces ALL).
        state: OptInState: 0 not started, 1 requested, 2 displayed, 3 received, 4 in session.
        code: the 6-digit code while one is out.
        code_expires: when the code stops being valid (OptInCodeTimeout after StartOptIn).
        granted_until: when a received consent lapses without a redirection session.
        wrong_codes: wrong codes sent for the current code.
        blocked_until: StartOptIn answers 3 (blocked) until then.
        code_timeout: OptInCodeTimeout in seconds.
        session_window: how long consent outlives the last redirection session (about 2 min).
        max_wrong_codes: wrong codes before the flow drops back to 0 and blocks.
        block_seconds: how long StartOptIn is blocked after that.
    """

    required: int = OPT_IN_REQUIRED_NONE
    state: int = 0
    code: str | None = None
    code_expires: float = 0.0
    granted_until: float = 0.0
    wrong_codes: int = 0
    blocked_until: float = 0.0
    code_timeout: float = 120.0
    session_window: float = 120.0
    max_wrong_codes: int = 3
    block_seconds: float = 60.0

    def reset(self) -> None:
        """Back to "not started" with no code out."""
        self.state = 0
        self.code = None
        self.wrong_codes = 0


def _random_realm() -> str:
    return "Digest:" + secrets.token_hex(16).upper()


@dataclass
class DeviceState:
    """Everything one simulated AMT device knows.

    Attributes:
        power_state: CIM PowerState: 2 on, 4 sleep, 7 hibernate, 8 off (soft).
        host: the simulated PC, or None for a device with nothing behind it.
        listener_enabled: AMT_RedirectionService.ListenerEnabled (16994/16995 accept sessions).
        sol_enabled: SOL enabled (EnabledState bit 1).
        ider_enabled: IDE-R enabled (EnabledState bit 0).
        redirection_allowed_in_mebx: False makes enabling SOL/IDE-R fail (MEBx switch, §8.1).
        sol_session_open: a SOL session is open (set by the redirection server).
        ider_session_open: an IDE-R session is open (set by the redirection server).
        boot: the one-time boot settings.
        control_mode: ``admin`` (ACM) or ``client`` (CCM, consent always required).
        consent: the user-consent flow.
        amt_version: CIM_SoftwareIdentity ``AMT`` VersionString.
        host_name: AMT_GeneralSettings.HostName.
        domain_name: AMT_GeneralSettings.DomainName.
        digest_realm: ``Digest:`` + 32 hex; the HTTP server challenges with it.
        lms_present: Intel LMS runs in the host OS (soft-off, soft-reset, sleep, hibernate).
        power_listeners: called with a :class:`PowerEvent` after every power change.
        change_listeners: called (no arguments) after every WS-Man request was handled, so the
            redirection side can follow switches (listener, SOL) and wake its host driver.
        code_source: makes the 6-digit consent code; random unless a test sets it.
        requested_power_state: the last PowerState a console asked for (0: none yet).
        ocr: One Click Recovery state (AMT 16+, ``ocr.py``).
        request_tls: the request being handled came over TLS (set by ``service.handle``).
        get_refused: classes whose Get (and Put) this device answers with a 400 fault although
            Enumerate/Pull serves them, as some firmware does with the power association (a
            test hook; §6.1).
    """

    power_state: int = PowerState.ON
    host: HostControl | None = None
    listener_enabled: bool = True
    sol_enabled: bool = True
    ider_enabled: bool = True
    redirection_allowed_in_mebx: bool = True
    sol_session_open: bool = False
    ider_session_open: bool = False
    boot: BootSettings = field(default_factory=BootSettings)
    control_mode: Literal["admin", "client"] = "admin"
    consent: ConsentState = field(default_factory=ConsentState)
    amt_version: str = "16.1.25"
    host_name: str = "simhost"
    domain_name: str = "sim.invalid"
    digest_realm: str = field(default_factory=_random_realm)
    lms_present: bool = False
    power_listeners: list[Callable[[PowerEvent], None]] = field(default_factory=list)
    change_listeners: list[Callable[[], None]] = field(default_factory=list)
    code_source: Callable[[], str] = field(default=lambda: f"{secrets.randbelow(1_000_000):06d}")
    message_counter: int = 0
    enumerations: dict[str, list[Any]] = field(default_factory=dict)
    enumeration_counter: int = 0
    get_refused: set[str] = field(default_factory=set)
    requested_power_state: int = 0
    ocr: OcrState = field(default_factory=OcrState)
    request_tls: bool = True

    @property
    def powered(self) -> bool:
        """The PC runs (PowerState 2), following the host if it switched itself off or on."""
        if self.host is not None:
            if self.host.powered and self.power_state != PowerState.ON:
                self.power_state = PowerState.ON
            elif not self.host.powered and self.power_state == PowerState.ON:
                self.power_state = PowerState.OFF_SOFT
        return self.power_state == PowerState.ON

    @property
    def redirection_session_open(self) -> bool:
        """A SOL or IDE-R session is open."""
        return self.sol_session_open or self.ider_session_open

    @property
    def opt_in_required(self) -> int:
        """OptInRequired as reported: ALL in client control mode (§8.3)."""
        return OPT_IN_REQUIRED_ALL if self.control_mode == "client" else self.consent.required

    @property
    def product_version(self) -> str:
        """IdentifyResponse ProductVersion: ``AMT`` and the major.minor version, e.g. ``AMT 16.1``."""
        return "AMT " + ".".join(self.amt_version.split(".")[:2])

    @property
    def major_version(self) -> int:
        """The AMT major version number (0 if unparsable)."""
        head = self.amt_version.split(".", 1)[0]
        return int(head) if head.isdigit() else 0

    def notify_changed(self) -> None:
        """Tell :attr:`change_listeners` that a request may have changed the device."""
        for listener in list(self.change_listeners):
            listener()

    def next_message_id(self) -> str:
        """AMT's MessageID: ``uuid:00000000-8086-8086-8086-`` + a 12-hex-digit counter (§4.6)."""
        self.message_counter += 1
        return f"uuid:00000000-8086-8086-8086-{self.message_counter:012X}"

    def set_session_open(self, kind: Literal["sol", "ider"], is_open: bool, now: float) -> None:
        """Record a redirection session opening or closing (the redirection server calls this).

        Consent (if given) lasts while a session is open and for ``session_window`` after the
        last one closes.
        """
        self.refresh_consent(now)  # with the old flags: a session open until now kept consent alive
        if kind == "sol":
            self.sol_session_open = is_open
        else:
            self.ider_session_open = is_open
        if self.consent.state in (3, 4):
            self.consent.granted_until = max(self.consent.granted_until, now + self.consent.session_window)
        self.refresh_consent(now)

    def show_consent_code(self) -> None:
        """Put the consent code on the host's screen, if the host runs (state 1 -> 2)."""
        if self.consent.code is not None and self.host is not None and self.powered:
            self.host.show_message(f"Intel(R) AMT user consent code: {self.consent.code}")
            self.consent.state = 2

    def hide_consent_code(self) -> None:
        """Take the consent code box off the host's screen."""
        if self.host is not None:
            self.host.show_message(None)

    def refresh_consent(self, now: float) -> None:
        """Expire codes and lapsed consent; a lapse also clears the boot options (§7.5)."""
        consent = self.consent
        if consent.state in (1, 2) and now >= consent.code_expires:
            consent.reset()
            self.hide_consent_code()
        elif consent.state in (3, 4):
            if self.redirection_session_open:
                consent.state = 4
                consent.granted_until = max(consent.granted_until, now + consent.session_window)
            elif now >= consent.granted_until:
                consent.reset()
                self.boot.clear()
            else:
                consent.state = 3

    def consent_granted(self, now: float) -> bool:
        """Whether boot options and IDE-R may be used now (consent not needed, or given)."""
        self.refresh_consent(now)
        return self.opt_in_required != OPT_IN_REQUIRED_ALL or self.consent.state in (3, 4)

    def available_power_states(self) -> list[int]:
        """AvailableRequestedPowerStates for the current state (§6.1)."""
        if not self.powered:
            return [PowerState.ON]
        states = [PowerState.MASTER_BUS_RESET, PowerState.OFF_SOFT, PowerState.POWER_CYCLE_SOFT]
        if self.lms_present and self.major_version >= 10:
            states += [
                PowerState.SLEEP_DEEP,
                PowerState.HIBERNATE,
                PowerState.MASTER_BUS_RESET_GRACEFUL,
                PowerState.OFF_SOFT_GRACEFUL,
            ]
        return [int(s) for s in states]

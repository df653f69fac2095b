"""AMT's rules for the simulated device's extrinsic methods, as pure functions of the state.

Each function returns the method's ``ReturnValue`` (AMT reports feature failures of methods
as HTTP 200 with ReturnValue != 0, wsman.md §4.8) or raises :class:`DeviceFault` for the
cases AMT answers with a SOAP fault (boot options without consent, §7.6).

Rules (wsman.md §6.2, §7.3, §8.1, §8.3, §11.6):

* RequestPowerStateChange: 2 (on) only when not on; 5/10 (cycle/reset) only when on;
  8/5 (off/cycle) refused while a SOL or IDE-R session is open; 4/7/12/14 only with LMS and
  AMT >= 10, and only when on; anything else 2. A refusal is ReturnValue 2.
* A boot (on, reset, cycle) consumes an armed one-time boot setting: the host is told its
  target, then the options are zeroed and the role reverts to IsNotNext (§7.5).
* ChangeBootOrder with a Source: refused (2) while UseIDER/UseSOL/BIOSSetup/BIOSPause/
  ReflashBIOS are set; unknown source 4; without consent in client mode, AccessDenied.
  An empty ChangeBootOrder clears the source and never needs consent.
* SetBootConfigRole: roles 1 and 32768 only (else 5); needs consent in client mode.
* AMT_RedirectionService.RequestStateChange: 32768..32771 only (else 5); 2 when the MEBx
  switch forbids redirection.
* StartOptIn: 3 while blocked, 2 unless the flow is at 0 or consent is not required; the
  code appears on the host's screen (at power-on if the host is off). SendOptInCode: 2 for a
  wrong code; after ``max_wrong_codes`` the flow drops to 0 and StartOptIn is blocked.
* One Click Recovery (``ocr.py``, AMT 16+) hooks in at three places: ChangeBootOrder to a source
  that is not a classic one, a Put's UEFI boot parameters (checked before anything is stored),
  and the boot, which hands a UEFI host its HTTPS boot after its classic target.
"""

from __future__ import annotations

from dataclasses import dataclass

from amtterm.sim.wsman.state import BOOT_SOURCES, SOURCE_EXCLUSIVE, DeviceState, PowerEvent
from amtterm.wsman.resources import (
    BOOT_CONFIG_INSTANCE,
    BOOT_ROLE_NEXT_SINGLE_USE,
    BOOT_ROLE_NOT_NEXT,
    OPT_IN_REQUIRED_NONE,
    REDIRECTION_BASE,
    REDIRECTION_IDER_BIT,
    REDIRECTION_SOL_BIT,
    PowerState,
)

OK = 0
NOT_SUPPORTED = 1
REFUSED = 2  # "unknown/unspecified error": AMT's usual answer to a request it will not honour
BLOCKED = 3
INVALID_REFERENCE = 4
INVALID_PARAMETER = 5


@dataclass
class DeviceFault(Exception):
    """A SOAP fault the device answers with instead of a ReturnValue.

    Attributes:
        subcode: ``AccessDenied``, ``InternalError``, ``DestinationUnreachable``...
        reason: the Reason text.
        detail: the Detail text, e.g. ``AMT-STATUS 36``.
    """

    subcode: str
    reason: str
    detail: str = ""


def access_denied() -> DeviceFault:
    """The fault for a boot-option call without user consent (§7.6, §10.6)."""
    return DeviceFault("AccessDenied", "The sender was not authorized to access the resource.")


def require_consent(state: DeviceState, now: float) -> None:
    """Raise AccessDenied unless consent is not needed or already given."""
    if not state.consent_granted(now):
        raise access_denied()


# -- power ----------------------------------------------------------------------------------------
def _notify(state: DeviceState, event: PowerEvent) -> None:
    for listener in list(state.power_listeners):
        listener(event)


def _boot(state: DeviceState, now: float, kind: str) -> None:
    """Start POST on the host with the armed boot target, then consume the settings."""
    from amtterm.sim.wsman import ocr

    host = state.host
    if host is not None:
        host.set_next_boot(state.boot.next_target())
    ocr.arm_host(state)  # after set_next_boot, so a UEFI host's HTTPS boot is the last word
    if host is not None:
        if kind == "on" or not host.powered:
            host.power_on(now)
        elif kind == "cycle":
            host.power_off(now)
            host.power_on(now)
        else:
            host.reset(now)
    if state.boot.role == BOOT_ROLE_NEXT_SINGLE_USE:
        state.boot.clear()
    state.power_state = PowerState.ON
    if state.consent.state == 1:
        state.show_consent_code()


def request_power_state_change(state: DeviceState, requested: int, now: float) -> int:
    """CIM_PowerManagementService.RequestPowerStateChange (§6.2)."""
    on = state.powered
    if requested not in state.available_power_states():
        return REFUSED
    if requested in (PowerState.OFF_SOFT, PowerState.POWER_CYCLE_SOFT) and state.redirection_session_open:
        return REFUSED
    state.requested_power_state = requested
    if requested == PowerState.ON:
        _boot(state, now, "on")
        _notify(state, PowerEvent("on", True, now))
    elif requested == PowerState.POWER_CYCLE_SOFT:
        _boot(state, now, "cycle")
        _notify(state, PowerEvent("cycle", True, now))
    elif requested in (PowerState.MASTER_BUS_RESET, PowerState.MASTER_BUS_RESET_GRACEFUL):
        _boot(state, now, "reset")
        _notify(state, PowerEvent("reset", True, now))
    else:  # 8, 12 off; 4 sleep; 7 hibernate
        assert on
        if state.host is not None:
            state.host.power_off(now)
        state.power_state = PowerState.OFF_SOFT if requested == PowerState.OFF_SOFT_GRACEFUL else requested
        _notify(state, PowerEvent("off", False, now))
    return OK


# -- boot -----------------------------------------------------------------------------------------
def change_boot_order(state: DeviceState, source: str | None, now: float) -> int:
    """CIM_BootConfigSetting.ChangeBootOrder with zero or one Source InstanceID (§7.3)."""
    if source is None:
        state.boot.source = None
        return OK
    require_consent(state, now)
    exclusive_set = any(state.boot.options[name] for name in SOURCE_EXCLUSIVE)
    if source not in BOOT_SOURCES:
        from amtterm.sim.wsman import ocr

        return ocr.change_boot_order(state, source, exclusive_set)
    if exclusive_set:
        return REFUSED
    state.boot.source = source
    return OK


def set_boot_config_role(state: DeviceState, config_instance: str | None, role: int, now: float) -> int:
    """CIM_BootService.SetBootConfigRole (§7.3)."""
    require_consent(state, now)
    if config_instance not in (None, BOOT_CONFIG_INSTANCE):
        return INVALID_REFERENCE
    if role not in (BOOT_ROLE_NEXT_SINGLE_USE, BOOT_ROLE_NOT_NEXT):
        return INVALID_PARAMETER
    state.boot.role = role
    return OK


def put_boot_settings(state: DeviceState, values: dict[str, str], now: float) -> None:
    """Put AMT_BootSettingData: writable options only; read-only and unknown ones are ignored.

    Raises:
        DeviceFault: AccessDenied without consent; InternalError (AMT-STATUS 36, invalid
            parameter) when a source-exclusive option is set while a source is chosen.
    """
    from amtterm.sim.wsman import ocr

    require_consent(state, now)
    uefi = ocr.read_put(state, values)
    options = dict(state.boot.options)
    for name, default in options.items():
        raw = values.get(name)
        if raw is None:
            continue
        if isinstance(default, bool):
            options[name] = raw.strip().lower() in ("true", "1")
        else:
            try:
                options[name] = int(raw)
            except ValueError:
                raise DeviceFault("SchemaValidationError", f"{name} must be a number.") from None
    if state.boot.source is not None and any(options[name] for name in SOURCE_EXCLUSIVE):
        raise DeviceFault(
            "InternalError",
            "The service cannot comply with the request due to internal processing errors.",
            "AMT-STATUS 36",
        )
    state.boot.options = options
    ocr.store_put(state, uefi)
    if "EnforceSecureBoot" in values:
        state.boot.enforce_secure_boot = values["EnforceSecureBoot"].strip().lower() in ("true", "1")
    state.boot.options_cleared = not any(options.values())


# -- redirection ----------------------------------------------------------------------------------
def request_redirection_state(state: DeviceState, requested: int) -> int:
    """AMT_RedirectionService.RequestStateChange: 32768 + IDER bit + 2 * SOL bit (§8.1)."""
    if not REDIRECTION_BASE <= requested <= REDIRECTION_BASE + 3:
        return INVALID_PARAMETER
    bits = requested - REDIRECTION_BASE
    if bits and not state.redirection_allowed_in_mebx:
        return REFUSED
    state.ider_enabled = bool(bits & REDIRECTION_IDER_BIT)
    state.sol_enabled = bool(bits & REDIRECTION_SOL_BIT)
    return OK


# -- user consent ---------------------------------------------------------------------------------
def start_opt_in(state: DeviceState, now: float) -> int:
    """IPS_OptInService.StartOptIn: make a code and show it on the host's screen (§8.3)."""
    consent = state.consent
    state.refresh_consent(now)
    if now < consent.blocked_until:
        return BLOCKED
    if state.opt_in_required == OPT_IN_REQUIRED_NONE or consent.state != 0:
        return REFUSED
    consent.code = state.code_source()
    consent.code_expires = now + consent.code_timeout
    consent.wrong_codes = 0
    consent.state = 1
    state.show_consent_code()
    return OK


def send_opt_in_code(state: DeviceState, code: int, now: float) -> int:
    """IPS_OptInService.SendOptInCode: the right code gives consent (§8.3 step 4)."""
    consent = state.consent
    state.refresh_consent(now)
    if consent.state not in (1, 2) or consent.code is None:
        return REFUSED
    if f"{code:06d}" == consent.code:
        consent.state = 3
        consent.code = None
        consent.wrong_codes = 0
        consent.granted_until = now + consent.session_window
        state.hide_consent_code()
        state.refresh_consent(now)
        return OK
    consent.wrong_codes += 1
    if consent.wrong_codes >= consent.max_wrong_codes:
        consent.reset()
        consent.blocked_until = now + consent.block_seconds
        state.hide_consent_code()
    return REFUSED


def cancel_opt_in(state: DeviceState, now: float) -> int:
    """IPS_OptInService.CancelOptIn: drop the code or the consent."""
    state.refresh_consent(now)
    if state.consent.code is not None:
        state.hide_consent_code()
    state.consent.reset()
    return OK

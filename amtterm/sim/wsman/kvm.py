"""KVM on the simulated device's WS-Man side: CIM_KVMRedirectionSAP and IPS_KVMRedirectionSettingData.

Rules (modern-amt.md §2.1-2.2, wsman.md §8.2-8.3):

* A device whose SKU has no KVM (Intel Standard Manageability, or a PC with only a discrete GPU)
  has neither class: Get is DestinationUnreachable, Enumerate an empty set. Here that is
  ``DeviceState.kvm is None``.
* CIM_KVMRedirectionSAP.RequestStateChange: 2 enables, 3 disables (else 5, invalid parameter);
  enabling is refused (2) when the MEBx switch forbids redirection. EnabledState reads 2 while a
  KVM session is open, 6 (enabled but offline) when enabled and idle, 3 when disabled;
  RequestedState is the last value asked for (5, "no change", until then); KVMProtocol 4 = VNC-RFB.
* IPS_KVMRedirectionSettingData: Is5900PortEnabled, OptInPolicy (KVM needs consent: derived from
  IPS_OptInService.OptInRequired), OptInPolicyTimeout, SessionTimeout (minutes), DefaultScreen;
  RFBPassword is write-only (8 characters with an upper-case letter, a lower-case letter, a digit
  and a symbol, none of ``" , :``). A Put of Is5900PortEnabled=true on AMT 16 and later is refused:
  that firmware dropped port 5900. OptInPolicy can only be changed in admin control mode. The
  simulator never opens port 5900 itself: KVM is served on the redirection ports only.
* User consent for KVM: needed whenever OptInRequired is not 0 (client control mode: always);
  a session may start only once the code was given (OptInState 3 or 4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from amtterm.errors import WsmanMalformedReply
from amtterm.sim.wsman.replies import Properties
from amtterm.sim.wsman.rules import INVALID_PARAMETER, OK, REFUSED, DeviceFault
from amtterm.sim.wsman.state import DeviceState
from amtterm.wsman.parse import Instance
from amtterm.wsman.resources import OPT_IN_REQUIRED_ALL, OPT_IN_REQUIRED_KVM, OPT_IN_REQUIRED_NONE

KVM_SAP: Final = "CIM_KVMRedirectionSAP"
KVM_SETTINGS: Final = "IPS_KVMRedirectionSettingData"
SAP_NAME: Final = "KVM Redirection Service Access Point"
SETTINGS_INSTANCE: Final = "Intel(r) KVM Redirection Settings"
#: CIM EnabledState / RequestedState values used here.
ENABLED: Final = 2
DISABLED: Final = 3
NO_CHANGE: Final = 5
ENABLED_OFFLINE: Final = 6
KVM_PROTOCOL_VNC: Final = 4
_RFB_PASSWORD_FORBIDDEN: Final = frozenset('",:')


@dataclass
class KvmSettings:
    """The KVM feature of a device whose SKU has it.

    Attributes:
        enabled: the KVM service access point is enabled (RequestStateChange 2 / 3).
        requested_state: the last RequestedState asked for (5 until then).
        session_open: a KVM session is open on the redirection port (set by the redirection server).
        port_5900: Is5900PortEnabled (recorded only; the simulator serves no port 5900).
        rfb_password_set: an RFBPassword was written.
        opt_in_policy_timeout: OptInPolicyTimeout in seconds.
        session_timeout: SessionTimeout in minutes (0: none).
        default_screen: DefaultScreen.
    """

    enabled: bool = True
    requested_state: int = NO_CHANGE
    session_open: bool = False
    port_5900: bool = False
    rfb_password_set: bool = False
    opt_in_policy_timeout: int = 300
    session_timeout: int = 0
    default_screen: int = 0


def has_kvm(state: DeviceState) -> bool:
    """Whether this device's SKU has KVM."""
    return state.kvm is not None


def consent_needed(state: DeviceState) -> bool:
    """Whether a KVM session needs user consent (OptInRequired 1 or all; always in client control mode)."""
    return state.opt_in_required != OPT_IN_REQUIRED_NONE


def consent_granted(state: DeviceState, now: float) -> bool:
    """Whether a KVM session may start now as far as user consent goes."""
    state.refresh_consent(now)
    return not consent_needed(state) or state.consent.state in (3, 4)


def _settings(state: DeviceState) -> KvmSettings:
    if state.kvm is None:
        raise DeviceFault("DestinationUnreachable", "This device has no KVM.")
    return state.kvm


def kvm_sap(state: DeviceState) -> Properties:
    """CIM_KVMRedirectionSAP (wsman.md §8.2)."""
    kvm = _settings(state)
    enabled = (ENABLED if kvm.session_open else ENABLED_OFFLINE) if kvm.enabled else DISABLED
    return [
        ("CreationClassName", KVM_SAP),
        ("ElementName", SAP_NAME),
        ("EnabledState", enabled),
        ("KVMProtocol", KVM_PROTOCOL_VNC),
        ("Name", SAP_NAME),
        ("RequestedState", kvm.requested_state),
        ("SystemCreationClassName", "CIM_ComputerSystem"),
        ("SystemName", "ManagedSystem"),
    ]


def kvm_settings(state: DeviceState) -> Properties:
    """IPS_KVMRedirectionSettingData; RFBPassword is never shown (wsman.md §8.2)."""
    kvm = _settings(state)
    return [
        ("BackToBackFbMode", False),
        ("DefaultScreen", kvm.default_screen),
        ("ElementName", SETTINGS_INSTANCE),
        ("EnabledByMEBx", state.redirection_allowed_in_mebx),
        ("GreyScalePixelFormatSupported", True),
        ("InitialDecimationModeForLowRes", 0),
        ("InstanceID", SETTINGS_INSTANCE),
        ("Is5900PortEnabled", kvm.port_5900),
        ("OptInPolicy", consent_needed(state)),
        ("OptInPolicyTimeout", kvm.opt_in_policy_timeout),
        ("SessionTimeout", kvm.session_timeout),
        ("ZlibControlSupported", True),
    ]


def request_state_change(state: DeviceState, args: Instance, now: float) -> int:
    """CIM_KVMRedirectionSAP.RequestStateChange: 2 on, 3 off."""
    kvm = _settings(state)
    try:
        requested = args.integer("RequestedState")
    except WsmanMalformedReply:
        requested = None
    if requested not in (ENABLED, DISABLED):
        return INVALID_PARAMETER
    if requested == ENABLED and not state.redirection_allowed_in_mebx:
        return REFUSED
    kvm.enabled = requested == ENABLED
    kvm.requested_state = requested
    return OK


def _flag(text: str) -> bool:
    return text.strip().lower() in ("true", "1")


def _number(values: dict[str, str], name: str, low: int, high: int) -> int | None:
    raw = values.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise DeviceFault("SchemaValidationError", f"{name} must be a number.") from None
    if not low <= value <= high:
        raise DeviceFault("SchemaValidationError", f"{name} is out of range.")
    return value


def valid_rfb_password(password: str) -> bool:
    """AMT's rule for RFBPassword: exactly 8 characters, upper, lower, digit and symbol, no ``" , :``."""
    return (
        len(password) == 8
        and any(c.isupper() for c in password)
        and any(c.islower() for c in password)
        and any(c.isdigit() for c in password)
        and any(not c.isalnum() for c in password)
        and not _RFB_PASSWORD_FORBIDDEN & set(password)
    )


def put_settings(state: DeviceState, values: dict[str, str]) -> None:
    """Put IPS_KVMRedirectionSettingData.

    Raises:
        DeviceFault: a value AMT refuses (see the module docstring).
    """
    kvm = _settings(state)
    not_supported = "The specified feature is not supported."
    port = _flag(values["Is5900PortEnabled"]) if "Is5900PortEnabled" in values else None
    if port and state.major_version >= 16:
        raise DeviceFault("ActionNotSupported", not_supported)
    password = values.get("RFBPassword")
    if password is not None and not valid_rfb_password(password):
        raise DeviceFault(
            "InternalError",
            "RFBPassword must be 8 characters with an upper-case letter, a lower-case letter, a digit "
            'and a symbol (not " , or :).',
            "AMT-STATUS 36",
        )
    policy = _flag(values["OptInPolicy"]) if "OptInPolicy" in values else None
    if policy is not None and policy != consent_needed(state):
        if state.control_mode == "client":
            raise DeviceFault("AccessDenied", "The opt-in policy cannot be changed in client control mode.")
        if state.consent.required != OPT_IN_REQUIRED_ALL:
            state.consent.required = OPT_IN_REQUIRED_KVM if policy else OPT_IN_REQUIRED_NONE
    timeout = _number(values, "OptInPolicyTimeout", 60, 900)
    session = _number(values, "SessionTimeout", 0, 65535)
    screen = _number(values, "DefaultScreen", 0, 255)
    if port is not None:
        kvm.port_5900 = port
    if password is not None:
        kvm.rfb_password_set = True
    if timeout is not None:
        kvm.opt_in_policy_timeout = timeout
    if session is not None:
        kvm.session_timeout = session
    if screen is not None:
        kvm.default_screen = screen


#: Class name -> singleton builder (merged into ``instances.SINGLETONS``).
SINGLETONS: Final[dict[str, Callable[[DeviceState], Properties]]] = {
    KVM_SAP: kvm_sap,
    KVM_SETTINGS: kvm_settings,
}
#: Class name -> whether a device has it (merged into ``instances.OPTIONAL``).
OPTIONAL: Final[dict[str, Callable[[DeviceState], bool]]] = {KVM_SAP: has_kvm, KVM_SETTINGS: has_kvm}
#: (class, method) -> implementation (merged into ``service.METHODS``).
METHODS: Final[dict[tuple[str, str], Callable[[DeviceState, Instance, float], int]]] = {
    (KVM_SAP, "RequestStateChange"): request_state_change,
}

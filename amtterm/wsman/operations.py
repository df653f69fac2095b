"""Typed WS-Man operations a console needs, over an abstract transport.

A transport is ``async (request_xml) -> reply_xml``: :class:`amtterm.wsman.client.WsmanClient`
over HTTP(S), or the simulator's ``service.handle`` in memory for tests. Every operation
returns a frozen result from :mod:`amtterm.wsman.results` or raises an
:class:`~amtterm.errors.AmtError` whose text is one sentence for the user.

Rules kept here (wsman.md §6.2, §10.3): read the power state first; send on (2) only when
not on; reset (10) and cycle (5) only when on; soft-off (12) and soft-reset (14) only when
the device lists them in AvailableRequestedPowerStates; a refusal of off/cycle usually means
a redirection session is open. Boot overrides live in :mod:`amtterm.wsman.boot`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from amtterm.errors import ConfigError, WsmanError, WsmanFault, WsmanMalformedReply, WsmanRefused
from amtterm.wsman import envelope, parse
from amtterm.wsman.envelope import EndpointReference, Value
from amtterm.wsman.parse import Instance
from amtterm.wsman.resources import (
    AMT_GENERAL_SETTINGS,
    AMT_REDIRECTION_SERVICE,
    AMT_SETUP_AND_CONFIGURATION_SERVICE,
    CIM_ASSOCIATED_POWER_MANAGEMENT_SERVICE,
    CIM_COMPUTER_SYSTEM,
    CIM_KVM_REDIRECTION_SAP,
    CIM_POWER_MANAGEMENT_SERVICE,
    CIM_SERVICE_AVAILABLE_TO_ELEMENT,
    CIM_SOFTWARE_IDENTITY,
    IPS_OPT_IN_SERVICE,
    MANAGED_SYSTEM_SELECTORS,
    OPT_IN_REQUIRED_NONE,
    PROVISIONING_MODE_ADMIN,
    PROVISIONING_MODE_CLIENT,
    REDIRECTION_BASE,
    REDIRECTION_IDER_BIT,
    REDIRECTION_SOL_BIT,
    PowerState,
    resource_uri,
)
from amtterm.wsman.results import (
    POWER_ACTION_STATES,
    ConsentStatus,
    DeviceInfo,
    DeviceReport,
    Identity,
    KvmStatus,
    PowerActionResult,
    PowerStatus,
    RedirectionStatus,
    power_state_name,
)

T = TypeVar("T")
Transport = Callable[[str], Awaitable[str]]
"""Sends one request envelope and returns the reply envelope's text."""

MAX_PULLS = 100  # a device that never ends an enumeration must not hang us
#: What one read of a device may fail with and still leave the others worth trying.
UNREADABLE = (WsmanFault, WsmanMalformedReply)


class NotAmtPort(WsmanError):
    """The port answers HTTP, but not as AMT's WS-Management (Identify says so, or nothing sensible)."""


def _where(transport: Transport) -> str:
    where = getattr(transport, "where", None)
    return where if isinstance(where, str) else "The device"


# -- generic helpers ------------------------------------------------------------------------------
async def get_instance(transport: Transport, class_name: str) -> Instance:
    """Get the singleton instance of ``class_name`` (no selectors, §4.4)."""
    return parse.parse_instance(await transport(envelope.build_get(resource_uri(class_name))), class_name)


async def put_instance(transport: Transport, class_name: str, values: Mapping[str, Value]) -> Instance:
    """Put a whole singleton instance and return what the device stored (§4.4)."""
    request = envelope.build_put(resource_uri(class_name), values)
    return parse.parse_instance(await transport(request), class_name)


async def invoke(
    transport: Transport,
    class_name: str,
    method: str,
    arguments: Mapping[str, Value] | None = None,
    explain: Callable[[int], str] | Mapping[int, str] | None = None,
) -> Instance:
    """Invoke a method and return its ``_OUTPUT``; a non-zero ReturnValue raises.

    Raises:
        WsmanReturnValueError: ReturnValue != 0, with the sentence from ``explain``.
    """
    request = envelope.build_invoke(resource_uri(class_name), method, arguments)
    output = parse.parse_output(await transport(request), method)
    parse.check_return_value(output, method, explain)
    return output


async def enumerate_instances(transport: Transport, class_name: str) -> list[Instance]:
    """Enumerate then Pull until the end of the sequence (§4.7)."""
    uri = resource_uri(class_name)
    context: str | None = parse.parse_enumerate(await transport(envelope.build_enumerate(uri)))
    items: list[Instance] = []
    for _ in range(MAX_PULLS):
        if context is None:
            return items
        page = parse.parse_pull(await transport(envelope.build_pull(uri, context)))
        items.extend(page.items)
        context = page.context
    raise WsmanMalformedReply(f"The device's enumeration of {class_name} never ended.")


def managed_system() -> EndpointReference:
    """The ``ManagedElement`` EPR of power requests: the host's CIM_ComputerSystem (§6.2)."""
    return EndpointReference(resource_uri(CIM_COMPUTER_SYSTEM), MANAGED_SYSTEM_SELECTORS)


# -- identify -------------------------------------------------------------------------------------
async def identify(transport: Transport) -> Identity | None:
    """WS-Management Identify (DSP0226 section 11), sent before any log-on: who answers here.

    Returns:
        The identity; None when the device answers Identify with a SOAP fault (a WS-Management
        service that does not offer Identify: its version shows only after log-on).

    Raises:
        NotAmtPort: the reply is not WS-Management, or it names a product other than AMT.
        AuthError, ConnectError, TlsError, WsmanTimeout: as for any request.
    """
    where = _where(transport)
    try:
        identity = parse.parse_identify(await transport(envelope.build_identify()))
    except WsmanFault:
        return None
    except WsmanMalformedReply:
        raise NotAmtPort(
            f"{where} answers, but not as AMT's WS-Management port (no reply to WS-Management Identify); "
            "check the port (16993 HTTPS, 16992 plain with -P, or --wsman-port)."
        ) from None
    if not identity.is_amt:
        product = (
            " ".join(p for p in (identity.vendor, identity.product_version) if p) or "an unnamed product"
        )
        raise NotAmtPort(f"{where} is a WS-Management service of {product}, not Intel AMT.")
    return identity


# -- power ----------------------------------------------------------------------------------------
async def _power_item(transport: Transport) -> Instance:
    """The CIM_AssociatedPowerManagementService instance: a Get, else Enumerate/Pull (§6.1).

    Some firmware answers the association only to Enumerate/Pull of
    CIM_ServiceAvailableToElement, so a refused Get falls back to that, as MeshCommander reads it.
    """
    try:
        return await get_instance(transport, CIM_ASSOCIATED_POWER_MANAGEMENT_SERVICE)
    except UNREADABLE as refused:
        try:
            items = await enumerate_instances(transport, CIM_SERVICE_AVAILABLE_TO_ELEMENT)
        except UNREADABLE:
            raise refused from None
        for item in items:
            if item.integer("PowerState") is not None:
                return item
        raise refused from None


async def power_status(transport: Transport) -> PowerStatus:
    """Read the power state: Get CIM_AssociatedPowerManagementService, else enumerate it (§6.1, §10.2)."""
    item = await _power_item(transport)
    value = item.integer("PowerState")
    if value is None:
        raise WsmanMalformedReply("The device's power reply has no PowerState.")
    available = tuple(item.integers("AvailableRequestedPowerStates"))
    state = power_state_name(value)
    actions = ["on"] if value != PowerState.ON else ["off", "cycle", "reset"]
    if value == PowerState.ON:
        actions += [a for a in ("soft-off", "soft-reset") if POWER_ACTION_STATES[a] in available]
    return PowerStatus(state=state, power_state=value, available=available, actions=tuple(actions))


def _power_refusal(action: str, number: int) -> Callable[[int], str]:
    def explain(value: int) -> str:
        if value == 2 and action in ("off", "cycle"):
            return (
                f"The device refused {action} (ReturnValue 2): a redirection session (SOL, IDE-R "
                "or KVM) is open; close it and try again."
            )
        return f"The device refused {action} (RequestPowerStateChange {number}, ReturnValue {value})."

    return explain


async def request_power_state(transport: Transport, number: int, action: str = "power change") -> None:
    """Send RequestPowerStateChange(``number``) without any check (§6.2)."""
    await invoke(
        transport,
        CIM_POWER_MANAGEMENT_SERVICE,
        "RequestPowerStateChange",
        {"PowerState": number, "ManagedElement": managed_system()},
        _power_refusal(action, number),
    )


async def power_action(transport: Transport, action: str) -> PowerActionResult:
    """Run a console power action after checking that the current state allows it.

    Args:
        transport: the device.
        action: one of ``on``, ``off``, ``cycle``, ``reset``, ``soft-off``, ``soft-reset``.

    Raises:
        ConfigError: unknown action.
        WsmanRefused: the state rules it out (e.g. reset while off, soft-off not offered).
        WsmanReturnValueError: the device refused it (e.g. off while a session is open).
    """
    number = POWER_ACTION_STATES.get(action)
    if number is None:
        raise ConfigError(f"Unknown power action {action!r}; use one of {', '.join(POWER_ACTION_STATES)}.")
    status = await power_status(transport)
    is_on = status.power_state == PowerState.ON
    if action == "on" and is_on:
        return PowerActionResult(action, None, status.state, "The machine is already on; nothing was sent.")
    if action == "off" and status.state == "off":
        return PowerActionResult(action, None, status.state, "The machine is already off; nothing was sent.")
    if action in ("cycle", "reset", "soft-off", "soft-reset") and not is_on:
        raise WsmanRefused(f"The machine is {status.state}, {action} needs it on; use 'power on' instead.")
    if action in ("soft-off", "soft-reset") and number not in status.available:
        raise WsmanRefused(
            f"This device does not offer {action} now: it needs AMT 9 or later and Intel LMS running "
            f"in the host's operating system; use '{action.removeprefix('soft-')}' for the hard one."
        )
    await request_power_state(transport, number, action)
    done = {
        "on": "Powered the machine on.",
        "off": "Powered the machine off.",
        "cycle": "Power-cycled the machine.",
        "reset": "Reset the machine.",
        "soft-off": "Asked the operating system to shut down.",
        "soft-reset": "Asked the operating system to restart.",
    }[action]
    return PowerActionResult(action, number, status.state, done)


# -- redirection ----------------------------------------------------------------------------------
def _redirection_from(item: Instance) -> RedirectionStatus:
    enabled = item.integer("EnabledState")
    if enabled is None:
        raise WsmanMalformedReply("The device's AMT_RedirectionService has no EnabledState.")
    bits = enabled - REDIRECTION_BASE if enabled >= REDIRECTION_BASE else 0
    return RedirectionStatus(
        listener=bool(item.boolean("ListenerEnabled")),
        sol=bool(bits & REDIRECTION_SOL_BIT),
        ider=bool(bits & REDIRECTION_IDER_BIT),
        enabled_state=enabled,
    )


async def redirection_status(transport: Transport) -> RedirectionStatus:
    """Read the listener, SOL and IDE-R switches of AMT_RedirectionService (§8.1)."""
    return _redirection_from(await get_instance(transport, AMT_REDIRECTION_SERVICE))


async def set_redirection(
    transport: Transport, enable: bool, *, sol: bool = True, ider: bool = True
) -> RedirectionStatus:
    """Enable or disable redirection: RequestStateChange, then Put ListenerEnabled (§10.5).

    Args:
        transport: the device.
        enable: True opens the listener and turns on the chosen features; False turns all off.
        sol: with ``enable``, turn SOL on.
        ider: with ``enable``, turn IDE-R on.

    Raises:
        WsmanReturnValueError: the device refused, e.g. the features are off in MEBx.
    """
    wanted = REDIRECTION_BASE + (
        (REDIRECTION_IDER_BIT if ider else 0) + (REDIRECTION_SOL_BIT if sol else 0) if enable else 0
    )

    def explain(value: int) -> str:
        what = "enable" if enable else "disable"
        return (
            f"The device refused to {what} redirection (ReturnValue {value}); SOL and IDE-R must be "
            "allowed in the machine's MEBx setup, which cannot be changed remotely."
        )

    arguments: dict[str, Value] = {"RequestedState": wanted}
    await invoke(transport, AMT_REDIRECTION_SERVICE, "RequestStateChange", arguments, explain)
    current = await get_instance(transport, AMT_REDIRECTION_SERVICE)
    keys = ("Name", "CreationClassName", "SystemName", "SystemCreationClassName", "ElementName")
    values: dict[str, Value] = {key: current.text(key) for key in keys}
    values["EnabledState"] = current.integer("EnabledState")
    values["ListenerEnabled"] = enable
    return _redirection_from(await put_instance(transport, AMT_REDIRECTION_SERVICE, values))


# -- KVM ------------------------------------------------------------------------------------------
#: CIM_KVMRedirectionSAP EnabledState values that mean "switched on" (2 in session, 6 idle).
KVM_ENABLED_STATES = (2, 6)
KVM_REQUEST_ON = 2
KVM_REQUEST_OFF = 3


async def kvm_status(transport: Transport) -> KvmStatus:
    """Read CIM_KVMRedirectionSAP; a device without it has no KVM (modern-amt.md §2.1)."""
    try:
        sap = await get_instance(transport, CIM_KVM_REDIRECTION_SAP)
    except UNREADABLE:
        return KvmStatus(present=False, enabled=False, enabled_state=None)
    state = sap.integer("EnabledState")
    return KvmStatus(present=True, enabled=state in KVM_ENABLED_STATES, enabled_state=state)


async def set_kvm(transport: Transport, enable: bool) -> KvmStatus:
    """Switch KVM on (RequestStateChange 2) or off (3) on CIM_KVMRedirectionSAP.

    Switching it on also opens the redirection listener when it is closed (KVM sessions arrive
    there), keeping SOL and IDE-R as they are; switching it off leaves the listener alone.

    Raises:
        WsmanRefused: the device has no KVM.
        WsmanReturnValueError: the device refused, e.g. redirection is forbidden in MEBx.
    """
    if not (await kvm_status(transport)).present:
        raise WsmanRefused(
            f"{_where(transport)} has no KVM: this machine is Intel Standard Manageability, or has no "
            "Intel graphics (SOL and IDE-R still work)."
        )

    def explain(value: int) -> str:
        what = "enable" if enable else "disable"
        return (
            f"The device refused to {what} KVM (ReturnValue {value}); redirection must be allowed in "
            "the machine's MEBx setup, which cannot be changed remotely."
        )

    requested: dict[str, Value] = {"RequestedState": KVM_REQUEST_ON if enable else KVM_REQUEST_OFF}
    await invoke(transport, CIM_KVM_REDIRECTION_SAP, "RequestStateChange", requested, explain)
    if enable:
        redirection = await redirection_status(transport)
        if not redirection.listener:
            await set_redirection(transport, True, sol=redirection.sol, ider=redirection.ider)
    return await kvm_status(transport)


# -- user consent ---------------------------------------------------------------------------------
def _consent_from(item: Instance, message: str | None = None) -> ConsentStatus:
    return ConsentStatus.from_values(
        item.integer("OptInRequired") or 0, item.integer("OptInState") or 0, message
    )


async def consent_status(transport: Transport) -> ConsentStatus:
    """Read IPS_OptInService: whether consent is required and the flow's state (§8.3)."""
    return _consent_from(await get_instance(transport, IPS_OPT_IN_SERVICE))


async def consent_request(transport: Transport) -> ConsentStatus:
    """Start the consent flow so the host shows a 6-digit code (§8.3 steps 1-3).

    A stale displayed code is cancelled first. When consent is not required, or is already
    given, nothing is sent and the status says so.

    Raises:
        WsmanReturnValueError: StartOptIn refused (3 = blocked after repeated wrong codes).
    """
    status = await consent_status(transport)
    if status.required_value == OPT_IN_REQUIRED_NONE:
        return ConsentStatus.from_values(0, status.state_value, "This device does not require user consent.")
    if status.granted:
        return ConsentStatus.from_values(
            status.required_value, status.state_value, "User consent is already given."
        )
    if status.state_value in (1, 2):
        await invoke(transport, IPS_OPT_IN_SERVICE, "CancelOptIn")
    await invoke(
        transport,
        IPS_OPT_IN_SERVICE,
        "StartOptIn",
        explain={
            3: "The device blocks consent requests after repeated wrong codes; wait a minute and retry.",
            2: "The device refused to start the consent flow (ReturnValue 2); check 'consent status'.",
        },
    )
    power = await power_status(transport)
    where = (
        "The host's screen now shows a 6-digit code; enter it with 'amtterm consent HOST code NNNNNN'."
        if power.state == "on"
        else "The machine is off, so its screen cannot show the code: power it on, then read the code."
    )
    return _consent_from(await get_instance(transport, IPS_OPT_IN_SERVICE), where)


async def consent_code(transport: Transport, code: str) -> ConsentStatus:
    """Send the 6-digit code read from the host's screen (§8.3 step 4).

    Raises:
        ConfigError: the code is not 6 digits.
        WsmanReturnValueError: the device did not accept the code.
    """
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        raise ConfigError("The consent code is the 6 digits shown on the host's screen, e.g. 123456.")

    def explain(value: int) -> str:
        return (
            f"The device did not accept the code {code} (ReturnValue {value}): check the digits on "
            "the host's screen, or start again with 'consent request'."
        )

    await invoke(transport, IPS_OPT_IN_SERVICE, "SendOptInCode", {"OptInCode": int(code)}, explain)
    return _consent_from(await get_instance(transport, IPS_OPT_IN_SERVICE), "User consent is given.")


# -- identity -------------------------------------------------------------------------------------
def control_mode_name(provisioning_state: int | None, mode: int | None) -> str:
    """``admin``, ``client``, ``not provisioned`` or ``unknown (N)`` (§9.3)."""
    if provisioning_state is not None and provisioning_state != 2:
        return "not provisioned"
    return {PROVISIONING_MODE_ADMIN: "admin", PROVISIONING_MODE_CLIENT: "client"}.get(
        mode or 0, f"unknown ({mode})"
    )


async def device_info(transport: Transport) -> DeviceInfo:
    """AMT version, control mode, host name, realm, power and redirection state (§9)."""
    identities = await enumerate_instances(transport, CIM_SOFTWARE_IDENTITY)
    version = next((i.text("VersionString") for i in identities if i.text("InstanceID") == "AMT"), None)
    setup = await get_instance(transport, AMT_SETUP_AND_CONFIGURATION_SERVICE)
    general = await get_instance(transport, AMT_GENERAL_SETTINGS)
    return DeviceInfo(
        amt_version=version,
        control_mode=control_mode_name(setup.integer("ProvisioningState"), setup.integer("ProvisioningMode")),
        host_name=general.text("HostName") or None,
        domain_name=general.text("DomainName") or None,
        digest_realm=general.text("DigestRealm") or None,
        power=await power_status(transport),
        redirection=await redirection_status(transport),
    )


def _why(exc: Exception) -> str:
    return str(exc).rstrip(".") + "."


async def _read(what: str, read: Callable[[], Awaitable[T]], unreadable: dict[str, str]) -> T | None:
    try:
        return await read()
    except UNREADABLE as exc:
        unreadable[what] = _why(exc)
        return None


async def device_report(transport: Transport, identity: Identity | None = None) -> DeviceReport:
    """What :func:`device_info` reads, but every part on its own: a part the device refuses
    (a fault, or a reply that is not WS-Management) leaves its fields None and adds one
    sentence to ``unreadable``; the other parts are still read.

    Args:
        transport: the device.
        identity: its Identify answer, whose version stands in when CIM_SoftwareIdentity fails.

    Raises:
        WsmanError: when no part at all could be read (the first part's error).
        AuthError, ConnectError, TlsError, WsmanTimeout: as for any request.
    """
    unreadable: dict[str, str] = {}
    first_error: Exception | None = None

    async def software() -> str | None:
        identities = await enumerate_instances(transport, CIM_SOFTWARE_IDENTITY)
        return next((i.text("VersionString") for i in identities if i.text("InstanceID") == "AMT"), None)

    try:
        version = await software()
    except UNREADABLE as exc:
        first_error = exc
        version = None
        if identity is None or identity.amt_version is None:
            unreadable["AMT version"] = _why(exc)
    if version is None and identity is not None:
        version = identity.amt_version
    setup = await _read(
        "control mode", lambda: get_instance(transport, AMT_SETUP_AND_CONFIGURATION_SERVICE), unreadable
    )
    general = await _read("host name", lambda: get_instance(transport, AMT_GENERAL_SETTINGS), unreadable)
    power = await _read("power", lambda: power_status(transport), unreadable)
    redirection = await _read("redirection", lambda: redirection_status(transport), unreadable)
    if (
        first_error is not None
        and setup is None
        and general is None
        and power is None
        and redirection is None
    ):
        raise first_error
    return DeviceReport(
        amt_version=version,
        control_mode=None
        if setup is None
        else control_mode_name(setup.integer("ProvisioningState"), setup.integer("ProvisioningMode")),
        host_name=None if general is None else general.text("HostName") or None,
        domain_name=None if general is None else general.text("DomainName") or None,
        digest_realm=None if general is None else general.text("DigestRealm") or None,
        power=power,
        redirection=redirection,
        unreadable=unreadable,
    )

"""The simulated device's WS-Man service: one request envelope in, ``(status, reply)`` out.

Pure: no I/O, time passed in. :func:`handle` is what the HTTP server calls after digest
auth, and what tests call directly as an in-memory transport.

Behaviour (wsman.md §11 checklist):

* Parsed by namespace; any MessageID (echoed in RelatesTo), ``To`` of any form, selectors
  optional on singletons and qualified or not; wrong selector values are InvalidSelectors.
* Get/Put of a class the device lacks (KVM here, or anything unknown) is the
  DestinationUnreachable fault; Enumerate of it yields an empty set (§4.7).
* Enumeration honours MaxElements (default 1); contexts are single-use (§11.7).
* Every fault is HTTP 400 (§4.8); methods answer 200 with their ReturnValue (see ``rules``).
* Identify (DSP0226 section 11, no Action header, ``wsmid:Identify`` body) is answered with an
  IdentifyResponse: vendor ``Intel Corporation``, ProductVersion ``AMT major.minor``; the HTTP
  server answers it without credentials too (:func:`is_identify`).
* Enumerate with ``wsman:EnumerationMode`` ``EnumerateEPR`` or ``EnumerateObjectAndEPR`` is the
  ``wsman:UnsupportedFeature`` fault: AMT hands out whole objects only (DSP0226 8.7 lets a
  service refuse the mode this way).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Final

from amtterm.errors import WsmanMalformedReply
from amtterm.sim.wsman import instances, ocr, replies, rules
from amtterm.sim.wsman.replies import Properties
from amtterm.sim.wsman.rules import INVALID_PARAMETER, DeviceFault
from amtterm.sim.wsman.state import DeviceState
from amtterm.wsman.envelope import format_scalar
from amtterm.wsman.parse import Instance, Request, local_name, parse_request, read_instance
from amtterm.wsman.resources import (
    ACTION_DELETE,
    ACTION_ENUMERATE,
    ACTION_GET,
    ACTION_PULL,
    ACTION_PUT,
    BASE_AMT,
    BASE_CIM,
    BASE_IPS,
    NS_ENUMERATION,
    NS_IDENTITY,
    NS_WSMAN,
    SECURITY_PROFILE_HTTP_DIGEST,
    SECURITY_PROFILE_HTTPS_DIGEST,
    class_name_of,
)

MAX_OPEN_ENUMERATIONS: Final = 32
#: DSP0226 gives this as a DMTF DASH version; AMT claims DASH 1.0 (an assumption: no capture).
DASH_VERSION: Final = "1.0.0"
SECURITY_PROFILES: Final = (SECURITY_PROFILE_HTTP_DIGEST, SECURITY_PROFILE_HTTPS_DIGEST)
UNREACHABLE: Final = (
    "No route can be determined to reach the destination role defined by the WSAddressing To."
)

#: wsman:FaultDetail for an EnumerationMode the service does not offer (DSP0226 8.7).
_UNSUPPORTED_MODE_DETAIL: Final = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/EnumerationMode"

Method = Callable[[DeviceState, Instance, float], int]


def _int_arg(args: Instance, name: str) -> int | None:
    try:
        return args.integer(name)
    except WsmanMalformedReply:
        return None


def _power_change(state: DeviceState, args: Instance, now: float) -> int:
    requested = _int_arg(args, "PowerState")
    return INVALID_PARAMETER if requested is None else rules.request_power_state_change(state, requested, now)


def _os_power_saving(state: DeviceState, args: Instance, now: float) -> int:
    return rules.OK if _int_arg(args, "OSPowerSavingState") == 2 and state.powered else rules.REFUSED


def _change_boot_order(state: DeviceState, args: Instance, now: float) -> int:
    source = args.reference("Source") or args.reference("source")  # AMT <= 5.0 spelled it lower case
    if source is None:
        return rules.change_boot_order(state, None, now)
    return rules.change_boot_order(state, source.selectors.get("InstanceID", ""), now)


def _set_boot_config_role(state: DeviceState, args: Instance, now: float) -> int:
    role = _int_arg(args, "Role")
    config = args.reference("BootConfigSetting")
    instance = config.selectors.get("InstanceID") if config is not None else None
    return INVALID_PARAMETER if role is None else rules.set_boot_config_role(state, instance, role, now)


def _redirection_state(state: DeviceState, args: Instance, now: float) -> int:
    requested = _int_arg(args, "RequestedState")
    return INVALID_PARAMETER if requested is None else rules.request_redirection_state(state, requested)


def _send_opt_in_code(state: DeviceState, args: Instance, now: float) -> int:
    code = _int_arg(args, "OptInCode")
    return INVALID_PARAMETER if code is None else rules.send_opt_in_code(state, code, now)


METHODS: Final[dict[tuple[str, str], Method]] = {
    ("CIM_PowerManagementService", "RequestPowerStateChange"): _power_change,
    ("IPS_PowerManagementService", "RequestOSPowerSavingStateChange"): _os_power_saving,
    ("CIM_BootConfigSetting", "ChangeBootOrder"): _change_boot_order,
    ("CIM_BootService", "SetBootConfigRole"): _set_boot_config_role,
    ("AMT_RedirectionService", "RequestStateChange"): _redirection_state,
    ("IPS_OptInService", "StartOptIn"): lambda state, args, now: rules.start_opt_in(state, now),
    ("IPS_OptInService", "SendOptInCode"): _send_opt_in_code,
    ("IPS_OptInService", "CancelOptIn"): lambda state, args, now: rules.cancel_opt_in(state, now),
    ("CIM_BootService", "RequestStateChange"): ocr.request_state_change,
}


def is_identify(request_xml: str) -> bool:
    """Whether the request is a WS-Management Identify, which AMT answers without credentials."""
    if "Identify" not in request_xml:
        return False
    try:
        request = parse_request(request_xml)
    except WsmanMalformedReply:
        return False
    return _identify_body(request)


def _identify_body(request: Request) -> bool:
    return request.body is not None and request.body.tag == f"{{{NS_IDENTITY}}}Identify"


def handle(request_xml: str, state: DeviceState, now: float, *, tls: bool = True) -> tuple[int, str]:
    """Answer one WS-Man request as AMT would.

    Args:
        request_xml: the request envelope (already past digest auth).
        state: the device; changed in place.
        now: the current time in seconds.
        tls: the request came over TLS (the server says; in-memory callers count as TLS). Some
            settings (One Click Recovery) are refused over plain HTTP.

    Returns:
        ``(HTTP status, reply envelope)``: 200, or 400 with a SOAP fault.
    """
    state.refresh_consent(now)
    state.request_tls = tls
    try:
        request = parse_request(request_xml)
    except WsmanMalformedReply:
        reason = "The SOAP message is not well-formed or does not conform to the WS-Management schema."
        return 400, replies.fault_reply("", state.next_message_id(), "SchemaValidationError", reason)
    if _identify_body(request):
        return 200, replies.identify_reply(state.product_version, DASH_VERSION, SECURITY_PROFILES)
    try:
        return 200, _dispatch(request, state, now)
    except DeviceFault as fault:
        reply = replies.fault_reply(
            request.message_id, state.next_message_id(), fault.subcode, fault.reason, fault.detail
        )
        return 400, reply
    finally:
        state.notify_changed()


def _check_selectors(request: Request, props: Properties) -> None:
    values = dict(props)
    for name, wanted in request.selectors.items():
        have = values.get(name)
        if isinstance(have, str | int | bool) and format_scalar(have) != wanted:
            raise DeviceFault("InvalidSelectors", "The Selectors for the resource are not valid.")


def _dispatch(request: Request, state: DeviceState, now: float) -> str:
    uri = request.resource_uri
    class_name = class_name_of(uri)
    if not uri.startswith((BASE_CIM, BASE_AMT, BASE_IPS)):
        raise DeviceFault("DestinationUnreachable", UNREACHABLE)
    if request.action == ACTION_ENUMERATE:
        return _enumerate(request, state, class_name)
    if request.action == ACTION_PULL:
        return _pull(request, state)
    if request.action == ACTION_DELETE:
        ocr.delete(state, class_name, request.selectors)
        return replies.delete_reply(request.message_id, state.next_message_id(), uri)
    builder = instances.SINGLETONS.get(class_name)
    if request.action in (ACTION_GET, ACTION_PUT):
        if builder is None or class_name in state.get_refused:
            raise DeviceFault("DestinationUnreachable", UNREACHABLE)
        _check_selectors(request, builder(state))
        operation = "Get"
        if request.action == ACTION_PUT:
            _put(request, state, class_name, now)
            operation = "Put"
        props = builder(state)
        return replies.transfer_reply(operation, request.message_id, state.next_message_id(), uri, props)
    method = request.action.removeprefix(uri + "/") if request.action.startswith(uri + "/") else ""
    function = METHODS.get((class_name, method))
    with_outputs = ocr.METHODS.get((class_name, method))
    if (function is None and with_outputs is None) or builder is None:
        raise DeviceFault("ActionNotSupported", "The action is not supported by the service.")
    _check_selectors(request, builder(state))
    if request.body is None or local_name(request.body.tag) != f"{method}_INPUT":
        raise DeviceFault("SchemaValidationError", f"The body must be a {method}_INPUT element.")
    args = read_instance(request.body)
    outputs = with_outputs(state, args, now) if with_outputs is not None else []
    if function is not None:
        outputs = [("ReturnValue", function(state, args, now))]
    return replies.method_reply(method, request.message_id, state.next_message_id(), uri, outputs)


def _put(request: Request, state: DeviceState, class_name: str, now: float) -> None:
    if request.body is None or local_name(request.body.tag) != class_name:
        raise DeviceFault("SchemaValidationError", f"The body must be a {class_name} element.")
    given = read_instance(request.body)
    values = {name: given.text(name) or "" for name in given.properties}
    if class_name == "AMT_BootSettingData":
        rules.put_boot_settings(state, values, now)
    elif class_name == "AMT_RedirectionService":
        keys = ("Name", "CreationClassName", "SystemName", "SystemCreationClassName", "ListenerEnabled")
        if any(key not in values for key in keys):
            raise DeviceFault("SchemaValidationError", "The key properties and ListenerEnabled are required.")
        state.listener_enabled = values["ListenerEnabled"].strip().lower() in ("true", "1")
    else:
        raise DeviceFault("ActionNotSupported", f"{class_name} cannot be changed with Put here.")


def _enumerate(request: Request, state: DeviceState, class_name: str) -> str:
    body = request.body if request.body is not None else ET.Element("none")
    mode = (body.findtext(f"{{{NS_WSMAN}}}EnumerationMode") or "").strip()
    if mode:
        raise DeviceFault(
            "UnsupportedFeature",
            f"The EnumerationMode {mode} is not supported; only whole objects are enumerated.",
            _UNSUPPORTED_MODE_DETAIL,
        )
    items = instances.enumerate_items(state, class_name) or []
    context = _new_context(state, items)
    return replies.enumerate_reply(request.message_id, state.next_message_id(), request.resource_uri, context)


def _new_context(state: DeviceState, items: list[tuple[str, Properties]]) -> str:
    state.enumeration_counter += 1
    context = f"{state.enumeration_counter:08X}-0000-0000-0000-000000000000"
    state.enumerations[context] = list(items)
    while len(state.enumerations) > MAX_OPEN_ENUMERATIONS:
        del state.enumerations[next(iter(state.enumerations))]
    return context


def _pull(request: Request, state: DeviceState) -> str:
    body = request.body if request.body is not None else ET.Element("none")
    context = (body.findtext(f"{{{NS_ENUMERATION}}}EnumerationContext") or "").strip()
    if context not in state.enumerations:
        raise DeviceFault("InvalidEnumerationContext", "The supplied enumeration context is invalid.")
    items: list[tuple[str, Properties]] = state.enumerations.pop(context)
    try:
        limit = max(1, int(body.findtext(f"{{{NS_ENUMERATION}}}MaxElements") or "1"))
    except ValueError:
        limit = 1
    page, rest = items[:limit], items[limit:]
    next_context = _new_context(state, rest) if rest else None
    return replies.pull_reply(
        request.message_id, state.next_message_id(), request.resource_uri, page, next_context
    )

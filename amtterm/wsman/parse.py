"""Pure parsers of WS-Management envelopes into typed results, and faults into typed errors.

Rules (wsman.md §4.6, §4.8, §12.4):

* Parse by namespace, never by prefix: AMT's normal and fault envelopes bind different
  prefixes to the same namespaces.
* A SOAP Fault in the body is an error whatever the HTTP status (AMT sends 400 for faults,
  §1.4); it becomes a :class:`~amtterm.errors.WsmanFault` subclass with a sentence.
* Extrinsic methods report failures as HTTP 200 with ``ReturnValue`` != 0 (§4.8); the
  operations turn that into :class:`~amtterm.errors.WsmanReturnValueError` with
  :func:`check_return_value`.
* Anything that is not a SOAP envelope (HTML, truncated XML, a DOCTYPE) is
  :class:`~amtterm.errors.WsmanMalformedReply`.

The device side (the simulator) uses :func:`parse_request` and :func:`read_instance` too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from amtterm.errors import (
    WsmanAccessDenied,
    WsmanFault,
    WsmanMalformedReply,
    WsmanNotSupported,
    WsmanReturnValueError,
)
from amtterm.wsman.envelope import EndpointReference
from amtterm.wsman.resources import NS_ADDRESSING, NS_ENUMERATION, NS_IDENTITY, NS_SOAP, NS_WSMAN
from amtterm.wsman.results import Identity

# PT_STATUS names for the fault detail "AMT-STATUS n" and 32768+n return values (§4.8).
PT_STATUS_NAMES: dict[int, str] = {
    0x0: "SUCCESS",
    0x1: "INTERNAL_ERROR",
    0x2: "NOT_READY",
    0x3: "INVALID_PT_MODE",
    0x10: "NOT_PERMITTED",
    0x24: "INVALID_PARAMETER",
    0x812: "UNSUPPORTED",
    0x821: "USER_CONSENT_REQUIRED",
}

PropertyValue = str | EndpointReference


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def local_name(tag: str) -> str:
    """The part of an ElementTree ``{ns}name`` tag after the namespace."""
    return tag.rsplit("}", 1)[-1]


def namespace_of(tag: str) -> str:
    """The namespace of an ElementTree tag, or "" when it has none."""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


@dataclass(frozen=True)
class Fault:
    """A SOAP fault as the device sent it.

    Attributes:
        action: the fault's ``wsa:Action`` (addressing or wsman fault URI).
        code: the local name of ``Code/Value``, e.g. ``Sender``.
        subcode: the local name of ``Subcode/Value``, e.g. ``DestinationUnreachable``.
        reason: the ``Reason/Text``.
        detail: all text inside ``Detail``, stripped (e.g. ``AMT-STATUS 2066``).
    """

    action: str
    code: str
    subcode: str
    reason: str
    detail: str


@dataclass(frozen=True)
class Instance:
    """One CIM instance: a class name and its properties, each a tuple of values (arrays repeat).

    Wrapped values such as ``<ReleaseDate><Datetime>…</Datetime></ReleaseDate>`` are unwrapped
    to the inner text; EPR-valued properties become :class:`EndpointReference`.
    """

    class_name: str
    namespace: str
    properties: Mapping[str, tuple[PropertyValue, ...]] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        """The first value of a property as text, or None when absent or a reference."""
        values = self.properties.get(name, ())
        return values[0] if values and isinstance(values[0], str) else None

    def integer(self, name: str) -> int | None:
        """The first value of a property as an integer, or None when absent.

        Raises:
            WsmanMalformedReply: the value is not a decimal integer.
        """
        raw = self.text(name)
        if raw is None:
            return None
        try:
            return int(raw.strip())
        except ValueError:
            raise WsmanMalformedReply(
                f"The device sent {self.class_name}.{name} = {raw!r}, which is not a number."
            ) from None

    def integers(self, name: str) -> list[int]:
        """All values of an array property as integers (empty when absent)."""
        try:
            return [int(v.strip()) for v in self.properties.get(name, ()) if isinstance(v, str)]
        except ValueError:
            raise WsmanMalformedReply(
                f"The device sent a non-numeric value in {self.class_name}.{name}."
            ) from None

    def boolean(self, name: str) -> bool | None:
        """A boolean property; accepts ``true``/``false`` and AMT's integer 0/1 (§4.6)."""
        raw = self.text(name)
        if raw is None:
            return None
        return raw.strip().lower() in ("true", "1")

    def reference(self, name: str) -> EndpointReference | None:
        """The first value of an EPR-valued property, or None."""
        values = self.properties.get(name, ())
        return values[0] if values and isinstance(values[0], EndpointReference) else None


@dataclass(frozen=True)
class Reply:
    """A parsed response envelope whose body is not a fault."""

    action: str
    relates_to: str | None
    resource_uri: str | None
    body: ET.Element


@dataclass(frozen=True)
class PullPage:
    """One Pull response: its items, and the context to pull again (None at the end)."""

    items: list[Instance]
    context: str | None


@dataclass(frozen=True)
class Request:
    """A request envelope as the device side sees it.

    Attributes:
        action: ``wsa:Action``.
        resource_uri: ``wsman:ResourceURI``.
        message_id: ``wsa:MessageID`` (echoed in the reply's RelatesTo).
        selectors: header selectors (qualified or unqualified ``Name``).
        body: the first element inside ``Body``, or None for an empty body.
    """

    action: str
    resource_uri: str
    message_id: str
    selectors: dict[str, str]
    body: ET.Element | None


_DOCTYPE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def parse_xml(text: str) -> ET.Element:
    """Parse XML text, refusing DTDs (no entity expansion from a device).

    Raises:
        WsmanMalformedReply: the text is not well-formed XML or has a DOCTYPE.
    """
    # Anywhere in the text, not just at its start: entity declarations (an "entity bomb") can
    # only come with a DOCTYPE, and the parser must never see one.
    if _DOCTYPE.search(text):
        raise WsmanMalformedReply("The device sent XML with a DOCTYPE, which WS-Management never uses.")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise WsmanMalformedReply(
            f"The device sent a reply that is not well-formed XML ({exc}); it may be truncated "
            "or the port may not be AMT's WS-Management port."
        ) from None


def _child_text(parent: ET.Element | None, namespace: str, name: str) -> str | None:
    if parent is None:
        return None
    child = parent.find(_q(namespace, name))
    return None if child is None else (child.text or "").strip()


def read_selectors(selector_set: ET.Element | None) -> dict[str, str]:
    """Selector name -> value; ``Name`` may be unqualified or ``wsman:Name`` (§4.5)."""
    result: dict[str, str] = {}
    if selector_set is None:
        return result
    for selector in selector_set.findall(_q(NS_WSMAN, "Selector")):
        name = selector.get("Name") or selector.get(_q(NS_WSMAN, "Name")) or ""
        result[name] = (selector.text or "").strip()
    return result


def read_reference(element: ET.Element) -> EndpointReference | None:
    """The EPR inside an element, or None when it holds no ``ReferenceParameters``."""
    params = element.find(_q(NS_ADDRESSING, "ReferenceParameters"))
    if params is None:
        return None
    uri = _child_text(params, NS_WSMAN, "ResourceURI") or ""
    selectors = read_selectors(params.find(_q(NS_WSMAN, "SelectorSet")))
    address = _child_text(element, NS_ADDRESSING, "Address") or ""
    return EndpointReference(uri, selectors, address)


def read_instance(element: ET.Element) -> Instance:
    """An :class:`Instance` from a class element, by namespace-free child names."""
    properties: dict[str, list[PropertyValue]] = {}
    for child in element:
        value: PropertyValue
        reference = read_reference(child)
        if reference is not None:
            value = reference
        elif len(child) == 1:
            value = (child[0].text or "").strip()
        else:
            value = (child.text or "").strip()
        properties.setdefault(local_name(child.tag), []).append(value)
    frozen = {name: tuple(values) for name, values in properties.items()}
    return Instance(local_name(element.tag), namespace_of(element.tag), frozen)


def read_fault(fault: ET.Element, action: str) -> Fault:
    """A :class:`Fault` from a ``soap:Fault`` element."""
    code = fault.find(_q(NS_SOAP, "Code"))
    code_value = _child_text(code, NS_SOAP, "Value") or ""
    subcode = _child_text(code.find(_q(NS_SOAP, "Subcode")) if code is not None else None, NS_SOAP, "Value")
    reason = fault.find(_q(NS_SOAP, "Reason"))
    detail = fault.find(_q(NS_SOAP, "Detail"))
    detail_text = " ".join(t.strip() for t in detail.itertext() if t.strip()) if detail is not None else ""
    return Fault(
        action=action,
        code=code_value.rsplit(":", 1)[-1],
        subcode=(subcode or "").rsplit(":", 1)[-1],
        reason=_child_text(reason, NS_SOAP, "Text") or "",
        detail=detail_text,
    )


def _amt_status(detail: str) -> str:
    words = detail.split()
    if len(words) >= 2 and words[0] == "AMT-STATUS":
        try:
            number = int(words[1], 0)
        except ValueError:
            return detail
        return f"AMT-STATUS {number:#x} {PT_STATUS_NAMES.get(number, 'unknown')}"
    return detail


def fault_error(fault: Fault) -> WsmanFault:
    """The typed error, with its one sentence, for a fault (§4.8, §10.6)."""
    if fault.subcode == "DestinationUnreachable":
        return WsmanNotSupported(
            "The device has no such class or instance (DestinationUnreachable): this AMT "
            "version or SKU does not offer the feature.",
            fault,
        )
    if fault.subcode == "AccessDenied":
        return WsmanAccessDenied(
            "The device denied access (AccessDenied): user consent is missing "
            "(run 'amtterm consent HOST request', then 'consent HOST code NNNNNN') "
            "or the account lacks the rights for this.",
            fault,
        )
    detail = f" ({_amt_status(fault.detail)})" if fault.detail else ""
    reason = fault.reason.rstrip(". ") or "no reason given"
    name = fault.subcode or fault.code
    return WsmanFault(f"The device answered with the SOAP fault {name}: {reason}{detail}.", fault)


def parse_reply(text: str) -> Reply:
    """Parse a response envelope, raising the typed error for a fault.

    Raises:
        WsmanFault: the body is a SOAP fault (a subclass for known subcodes).
        WsmanMalformedReply: not XML, or not a SOAP 1.2 envelope with a body.
    """
    root = parse_xml(text)
    if root.tag != _q(NS_SOAP, "Envelope"):
        raise WsmanMalformedReply("The device's reply is XML but not a SOAP 1.2 envelope.")
    header = root.find(_q(NS_SOAP, "Header"))
    body = root.find(_q(NS_SOAP, "Body"))
    if body is None:
        raise WsmanMalformedReply("The device's reply has no SOAP body; it may be truncated.")
    action = _child_text(header, NS_ADDRESSING, "Action") or ""
    fault = body.find(_q(NS_SOAP, "Fault"))
    if fault is not None:
        raise fault_error(read_fault(fault, action))
    return Reply(
        action=action,
        relates_to=_child_text(header, NS_ADDRESSING, "RelatesTo"),
        resource_uri=_child_text(header, NS_WSMAN, "ResourceURI"),
        body=body,
    )


def _first(body: ET.Element, local: str, what: str) -> ET.Element:
    for child in body:
        if local_name(child.tag) == local:
            return child
    raise WsmanMalformedReply(f"The device's reply to {what} has no {local} element.")


def parse_instance(text: str, class_name: str) -> Instance:
    """The instance in a Get or Put response.

    Raises:
        WsmanFault: a fault. WsmanMalformedReply: no element named ``class_name``.
    """
    return read_instance(_first(parse_reply(text).body, class_name, f"Get {class_name}"))


def parse_enumerate(text: str) -> str:
    """The EnumerationContext of an Enumerate response (§4.7)."""
    response = parse_reply(text).body.find(_q(NS_ENUMERATION, "EnumerateResponse"))
    context = _child_text(response, NS_ENUMERATION, "EnumerationContext")
    if not context:
        raise WsmanMalformedReply("The device's Enumerate reply has no enumeration context.")
    return context


def parse_pull(text: str) -> PullPage:
    """The items of a Pull response, and the context to pull again unless it ended (§4.7)."""
    response = parse_reply(text).body.find(_q(NS_ENUMERATION, "PullResponse"))
    if response is None:
        raise WsmanMalformedReply("The device's Pull reply has no PullResponse element.")
    items_element = response.find(_q(NS_ENUMERATION, "Items"))
    items = [read_instance(item) for item in items_element] if items_element is not None else []
    ended = response.find(_q(NS_ENUMERATION, "EndOfSequence")) is not None
    context = None if ended else _child_text(response, NS_ENUMERATION, "EnumerationContext")
    return PullPage(items, context or None)


def parse_output(text: str, method: str) -> Instance:
    """The ``method_OUTPUT`` of an Invoke response; it always carries a ``ReturnValue``."""
    output = read_instance(_first(parse_reply(text).body, f"{method}_OUTPUT", method))
    if output.integer("ReturnValue") is None:
        raise WsmanMalformedReply(f"The device's reply to {method} has no ReturnValue.")
    return output


def check_return_value(
    output: Instance, method: str, explain: Callable[[int], str] | Mapping[int, str] | None = None
) -> None:
    """Raise :class:`WsmanReturnValueError` with a sentence when ``ReturnValue`` is not 0.

    Args:
        output: the parsed ``_OUTPUT`` instance.
        method: the method name, for the sentence.
        explain: the sentence for a value (a mapping or a function); the default sentence
            names the value, and a PT_STATUS name for 32768+n values.
    """
    value = output.integer("ReturnValue") or 0
    if value == 0:
        return
    sentence: str | None = None
    if callable(explain):
        sentence = explain(value)
    elif explain is not None:
        sentence = explain.get(value)
    if sentence is None:
        vendor = f", {PT_STATUS_NAMES.get(value - 32768, 'vendor error')}" if value >= 32768 else ""
        sentence = f"The device refused {method} (ReturnValue {value}{vendor})."
    raise WsmanReturnValueError(sentence, method, value)


def parse_request(text: str) -> Request:
    """A request envelope as the device side reads it (§11.3: accept any prefix, any MessageID).

    Raises:
        WsmanMalformedReply: not XML or not a SOAP 1.2 envelope.
    """
    root = parse_xml(text)
    if root.tag != _q(NS_SOAP, "Envelope"):
        raise WsmanMalformedReply("The request is not a SOAP 1.2 envelope.")
    header = root.find(_q(NS_SOAP, "Header"))
    body = root.find(_q(NS_SOAP, "Body"))
    if body is None:
        raise WsmanMalformedReply("The request lacks a SOAP body.")
    if header is None:  # SOAP makes the header optional; an Identify may come without one
        header = ET.Element(_q(NS_SOAP, "Header"))
    selectors = read_selectors(header.find(_q(NS_WSMAN, "SelectorSet")))
    return Request(
        action=_child_text(header, NS_ADDRESSING, "Action") or "",
        resource_uri=_child_text(header, NS_WSMAN, "ResourceURI") or "",
        message_id=_child_text(header, NS_ADDRESSING, "MessageID") or "",
        selectors=selectors,
        body=body[0] if len(body) else None,
    )


def parse_identify(text: str) -> Identity:
    """The IdentifyResponse of a WS-Management Identify (DSP0226 section 11).

    Raises:
        WsmanFault: a fault. WsmanMalformedReply: not a SOAP envelope, or no IdentifyResponse.
    """
    response = parse_reply(text).body.find(_q(NS_IDENTITY, "IdentifyResponse"))
    if response is None:
        raise WsmanMalformedReply("The reply to Identify has no IdentifyResponse element.")
    profiles = response.find(_q(NS_IDENTITY, "SecurityProfiles"))
    names = [] if profiles is None else profiles.findall(_q(NS_IDENTITY, "SecurityProfileName"))
    return Identity(
        vendor=(_child_text(response, NS_IDENTITY, "ProductVendor") or "").strip(),
        product_version=(_child_text(response, NS_IDENTITY, "ProductVersion") or "").strip(),
        protocol_version=(_child_text(response, NS_IDENTITY, "ProtocolVersion") or "").strip(),
        dash_version=(_child_text(response, NS_IDENTITY, "DASHVersion") or "").strip() or None,
        security_profiles=tuple((name.text or "").strip() for name in names),
    )

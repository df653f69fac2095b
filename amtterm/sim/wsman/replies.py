"""Response envelopes written the way AMT writes them (wsman.md §4.6, §4.8, §10).

Written independently of the client's request builders so the two cannot share a mistake.
AMT's prefix layout, kept here on purpose so clients are tested against it:

* normal replies: ``a`` soap, ``b`` addressing, ``c`` wsman, ``d`` trust, ``e`` wssecurity,
  ``f`` cimbinding, ``g`` the class namespace (the enumeration namespace for
  Enumerate/Pull), ``h`` the pulled items' class namespace, then ``xsi``;
* faults: ``a`` soap, ``b`` addressing, ``c`` enumeration, ``d`` transfer, ``e`` wsman,
  ``f`` eventing, ``g`` cimbinding, ``h`` trust, ``i`` wssecurity, then ``xsi``.

Header order: To (anonymous), RelatesTo (the request's MessageID verbatim), Action with
``a:mustUnderstand="true"``, MessageID, then ResourceURI (left out on faults).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from amtterm.wsman.envelope import EndpointReference, Scalar, format_scalar
from amtterm.wsman.resources import (
    ACTION_ADDRESSING_FAULT,
    ACTION_WSMAN_FAULT,
    AMT_VENDOR,
    ANONYMOUS,
    NS_ADDRESSING,
    NS_CIMBINDING,
    NS_ENUMERATION,
    NS_EVENTING,
    NS_IDENTITY,
    NS_SOAP,
    NS_TRANSFER,
    NS_TRUST,
    NS_WSMAN,
    NS_WSSE,
    NS_XSI,
    class_name_of,
)

PropertyValue = Scalar | EndpointReference | Sequence[Scalar]
Properties = list[tuple[str, PropertyValue]]
"""An instance's properties in the order AMT writes them (alphabetical in the captures)."""

ADDRESSING_FAULTS = frozenset({"DestinationUnreachable", "ActionNotSupported"})
ENUMERATION_FAULTS = frozenset({"InvalidEnumerationContext"})


def _declarations(pairs: Sequence[tuple[str, str]]) -> str:
    return " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in pairs)


def _header(relates_to: str, action: str, message_id: str, resource_uri: str | None) -> str:
    parts = [
        f"<b:To>{ANONYMOUS}</b:To>",
        f"<b:RelatesTo>{escape(relates_to)}</b:RelatesTo>",
        f'<b:Action a:mustUnderstand="true">{escape(action)}</b:Action>',
        f"<b:MessageID>{escape(message_id)}</b:MessageID>",
    ]
    if resource_uri is not None:
        parts.append(f"<c:ResourceURI>{escape(resource_uri)}</c:ResourceURI>")
    return f"<a:Header>{''.join(parts)}</a:Header>"


def _envelope(namespaces: Sequence[tuple[str, str]], header: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<a:Envelope {_declarations([*namespaces, ('xsi', NS_XSI)])}>"
        f"{header}<a:Body>{body}</a:Body></a:Envelope>"
    )


def _normal_namespaces(g: str, h: str | None = None) -> list[tuple[str, str]]:
    pairs = [
        ("a", NS_SOAP),
        ("b", NS_ADDRESSING),
        ("c", NS_WSMAN),
        ("d", NS_TRUST),
        ("e", NS_WSSE),
        ("f", NS_CIMBINDING),
        ("g", g),
    ]
    if h is not None:
        pairs.append(("h", h))
    return pairs


def _reference(epr: EndpointReference) -> str:
    selectors = "".join(
        f"<c:Selector Name={quoteattr(name)}>{escape(value)}</c:Selector>"
        for name, value in epr.selectors.items()
    )
    return (
        f"<b:Address>{escape(epr.address)}</b:Address><b:ReferenceParameters>"
        f"<c:ResourceURI>{escape(epr.resource_uri)}</c:ResourceURI>"
        f"<c:SelectorSet>{selectors}</c:SelectorSet></b:ReferenceParameters>"
    )


def instance_xml(prefix: str, class_name: str, properties: Properties) -> str:
    """One instance element ``<prefix:Class>`` with its properties in the same prefix."""
    out: list[str] = []
    for name, value in properties:
        tag = f"{prefix}:{name}"
        if isinstance(value, EndpointReference):
            out.append(f"<{tag}>{_reference(value)}</{tag}>")
        elif isinstance(value, str | int | bool):
            out.append(f"<{tag}>{escape(format_scalar(value))}</{tag}>")
        else:
            out.extend(f"<{tag}>{escape(format_scalar(item))}</{tag}>" for item in value)
    return f"<{prefix}:{class_name}>{''.join(out)}</{prefix}:{class_name}>"


def transfer_reply(
    operation: str, relates_to: str, message_id: str, resource_uri: str, properties: Properties
) -> str:
    """A GetResponse or PutResponse carrying the instance (§4.4, §10.2)."""
    header = _header(relates_to, f"{NS_TRANSFER}/{operation}Response", message_id, resource_uri)
    body = instance_xml("g", class_name_of(resource_uri), properties)
    return _envelope(_normal_namespaces(resource_uri), header, body)


def method_reply(
    method: str, relates_to: str, message_id: str, resource_uri: str, outputs: Properties
) -> str:
    """An Invoke response: Action = request Action + ``Response``, body ``Method_OUTPUT``."""
    header = _header(relates_to, f"{resource_uri}/{method}Response", message_id, resource_uri)
    body = instance_xml("g", f"{method}_OUTPUT", outputs)
    return _envelope(_normal_namespaces(resource_uri), header, body)


def enumerate_reply(relates_to: str, message_id: str, resource_uri: str, context: str) -> str:
    """An EnumerateResponse carrying the enumeration context (§4.7)."""
    header = _header(relates_to, f"{NS_ENUMERATION}/EnumerateResponse", message_id, resource_uri)
    body = (
        f"<g:EnumerateResponse><g:EnumerationContext>{escape(context)}</g:EnumerationContext>"
        "</g:EnumerateResponse>"
    )
    return _envelope(_normal_namespaces(NS_ENUMERATION), header, body)


def pull_reply(
    relates_to: str,
    message_id: str,
    resource_uri: str,
    items: Sequence[tuple[str, Properties]],
    next_context: str | None,
) -> str:
    """A PullResponse: items (``(item ResourceURI, properties)``, all of one class) and
    EndOfSequence, or the context to pull again.

    Items keep their own class namespace (bound to ``h``), e.g. pulling
    CIM_ServiceAvailableToElement yields CIM_AssociatedPowerManagementService (§4.6).
    """
    item_ns = items[0][0] if items else resource_uri
    inner = "".join(instance_xml("h", class_name_of(uri), props) for uri, props in items)
    tail = (
        "<g:EndOfSequence></g:EndOfSequence>"  # as AMT writes it; MeshCentral reads no <x/> form
        if next_context is None
        else f"<g:EnumerationContext>{escape(next_context)}</g:EnumerationContext>"
    )
    header = _header(relates_to, f"{NS_ENUMERATION}/PullResponse", message_id, resource_uri)
    body = f"<g:PullResponse><g:Items>{inner}</g:Items>{tail}</g:PullResponse>"
    return _envelope(_normal_namespaces(NS_ENUMERATION, item_ns), header, body)


def fault_reply(relates_to: str, message_id: str, subcode: str, reason: str, detail: str = "") -> str:
    """A SOAP fault with AMT's fault prefix layout (§4.8): Sender code, prefixed subcode."""
    if subcode in ADDRESSING_FAULTS:
        action, prefix = ACTION_ADDRESSING_FAULT, "b"
    elif subcode in ENUMERATION_FAULTS:
        action, prefix = ACTION_WSMAN_FAULT, "c"
    else:
        action, prefix = ACTION_WSMAN_FAULT, "e"
    namespaces = [
        ("a", NS_SOAP),
        ("b", NS_ADDRESSING),
        ("c", NS_ENUMERATION),
        ("d", NS_TRANSFER),
        ("e", NS_WSMAN),
        ("f", NS_EVENTING),
        ("g", NS_CIMBINDING),
        ("h", NS_TRUST),
        ("i", NS_WSSE),
    ]
    header = _header(relates_to, action, message_id, None)
    if detail.startswith("http://"):  # a DSP0226 fault detail URI goes in wsman:FaultDetail
        detail_xml = f"<a:Detail><e:FaultDetail>{escape(detail)}</e:FaultDetail></a:Detail>"
    else:
        detail_xml = f"<a:Detail>{escape(detail)}</a:Detail>" if detail else "<a:Detail></a:Detail>"
    body = (
        "<a:Fault><a:Code><a:Value>a:Sender</a:Value>"
        f"<a:Subcode><a:Value>{prefix}:{escape(subcode)}</a:Value></a:Subcode></a:Code>"
        f'<a:Reason><a:Text xml:lang="en-US">{escape(reason)}</a:Text></a:Reason>'
        f"{detail_xml}</a:Fault>"
    )
    return _envelope(namespaces, header, body)


def identify_reply(product_version: str, dash_version: str, security_profiles: Sequence[str]) -> str:
    """An IdentifyResponse (DSP0226 section 11): no addressing header, the identity in the body.

    Args:
        product_version: e.g. ``AMT 16.1``.
        dash_version: the DMTF DASH version the firmware claims.
        security_profiles: the security profile URIs it accepts.
    """
    profiles = "".join(
        f"<wsmid:SecurityProfileName>{escape(uri)}</wsmid:SecurityProfileName>" for uri in security_profiles
    )
    body = (
        "<wsmid:IdentifyResponse>"
        f"<wsmid:ProtocolVersion>{NS_WSMAN}</wsmid:ProtocolVersion>"
        f"<wsmid:ProductVendor>{escape(AMT_VENDOR)}</wsmid:ProductVendor>"
        f"<wsmid:ProductVersion>{escape(product_version)}</wsmid:ProductVersion>"
        f"<wsmid:DASHVersion>{escape(dash_version)}</wsmid:DASHVersion>"
        f"<wsmid:SecurityProfiles>{profiles}</wsmid:SecurityProfiles>"
        "</wsmid:IdentifyResponse>"
    )
    return _envelope([("a", NS_SOAP), ("wsmid", NS_IDENTITY)], "<a:Header></a:Header>", body)


def delete_reply(relates_to: str, message_id: str, resource_uri: str) -> str:
    """A WS-Transfer DeleteResponse: the header and an empty body."""
    header = _header(relates_to, f"{NS_TRANSFER}/DeleteResponse", message_id, resource_uri)
    return _envelope(_normal_namespaces(resource_uri), header, "")

"""Pure builders of WS-Management request envelopes: Get, Put, Enumerate, Pull and Invoke.

Every request follows the skeleton of wsman.md §10.0: SOAP 1.2, WS-Addressing 2004/08,
``wsa:To`` ``/wsman``, the anonymous ReplyTo, ``OperationTimeout`` PT60S (AMT enforces at
least 30 s, §4.2), and a ``SelectorSet`` only when asked. Selector ``Name`` attributes are
unqualified as every working console writes them (§4.5). No ``MaxEnvelopeSize`` is sent,
so AMT's "≥ 50000 or fault" rule cannot bite. Values are escaped; booleans are written
``true``/``false`` (§4.4).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from amtterm.wsman.resources import (
    ACTION_ENUMERATE,
    ACTION_GET,
    ACTION_PULL,
    ACTION_PUT,
    ANONYMOUS,
    NS_ADDRESSING,
    NS_ENUMERATION,
    NS_IDENTITY,
    NS_SOAP,
    NS_WSMAN,
    class_name_of,
)

OPERATION_TIMEOUT = "PT60S"


@dataclass(frozen=True)
class EndpointReference:
    """A reference argument (EPR) such as ``ManagedElement`` or ``Source`` (§4.5).

    Attributes:
        resource_uri: the referenced class's ResourceURI.
        selectors: the keys of the referenced instance, in order.
        address: the ``wsa:Address`` text; AMT does not check it.
    """

    resource_uri: str
    selectors: Mapping[str, str] = field(default_factory=dict)
    address: str = NS_ADDRESSING


Scalar = str | int | bool
Value = Scalar | EndpointReference | Sequence[Scalar] | None
"""An argument or property value: a scalar, an EPR, an array (repeated elements) or None (left out)."""


def new_message_id() -> str:
    """A fresh ``uuid:`` MessageID; the device echoes it in ``RelatesTo``."""
    return f"uuid:{uuid.uuid4()}"


def format_scalar(value: Scalar) -> str:
    """The XML text of a scalar: ``true``/``false`` for booleans, decimal for integers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def selector_set(selectors: Mapping[str, str]) -> str:
    """A ``wsman:SelectorSet`` with unqualified ``Name`` attributes."""
    inner = "".join(
        f"<wsman:Selector Name={quoteattr(name)}>{escape(value)}</wsman:Selector>"
        for name, value in selectors.items()
    )
    return f"<wsman:SelectorSet>{inner}</wsman:SelectorSet>"


def _epr(epr: EndpointReference) -> str:
    parts = [
        f"<wsa:Address>{escape(epr.address)}</wsa:Address>",
        "<wsa:ReferenceParameters>",
        f"<wsman:ResourceURI>{escape(epr.resource_uri)}</wsman:ResourceURI>",
    ]
    if epr.selectors:
        parts.append(selector_set(epr.selectors))
    parts.append("</wsa:ReferenceParameters>")
    return "".join(parts)


def _elements(prefix: str, values: Mapping[str, Value]) -> str:
    out: list[str] = []
    for name, value in values.items():
        if value is None:
            continue
        tag = f"{prefix}:{name}"
        if isinstance(value, EndpointReference):
            out.append(f"<{tag}>{_epr(value)}</{tag}>")
        elif isinstance(value, str | int | bool):
            out.append(f"<{tag}>{escape(format_scalar(value))}</{tag}>")
        else:
            out.extend(f"<{tag}>{escape(format_scalar(item))}</{tag}>" for item in value)
    return "".join(out)


def build_request(
    action: str,
    resource_uri: str,
    body: str = "",
    *,
    selectors: Mapping[str, str] | None = None,
    message_id: str | None = None,
    to: str = "/wsman",
) -> str:
    """The common request envelope around a body (§10.0).

    Args:
        action: the ``wsa:Action`` URI.
        resource_uri: the class's ResourceURI.
        body: the already-built body XML (may be empty).
        selectors: instance keys for ``wsman:SelectorSet``; None or empty leaves it out.
        message_id: the MessageID; a fresh uuid when None.
        to: the ``wsa:To`` text; ``/wsman`` or a full URL both work on AMT.
    """
    header = [
        f"<wsa:Action>{escape(action)}</wsa:Action>",
        f"<wsa:To>{escape(to)}</wsa:To>",
        f"<wsman:ResourceURI>{escape(resource_uri)}</wsman:ResourceURI>",
        f"<wsa:MessageID>{escape(message_id or new_message_id())}</wsa:MessageID>",
        f"<wsa:ReplyTo><wsa:Address>{ANONYMOUS}</wsa:Address></wsa:ReplyTo>",
        f"<wsman:OperationTimeout>{OPERATION_TIMEOUT}</wsman:OperationTimeout>",
    ]
    if selectors:
        header.append(selector_set(selectors))
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{NS_SOAP}" xmlns:wsa="{NS_ADDRESSING}" xmlns:wsman="{NS_WSMAN}">'
        f"<s:Header>{''.join(header)}</s:Header>"
        f"<s:Body>{body}</s:Body>"
        "</s:Envelope>"
    )


def build_identify() -> str:
    """A WS-Management Identify (DSP0226 section 11): an empty header and ``wsmid:Identify``.

    It has no Action, ResourceURI or MessageID; a device answers it before any log-on.
    """
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{NS_SOAP}" xmlns:wsmid="{NS_IDENTITY}">'
        "<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"
    )


def build_get(
    resource_uri: str, *, selectors: Mapping[str, str] | None = None, message_id: str | None = None
) -> str:
    """A WS-Transfer Get of one instance (empty body)."""
    return build_request(ACTION_GET, resource_uri, selectors=selectors, message_id=message_id)


def build_put(
    resource_uri: str,
    instance: Mapping[str, Value],
    *,
    selectors: Mapping[str, str] | None = None,
    message_id: str | None = None,
) -> str:
    """A WS-Transfer Put of a whole instance (§4.4).

    Args:
        resource_uri: the class's ResourceURI; the body element is named after the class and
            lives in this namespace, as do its property elements.
        instance: property name -> value, in the order to write them; None values are left out.
        selectors: keys for multi-instance classes; singletons need none.
        message_id: the MessageID; a fresh uuid when None.
    """
    name = class_name_of(resource_uri)
    body = f'<p:{name} xmlns:p="{escape(resource_uri)}">{_elements("p", instance)}</p:{name}>'
    return build_request(ACTION_PUT, resource_uri, body, selectors=selectors, message_id=message_id)


def build_enumerate(resource_uri: str, *, message_id: str | None = None) -> str:
    """A WS-Enumeration Enumerate; the reply carries the context for Pull (§4.7)."""
    body = f'<wsen:Enumerate xmlns:wsen="{NS_ENUMERATION}"/>'
    return build_request(ACTION_ENUMERATE, resource_uri, body, message_id=message_id)


def build_pull(
    resource_uri: str,
    context: str,
    *,
    max_elements: int = 999,
    max_characters: int = 99999,
    message_id: str | None = None,
) -> str:
    """A WS-Enumeration Pull of up to ``max_elements`` items of an enumeration context (§4.7)."""
    body = (
        f'<wsen:Pull xmlns:wsen="{NS_ENUMERATION}">'
        f"<wsen:EnumerationContext>{escape(context)}</wsen:EnumerationContext>"
        f"<wsen:MaxElements>{max_elements}</wsen:MaxElements>"
        f"<wsen:MaxCharacters>{max_characters}</wsen:MaxCharacters>"
        "</wsen:Pull>"
    )
    return build_request(ACTION_PULL, resource_uri, body, message_id=message_id)


def build_invoke(
    resource_uri: str,
    method: str,
    arguments: Mapping[str, Value] | None = None,
    *,
    selectors: Mapping[str, str] | None = None,
    message_id: str | None = None,
) -> str:
    """An extrinsic method call: Action ``resource_uri/method``, body ``method_INPUT`` (§4.3).

    Args:
        resource_uri: the class's ResourceURI; arguments live in its namespace.
        method: e.g. ``RequestPowerStateChange``.
        arguments: name -> value in order; an empty mapping gives an empty ``_INPUT`` element
            (how ChangeBootOrder clears the boot source, §7.3).
        selectors: optional instance keys; AMT's singleton services need none (§4.5).
        message_id: the MessageID; a fresh uuid when None.
    """
    tag = f"p:{method}_INPUT"
    inner = _elements("p", arguments or {})
    xmlns = f'xmlns:p="{escape(resource_uri)}"'
    body = f"<{tag} {xmlns}>{inner}</{tag}>" if inner else f"<{tag} {xmlns}/>"
    return build_request(
        f"{resource_uri}/{method}", resource_uri, body, selectors=selectors, message_id=message_id
    )

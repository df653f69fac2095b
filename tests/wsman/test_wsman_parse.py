"""Reply parsing: AMT-shaped envelopes (wsman.md §4.6, §10.2), faults (§4.8, §10.6), bad replies."""

from __future__ import annotations

import pytest

from amtterm.errors import (
    WsmanAccessDenied,
    WsmanFault,
    WsmanMalformedReply,
    WsmanNotSupported,
    WsmanReturnValueError,
)
from amtterm.wsman import parse
from amtterm.wsman.envelope import EndpointReference

NORMAL_NS = (
    'xmlns:a="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:b="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:c="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/02/trust" '
    'xmlns:e="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" '
    'xmlns:f="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd" '
)
FAULT_NS = (
    'xmlns:a="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:b="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:c="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2004/09/transfer" '
    'xmlns:e="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    'xmlns:f="http://schemas.xmlsoap.org/ws/2004/08/eventing" '
    'xmlns:g="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd" '
    'xmlns:h="http://schemas.xmlsoap.org/ws/2005/02/trust" '
    'xmlns:i="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
CIM = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
APMS = CIM + "CIM_AssociatedPowerManagementService"


def header(action: str, relates: str = "0", resource: str | None = None) -> str:
    uri = f"<c:ResourceURI>{resource}</c:ResourceURI>" if resource else ""
    return (
        "<a:Header><b:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</b:To>"
        f'<b:RelatesTo>{relates}</b:RelatesTo><b:Action a:mustUnderstand="true">{action}</b:Action>'
        f"<b:MessageID>uuid:00000000-8086-8086-8086-0000000003B8</b:MessageID>{uri}</a:Header>"
    )


# The §10.2 Pull reply: items under their own class namespace (h), enumeration under g.
PULL_POWER = (
    f'<?xml version="1.0" encoding="UTF-8"?><a:Envelope {NORMAL_NS}'
    'xmlns:g="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
    f'xmlns:h="{APMS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    + header(
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/PullResponse",
        "31",
        CIM + "CIM_ServiceAvailableToElement",
    )
    + "<a:Body><g:PullResponse><g:Items><h:CIM_AssociatedPowerManagementService>"
    + "".join(
        f"<h:AvailableRequestedPowerStates>{v}</h:AvailableRequestedPowerStates>"
        for v in (10, 8, 5, 11, 4, 7, 14, 12)
    )
    + "<h:PowerState>2</h:PowerState>"
    "<h:ServiceProvided><b:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</b:Address>"
    f"<b:ReferenceParameters><c:ResourceURI>{CIM}CIM_PowerManagementService</c:ResourceURI><c:SelectorSet>"
    '<c:Selector Name="CreationClassName">CIM_PowerManagementService</c:Selector>'
    '<c:Selector Name="Name">Intel(r) AMT Power Management Service</c:Selector>'
    "</c:SelectorSet></b:ReferenceParameters></h:ServiceProvided>"
    "</h:CIM_AssociatedPowerManagementService></g:Items><g:EndOfSequence/></g:PullResponse></a:Body></a:Envelope>"
)


def fault(action: str, subcode: str, text: str, detail: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><a:Envelope {FAULT_NS}>{header(action, "uuid:c86a")}'
        f"<a:Body><a:Fault><a:Code><a:Value>a:Sender</a:Value><a:Subcode><a:Value>{subcode}</a:Value>"
        f'</a:Subcode></a:Code><a:Reason><a:Text xml:lang="en-US">{text}</a:Text></a:Reason>'
        f"<a:Detail>{detail}</a:Detail></a:Fault></a:Body></a:Envelope>"
    )


def test_pull_reply_of_10_2_gives_the_power_state_by_namespace() -> None:
    page = parse.parse_pull(PULL_POWER)
    assert page.context is None
    (item,) = page.items
    assert item.class_name == "CIM_AssociatedPowerManagementService"
    assert item.namespace == APMS
    assert item.integer("PowerState") == 2
    assert item.integers("AvailableRequestedPowerStates") == [10, 8, 5, 11, 4, 7, 14, 12]
    provided = item.reference("ServiceProvided")
    assert isinstance(provided, EndpointReference)
    assert provided.selectors["Name"] == "Intel(r) AMT Power Management Service"


def test_pull_with_more_items_returns_the_next_context() -> None:
    more = PULL_POWER.replace(
        "<g:EndOfSequence/>", "<g:EnumerationContext>02000000-0000</g:EnumerationContext>"
    )
    assert parse.parse_pull(more).context == "02000000-0000"


def test_get_reply_unwraps_datetimes_and_reads_integer_booleans() -> None:
    bios = CIM + "CIM_BIOSElement"
    xml = (
        f'<a:Envelope {NORMAL_NS}xmlns:g="{bios}" xmlns:h="http://schemas.dmtf.org/wbem/wscim/1/common">'
        + header("http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse", resource=bios)
        + "<a:Body><g:CIM_BIOSElement><g:PrimaryBIOS>1</g:PrimaryBIOS>"
        "<g:ReleaseDate><h:Datetime>2020-08-10T00:00:00Z</h:Datetime></g:ReleaseDate>"
        "<g:Version>  ABC  </g:Version></g:CIM_BIOSElement></a:Body></a:Envelope>"
    )
    item = parse.parse_instance(xml, "CIM_BIOSElement")
    assert item.text("ReleaseDate") == "2020-08-10T00:00:00Z"
    assert item.boolean("PrimaryBIOS") is True
    assert item.text("Version") == "ABC"
    assert item.text("Missing") is None and item.integer("Missing") is None


def test_destination_unreachable_is_not_supported_with_one_sentence() -> None:
    xml = fault(
        "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault",
        "b:DestinationUnreachable",
        "No route can be determined to reach the destination role defined by the WSAddressing To.",
    )
    with pytest.raises(WsmanNotSupported) as caught:
        parse.parse_reply(xml)
    assert str(caught.value).startswith("The device has no such class")
    assert str(caught.value).count(". ") == 0  # one sentence
    got = caught.value.fault
    assert isinstance(got, parse.Fault)
    assert got.subcode == "DestinationUnreachable" and got.code == "Sender"


def test_access_denied_says_to_get_consent() -> None:
    xml = fault(
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", "e:AccessDenied", "The sender was not authorized"
    )
    with pytest.raises(WsmanAccessDenied, match="consent"):
        parse.parse_reply(xml)


def test_internal_error_names_the_amt_status() -> None:
    xml = fault(
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault",
        "e:InternalError",
        "The service cannot comply with the request due to internal processing errors.",
        "AMT-STATUS 2066",
    )
    with pytest.raises(WsmanFault) as caught:
        parse.parse_reply(xml)
    assert type(caught.value) is WsmanFault
    assert "InternalError" in str(caught.value) and "0x812 UNSUPPORTED" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "<html><body>Bad Request</body></html",
        PULL_POWER[: len(PULL_POWER) // 2],
        "",
        "not xml at all",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        "<html><body>Bad Request</body></html>",
    ],
    ids=["broken-html", "truncated", "empty", "text", "doctype", "html"],
)
def test_malformed_replies_are_one_typed_error(text: str) -> None:
    with pytest.raises(WsmanMalformedReply) as caught:
        parse.parse_pull(text)
    assert str(caught.value).endswith(".")


def test_output_return_values() -> None:
    ns = CIM + "CIM_PowerManagementService"

    def output(value: int) -> str:
        return (
            f'<a:Envelope {NORMAL_NS}xmlns:g="{ns}">'
            + header(ns + "/RequestPowerStateChangeResponse", resource=ns)
            + f"<a:Body><g:RequestPowerStateChange_OUTPUT><g:ReturnValue>{value}</g:ReturnValue>"
            "</g:RequestPowerStateChange_OUTPUT></a:Body></a:Envelope>"
        )

    parse.check_return_value(
        parse.parse_output(output(0), "RequestPowerStateChange"), "RequestPowerStateChange"
    )
    with pytest.raises(WsmanReturnValueError) as caught:
        parse.check_return_value(
            parse.parse_output(output(2), "RequestPowerStateChange"), "RequestPowerStateChange"
        )
    assert caught.value.return_value == 2
    assert str(caught.value) == "The device refused RequestPowerStateChange (ReturnValue 2)."
    with pytest.raises(WsmanReturnValueError, match="USER_CONSENT_REQUIRED"):
        out = parse.parse_output(output(32768 + 0x821), "RequestPowerStateChange")
        parse.check_return_value(out, "RequestPowerStateChange")
    with pytest.raises(WsmanReturnValueError, match=r"^off refused$"):
        out = parse.parse_output(output(2), "RequestPowerStateChange")
        parse.check_return_value(out, "RequestPowerStateChange", {2: "off refused"})
    with pytest.raises(WsmanMalformedReply, match="no ReturnValue"):
        parse.parse_output(
            output(0).replace("<g:ReturnValue>0</g:ReturnValue>", ""), "RequestPowerStateChange"
        )


def test_device_side_request_parsing_accepts_what_clients_send() -> None:
    # Ironic-style: qualified wsman:Name, full-URL To, uuid MessageID, no ReplyTo.
    xml = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:x="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
        "<x:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</x:Action>"
        "<x:To>http://10.0.0.1:16992/wsman</x:To>"
        f"<w:ResourceURI>{APMS}</w:ResourceURI><x:MessageID>uuid:1-2</x:MessageID>"
        '<w:SelectorSet><w:Selector w:Name="Name">x</w:Selector></w:SelectorSet>'
        "</s:Header><s:Body/></s:Envelope>"
    )
    request = parse.parse_request(xml)
    assert request.resource_uri == APMS
    assert request.message_id == "uuid:1-2"
    assert request.selectors == {"Name": "x"}
    assert request.body is None

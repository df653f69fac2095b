"""Request envelopes against the skeleton and templates of wsman.md §10."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from amtterm.wsman import envelope
from amtterm.wsman.envelope import EndpointReference
from amtterm.wsman.resources import (
    ANONYMOUS,
    MANAGED_SYSTEM_SELECTORS,
    NS_ADDRESSING,
    NS_ENUMERATION,
    NS_SOAP,
    NS_WSMAN,
    resource_uri,
)

S, A, W, E = (f"{{{ns}}}" for ns in (NS_SOAP, NS_ADDRESSING, NS_WSMAN, NS_ENUMERATION))
CIM = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"


def header(xml: str) -> dict[str, str]:
    root = ET.fromstring(xml)
    head = root.find(f"{S}Header")
    assert head is not None
    return {child.tag: (child.text or "") for child in head}


def test_get_follows_the_common_skeleton() -> None:
    xml = envelope.build_get(resource_uri("AMT_GeneralSettings"), message_id="17")
    assert xml.startswith('<?xml version="1.0" encoding="utf-8"?>')
    fields = header(xml)
    assert fields[f"{A}Action"] == "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
    assert fields[f"{A}To"] == "/wsman"
    assert fields[f"{W}ResourceURI"] == "http://intel.com/wbem/wscim/1/amt-schema/1/AMT_GeneralSettings"
    assert fields[f"{A}MessageID"] == "17"
    assert fields[f"{W}OperationTimeout"] == "PT60S"
    assert f"{W}SelectorSet" not in fields
    root = ET.fromstring(xml)
    assert root.findtext(f".//{A}ReplyTo/{A}Address") == ANONYMOUS
    body = root.find(f"{S}Body")
    assert body is not None and len(body) == 0


def test_message_ids_are_fresh_uuids() -> None:
    one = header(envelope.build_get(resource_uri("AMT_GeneralSettings")))[f"{A}MessageID"]
    two = header(envelope.build_get(resource_uri("AMT_GeneralSettings")))[f"{A}MessageID"]
    assert one.startswith("uuid:") and one != two


def test_selectors_use_unqualified_name() -> None:
    xml = envelope.build_get(CIM + "CIM_PowerManagementService", selectors={"Name": "Intel(r) AMT Power"})
    selector = ET.fromstring(xml).find(f".//{W}SelectorSet/{W}Selector")
    assert selector is not None
    assert selector.attrib == {"Name": "Name"}  # unqualified: no wsman: prefix on the attribute
    assert selector.text == "Intel(r) AMT Power"


def test_power_on_matches_template_10_3() -> None:
    uri = CIM + "CIM_PowerManagementService"
    managed = EndpointReference(CIM + "CIM_ComputerSystem", MANAGED_SYSTEM_SELECTORS)
    xml = envelope.build_invoke(uri, "RequestPowerStateChange", {"PowerState": 2, "ManagedElement": managed})
    assert header(xml)[f"{A}Action"] == uri + "/RequestPowerStateChange"
    body = ET.fromstring(xml).find(f"{S}Body")
    assert body is not None
    (inp,) = list(body)
    assert inp.tag == f"{{{uri}}}RequestPowerStateChange_INPUT"
    assert inp.findtext(f"{{{uri}}}PowerState") == "2"
    element = inp.find(f"{{{uri}}}ManagedElement")
    assert element is not None
    assert element.findtext(f"{A}Address") == NS_ADDRESSING
    assert element.findtext(f"{A}ReferenceParameters/{W}ResourceURI") == CIM + "CIM_ComputerSystem"
    selectors = {
        s.get("Name"): s.text for s in element.findall(f"{A}ReferenceParameters/{W}SelectorSet/{W}Selector")
    }
    assert selectors == {"CreationClassName": "CIM_ComputerSystem", "Name": "ManagedSystem"}


def test_empty_change_boot_order_clears_the_source() -> None:
    uri = CIM + "CIM_BootConfigSetting"
    xml = envelope.build_invoke(uri, "ChangeBootOrder", {})
    assert f'<p:ChangeBootOrder_INPUT xmlns:p="{uri}"/>' in xml


def test_put_writes_the_class_element_lowercase_booleans_and_escapes() -> None:
    uri = resource_uri("AMT_BootSettingData")
    xml = envelope.build_put(uri, {"BIOSSetup": True, "UseSOL": False, "ElementName": "a<&>b", "Skip": None})
    body = ET.fromstring(xml).find(f"{S}Body")
    assert body is not None
    (element,) = list(body)
    assert element.tag == f"{{{uri}}}AMT_BootSettingData"
    assert [(child.tag.split("}")[1], child.text) for child in element] == [
        ("BIOSSetup", "true"),
        ("UseSOL", "false"),
        ("ElementName", "a<&>b"),
    ]
    assert header(xml)[f"{A}Action"] == "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put"


def test_arrays_are_repeated_elements() -> None:
    xml = envelope.build_put(resource_uri("AMT_BootSettingData"), {"BIOSLastStatus": [2, 0]})
    assert xml.count("<p:BIOSLastStatus>") == 2


def test_enumerate_and_pull_bodies() -> None:
    uri = CIM + "CIM_ServiceAvailableToElement"
    enum_xml = envelope.build_enumerate(uri)
    assert header(enum_xml)[f"{A}Action"] == NS_ENUMERATION + "/Enumerate"
    assert f'<wsen:Enumerate xmlns:wsen="{NS_ENUMERATION}"/>' in enum_xml
    pull = ET.fromstring(envelope.build_pull(uri, "DD020000-0000-0000-0000-000000000000"))
    assert pull.findtext(f".//{E}Pull/{E}EnumerationContext") == "DD020000-0000-0000-0000-000000000000"
    assert pull.findtext(f".//{E}Pull/{E}MaxElements") == "999"
    assert pull.findtext(f".//{E}Pull/{E}MaxCharacters") == "99999"


def test_resource_uri_picks_the_base_by_prefix() -> None:
    assert resource_uri("CIM_BootService") == CIM + "CIM_BootService"
    assert (
        resource_uri("AMT_BootSettingData")
        == "http://intel.com/wbem/wscim/1/amt-schema/1/AMT_BootSettingData"
    )
    assert resource_uri("IPS_OptInService") == "http://intel.com/wbem/wscim/1/ips-schema/1/IPS_OptInService"
    with pytest.raises(ValueError, match="prefix"):
        resource_uri("Win32_Process")

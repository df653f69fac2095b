"""WS-Management Identify (DSP0226 section 11), EnumerationMode, and reading what a device will tell.

Against the simulator: in memory, and over HTTP(S) on loopback with the real client.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from amtterm.errors import WsmanFault
from amtterm.sim.wsman import service
from amtterm.wsman import envelope, operations, parse
from amtterm.wsman.client import WsmanClient
from amtterm.wsman.resources import (
    NS_ENUMERATION,
    NS_IDENTITY,
    NS_SOAP,
    NS_WSMAN,
    SECURITY_PROFILE_HTTP_DIGEST,
    resource_uri,
)
from tests.wsman.conftest import PASSWORD, Device, Served

APMS = "CIM_AssociatedPowerManagementService"

# What openwsman's `wsman identify` sends: an empty header and the Identify element.
OPENWSMAN_IDENTIFY = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<s:Envelope xmlns:s="{NS_SOAP}" xmlns:wsmid="{NS_IDENTITY}">'
    "<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"
)


def test_identify_answers_who_is_there(device: Device) -> None:
    device.state.amt_version = "11.8.55"
    status, reply = service.handle(OPENWSMAN_IDENTIFY, device.state, 0.0)
    assert status == 200
    body = ET.fromstring(reply).find(f"{{{NS_SOAP}}}Body")
    assert body is not None
    response = body.find(f"{{{NS_IDENTITY}}}IdentifyResponse")
    assert response is not None
    fields = {child.tag.split("}")[1]: (child.text or "") for child in response}
    assert fields["ProtocolVersion"] == NS_WSMAN
    assert fields["ProductVendor"] == "Intel Corporation"
    assert fields["ProductVersion"] == "AMT 11.8"
    assert fields["DASHVersion"]
    headless = OPENWSMAN_IDENTIFY.replace("<s:Header/>", "")
    assert service.handle(headless, device.state, 0.0) == (status, reply)
    identity = parse.parse_identify(reply)
    assert identity.is_amt and identity.amt_version == "11.8"
    assert SECURITY_PROFILE_HTTP_DIGEST in identity.security_profiles


async def test_identify_needs_no_credentials_and_nothing_else_does(served: Served) -> None:
    where = "127.0.0.1"
    async with WsmanClient(
        where, user="admin", password="wrong", tls=served.tls, port=served.port, verify=served.verify
    ) as client:
        identity = await operations.identify(client)
    assert identity is not None and identity.product_version == "AMT 16.1"
    # Identify was answered without a challenge, and no credentials were sent or counted.
    assert [record.had_credentials for record in served.server.auth_log] == []
    async with WsmanClient(
        where, user="admin", password=PASSWORD, tls=served.tls, port=served.port, verify=served.verify
    ) as client:
        assert (await operations.identify(client)) is not None
        assert (await operations.power_status(client)).state == "on"
    assert [record.had_credentials for record in served.server.auth_log] == [False, True]


def test_enumerate_epr_is_refused_with_unsupported_feature(device: Device) -> None:
    uri = resource_uri("CIM_ServiceAvailableToElement")
    for mode in ("EnumerateEPR", "EnumerateObjectAndEPR"):
        body = (
            f'<wsen:Enumerate xmlns:wsen="{NS_ENUMERATION}" xmlns:wsman="{NS_WSMAN}">'
            f"<wsman:EnumerationMode>{mode}</wsman:EnumerationMode></wsen:Enumerate>"
        )
        request = envelope.build_request(f"{NS_ENUMERATION}/Enumerate", uri, body)
        status, reply = service.handle(request, device.state, 0.0)
        assert status == 400
        with pytest.raises(WsmanFault) as fault:
            parse.parse_reply(reply)
        assert fault.value.fault.subcode == "UnsupportedFeature"
        assert (
            "<e:FaultDetail>http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/EnumerationMode<" in reply
        )
    # Without a mode, the objects themselves, as before.
    status, reply = service.handle(envelope.build_enumerate(uri), device.state, 0.0)
    assert status == 200 and parse.parse_enumerate(reply)


async def test_power_status_falls_back_to_enumerate_when_the_get_is_refused(device: Device) -> None:
    device.state.get_refused.add(APMS)
    with pytest.raises(WsmanFault):
        await operations.get_instance(device.transport, APMS)
    status = await operations.power_status(device.transport)
    assert status.state == "on" and "reset" in status.actions
    device.state.power_state = 8
    device.host.powered = False
    assert (await operations.power_status(device.transport)).state == "off"


async def test_power_status_still_fails_in_one_sentence_when_nothing_tells(device: Device) -> None:
    device.state.get_refused.add(APMS)

    async def no_enumeration(body: str) -> str:
        if "Enumerate" in body:
            return "<html>nope</html>"
        return await device.transport(body)

    with pytest.raises(WsmanFault) as error:
        await operations.power_status(no_enumeration)
    assert "DestinationUnreachable" in str(error.value)


async def test_the_report_keeps_every_part_it_could_read(device: Device) -> None:
    device.state.get_refused |= {"AMT_GeneralSettings", APMS}
    identity = await operations.identify(device.transport)
    report = await operations.device_report(device.transport, identity)
    assert report.amt_version == "16.1.25" and report.control_mode == "admin"
    assert report.power is not None and report.power.state == "on"  # via Enumerate
    assert report.redirection is not None and report.redirection.listener
    assert report.host_name is None and report.digest_realm is None
    assert list(report.unreadable) == ["host name"]
    sentence = report.unreadable["host name"]
    assert sentence.startswith("The device has no such class or instance (DestinationUnreachable)")
    assert sentence.endswith(".") and "\n" not in sentence


async def test_the_report_uses_identify_when_the_software_inventory_is_refused(device: Device) -> None:
    async def no_inventory(body: str) -> str:
        if "CIM_SoftwareIdentity" in body:
            return await device.transport(envelope.build_get(resource_uri("CIM_KVMRedirectionSAP")))
        return await device.transport(body)

    identity = await operations.identify(no_inventory)
    report = await operations.device_report(no_inventory, identity)
    assert report.amt_version == "16.1" and report.unreadable == {}
    bare = await operations.device_report(no_inventory)
    assert bare.amt_version is None and list(bare.unreadable) == ["AMT version"]

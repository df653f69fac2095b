"""The simulator's WS-Man service as a device: reply shapes (wsman.md §4.6, §4.8) and AMT's rules."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from amtterm.sim.wsman import service
from amtterm.sim.wsman.state import DeviceState, PowerEvent
from amtterm.wsman import envelope
from amtterm.wsman.envelope import EndpointReference
from amtterm.wsman.resources import MANAGED_SYSTEM_SELECTORS, NS_ADDRESSING, NS_SOAP, resource_uri
from tests.wsman.conftest import FakeHost

APMS = resource_uri("CIM_AssociatedPowerManagementService")
PMS = resource_uri("CIM_PowerManagementService")


def power_request(number: int, message_id: str = "31") -> str:
    managed = EndpointReference(resource_uri("CIM_ComputerSystem"), MANAGED_SYSTEM_SELECTORS)
    args = {"PowerState": number, "ManagedElement": managed}
    return envelope.build_invoke(PMS, "RequestPowerStateChange", args, message_id=message_id)


def return_value(reply: str) -> int:
    match = re.search(r"<g:ReturnValue>(\d+)</g:ReturnValue>", reply)
    assert match, reply
    return int(match.group(1))


@pytest.fixture
def state() -> DeviceState:
    return DeviceState(host=FakeHost())


def test_get_reply_uses_amts_prefix_layout_and_echoes_the_message_id(state: DeviceState) -> None:
    status, reply = service.handle(envelope.build_get(APMS, message_id="uuid:c86a-1"), state, 0.0)
    assert status == 200
    assert reply.startswith(
        '<?xml version="1.0" encoding="UTF-8"?><a:Envelope xmlns:a="http://www.w3.org/2003/05/soap-envelope"'
    )
    assert "<b:RelatesTo>uuid:c86a-1</b:RelatesTo>" in reply
    assert (
        '<b:Action a:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse</b:Action>'
        in reply
    )
    assert re.search(r"<b:MessageID>uuid:00000000-8086-8086-8086-[0-9A-F]{12}</b:MessageID>", reply)
    assert f'xmlns:g="{APMS}"' in reply and f"<c:ResourceURI>{APMS}</c:ResourceURI>" in reply
    root = ET.fromstring(reply)
    header = root.find(f"{{{NS_SOAP}}}Header")
    assert header is not None
    order = [child.tag.split("}")[1] for child in header]
    assert order == ["To", "RelatesTo", "Action", "MessageID", "ResourceURI"]


def test_message_ids_count_up(state: DeviceState) -> None:
    ids = [
        re.search(
            r"<b:MessageID>(.*?)</b:MessageID>", service.handle(envelope.build_get(APMS), state, 0.0)[1]
        )
        for _ in range(2)
    ]
    assert [m.group(1) for m in ids if m] == [
        "uuid:00000000-8086-8086-8086-000000000001",
        "uuid:00000000-8086-8086-8086-000000000002",
    ]


def test_invoke_reply_action_appends_response(state: DeviceState) -> None:
    status, reply = service.handle(power_request(10), state, 0.0)
    assert status == 200 and return_value(reply) == 0
    assert f">{PMS}/RequestPowerStateChangeResponse</b:Action>" in reply
    assert "<g:RequestPowerStateChange_OUTPUT>" in reply


def test_fault_uses_the_fault_prefix_layout_and_status_400(state: DeviceState) -> None:
    status, reply = service.handle(
        envelope.build_get(resource_uri("CIM_KVMRedirectionSAP"), message_id="7"), state, 0.0
    )
    assert status == 400
    assert 'xmlns:c="http://schemas.xmlsoap.org/ws/2004/09/enumeration"' in reply
    assert 'xmlns:e="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"' in reply
    assert f">{NS_ADDRESSING}/fault</b:Action>" in reply
    assert "<a:Value>b:DestinationUnreachable</a:Value>" in reply
    assert "<c:ResourceURI>" not in reply and "<b:RelatesTo>7</b:RelatesTo>" in reply


def test_not_xml_is_a_schema_fault(state: DeviceState) -> None:
    status, reply = service.handle("<s:Envelope", state, 0.0)
    assert status == 400 and "e:SchemaValidationError" in reply


def test_os_power_saving_state_is_dropped_when_off(state: DeviceState) -> None:
    uri = resource_uri("IPS_PowerManagementService")
    assert (
        "<g:OSPowerSavingState>2</g:OSPowerSavingState>"
        in service.handle(envelope.build_get(uri), state, 0.0)[1]
    )
    service.handle(power_request(8), state, 0.0)
    assert "OSPowerSavingState" not in service.handle(envelope.build_get(uri), state, 0.0)[1]


def test_available_states_follow_the_power_state(state: DeviceState) -> None:
    def available() -> list[int]:
        reply = service.handle(envelope.build_get(APMS), state, 0.0)[1]
        return [int(v) for v in re.findall(r"<g:AvailableRequestedPowerStates>(\d+)<", reply)]

    assert available() == [10, 8, 5]
    state.lms_present = True
    assert available() == [10, 8, 5, 4, 7, 14, 12]
    service.handle(power_request(8), state, 0.0)
    assert available() == [2]


@pytest.mark.parametrize(
    ("powered", "number", "expected"),
    [
        (True, 2, 2),  # already on
        (False, 8, 2),  # already off
        (False, 5, 2),  # cycle needs on
        (False, 10, 2),  # reset needs on
        (True, 3, 2),  # light sleep: not supported
        (True, 11, 2),  # NMI: not offered
        (True, 12, 2),  # graceful off without LMS
        (True, 8, 0),
        (False, 2, 0),
    ],
)
def test_power_rules(state: DeviceState, powered: bool, number: int, expected: int) -> None:
    assert isinstance(state.host, FakeHost)
    state.host.powered = powered
    assert return_value(service.handle(power_request(number), state, 0.0)[1]) == expected


def test_power_listeners_hear_every_change(state: DeviceState) -> None:
    events: list[PowerEvent] = []
    state.power_listeners.append(events.append)
    for number in (8, 2, 10, 5):
        service.handle(power_request(number), state, 5.0)
    assert [(e.kind, e.powered, e.now) for e in events] == [
        ("off", False, 5.0),
        ("on", True, 5.0),
        ("reset", True, 5.0),
        ("cycle", True, 5.0),
    ]


def test_off_is_refused_while_ider_is_open_and_allowed_after(state: DeviceState) -> None:
    state.set_session_open("ider", True, 0.0)
    assert return_value(service.handle(power_request(8), state, 0.0)[1]) == 2
    state.set_session_open("ider", False, 1.0)
    assert return_value(service.handle(power_request(8), state, 1.0)[1]) == 0


def test_put_ignores_read_only_and_unknown_fields(state: DeviceState) -> None:
    uri = resource_uri("AMT_BootSettingData")
    body = {"BIOSSetup": True, "OptionsCleared": False, "BIOSLastStatus": [1, 2], "Bogus": "x"}
    status, reply = service.handle(envelope.build_put(uri, body), state, 0.0)
    assert status == 200 and "<g:BIOSSetup>true</g:BIOSSetup>" in reply
    assert "<g:OptionsCleared>false</g:OptionsCleared>" in reply  # set options are not yet consumed


def test_redirection_put_needs_the_keys(state: DeviceState) -> None:
    uri = resource_uri("AMT_RedirectionService")
    status, reply = service.handle(envelope.build_put(uri, {"ListenerEnabled": False}), state, 0.0)
    assert status == 400 and "SchemaValidationError" in reply
    assert state.listener_enabled


def test_selectors_on_singletons_are_optional_and_may_be_qualified(state: DeviceState) -> None:
    plain = envelope.build_get(PMS, selectors={"Name": "Intel(r) AMT Power Management Service"})
    qualified = plain.replace('Selector Name="Name"', 'Selector wsman:Name="Name"')
    assert service.handle(plain, state, 0.0)[0] == 200
    assert service.handle(qualified, state, 0.0)[0] == 200

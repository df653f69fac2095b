"""The simulated device's One Click Recovery: what it offers by version and host, and its rules.

Requests are built with the envelope builders and answered by the service in memory; the host
is a recording fake that implements the UefiHost protocol (or not, for a legacy BIOS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from amtterm.sim.host import HttpsBoot
from amtterm.sim.wsman import service
from amtterm.sim.wsman.state import DeviceState
from amtterm.wsman import envelope, parse
from amtterm.wsman.envelope import EndpointReference, Value
from amtterm.wsman.resources import (
    BOOT_CONFIG_INSTANCE,
    MANAGED_SYSTEM_SELECTORS,
    SOURCE_OCR_HTTPS,
    SOURCE_PXE,
    resource_uri,
)
from amtterm.wsman.uefi_params import UefiParam, to_base64
from tests.wsman.conftest import FakeHost

URL = "https://10.0.2.2:8443/ipxe.efi"


@dataclass
class UefiFakeHost(FakeHost):
    https_boots: list[HttpsBoot | None] = field(default_factory=list)

    def set_https_boot(self, boot: HttpsBoot | None) -> None:
        self.https_boots.append(boot)


def device(version: str = "16.1.25", *, uefi: bool = True) -> DeviceState:
    return DeviceState(host=UefiFakeHost() if uefi else FakeHost(), amt_version=version)


def get(state: DeviceState, class_name: str) -> parse.Instance:
    status, reply = service.handle(envelope.build_get(resource_uri(class_name)), state, 0.0)
    assert status == 200, reply
    return parse.parse_instance(reply, class_name)


def enumerate_ids(state: DeviceState, class_name: str) -> list[str]:
    uri = resource_uri(class_name)
    context = parse.parse_enumerate(service.handle(envelope.build_enumerate(uri), state, 0.0)[1])
    page = parse.parse_pull(service.handle(envelope.build_pull(uri, context), state, 0.0)[1])
    return [item.text("InstanceID") or "" for item in page.items]


def invoke(
    state: DeviceState, class_name: str, method: str, args: dict[str, Value], *, tls: bool = True
) -> int:
    request = envelope.build_invoke(resource_uri(class_name), method, args)
    reply = service.handle(request, state, 0.0, tls=tls)[1]
    match = re.search(r"<g:ReturnValue>(\d+)</g:ReturnValue>", reply)
    assert match, reply
    return int(match.group(1))


def put_params(state: DeviceState, blob: str, count: int, *, tls: bool = True) -> tuple[int, str]:
    values: dict[str, Value] = {"UefiBootParametersArray": blob, "UefiBootNumberOfParams": count}
    request = envelope.build_put(resource_uri("AMT_BootSettingData"), values)
    return service.handle(request, state, 0.0, tls=tls)


def change_boot_order(state: DeviceState, source: str, *, tls: bool = True) -> int:
    epr = EndpointReference(resource_uri("CIM_BootSourceSetting"), {"InstanceID": source})
    return invoke(state, "CIM_BootConfigSetting", "ChangeBootOrder", {"Source": epr}, tls=tls)


def arm(state: DeviceState, blob: str | None = None, count: int = 2) -> None:
    """OCR on, parameters stored, role 1, the OCR HTTPS source chosen."""
    assert invoke(state, "CIM_BootService", "RequestStateChange", {"RequestedState": 32769}) == 0
    blob = blob if blob is not None else to_base64([UefiParam(1, URL.encode()), UefiParam(20, b"\x01")])
    assert put_params(state, blob, count)[0] == 200
    config = EndpointReference(resource_uri("CIM_BootConfigSetting"), {"InstanceID": BOOT_CONFIG_INSTANCE})
    assert (
        invoke(state, "CIM_BootService", "SetBootConfigRole", {"BootConfigSetting": config, "Role": 1}) == 0
    )
    assert change_boot_order(state, SOURCE_OCR_HTTPS) == 0


def reset(state: DeviceState) -> int:
    managed = EndpointReference(resource_uri("CIM_ComputerSystem"), MANAGED_SYSTEM_SELECTORS)
    args: dict[str, Value] = {"PowerState": 10, "ManagedElement": managed}
    return invoke(state, "CIM_PowerManagementService", "RequestPowerStateChange", args)


@pytest.mark.parametrize(
    ("version", "uefi", "offered"),
    [("16.1.25", True, True), ("18.0.5", True, True), ("16.1.25", False, False), ("12.0.20", True, False)],
)
def test_https_boot_is_offered_on_amt_16_with_uefi_firmware_only(
    version: str, uefi: bool, offered: bool
) -> None:
    state = device(version, uefi=uefi)
    assert get(state, "AMT_BootCapabilities").boolean("ForceUEFIHTTPSBoot") is offered
    assert (SOURCE_OCR_HTTPS in enumerate_ids(state, "CIM_BootSourceSetting")) is offered
    settings = get(state, "AMT_BootSettingData")
    if version.startswith("12"):
        assert get(state, "CIM_BootService").integer("EnabledState") == 2
    else:
        assert settings.boolean("UEFIHTTPSBootEnabled") is offered
        assert settings.integer("UefiBootNumberOfParams") == 0
        assert get(state, "CIM_BootService").integer("EnabledState") == 32768


def test_bios_switch_off_shows_and_refuses_the_source() -> None:
    state = device()
    state.ocr.bios_https_enabled = False
    assert get(state, "AMT_BootSettingData").boolean("UEFIHTTPSBootEnabled") is False
    assert invoke(state, "CIM_BootService", "RequestStateChange", {"RequestedState": 32769}) == 0
    assert put_params(state, to_base64([UefiParam(1, URL.encode())]), 1)[0] == 200
    assert change_boot_order(state, SOURCE_OCR_HTTPS) == 2


@pytest.mark.parametrize(
    ("requested", "tls", "uefi", "expected"),
    [
        (32769, True, True, 0),
        (32768, True, True, 0),
        (32769, False, True, 2),  # plain HTTP
        (32769, True, False, 2),  # legacy BIOS
        (32770, True, True, 2),  # no PlatformErase capability
        (5, True, True, 5),
        (32772, True, True, 5),
    ],
)
def test_boot_service_switch(requested: int, tls: bool, uefi: bool, expected: int) -> None:
    state = device(uefi=uefi)
    assert (
        invoke(state, "CIM_BootService", "RequestStateChange", {"RequestedState": requested}, tls=tls)
        == expected
    )
    if expected == 0:
        assert get(state, "CIM_BootService").integer("EnabledState") == requested


def test_change_boot_order_to_the_ocr_source_needs_ocr_on_and_a_url() -> None:
    state = device()
    assert change_boot_order(state, SOURCE_OCR_HTTPS) == 2  # OCR off
    assert invoke(state, "CIM_BootService", "RequestStateChange", {"RequestedState": 32769}) == 0
    assert change_boot_order(state, SOURCE_OCR_HTTPS) == 2  # no URL stored
    assert put_params(state, to_base64([UefiParam(1, URL.encode())]), 1)[0] == 200
    assert change_boot_order(state, SOURCE_OCR_HTTPS, tls=False) == 2
    assert change_boot_order(state, "Intel(r) AMT: Force OCR UEFI Boot Option 9") == 4
    assert change_boot_order(state, SOURCE_OCR_HTTPS) == 0
    assert change_boot_order(device(uefi=False), SOURCE_OCR_HTTPS) == 4


def test_parameters_are_stored_as_sent_and_checked() -> None:
    state = device()
    blob = to_base64([UefiParam(1, URL.encode()), UefiParam(20, b"\x01"), UefiParam(30, b"\x3c\x00")])
    assert put_params(state, blob, 3)[0] == 200
    settings = get(state, "AMT_BootSettingData")
    assert (settings.text("UefiBootParametersArray"), settings.integer("UefiBootNumberOfParams")) == (blob, 3)
    status, reply = put_params(state, blob, 3, tls=False)
    assert status == 400 and "accepted over TLS only" in reply
    status, reply = put_params(state, "AAAA", 1)
    assert status == 400 and "AMT-STATUS 36" in reply
    assert put_params(state, "", 0)[0] == 200
    assert get(state, "AMT_BootSettingData").integer("UefiBootNumberOfParams") == 0


def test_the_next_reset_hands_the_firmware_url_roots_and_timeout_once() -> None:
    state = device("17.0.5")
    host = state.host
    assert isinstance(host, UefiFakeHost)
    state.ocr.trusted_roots["Intel(r) AMT Certificate: Handle: 1"] = b"root-der"
    blob = to_base64([UefiParam(1, URL.encode()), UefiParam(20, b"\x01"), UefiParam(30, b"\x1e\x00")])
    arm(state, blob, 3)
    assert reset(state) == 0
    assert host.https_boots == [HttpsBoot(URL, (b"root-der",), 30)]
    assert host.calls[-1] == "reset:None"  # no classic target: the firmware boots the URL
    assert get(state, "AMT_BootSettingData").integer("UefiBootNumberOfParams") == 0
    assert reset(state) == 0
    assert len(host.https_boots) == 1  # consumed: the next reset is a normal boot


def test_without_sync_root_ca_the_firmware_gets_no_roots() -> None:
    state = device()
    host = state.host
    assert isinstance(host, UefiFakeHost)
    state.ocr.trusted_roots["Intel(r) AMT Certificate: Handle: 1"] = b"root-der"
    arm(state, to_base64([UefiParam(1, URL.encode()), UefiParam(20, b"\x00")]))
    reset(state)
    assert host.https_boots == [HttpsBoot(URL, (), None)]


def test_a_classic_source_after_an_https_boot_is_not_an_https_boot() -> None:
    state = device()
    host = state.host
    assert isinstance(host, UefiFakeHost)
    arm(state)
    assert invoke(state, "CIM_BootConfigSetting", "ChangeBootOrder", {}) == 0
    assert change_boot_order(state, SOURCE_PXE) == 0
    reset(state)
    assert host.https_boots == [] and host.calls[-1] == "reset:pxe"
    assert get(state, "AMT_BootSettingData").integer("UefiBootNumberOfParams") == 0  # consumed too


def test_delete_is_for_certificates_only() -> None:
    state = device()
    request = envelope.build_request(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
        resource_uri("AMT_BootSettingData"),
        selectors={"InstanceID": "x"},
    )
    status, reply = service.handle(request, state, 0.0)
    assert status == 400 and "ActionNotSupported" in reply

"""What `info` says the machine is, from replies carrying the values of recorded AMT devices.

The values are those of go-wsman-messages' recorded replies (``cim/bios/element/get.xml``: an Intel
NUC's BIOS with its ReleaseDate wrapped in ``h:Datetime``; ``cim/chassis/get.xml``), written into
envelopes in AMT's layout here; the SKU numbers are Intel's (16392 AMT, 16400 Standard
Manageability). A class the device lacks is answered with DestinationUnreachable, as AMT does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from amtterm.sim.wsman import replies
from amtterm.wsman import inventory
from amtterm.wsman.inventory import platform_guid, sku_name
from amtterm.wsman.parse import parse_request
from amtterm.wsman.resources import class_name_of, resource_uri

BIOS = [
    ("ElementName", "Primary BIOS"),
    ("Manufacturer", "Intel Corp."),
    ("PrimaryBIOS", True),
    ("ReleaseDate", replies.CimDatetime("2020-08-10T00:00:00Z")),
    ("SoftwareElementID", "QNCFLX70.0054.2020.0810.2227"),
    ("Version", "QNCFLX70.0054.2020.0810.2227"),
]
CHASSIS = [
    ("ChassisPackageType", 0),
    ("CreationClassName", "CIM_Chassis"),
    ("Manufacturer", "Intel(R) Client Systems"),
    ("Model", "NUC9V7QNX"),
    ("PackageType", 3),
    ("SerialNumber", "JRQN0243007J"),
    ("Tag", "CIM_Chassis"),
]
CAPABILITIES = [("ForceUEFIHTTPSBoot", True), ("IDER", True), ("PlatformErase", 3), ("SOL", True)]


def device(
    classes: dict[str, replies.Properties], software: dict[str, str]
) -> Callable[[str], Awaitable[str]]:
    """Answers Get of ``classes``, Enumerate/Pull of CIM_SoftwareIdentity, faults for the rest."""

    async def transport(text: str) -> str:
        request = parse_request(text)
        name = class_name_of(request.resource_uri)
        if request.action.endswith("/Enumerate"):
            return replies.enumerate_reply(request.message_id, "uuid:1", request.resource_uri, "ctx")
        if request.action.endswith("/Pull"):
            items = [
                (resource_uri(name), [("InstanceID", key), ("IsEntity", True), ("VersionString", value)])
                for key, value in software.items()
            ]
            return replies.pull_reply(request.message_id, "uuid:2", request.resource_uri, items, None)
        if name in classes:
            return replies.transfer_reply(
                "Get", request.message_id, "uuid:3", request.resource_uri, classes[name]
            )
        return replies.fault_reply(request.message_id, "uuid:4", "DestinationUnreachable", "No route.")

    return transport


async def test_a_standard_manageability_nuc_with_one_click_recovery() -> None:
    classes = {"CIM_BIOSElement": BIOS, "CIM_Chassis": CHASSIS, "AMT_BootCapabilities": CAPABILITIES}
    classes["CIM_ComputerSystemPackage"] = [("PlatformGUID", "44454C4C420010358052B7C04F4D3732")]
    info = await inventory.read_machine(
        device(classes, {"AMT": "16.1.25", "Sku": "16400", "Flash": "16.1.25"})
    )
    assert info.sku == "Intel Standard Manageability (no KVM), corporate"
    assert info.features == "KVM no, SOL yes, IDE-R yes, OCR yes, Platform Erase yes"
    assert info.bios == "Intel Corp. QNCFLX70.0054.2020.0810.2227 (2020-08-10)"
    assert info.machine == "Intel(R) Client Systems NUC9V7QNX"
    assert info.serial_number == "JRQN0243007J"
    assert info.guid == "4C4C4544-0042-3510-8052-B7C04F4D3732"
    assert info.firmware == {"AMT": "16.1.25", "Flash": "16.1.25"}


async def test_old_firmware_without_the_classes_reads_as_unknown() -> None:
    info = await inventory.read_machine(device({}, {"AMT": "9.5.30", "Sku": "8"}))
    assert info.sku == "Intel AMT (full manageability)"
    assert info.bios is None and info.machine is None and info.guid is None
    assert info.features == "KVM no, SOL unknown, IDE-R unknown, OCR unknown, Platform Erase unknown"
    old = await inventory.read_machine(device({"AMT_BootCapabilities": CAPABILITIES}, {"AMT": "15.0.1"}))
    assert old.ocr is False  # HTTPS boot is One Click Recovery from AMT 16 on


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (16392, "Intel AMT (full manageability), corporate"),
        (16, "Intel Standard Manageability (no KVM)"),
        (2, "unknown SKU 2"),
    ],
)
def test_sku_names(value: int, name: str) -> None:
    assert sku_name(value) == name


def test_platform_guid_reorders_the_first_three_groups() -> None:
    assert platform_guid("00112233445566778899AABBCCDDEEFF") == "33221100-5544-7766-8899-AABBCCDDEEFF"
    assert platform_guid("not hex") == "not hex"

"""What the simulated machine says it is: CIM_BIOSElement, CIM_Chassis, CIM_ComputerSystemPackage.

Values follow the host behind the device (wsman.md §9.5 for the fields): the synthetic PC
reports its own vendor and BIOS version (what its POST screen shows); a QEMU host reports what
QEMU's SMBIOS tables say for its firmware: SeaBIOS on the ``pc`` machine, or EDK II (OVMF) on
``q35`` for a UEFI host. :func:`facts_for_host` picks them; the device state keeps them in
``DeviceState.hardware``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from amtterm.sim.wsman.replies import CimDatetime, Properties

CHASSIS_KEYS: Final = (("CreationClassName", "CIM_Chassis"), ("Tag", "CIM_Chassis"))


@dataclass(frozen=True)
class MachineFacts:
    """The machine's SMBIOS-like facts.

    Attributes:
        bios_vendor, bios_version: CIM_BIOSElement Manufacturer and Version.
        bios_date: its ReleaseDate as a CIM datetime (``2024-03-14T00:00:00Z``).
        manufacturer, model, serial_number, version: CIM_Chassis.
        chassis_type: SMBIOS enclosure type (3 desktop, 1 other).
        guid: PlatformGUID as AMT writes it (32 hex digits, first three groups little-endian).
    """

    bios_vendor: str = "DemoTech"
    bios_version: str = "2.17.1249"
    bios_date: str = "2024-03-14T00:00:00Z"
    manufacturer: str = "DemoTech"
    model: str = "Demo PC"
    serial_number: str = "DT2024X0042"
    version: str = "1.0"
    chassis_type: int = 3
    guid: str = "44454C4C420010358052B7C04F4D3732"


def _cim_date(us_date: str) -> str:
    """``03/14/2024`` -> ``2024-03-14T00:00:00Z``."""
    parts = us_date.split("/")
    if len(parts) != 3:
        return us_date
    month, day, year = parts
    return f"{year}-{month.zfill(2)}-{day.zfill(2)}T00:00:00Z"


def facts_for_host(host: Any) -> MachineFacts:
    """The facts a host of this kind reports (synthetic, QEMU with SeaBIOS, QEMU with OVMF)."""
    from amtterm.sim.host import UefiHost

    kind = type(host).__name__
    if isinstance(host, UefiHost) or str(getattr(host, "firmware", "")).lower() == "ovmf":
        return MachineFacts(
            bios_vendor="EDK II",
            bios_version="0.0.0",
            bios_date="2015-02-06T00:00:00Z",
            manufacturer="QEMU",
            model="Standard PC (Q35 + ICH9, 2009)",
            serial_number="",
            version="pc-q35-7.2",
            chassis_type=1,
        )
    if kind == "QemuHost":
        return MachineFacts(
            bios_vendor="SeaBIOS",
            bios_version="1.16.2-debian-1.16.2-1",
            bios_date="2014-04-01T00:00:00Z",
            manufacturer="QEMU",
            model="Standard PC (i440FX + PIIX, 1996)",
            serial_number="",
            version="pc-i440fx-7.2",
            chassis_type=1,
        )
    hardware = getattr(host, "hardware", None)
    vendor = str(getattr(host, "vendor", "DemoTech"))
    if hardware is None:
        return MachineFacts()
    guid = str(getattr(hardware, "guid", "")).replace("-", "")
    if len(guid) == 32:  # AMT writes the first three groups little-endian
        raw = bytes.fromhex(guid)
        guid = (raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]).hex().upper()
    return MachineFacts(
        bios_vendor=vendor,
        bios_version=str(hardware.bios_version),
        bios_date=_cim_date(str(hardware.bios_date)),
        manufacturer=vendor,
        model="Demo PC",  # what the kernel log's DMI line says
        guid=guid or MachineFacts.guid,
    )


def bios_element(facts: MachineFacts) -> Properties:
    """CIM_BIOSElement (Get)."""
    return [
        ("ElementName", "Primary BIOS"),
        ("Manufacturer", facts.bios_vendor),
        ("Name", "Primary BIOS"),
        ("OperationalStatus", 0),
        ("PrimaryBIOS", True),
        ("ReleaseDate", CimDatetime(facts.bios_date)),
        ("SoftwareElementID", facts.bios_version),
        ("SoftwareElementState", 2),
        ("TargetOperatingSystem", 66),
        ("Version", facts.bios_version),
    ]


def chassis(facts: MachineFacts) -> Properties:
    """CIM_Chassis (Get)."""
    return [
        ("ChassisPackageType", facts.chassis_type),
        ("CreationClassName", "CIM_Chassis"),
        ("ElementName", "Managed System Chassis"),
        ("Manufacturer", facts.manufacturer),
        ("Model", facts.model),
        ("OperationalStatus", 0),
        ("PackageType", 3),
        ("SerialNumber", facts.serial_number),
        ("Tag", "CIM_Chassis"),
        ("Version", facts.version),
    ]


def computer_system_package(facts: MachineFacts) -> Properties:
    """CIM_ComputerSystemPackage (Get): the platform GUID."""
    return [("PlatformGUID", facts.guid)]

"""What the machine is: the AMT SKU, which features it has, its BIOS, firmware and model.

Read part by part, each on its own (older firmware lacks some classes: "unknown" then):

* SKU: CIM_SoftwareIdentity ``Sku`` VersionString, a decimal bit mask (wsman.md §9.2). Bit 3
  (8) = Intel AMT (full manageability), bit 4 (16) = Intel Standard Manageability (no KVM),
  bit 14 (0x4000) = corporate; e.g. 16392 = AMT corporate, 16400 = ISM corporate (Intel's DMT
  sample web UI ``skuLookup`` and rpc-go's SKU table).
* KVM: a CIM_KVMRedirectionSAP instance exists (its Get fails on SKUs without KVM, wsman.md
  §8.2; DMT MPS ``setAMTFeatures.ts``).
* SOL, IDE-R: AMT_BootCapabilities ``SOL`` and ``IDER``. One Click Recovery: AMT 16 or later
  and ``ForceUEFIHTTPSBoot``. Remote Platform Erase: ``PlatformErase`` != 0 (modern-amt.md §1.2, §1.3).
* BIOS: CIM_BIOSElement Manufacturer, Version, ReleaseDate (a wrapped CIM datetime).
* Model: CIM_Chassis Manufacturer, Model, SerialNumber; CIM_ComputerSystemPackage PlatformGUID
  (32 hex digits, the first three groups little-endian, wsman.md §9.5).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final

from amtterm.wsman.operations import UNREADABLE, Transport, enumerate_instances, get_instance
from amtterm.wsman.parse import Instance
from amtterm.wsman.resources import AMT_BOOT_CAPABILITIES, CIM_KVM_REDIRECTION_SAP, CIM_SOFTWARE_IDENTITY

CIM_BIOS_ELEMENT: Final = "CIM_BIOSElement"
CIM_CHASSIS: Final = "CIM_Chassis"
CIM_COMPUTER_SYSTEM_PACKAGE: Final = "CIM_ComputerSystemPackage"
SKU_AMT: Final = 0x8
SKU_ISM: Final = 0x10
SKU_CORPORATE: Final = 0x4000
#: CIM_SoftwareIdentity items shown as firmware versions, in this order.
FIRMWARE_ITEMS: Final = ("AMT", "Flash", "Netstack", "AMTApps", "Build Number", "Recovery Version")


def sku_name(value: int | None) -> str | None:
    """``Intel AMT (full)``, ``Intel Standard Manageability (no KVM)``, ... from the Sku mask."""
    if value is None:
        return None
    if value & SKU_AMT:
        name = "Intel AMT (full manageability)"
    elif value & SKU_ISM:
        name = "Intel Standard Manageability (no KVM)"
    else:
        return f"unknown SKU {value}"
    return name + (", corporate" if value & SKU_CORPORATE else "")


def platform_guid(text: str | None) -> str | None:
    """The usual UUID text of a PlatformGUID (mixed-endian hex, wsman.md §9.5)."""
    if not text:
        return None
    digits = text.replace("-", "").strip()
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        return text
    if len(raw) != 16:
        return text
    ordered = raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]
    hexed = ordered.hex().upper()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def _date(text: str | None) -> str | None:
    """``2024-03-14`` from a CIM datetime (``2024-03-14T00:00:00Z`` or ``20240314000000.000000+000``)."""
    if not text:
        return None
    text = text.strip()
    if len(text) >= 8 and text[:8].isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:8]}"
    return text.split("T", 1)[0]


@dataclass(frozen=True)
class MachineInfo:
    """What ``amtterm info`` and the Info pane say about the machine; None = unknown.

    Attributes:
        sku: e.g. ``Intel AMT (full manageability), corporate``.
        sku_value: the raw Sku mask.
        kvm, sol, ider, ocr, platform_erase: whether the feature is available.
        bios_vendor, bios_version, bios_date: CIM_BIOSElement.
        manufacturer, model, serial_number: CIM_Chassis.
        guid: the platform GUID as a UUID.
        firmware: CIM_SoftwareIdentity InstanceID -> VersionString.
    """

    sku: str | None = None
    sku_value: int | None = None
    kvm: bool | None = None
    sol: bool | None = None
    ider: bool | None = None
    ocr: bool | None = None
    platform_erase: bool | None = None
    bios_vendor: str | None = None
    bios_version: str | None = None
    bios_date: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    guid: str | None = None
    firmware: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return dataclasses.asdict(self)

    @property
    def features(self) -> str:
        """``KVM yes, SOL yes, IDE-R yes, OCR no, Platform Erase unknown``."""

        def word(flag: bool | None) -> str:
            return "unknown" if flag is None else "yes" if flag else "no"

        pairs = (
            ("KVM", self.kvm),
            ("SOL", self.sol),
            ("IDE-R", self.ider),
            ("OCR", self.ocr),
            ("Platform Erase", self.platform_erase),
        )
        return ", ".join(f"{name} {word(flag)}" for name, flag in pairs)

    @property
    def bios(self) -> str | None:
        """``SeaBIOS 1.16.2 (2014-04-01)``, or None when unknown."""
        parts = [p for p in (self.bios_vendor, self.bios_version) if p]
        if not parts:
            return None
        return " ".join(parts) + (f" ({self.bios_date})" if self.bios_date else "")

    @property
    def machine(self) -> str | None:
        """``QEMU Standard PC (Q35 + ICH9, 2009)``, or None when unknown."""
        if self.model and self.manufacturer and self.model.startswith(self.manufacturer):
            return self.model
        parts = [p for p in (self.manufacturer, self.model) if p]
        return " ".join(parts) or None


async def _get(transport: Transport, class_name: str) -> Instance | None:
    try:
        return await get_instance(transport, class_name)
    except UNREADABLE:
        return None


def _major(version: str | None) -> int | None:
    head = (version or "").split(".", 1)[0]
    return int(head) if head.isdigit() else None


async def read_machine(transport: Transport) -> MachineInfo:
    """Read the SKU, features, BIOS, firmware and model; a missing class leaves its fields None.

    Raises:
        AuthError, ConnectError, TlsError, WsmanTimeout: as for any request.
    """
    firmware: dict[str, str] = {}
    try:
        for item in await enumerate_instances(transport, CIM_SOFTWARE_IDENTITY):
            key, value = item.text("InstanceID"), item.text("VersionString")
            if key and value is not None:
                firmware[key] = value
    except UNREADABLE:
        pass
    sku_text = firmware.get("Sku", "")
    sku_value = int(sku_text) if sku_text.strip().isdigit() else None
    capabilities = await _get(transport, AMT_BOOT_CAPABILITIES)
    kvm_sap = await _get(transport, CIM_KVM_REDIRECTION_SAP)
    kvm: bool | None = kvm_sap is not None
    if kvm_sap is None and sku_value is None and not firmware:
        kvm = None
    major = _major(firmware.get("AMT"))
    ocr: bool | None = None
    erase: bool | None = None
    sol = ider = None
    if capabilities is not None:
        sol, ider = capabilities.boolean("SOL"), capabilities.boolean("IDER")
        https = capabilities.boolean("ForceUEFIHTTPSBoot")
        ocr = bool(https) and (major is None or major >= 16)
        mask = (capabilities.text("PlatformErase") or "").strip().lower()
        erase = None if not mask else mask not in ("0", "false")
    bios = await _get(transport, CIM_BIOS_ELEMENT)
    chassis = await _get(transport, CIM_CHASSIS)
    package = await _get(transport, CIM_COMPUTER_SYSTEM_PACKAGE)
    shown: dict[str, str] = {key: firmware[key] for key in FIRMWARE_ITEMS if key in firmware}
    return MachineInfo(
        sku=sku_name(sku_value),
        sku_value=sku_value,
        kvm=kvm,
        sol=sol,
        ider=ider,
        ocr=ocr,
        platform_erase=erase,
        bios_vendor=bios.text("Manufacturer") if bios else None,
        bios_version=bios.text("Version") if bios else None,
        bios_date=_date(bios.text("ReleaseDate")) if bios else None,
        manufacturer=chassis.text("Manufacturer") if chassis else None,
        model=chassis.text("Model") if chassis else None,
        serial_number=chassis.text("SerialNumber") if chassis else None,
        guid=platform_guid(package.text("PlatformGUID")) if package else None,
        firmware=shown,
    )

"""Namespaces, class URIs, instance keys and value maps of the AMT WS-Man classes a console uses.

Everything here is data from ``shared/protocol/wsman.md``; the section is cited beside each
group. No I/O, no XML.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

# -- Namespaces (wsman.md §4.1) ----------------------------------------------------------------
NS_SOAP: Final = "http://www.w3.org/2003/05/soap-envelope"
NS_ADDRESSING: Final = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_WSMAN: Final = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_TRANSFER: Final = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
NS_ENUMERATION: Final = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
NS_EVENTING: Final = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
NS_CIMBINDING: Final = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
NS_COMMON: Final = "http://schemas.dmtf.org/wbem/wscim/1/common"
NS_TRUST: Final = "http://schemas.xmlsoap.org/ws/2005/02/trust"
NS_WSSE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"

#: WS-Management Identify (DSP0226 section 11): request and answer live in this namespace.
NS_IDENTITY: Final = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
SECURITY_PROFILE_HTTP_DIGEST: Final = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/digest"
SECURITY_PROFILE_HTTPS_DIGEST: Final = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/digest"
#: ProductVendor in AMT's IdentifyResponse.
AMT_VENDOR: Final = "Intel Corporation"

ANONYMOUS: Final = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

BASE_CIM: Final = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
BASE_AMT: Final = "http://intel.com/wbem/wscim/1/amt-schema/1/"
BASE_IPS: Final = "http://intel.com/wbem/wscim/1/ips-schema/1/"

# -- Actions (wsman.md §4.3, §4.8) ---------------------------------------------------------------
ACTION_GET: Final = NS_TRANSFER + "/Get"
ACTION_PUT: Final = NS_TRANSFER + "/Put"
ACTION_DELETE: Final = NS_TRANSFER + "/Delete"
ACTION_ENUMERATE: Final = NS_ENUMERATION + "/Enumerate"
ACTION_PULL: Final = NS_ENUMERATION + "/Pull"
ACTION_ADDRESSING_FAULT: Final = NS_ADDRESSING + "/fault"
ACTION_WSMAN_FAULT: Final = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"


def resource_uri(class_name: str) -> str:
    """The ResourceURI (and instance namespace) of a class, chosen by its prefix (§4.1).

    Args:
        class_name: e.g. ``CIM_PowerManagementService``, ``AMT_BootSettingData``.

    Raises:
        ValueError: the prefix is none of CIM_, AMT_, IPS_.
    """
    for prefix, base in (("CIM_", BASE_CIM), ("AMT_", BASE_AMT), ("IPS_", BASE_IPS)):
        if class_name.startswith(prefix):
            return base + class_name
    raise ValueError(f"unknown WS-Man class prefix: {class_name!r}")


def class_name_of(uri: str) -> str:
    """The class name at the end of a ResourceURI."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


# -- Classes (wsman.md §5) -----------------------------------------------------------------------
CIM_COMPUTER_SYSTEM: Final = "CIM_ComputerSystem"
CIM_SERVICE_AVAILABLE_TO_ELEMENT: Final = "CIM_ServiceAvailableToElement"
CIM_ASSOCIATED_POWER_MANAGEMENT_SERVICE: Final = "CIM_AssociatedPowerManagementService"
CIM_POWER_MANAGEMENT_SERVICE: Final = "CIM_PowerManagementService"
CIM_BOOT_CONFIG_SETTING: Final = "CIM_BootConfigSetting"
CIM_BOOT_SOURCE_SETTING: Final = "CIM_BootSourceSetting"
CIM_BOOT_SERVICE: Final = "CIM_BootService"
CIM_SOFTWARE_IDENTITY: Final = "CIM_SoftwareIdentity"
CIM_KVM_REDIRECTION_SAP: Final = "CIM_KVMRedirectionSAP"
AMT_BOOT_CAPABILITIES: Final = "AMT_BootCapabilities"
AMT_BOOT_SETTING_DATA: Final = "AMT_BootSettingData"
AMT_REDIRECTION_SERVICE: Final = "AMT_RedirectionService"
AMT_GENERAL_SETTINGS: Final = "AMT_GeneralSettings"
AMT_SETUP_AND_CONFIGURATION_SERVICE: Final = "AMT_SetupAndConfigurationService"
IPS_OPT_IN_SERVICE: Final = "IPS_OptInService"
IPS_POWER_MANAGEMENT_SERVICE: Final = "IPS_PowerManagementService"
AMT_PUBLIC_KEY_MANAGEMENT_SERVICE: Final = "AMT_PublicKeyManagementService"
AMT_PUBLIC_KEY_CERTIFICATE: Final = "AMT_PublicKeyCertificate"

# Instance keys as AMT spells them; note the space after the colon differs (§5).
MANAGED_SYSTEM_SELECTORS: Final = {"CreationClassName": "CIM_ComputerSystem", "Name": "ManagedSystem"}
BOOT_CONFIG_INSTANCE: Final = "Intel(r) AMT: Boot Configuration 0"
BOOT_SETTING_DATA_INSTANCE: Final = "Intel(r) AMT:BootSettingData 0"
SOURCE_HARD_DRIVE: Final = "Intel(r) AMT: Force Hard-drive Boot"
SOURCE_PXE: Final = "Intel(r) AMT: Force PXE Boot"
SOURCE_CD_DVD: Final = "Intel(r) AMT: Force CD/DVD Boot"
#: One Click Recovery sources, AMT 16+ (modern-amt.md §1.2); the boot options are numbered 1..10.
SOURCE_OCR_HTTPS: Final = "Intel(r) AMT: Force OCR UEFI HTTPS Boot"
SOURCE_OCR_BOOT_OPTION: Final = "Intel(r) AMT: Force OCR UEFI Boot Option"
POWER_SERVICE_NAME: Final = "Intel(r) AMT Power Management Service"
BOOT_SERVICE_NAME: Final = "Intel(r) AMT Boot Service"
REDIRECTION_SERVICE_NAME: Final = "Intel(r) AMT Redirection Service"
OPT_IN_SERVICE_NAME: Final = "Intel(r) AMT OptIn Service"
GENERAL_SETTINGS_INSTANCE: Final = "Intel(r) AMT: General Settings"
SETUP_SERVICE_NAME: Final = "Intel(r) AMT Setup and Configuration Service"
PUBLIC_KEY_SERVICE_NAME: Final = "Intel(r) AMT PublicKey Management Service"
SYSTEM_NAME: Final = "Intel(r) AMT"


# -- Power (wsman.md §6) -------------------------------------------------------------------------
class PowerState(IntEnum):
    """CIM_AssociatedPowerManagementService.PowerState, the DMTF Power State Set (§6.1).

    Requests use the same numbers for the values AMT accepts (§6.2): 2 on, 5 cycle, 8 off,
    10 reset, 4 sleep, 7 hibernate, 12 graceful off, 14 graceful reset.
    """

    OTHER = 1
    ON = 2
    SLEEP_LIGHT = 3
    SLEEP_DEEP = 4
    POWER_CYCLE_SOFT = 5
    OFF_HARD = 6
    HIBERNATE = 7
    OFF_SOFT = 8
    POWER_CYCLE_HARD = 9
    MASTER_BUS_RESET = 10
    NMI = 11
    OFF_SOFT_GRACEFUL = 12
    OFF_HARD_GRACEFUL = 13
    MASTER_BUS_RESET_GRACEFUL = 14
    POWER_CYCLE_SOFT_GRACEFUL = 15
    POWER_CYCLE_HARD_GRACEFUL = 16
    DIAGNOSTIC_INTERRUPT_INIT = 17


# What a console shows for a reported PowerState; any other value is shown by number.
POWER_STATE_NAMES: Final[dict[int, str]] = {
    1: "other",
    2: "on",
    3: "sleep",
    4: "sleep",
    6: "off",
    7: "hibernate",
    8: "off",
    13: "off",
}

# IPS_PowerManagementService.OSPowerSavingState (§6.1).
OS_POWER_SAVING_STANDBY: Final = 3

# -- Redirection (wsman.md §8.1) -----------------------------------------------------------------
REDIRECTION_BASE: Final = 32768
REDIRECTION_IDER_BIT: Final = 1
REDIRECTION_SOL_BIT: Final = 2

# -- Boot (wsman.md §7.3) ------------------------------------------------------------------------
BOOT_ROLE_NEXT_SINGLE_USE: Final = 1
BOOT_ROLE_NOT_NEXT: Final = 32768

# -- One Click Recovery / Remote Platform Erase switch: CIM_BootService.EnabledState (modern-amt.md §1.2)
BOOT_SERVICE_OCR_RPE_OFF: Final = 32768
BOOT_SERVICE_OCR_ON: Final = 32769
BOOT_SERVICE_RPE_ON: Final = 32770
BOOT_SERVICE_OCR_RPE_ON: Final = 32771

# -- Consent (wsman.md §8.3) ---------------------------------------------------------------------
OPT_IN_REQUIRED_NONE: Final = 0
OPT_IN_REQUIRED_KVM: Final = 1
OPT_IN_REQUIRED_ALL: Final = 0xFFFFFFFF
OPT_IN_STATE_NAMES: Final[dict[int, str]] = {
    0: "not started",
    1: "requested",
    2: "displayed",
    3: "received",
    4: "in session",
}

# -- Provisioning (wsman.md §9.3) ----------------------------------------------------------------
PROVISIONING_MODE_ADMIN: Final = 1
PROVISIONING_MODE_CLIENT: Final = 4

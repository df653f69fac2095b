"""The simulated device's CIM instances, built from its state (wsman.md §5, §6-§9).

Key values and names are AMT's, as the captures show them (§5). Each instance is a list of
``(property, value)`` pairs in AMT's (alphabetical) order. Rules kept here: the host being
off drops ``OSPowerSavingState`` (§6.1); the ProvisioningServerOTP is never shown (§9.3);
client control mode reports OptInRequired = ALL and CanModifyOptInPolicy = 0 (§8.3).
"""

from __future__ import annotations

from collections.abc import Callable

from amtterm.sim.wsman import ocr
from amtterm.sim.wsman.replies import Properties
from amtterm.sim.wsman.state import DeviceState
from amtterm.wsman.envelope import EndpointReference
from amtterm.wsman.resources import (
    BOOT_CONFIG_INSTANCE,
    BOOT_SERVICE_NAME,
    BOOT_SETTING_DATA_INSTANCE,
    GENERAL_SETTINGS_INSTANCE,
    MANAGED_SYSTEM_SELECTORS,
    NS_ADDRESSING,
    OPT_IN_SERVICE_NAME,
    POWER_SERVICE_NAME,
    PROVISIONING_MODE_ADMIN,
    PROVISIONING_MODE_CLIENT,
    REDIRECTION_BASE,
    REDIRECTION_SERVICE_NAME,
    SETUP_SERVICE_NAME,
    SOURCE_CD_DVD,
    SOURCE_HARD_DRIVE,
    SOURCE_PXE,
    SYSTEM_NAME,
    resource_uri,
)


def _service_keys(class_name: str, name: str) -> Properties:
    return [
        ("CreationClassName", class_name),
        ("ElementName", name),
        ("Name", name),
        ("SystemCreationClassName", "CIM_ComputerSystem"),
        ("SystemName", SYSTEM_NAME),
    ]


def associated_power_service(state: DeviceState) -> Properties:
    """CIM_AssociatedPowerManagementService: PowerState, what may be requested now, and the last
    state requested (RequestedPowerState, which power drivers read; the current state until a
    console asks for a change) (§6.1, §10.2)."""
    provided = EndpointReference(
        resource_uri("CIM_PowerManagementService"),
        {
            "CreationClassName": "CIM_PowerManagementService",
            "Name": POWER_SERVICE_NAME,
            "SystemCreationClassName": "CIM_ComputerSystem",
            "SystemName": SYSTEM_NAME,
        },
        NS_ADDRESSING,
    )
    user = EndpointReference(resource_uri("CIM_ComputerSystem"), MANAGED_SYSTEM_SELECTORS, NS_ADDRESSING)
    available = state.available_power_states()  # also syncs power_state with the host
    return [
        ("AvailableRequestedPowerStates", available),
        ("PowerState", int(state.power_state)),
        ("RequestedPowerState", state.requested_power_state or int(state.power_state)),
        ("ServiceProvided", provided),
        ("UserOfService", user),
    ]


def ips_power_service(state: DeviceState) -> Properties:
    """IPS_PowerManagementService; OSPowerSavingState only while the host is on (§6.1)."""
    props = _service_keys("IPS_PowerManagementService", POWER_SERVICE_NAME)
    if state.powered:
        props.insert(2, ("OSPowerSavingState", 2))
    return props


def boot_capabilities(state: DeviceState) -> Properties:
    """AMT_BootCapabilities: what this device can boot into (§7.1); PlatformErase from AMT 16."""
    flags: dict[str, bool | int] = {
        "AMTSecureBootControl": False,
        "BIOSPause": True,
        "BIOSSecureBoot": True,
        "BIOSReflash": True,
        "BIOSSetup": True,
        "ConfigurationDataReset": False,
        "ForceCDorDVDBoot": True,
        "ForceDiagnosticBoot": False,
        "ForceHardDriveBoot": True,
        "ForceHardDriveSafeModeBoot": False,
        "ForcePXEBoot": True,
        "ForceUEFIHTTPSBoot": False,
        "ForceUEFIPBABoot": False,
        "ForceWinREBoot": False,
        "ForcedProgressEvents": True,
        "IDER": True,
        "KeyboardLock": True,
        "PowerButtonLock": False,
        "ResetButtonLock": False,
        "SOL": True,
        "SecureErase": False,
        "SleepButtonLock": False,
        "UEFIWiFiCoExistenceAndProfileShare": False,
        "UserPasswordBypass": False,
        "VerbosityQuiet": True,
        "VerbosityScreenBlank": True,
        "VerbosityVerbose": True,
    }
    props: Properties = [
        ("ElementName", "Intel(r) AMT: Boot Capabilities"),
        ("InstanceID", "Intel(r) AMT:BootCapabilities 0"),
    ]
    if state.major_version >= 16:
        flags["PlatformErase"] = 0
    flags.update(ocr.capabilities(state))
    props += flags.items()
    return sorted(props, key=lambda pair: pair[0])


def boot_setting_data(state: DeviceState) -> Properties:
    """AMT_BootSettingData: the writable options plus AMT's read-only fields (§7.2)."""
    boot = state.boot
    props: Properties = [
        ("BIOSLastStatus", [2, 0]),
        ("BootguardStatus", 127),
        ("ElementName", "Intel(r) AMT Boot Configuration Settings"),
        ("EnforceSecureBoot", boot.enforce_secure_boot),
        ("InstanceID", BOOT_SETTING_DATA_INSTANCE),
        ("OptionsCleared", boot.options_cleared),
        ("OwningEntity", SYSTEM_NAME),
        ("RPEEnabled", False),
        ("SecureBootControlEnabled", False),
        ("SecureErase", False),
        ("UEFIHTTPSBootEnabled", False),
        ("UEFILocalPBABootEnabled", False),
        ("UefiBootNumberOfParams", 0),
        ("WinREBootEnabled", False),
    ]
    if state.major_version >= 16:
        props.append(("PlatformErase", False))
    props += boot.options.items()
    return ocr.setting_data(state, sorted(props, key=lambda pair: pair[0]))


def boot_config_setting(state: DeviceState) -> Properties:
    """CIM_BootConfigSetting: the one boot configuration AMT has."""
    return [("ElementName", "Intel(r) AMT: Boot Configuration"), ("InstanceID", BOOT_CONFIG_INSTANCE)]


def boot_sources() -> list[Properties]:
    """CIM_BootSourceSetting: the hard-drive, PXE and CD/DVD sources (§7.3)."""
    table = (
        (SOURCE_HARD_DRIVE, "CIM:Hard-Disk:1"),
        (SOURCE_PXE, "CIM:Network:1"),
        (SOURCE_CD_DVD, "CIM:CD/DVD:1"),
    )
    return [
        [
            ("ElementName", "Intel(r) AMT: Boot Source"),
            ("FailThroughSupported", 2),
            ("InstanceID", instance),
            ("StructuredBootString", boot_string),
        ]
        for instance, boot_string in table
    ]


def redirection_service(state: DeviceState) -> Properties:
    """AMT_RedirectionService: EnabledState = 32768 + IDER + 2 * SOL, and the listener (§8.1)."""
    enabled = REDIRECTION_BASE + int(state.ider_enabled) + 2 * int(state.sol_enabled)
    props = _service_keys("AMT_RedirectionService", REDIRECTION_SERVICE_NAME)
    props.insert(2, ("EnabledState", enabled))
    props.insert(3, ("ListenerEnabled", state.listener_enabled))
    return props


def opt_in_service(state: DeviceState) -> Properties:
    """IPS_OptInService: the consent policy and the flow's state (§8.3)."""
    props = _service_keys("IPS_OptInService", OPT_IN_SERVICE_NAME)
    props[0:0] = [("CanModifyOptInPolicy", 0 if state.control_mode == "client" else 1)]
    props[4:4] = [
        ("OptInCodeTimeout", int(state.consent.code_timeout)),
        ("OptInDisplayTimeout", 300),
        ("OptInRequired", state.opt_in_required),
        ("OptInState", state.consent.state),
    ]
    return props


def general_settings(state: DeviceState) -> Properties:
    """AMT_GeneralSettings: host name, domain, digest realm and network switches (§9.1)."""
    return [
        ("AMTNetworkEnabled", 1),
        ("DDNSPeriodicUpdateInterval", 1440),
        ("DDNSTTL", 900),
        ("DDNSUpdateByDHCPServerEnabled", True),
        ("DDNSUpdateEnabled", False),
        ("DigestRealm", state.digest_realm),
        ("DomainName", state.domain_name),
        ("ElementName", GENERAL_SETTINGS_INSTANCE),
        ("HostName", state.host_name),
        ("HostOSFQDN", f"{state.host_name}.{state.domain_name}"),
        ("IdleWakeTimeout", 65535),
        ("InstanceID", GENERAL_SETTINGS_INSTANCE),
        ("NetworkInterfaceEnabled", True),
        ("PingResponseEnabled", True),
        ("PowerSource", 0),
        ("PreferredAddressFamily", 0),
        ("PresenceNotificationInterval", 0),
        ("PrivacyLevel", 0),
        ("RmcpPingResponseEnabled", True),
        ("SharedFQDN", True),
        ("ThunderboltDockEnabled", 0),
        ("WsmanOnlyMode", False),
    ]


def setup_service(state: DeviceState) -> Properties:
    """AMT_SetupAndConfigurationService: provisioned, in admin (1) or client (4) mode (§9.3)."""
    mode = PROVISIONING_MODE_CLIENT if state.control_mode == "client" else PROVISIONING_MODE_ADMIN
    props = _service_keys("AMT_SetupAndConfigurationService", SETUP_SERVICE_NAME)
    props[2:2] = [("EnabledState", 5)]
    props[4:4] = [("PasswordModel", 1), ("ProvisioningMode", mode), ("ProvisioningState", 2)]
    props.append(("ZeroTouchConfigurationEnabled", False))
    return props


def software_identities(state: DeviceState) -> list[Properties]:
    """CIM_SoftwareIdentity: the firmware version items, ``AMT`` first (§9.2)."""
    version = state.amt_version
    table = (
        ("AMT", version),
        ("Flash", version),
        ("Netstack", version),
        ("AMTApps", version),
        ("Sku", "16392"),
        ("VendorID", "8086"),
        ("Build Number", "3425"),
        ("Recovery Version", version),
        ("Recovery Build Num", "3425"),
        ("Legacy Mode", "False"),
        ("AMT FW Core Version", version),
    )
    return [[("InstanceID", key), ("IsEntity", True), ("VersionString", value)] for key, value in table]


def power_management_service(state: DeviceState) -> Properties:
    """CIM_PowerManagementService: the service RequestPowerStateChange is invoked on."""
    return _service_keys("CIM_PowerManagementService", POWER_SERVICE_NAME)


def boot_service(state: DeviceState) -> Properties:
    """CIM_BootService: the service SetBootConfigRole and RequestStateChange (OCR) are invoked on."""
    return ocr.boot_service(state, _service_keys("CIM_BootService", BOOT_SERVICE_NAME))


# Class name -> singleton builder. Enumerating a singleton yields it as the one item.
SINGLETONS: dict[str, Callable[[DeviceState], Properties]] = {
    "CIM_AssociatedPowerManagementService": associated_power_service,
    "CIM_PowerManagementService": power_management_service,
    "IPS_PowerManagementService": ips_power_service,
    "AMT_BootCapabilities": boot_capabilities,
    "AMT_BootSettingData": boot_setting_data,
    "CIM_BootConfigSetting": boot_config_setting,
    "CIM_BootService": boot_service,
    "AMT_RedirectionService": redirection_service,
    "IPS_OptInService": opt_in_service,
    "AMT_GeneralSettings": general_settings,
    "AMT_SetupAndConfigurationService": setup_service,
    "AMT_PublicKeyManagementService": ocr.public_key_service,
}


def enumerate_items(state: DeviceState, class_name: str) -> list[tuple[str, Properties]] | None:
    """Items of an enumeration as ``(item ResourceURI, properties)``, or None for an unknown class."""
    if class_name == "CIM_ServiceAvailableToElement":
        class_name = "CIM_AssociatedPowerManagementService"
    if class_name == "CIM_SoftwareIdentity":
        return [(resource_uri(class_name), props) for props in software_identities(state)]
    if class_name == "CIM_BootSourceSetting":
        return [(resource_uri(class_name), props) for props in boot_sources() + ocr.boot_sources(state)]
    if class_name == "AMT_PublicKeyCertificate":
        return [(resource_uri(class_name), props) for props in ocr.certificates(state)]
    builder = SINGLETONS.get(class_name)
    return None if builder is None else [(resource_uri(class_name), builder(state))]

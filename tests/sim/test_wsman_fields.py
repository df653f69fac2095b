"""Every instance the simulator serves carries the fields wsman.md (§6-§9) lists for it.

One test per class: the fields a console or a power driver reads must be there, by Get and
(where AMT offers it) by Enumerate/Pull, parsed by our own client parser.
"""

from __future__ import annotations

import pytest

from amtterm.sim.wsman import service
from amtterm.sim.wsman.state import DeviceState
from amtterm.wsman import envelope, parse
from amtterm.wsman.envelope import EndpointReference
from amtterm.wsman.parse import Instance
from amtterm.wsman.resources import MANAGED_SYSTEM_SELECTORS, resource_uri
from tests.wsman.conftest import FakeHost


@pytest.fixture
def state() -> DeviceState:
    return DeviceState(host=FakeHost(), amt_version="16.1.25")


def get(state: DeviceState, class_name: str) -> Instance:
    status, reply = service.handle(envelope.build_get(resource_uri(class_name)), state, 0.0)
    assert status == 200, reply
    return parse.parse_instance(reply, class_name)


def missing(instance: Instance, names: str) -> list[str]:
    return [name for name in names.split() if name not in instance.properties]


APMS_FIELDS = "AvailableRequestedPowerStates PowerState RequestedPowerState ServiceProvided UserOfService"


def test_associated_power_management_service(state: DeviceState) -> None:
    item = get(state, "CIM_AssociatedPowerManagementService")
    assert missing(item, APMS_FIELDS) == []
    assert item.integer("PowerState") == 2 and item.integer("RequestedPowerState") == 2
    assert isinstance(item.reference("UserOfService"), EndpointReference)
    (association,) = pulled_all(state, "CIM_ServiceAvailableToElement")
    assert association.class_name == "CIM_AssociatedPowerManagementService"
    assert missing(association, APMS_FIELDS) == []
    # RequestedPowerState follows what a console asked for.
    managed = EndpointReference(resource_uri("CIM_ComputerSystem"), MANAGED_SYSTEM_SELECTORS)
    request = envelope.build_invoke(
        resource_uri("CIM_PowerManagementService"),
        "RequestPowerStateChange",
        {"PowerState": 8, "ManagedElement": managed},
    )
    assert service.handle(request, state, 1.0)[0] == 200
    after = get(state, "CIM_AssociatedPowerManagementService")
    assert (after.integer("PowerState"), after.integer("RequestedPowerState")) == (8, 8)


def test_power_management_services(state: DeviceState) -> None:
    keys = "CreationClassName ElementName Name SystemCreationClassName SystemName"
    assert missing(get(state, "CIM_PowerManagementService"), keys) == []
    ips = get(state, "IPS_PowerManagementService")
    assert missing(ips, keys + " OSPowerSavingState") == []


def test_boot_capabilities(state: DeviceState) -> None:
    fields = (
        "IDER SOL BIOSReflash BIOSSetup BIOSPause ForcePXEBoot ForceHardDriveBoot "
        "ForceHardDriveSafeModeBoot ForceDiagnosticBoot ForceCDorDVDBoot VerbosityScreenBlank "
        "PowerButtonLock ResetButtonLock KeyboardLock SleepButtonLock UserPasswordBypass "
        "ForcedProgressEvents VerbosityVerbose VerbosityQuiet ConfigurationDataReset BIOSSecureBoot "
        "SecureErase ForceWinREBoot ForceUEFIPBABoot ForceUEFIHTTPSBoot AMTSecureBootControl "
        "UEFIWiFiCoExistenceAndProfileShare PlatformErase ElementName InstanceID"
    )
    assert missing(get(state, "AMT_BootCapabilities"), fields) == []
    state.amt_version = "11.8.55"
    assert "PlatformErase" not in get(state, "AMT_BootCapabilities").properties  # CSME 16+ only


def test_boot_setting_data(state: DeviceState) -> None:
    writable = (
        "UseSOL UseSafeMode ReflashBIOS BIOSSetup BIOSPause LockPowerButton LockResetButton "
        "LockSleepButton LockKeyboard UserPasswordBypass ForcedProgressEvents FirmwareVerbosity "
        "ConfigurationDataReset UseIDER IDERBootDevice EnforceSecureBoot BootMediaIndex SecureErase "
        "UefiBootNumberOfParams PlatformErase"
    )
    read_only = (
        "InstanceID ElementName OwningEntity BIOSLastStatus BootguardStatus OptionsCleared RPEEnabled "
        "SecureBootControlEnabled UEFIHTTPSBootEnabled UEFILocalPBABootEnabled WinREBootEnabled"
    )
    item = get(state, "AMT_BootSettingData")
    assert missing(item, writable + " " + read_only) == []
    assert item.integers("BIOSLastStatus") == [2, 0]


def test_redirection_service(state: DeviceState) -> None:
    fields = (
        "CreationClassName ElementName EnabledState ListenerEnabled Name SystemCreationClassName SystemName"
    )
    item = get(state, "AMT_RedirectionService")
    assert missing(item, fields) == []
    assert item.integer("EnabledState") == 32771


def test_opt_in_service(state: DeviceState) -> None:
    fields = (
        "CanModifyOptInPolicy OptInCodeTimeout OptInDisplayTimeout OptInRequired OptInState "
        "Name ElementName CreationClassName SystemName SystemCreationClassName"
    )
    assert missing(get(state, "IPS_OptInService"), fields) == []


def test_general_settings(state: DeviceState) -> None:
    fields = (
        "HostName DomainName DigestRealm NetworkInterfaceEnabled AMTNetworkEnabled PowerSource "
        "SharedFQDN HostOSFQDN PrivacyLevel PreferredAddressFamily PingResponseEnabled "
        "RmcpPingResponseEnabled IdleWakeTimeout WsmanOnlyMode ThunderboltDockEnabled InstanceID ElementName"
    )
    assert missing(get(state, "AMT_GeneralSettings"), fields) == []


def test_setup_and_configuration_service(state: DeviceState) -> None:
    fields = (
        "ProvisioningState ProvisioningMode EnabledState PasswordModel ZeroTouchConfigurationEnabled Name"
    )
    item = get(state, "AMT_SetupAndConfigurationService")
    assert missing(item, fields) == []
    assert "ProvisioningServerOTP" not in item.properties  # never shown (§9.3)


def test_software_identity(state: DeviceState) -> None:
    items = pulled_all(state, "CIM_SoftwareIdentity")
    ids = [item.text("InstanceID") for item in items]
    assert ids[0] == "AMT" and {"Sku", "Build Number", "Legacy Mode", "AMT FW Core Version"} <= set(ids)
    assert all(missing(item, "InstanceID IsEntity VersionString") == [] for item in items)


def test_boot_config_and_sources(state: DeviceState) -> None:
    assert missing(get(state, "CIM_BootConfigSetting"), "InstanceID ElementName") == []
    assert missing(get(state, "CIM_BootService"), "Name CreationClassName SystemName") == []
    sources = pulled_all(state, "CIM_BootSourceSetting")
    assert len(sources) == 3
    assert all(missing(s, "InstanceID StructuredBootString FailThroughSupported") == [] for s in sources)


def pulled_all(state: DeviceState, class_name: str) -> list[Instance]:
    uri = resource_uri(class_name)
    _, reply = service.handle(envelope.build_enumerate(uri), state, 0.0)
    context: str | None = parse.parse_enumerate(reply)
    items: list[Instance] = []
    while context is not None:
        _, text = service.handle(envelope.build_pull(uri, context), state, 0.0)
        page = parse.parse_pull(text)
        items += page.items
        context = page.context
    return items

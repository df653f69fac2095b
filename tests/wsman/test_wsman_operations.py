"""Every operation against the simulator's service through an in-memory transport."""

from __future__ import annotations

import pytest

from amtterm.errors import (
    ConfigError,
    WsmanAccessDenied,
    WsmanNotSupported,
    WsmanRefused,
    WsmanReturnValueError,
)
from amtterm.sim.wsman.state import PowerEvent
from amtterm.wsman import boot, envelope, operations, parse
from amtterm.wsman.resources import SOURCE_PXE, resource_uri
from tests.wsman.conftest import Device

# -- power ----------------------------------------------------------------------------------------


async def test_power_status_on_and_off(device: Device) -> None:
    status = await operations.power_status(device.transport)
    assert (status.state, status.power_state, status.actions) == ("on", 2, ("off", "cycle", "reset"))
    assert len(device.requests) == 1  # one Get, one round trip
    device.host.powered = False  # the PC switched itself off
    status = await operations.power_status(device.transport)
    assert (status.state, status.power_state, status.actions) == ("off", 8, ("on",))


async def test_power_off_then_on_drives_the_host_and_tells_listeners(device: Device) -> None:
    result = await operations.power_action(device.transport, "off")
    assert (result.sent, result.before, result.message) == (8, "on", "Powered the machine off.")
    assert device.host.calls == ["off"] and not device.host.powered
    result = await operations.power_action(device.transport, "on")
    assert result.sent == 2 and device.host.powered
    assert [(e.kind, e.powered) for e in device.events] == [("off", False), ("on", True)]
    assert all(isinstance(e, PowerEvent) and e.now == device.clock.now for e in device.events)


async def test_on_when_on_and_off_when_off_send_nothing(device: Device) -> None:
    result = await operations.power_action(device.transport, "on")
    assert result.sent is None and result.message == "The machine is already on; nothing was sent."
    device.host.powered = False
    result = await operations.power_action(device.transport, "off")
    assert result.sent is None and "already off" in result.message
    assert device.host.calls == []


async def test_reset_and_cycle_when_on(device: Device) -> None:
    assert (await operations.power_action(device.transport, "reset")).sent == 10
    assert (await operations.power_action(device.transport, "cycle")).sent == 5
    assert device.host.calls == ["reset:None", "off", "on:None"]
    assert [e.kind for e in device.events] == ["reset", "cycle"]


@pytest.mark.parametrize("action", ["reset", "cycle", "soft-off", "soft-reset"])
async def test_actions_needing_power_are_refused_when_off(device: Device, action: str) -> None:
    device.host.powered = False
    with pytest.raises(WsmanRefused) as caught:
        await operations.power_action(device.transport, action)
    assert str(caught.value) == f"The machine is off, {action} needs it on; use 'power on' instead."


async def test_device_refuses_reset_while_off_even_unchecked(device: Device) -> None:
    device.host.powered = False
    with pytest.raises(WsmanReturnValueError) as caught:
        await operations.request_power_state(device.transport, 10, "reset")
    assert caught.value.return_value == 2


@pytest.mark.parametrize("action", ["off", "cycle"])
async def test_off_and_cycle_are_refused_while_a_redirection_session_is_open(
    device: Device, action: str
) -> None:
    device.state.set_session_open("sol", True, device.clock.now)
    with pytest.raises(WsmanReturnValueError) as caught:
        await operations.power_action(device.transport, action)
    assert "a redirection session (SOL, IDE-R or KVM) is open" in str(caught.value)
    assert device.host.calls == []
    # a reset is allowed: SOL stays attached across resets
    assert (await operations.power_action(device.transport, "reset")).sent == 10


@pytest.mark.parametrize("action", ["soft-off", "soft-reset"])
async def test_soft_actions_need_lms(device: Device, action: str) -> None:
    with pytest.raises(WsmanRefused, match=f"does not offer {action} now.*Intel LMS"):
        await operations.power_action(device.transport, action)
    device.state.lms_present = True
    status = await operations.power_status(device.transport)
    assert "soft-off" in status.actions and "soft-reset" in status.actions
    result = await operations.power_action(device.transport, action)
    assert result.sent == {"soft-off": 12, "soft-reset": 14}[action]
    assert device.host.powered is (action == "soft-reset")


async def test_soft_actions_need_amt_10(device: Device) -> None:
    device.state.lms_present = True
    device.state.amt_version = "9.5.3"
    with pytest.raises(WsmanRefused):
        await operations.power_action(device.transport, "soft-off")


async def test_unknown_power_action(device: Device) -> None:
    with pytest.raises(ConfigError, match="Unknown power action 'explode'"):
        await operations.power_action(device.transport, "explode")


# -- boot -----------------------------------------------------------------------------------------


async def test_reset_into_bios_setup_with_sol(device: Device) -> None:
    result = await boot.boot_override(device.transport, "bios", sol=True, then="reset")
    assert result.power == "reset"
    assert result.message == "The machine boots into BIOS setup with its text on SOL now: reset."
    assert device.host.calls == ["reset:bios"]
    # consumed by that boot: the next one is normal
    assert device.state.boot.next_target() is None and device.state.boot.options_cleared
    await operations.power_action(device.transport, "reset")
    assert device.host.calls[-1] == "reset:None"


async def test_call_order_follows_7_4(device: Device) -> None:
    await boot.boot_override(device.transport, "pxe", then="reset")
    actions = [parse.parse_request(r).action.rsplit("/", 1)[-1] for r in device.requests]
    assert actions == [
        "Get",  # IPS_OptInService (consent check)
        "Get",  # power state
        "Get",  # AMT_BootSettingData
        "ChangeBootOrder",  # empty
        "Put",
        "SetBootConfigRole",
        "ChangeBootOrder",  # the PXE source
        "RequestPowerStateChange",
    ]
    assert device.host.calls == ["reset:pxe"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("bios", "bios"),
        ("bios-pause", "bios-pause"),
        ("pxe", "pxe"),
        ("disk", "disk"),
        ("cd", "cd"),
        ("ider-cd", "ider-cd"),
        ("ider-floppy", "ider-floppy"),
    ],
)
async def test_power_on_into_each_target(device: Device, target: str, expected: str) -> None:
    device.host.powered = False
    result = await boot.boot_override(device.transport, target, then="reset")
    assert result.power == "on"  # reset of a machine that is off powers it on
    assert device.host.calls == [f"on:{expected}"]


async def test_override_without_power_waits_for_the_next_boot(device: Device) -> None:
    result = await boot.boot_override(device.transport, "disk")
    assert result.power is None and "on the next boot" in result.message
    assert device.state.boot.next_target() == "disk"
    await operations.power_action(device.transport, "cycle")
    assert device.host.calls == ["off", "on:disk"]


async def test_clear_drops_an_armed_override(device: Device) -> None:
    await boot.boot_override(device.transport, "ider-cd")
    assert device.state.boot.next_target() == "ider-cd"
    result = await boot.boot_override(device.transport, "clear")
    assert result.message == "Cleared the one-time boot override."
    assert device.state.boot.next_target() is None


async def test_then_on_while_on_is_refused_before_any_change(device: Device) -> None:
    with pytest.raises(WsmanRefused, match="already on; use --then reset"):
        await boot.boot_override(device.transport, "bios", then="on")
    assert device.state.boot.next_target() is None


async def test_ider_needs_ider_enabled_and_sol_needs_sol(device: Device) -> None:
    device.state.ider_enabled = False
    with pytest.raises(WsmanRefused, match="IDE-R redirection is disabled"):
        await boot.boot_override(device.transport, "ider-floppy")
    device.state.listener_enabled = False
    with pytest.raises(WsmanRefused, match="SOL redirection is disabled"):
        await boot.boot_override(device.transport, "bios", sol=True)


@pytest.mark.parametrize(
    ("target", "sol", "then"),
    [("pxe", True, None), ("clear", True, None), ("usb", False, None), ("bios", False, "off")],
)
async def test_bad_boot_arguments(device: Device, target: str, sol: bool, then: str | None) -> None:
    with pytest.raises(ConfigError):
        await boot.boot_override(device.transport, target, sol=sol, then=then)
    assert device.requests == []


async def test_device_refuses_a_source_while_sol_is_set(device: Device) -> None:
    await boot.boot_override(device.transport, "bios", sol=True)
    with pytest.raises(WsmanReturnValueError, match="refused the boot source"):
        await boot.change_boot_order(device.transport, SOURCE_PXE)


async def test_device_faults_on_sol_while_a_source_is_set(device: Device) -> None:
    await boot.boot_override(device.transport, "pxe")
    body = boot.boot_setting_values({}, "bios", sol=True)
    with pytest.raises(Exception, match=r"InternalError.*AMT-STATUS 0x24 INVALID_PARAMETER"):
        await operations.put_instance(device.transport, "AMT_BootSettingData", body)


# -- consent --------------------------------------------------------------------------------------


async def test_consent_not_required_in_admin_mode(device: Device) -> None:
    status = await operations.consent_request(device.transport)
    assert status.required == "none" and status.message == "This device does not require user consent."


async def test_client_mode_boot_needs_consent_and_the_code_gives_it(device: Device) -> None:
    device.state.control_mode = "client"
    device.state.code_source = lambda: "042137"
    status = await operations.consent_status(device.transport)
    assert (status.required, status.state, status.granted) == ("all", "not started", False)
    with pytest.raises(WsmanRefused, match="User consent is required"):
        await boot.boot_override(device.transport, "bios", then="reset")
    # the device itself also refuses, with the AccessDenied fault
    with pytest.raises(WsmanAccessDenied):
        await boot.set_boot_config_role(device.transport, 1)

    status = await operations.consent_request(device.transport)
    assert status.state == "displayed" and "6-digit code" in (status.message or "")
    assert device.host.messages == ["Intel(R) AMT user consent code: 042137"]
    with pytest.raises(WsmanReturnValueError, match="did not accept the code 123456"):
        await operations.consent_code(device.transport, "123456")
    status = await operations.consent_code(device.transport, "042137")
    assert status.granted and status.state == "received"
    assert device.host.messages[-1] is None  # the code box is gone
    await boot.boot_override(device.transport, "bios", then="reset")
    assert device.host.calls == ["reset:bios"]


async def test_consent_lapses_without_a_session(device: Device) -> None:
    device.state.control_mode = "client"
    device.state.code_source = lambda: "000001"
    await operations.consent_request(device.transport)
    await operations.consent_code(device.transport, "000001")
    await boot.boot_override(device.transport, "bios")
    device.clock.now += 121
    status = await operations.consent_status(device.transport)
    assert not status.granted
    assert device.state.boot.next_target() is None  # AMT clears boot options when consent lapses
    with pytest.raises(WsmanRefused, match="consent"):
        await boot.boot_override(device.transport, "bios")


async def test_an_open_session_keeps_consent(device: Device) -> None:
    device.state.control_mode = "client"
    device.state.code_source = lambda: "555555"
    await operations.consent_request(device.transport)
    await operations.consent_code(device.transport, "555555")
    device.state.set_session_open("ider", True, device.clock.now)
    device.clock.now += 600
    assert (await operations.consent_status(device.transport)).state == "in session"
    device.state.set_session_open("ider", False, device.clock.now)
    device.clock.now += 60
    assert (await operations.consent_status(device.transport)).granted


async def test_repeated_wrong_codes_block_requests(device: Device) -> None:
    device.state.control_mode = "client"
    device.state.code_source = lambda: "111111"
    await operations.consent_request(device.transport)
    for _ in range(3):
        with pytest.raises(WsmanReturnValueError):
            await operations.consent_code(device.transport, "222222")
    assert (await operations.consent_status(device.transport)).state == "not started"
    with pytest.raises(WsmanReturnValueError, match="blocks consent requests"):
        await operations.consent_request(device.transport)
    device.clock.now += 61
    assert (await operations.consent_request(device.transport)).state == "displayed"


async def test_a_stale_code_is_cancelled_and_a_new_one_shown(device: Device) -> None:
    device.state.control_mode = "client"
    codes = iter(["100000", "200000"])
    device.state.code_source = lambda: next(codes)
    await operations.consent_request(device.transport)
    await operations.consent_request(device.transport)
    assert device.host.messages == [
        "Intel(R) AMT user consent code: 100000",
        None,
        "Intel(R) AMT user consent code: 200000",
    ]


async def test_consent_request_while_off_shows_the_code_at_power_on(device: Device) -> None:
    device.state.control_mode = "client"
    device.state.code_source = lambda: "654321"
    device.host.powered = False
    status = await operations.consent_request(device.transport)
    assert status.state == "requested" and "The machine is off" in (status.message or "")
    assert device.host.messages == []
    await operations.power_action(device.transport, "on")
    assert device.host.messages == ["Intel(R) AMT user consent code: 654321"]


@pytest.mark.parametrize("code", ["12345", "1234567", "12a456", ""])
async def test_consent_code_must_be_six_digits(device: Device, code: str) -> None:
    with pytest.raises(ConfigError, match="6 digits"):
        await operations.consent_code(device.transport, code)


# -- redirection and info -------------------------------------------------------------------------


async def test_redirection_disable_enable(device: Device) -> None:
    status = await operations.redirection_status(device.transport)
    assert (status.listener, status.sol, status.ider, status.enabled_state) == (True, True, True, 32771)
    status = await operations.set_redirection(device.transport, False)
    assert (status.listener, status.sol, status.ider, status.enabled_state) == (False, False, False, 32768)
    assert not device.state.listener_enabled and not device.state.sol_enabled
    status = await operations.set_redirection(device.transport, True, ider=False)
    assert (status.listener, status.sol, status.ider) == (True, True, False)
    assert status.sol_usable and not status.ider_usable


async def test_redirection_enable_refused_when_mebx_forbids_it(device: Device) -> None:
    device.state.redirection_allowed_in_mebx = False
    with pytest.raises(WsmanReturnValueError, match="MEBx"):
        await operations.set_redirection(device.transport, True)


async def test_info(device: Device) -> None:
    info = await operations.device_info(device.transport)
    assert info.amt_version == "16.1.25"
    assert info.control_mode == "admin"
    assert info.fqdn == "simhost.sim.invalid"
    assert info.digest_realm == device.state.digest_realm
    assert info.power.state == "on" and info.redirection.listener
    device.state.control_mode = "client"
    assert (await operations.device_info(device.transport)).control_mode == "client"
    assert info.to_json()["power"]["state"] == "on"


async def test_absent_class_is_not_supported_and_enumerates_empty(device: Device) -> None:
    with pytest.raises(WsmanNotSupported):
        await operations.get_instance(device.transport, "CIM_KVMRedirectionSAP")
    assert await operations.enumerate_instances(device.transport, "CIM_KVMRedirectionSAP") == []


async def test_enumeration_pages_and_single_use_contexts(device: Device) -> None:
    uri = resource_uri("CIM_SoftwareIdentity")
    context = parse.parse_enumerate(await device.transport(envelope.build_enumerate(uri)))
    names = []
    while context is not None:
        page = parse.parse_pull(await device.transport(envelope.build_pull(uri, context, max_elements=4)))
        assert len(page.items) <= 4
        names += [item.text("InstanceID") for item in page.items]
        with pytest.raises(Exception, match="InvalidEnumerationContext"):
            parse.parse_pull(await device.transport(envelope.build_pull(uri, context)))
        context = page.context
    assert names[0] == "AMT" and len(names) == 11


async def test_wrong_selectors_and_unknown_methods_fault(device: Device) -> None:
    uri = resource_uri("CIM_PowerManagementService")
    with pytest.raises(Exception, match="InvalidSelectors"):
        parse.parse_reply(await device.transport(envelope.build_get(uri, selectors={"Name": "nope"})))
    right = {"Name": "Intel(r) AMT Power Management Service"}
    assert parse.parse_instance(
        await device.transport(envelope.build_get(uri, selectors=right)), "CIM_PowerManagementService"
    )
    with pytest.raises(Exception, match="ActionNotSupported"):
        parse.parse_reply(await device.transport(envelope.build_invoke(uri, "SelfDestruct", {})))

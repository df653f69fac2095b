"""The one-time boot override: BIOS setup, PXE, disk, CD, IDE-R, with optional SOL, then power.

Order of calls (wsman.md §7.4, the MeshCommander/console order, the most exercised):

1. Get AMT_BootSettingData.
2. ChangeBootOrder with no Source: clear the source first, because UseSOL, UseIDER,
   BIOSSetup and BIOSPause cannot be set while a source is selected (§7.2, §12.1).
3. Put AMT_BootSettingData with every writable option false/0 except the target's.
4. SetBootConfigRole(1) = IsNextSingleUse (for ``clear``: 32768 = IsNotNext, §7.5).
5. ChangeBootOrder(source), or empty again for BIOS/IDE-R targets.
6. RequestPowerStateChange: 2 when off, 10 (reset) when on (§10.4 step 6).

Checked first, so that nothing is half-set: user consent when the device requires it for
everything (client control mode, §7.6: check instead of trusting a fault), redirection
switches for IDE-R targets and ``sol``, and the power state for ``then``. IDE-R boot uses
UseIDER + IDERBootDevice and no source: "Force CD/DVD Boot" is the physical drive (§12.1).
"""

from __future__ import annotations

import contextlib
from typing import Final

from amtterm.errors import ConfigError, WsmanRefused, WsmanReturnValueError
from amtterm.wsman.envelope import EndpointReference, Value
from amtterm.wsman.operations import (
    Transport,
    consent_status,
    get_instance,
    invoke,
    power_status,
    put_instance,
    redirection_status,
    request_power_state,
)
from amtterm.wsman.resources import (
    AMT_BOOT_SETTING_DATA,
    BOOT_CONFIG_INSTANCE,
    BOOT_ROLE_NEXT_SINGLE_USE,
    BOOT_ROLE_NOT_NEXT,
    CIM_BOOT_CONFIG_SETTING,
    CIM_BOOT_SERVICE,
    CIM_BOOT_SOURCE_SETTING,
    SOURCE_CD_DVD,
    SOURCE_HARD_DRIVE,
    SOURCE_PXE,
    PowerState,
    resource_uri,
)
from amtterm.wsman.results import BOOT_TARGETS, BootResult

# Writable AMT_BootSettingData options a console zeroes (§7.2, §10.4 step 3), in AMT's order.
ZEROED_BOOLEANS: Final = (
    "BIOSPause",
    "BIOSSetup",
    "ConfigurationDataReset",
    "ForcedProgressEvents",
    "LockKeyboard",
    "LockPowerButton",
    "LockResetButton",
    "LockSleepButton",
    "ReflashBIOS",
    "UseIDER",
    "UseSOL",
    "UseSafeMode",
    "UserPasswordBypass",
)
ZEROED_NUMBERS: Final = ("BootMediaIndex", "FirmwareVerbosity", "IDERBootDevice")

# target -> (AMT_BootSettingData changes, boot source InstanceID or None) (§7.4 per-action table)
TARGETS: Final[dict[str, tuple[dict[str, Value], str | None]]] = {
    "bios": ({"BIOSSetup": True}, None),
    "bios-pause": ({"BIOSPause": True}, None),
    "pxe": ({}, SOURCE_PXE),
    "disk": ({}, SOURCE_HARD_DRIVE),
    "cd": ({}, SOURCE_CD_DVD),
    "ider-cd": ({"UseIDER": True, "IDERBootDevice": 1}, None),
    "ider-floppy": ({"UseIDER": True, "IDERBootDevice": 0}, None),
    "clear": ({}, None),
}

DESCRIPTIONS: Final = {
    "bios": "BIOS setup",
    "bios-pause": "a BIOS pause",
    "pxe": "PXE network boot",
    "disk": "the hard disk",
    "cd": "the local CD/DVD drive",
    "ider-cd": "the IDE-R CD image",
    "ider-floppy": "the IDE-R floppy image",
    "https": "a UEFI HTTPS boot",
}


def boot_setting_values(current: dict[str, Value], target: str, sol: bool) -> dict[str, Value]:
    """The AMT_BootSettingData instance to Put for ``target``.

    Args:
        current: the instance as read (keys kept: InstanceID, ElementName, OwningEntity,
            EnforceSecureBoot, SecureErase if present).
        target: a key of :data:`TARGETS`.
        sol: set UseSOL so firmware text goes to Serial-over-LAN.
    """
    values: dict[str, Value] = {name: False for name in ZEROED_BOOLEANS}
    values.update({name: 0 for name in ZEROED_NUMBERS})
    for key in ("InstanceID", "ElementName", "OwningEntity", "EnforceSecureBoot", "SecureErase"):
        if current.get(key) is not None:
            values[key] = current[key]
    values.update(TARGETS[target][0])
    values["UseSOL"] = sol
    return dict(sorted(values.items()))


def _boot_config() -> EndpointReference:
    return EndpointReference(resource_uri(CIM_BOOT_CONFIG_SETTING), {"InstanceID": BOOT_CONFIG_INSTANCE})


async def change_boot_order(transport: Transport, source: str | None) -> None:
    """ChangeBootOrder with one Source EPR, or none to clear the source (§7.3)."""
    arguments: dict[str, Value] = {}
    if source is not None:
        arguments["Source"] = EndpointReference(resource_uri(CIM_BOOT_SOURCE_SETTING), {"InstanceID": source})

    def explain(value: int) -> str:
        what = f"the boot source {source!r}" if source else "clearing the boot source"
        return f"The device refused {what} (ChangeBootOrder ReturnValue {value})."

    await invoke(transport, CIM_BOOT_CONFIG_SETTING, "ChangeBootOrder", arguments, explain)


async def set_boot_config_role(transport: Transport, role: int) -> None:
    """SetBootConfigRole: 1 uses the configuration on the next boot only, 32768 disables it."""
    await invoke(
        transport,
        CIM_BOOT_SERVICE,
        "SetBootConfigRole",
        {"BootConfigSetting": _boot_config(), "Role": role},
        lambda value: f"The device refused to arm the one-time boot (SetBootConfigRole ReturnValue {value}).",
    )


async def _check_first(transport: Transport, target: str, sol: bool, then: str | None) -> bool:
    """Refuse before changing anything; returns whether the machine is on (when ``then``)."""
    consent = await consent_status(transport)
    if consent.needed_for_boot:
        raise WsmanRefused(
            "User consent is required to change boot options on this device: run "
            "'amtterm consent HOST request', then 'amtterm consent HOST code NNNNNN' with the code "
            "shown on the host's screen."
        )
    if target.startswith("ider") or sol:
        redirection = await redirection_status(transport)
        if target.startswith("ider") and not redirection.ider_usable:
            raise WsmanRefused(
                "IDE-R redirection is disabled on the device; run 'amtterm redirection HOST enable' first."
            )
        if sol and not redirection.sol_usable:
            raise WsmanRefused(
                "SOL redirection is disabled on the device; run 'amtterm redirection HOST enable' first."
            )
    if then is None:
        return False
    power = await power_status(transport)
    is_on = power.power_state == PowerState.ON
    if then == "on" and is_on:
        raise WsmanRefused(
            f"The machine is already on; use --then reset to boot into {DESCRIPTIONS[target]} now."
        )
    return is_on


async def check_boot(
    transport: Transport, target: str, *, sol: bool = False, then: str | None = None
) -> bool:
    """Raise what :func:`boot_override` would refuse for (consent, redirection, power), changing
    nothing: for a caller that must know before it starts something else (an IDE-R session).

    Returns:
        Whether the machine is on (read only when ``then`` is given; False otherwise).

    Raises:
        WsmanRefused: consent missing, redirection disabled, or ``then=on`` while on.
    """
    return await _check_first(transport, target, sol, then)


async def boot_override(
    transport: Transport, target: str, *, sol: bool = False, then: str | None = None
) -> BootResult:
    """Set (or clear) the one-time boot override, optionally with SOL, then power on or reset.

    Args:
        transport: the device.
        target: ``bios``, ``bios-pause``, ``pxe``, ``disk``, ``cd``, ``ider-cd``, ``ider-floppy``
            or ``clear``.
        sol: redirect BIOS/boot text to SOL (UseSOL); not with a boot source (pxe, disk, cd).
        then: ``on`` to power on (refused when on), ``reset`` to reset (powers on when off),
            or None to leave power alone so the override waits for the next boot.

    Raises:
        ConfigError: unknown target or ``then``, or ``sol`` with a source target or ``clear``.
        WsmanRefused: consent missing, redirection disabled, or ``then=on`` while on.
        WsmanFault / WsmanReturnValueError: the device refused a step.
    """
    if target not in TARGETS:
        raise ConfigError(f"Unknown boot target {target!r}; use one of {', '.join(BOOT_TARGETS)}.")
    if then not in (None, "on", "reset"):
        raise ConfigError(f"Unknown power step {then!r} after boot; use 'on' or 'reset'.")
    source = TARGETS[target][1]
    if sol and (source is not None or target == "clear"):
        raise ConfigError(
            "--sol goes with bios, bios-pause, ider-cd and ider-floppy only: AMT refuses SOL "
            "redirection together with a boot source."
        )
    is_on = await _check_first(transport, target, sol, then)

    current = await get_instance(transport, AMT_BOOT_SETTING_DATA)
    read: dict[str, Value] = {name: current.text(name) for name in current.properties}
    await change_boot_order(transport, None)
    await put_instance(transport, AMT_BOOT_SETTING_DATA, boot_setting_values(read, target, sol))
    if target == "clear":
        # IsNotNext exists from AMT 7.0 on; the zeroed options already clear the rest (§7.5).
        with contextlib.suppress(WsmanReturnValueError):
            await set_boot_config_role(transport, BOOT_ROLE_NOT_NEXT)
    else:
        await set_boot_config_role(transport, BOOT_ROLE_NEXT_SINGLE_USE)
        await change_boot_order(transport, source)

    power: str | None = None
    if then is not None:
        power = "reset" if is_on else "on"
        number = PowerState.MASTER_BUS_RESET if is_on else PowerState.ON
        await request_power_state(transport, int(number), power)
    return BootResult(target, sol, power, _message(target, sol, power))


def _message(target: str, sol: bool, power: str | None) -> str:
    if target == "clear":
        after = {None: "", "on": " Then powered the machine on.", "reset": " Then reset the machine."}[power]
        return "Cleared the one-time boot override." + after
    with_sol = " with its text on SOL" if sol else ""
    when = {None: "on the next boot", "on": "now: powered on", "reset": "now: reset"}[power]
    ider = (
        " The IDE-R session must be serving the image when the machine starts."
        if target.startswith("ider")
        else ""
    )
    return f"The machine boots into {DESCRIPTIONS[target]}{with_sol} {when}.{ider}"

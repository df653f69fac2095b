"""After ``boot ... --then reset``: follow the event log and say in one sentence what happened.

A device that could not do what was asked often says nothing (an HTTPS boot whose server it
distrusts "boots normally and reports no error", modern-amt.md §1.2), so the console checks:
it reads the event log before the reset, then polls it (bounded) and judges the events that
are new. Rules, for the requested target:

* ``bios``: BIOS setup entered (progress code 0x05) = done; an OS boot or a boot device
  first = not done.
* ``ider-cd``, ``ider-floppy``, ``pxe``, ``cd``, ``disk``: that boot device selected = done; a
  boot failure of that device, or another device booted = not done.
* ``bios-pause``: POST progress seen, then no boot device and no OS boot for
  :data:`PAUSE_SETTLE` seconds = done (the BIOS waits for a key).
* An HTTPS boot failure ends the wait at once, with the firmware's reason.
* When the machine booted its normal way, AMT_BootSettingData tells whether the BIOS took the
  options: OptionsCleared true with BIOSLastStatus[0] = 2 ("not updated", [I] from Intel's
  class reference: 0 success, 1 in progress, 2 not updated) means the one-time setting was
  cleared without being used.

Records are compared byte for byte with the log read before the reset, so the device's clock
(often local time, or wrong) does not matter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from amtterm.wsman.eventlog import DEVICE_NAMES, Event, new_events, read_events
from amtterm.wsman.operations import UNREADABLE, Transport, get_instance
from amtterm.wsman.resources import AMT_BOOT_SETTING_DATA

#: How long ``--wait`` follows the log by default, and how often it reads it.
DEFAULT_WAIT: Final = 120.0
POLL_SECONDS: Final = 2.0
#: Boot targets that name a boot device, and the device key :class:`Event` uses for them.
TARGET_DEVICES: Final[dict[str, str]] = {
    "ider-cd": "ider-cd",
    "ider-floppy": "ider-floppy",
    "pxe": "pxe",
    "cd": "cd",
    "disk": "disk",
    "https": "https",
}
BIOS_NOT_UPDATED: Final = 2
#: How long after POST a ``bios-pause`` boot must stay quiet to count as paused.
PAUSE_SETTLE: Final = 15.0


@dataclass(frozen=True)
class BootOutcome:
    """What a boot did, judged from the event log.

    Attributes:
        target: the boot target asked for.
        happened: whether the machine did boot that way.
        message: one sentence, e.g. ``booted the IDE-R CD``.
        events: the new events the judgement rests on, oldest first.
    """

    target: str
    happened: bool
    message: str
    events: tuple[Event, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "target": self.target,
            "happened": self.happened,
            "message": self.message,
            "events": [event.to_json() for event in self.events],
        }


def _device_name(device: str | None) -> str:
    return DEVICE_NAMES.get(device or "other", "another device")


def judge(target: str, events: Sequence[Event], *, settled: bool = True) -> BootOutcome | None:
    """The outcome the new ``events`` already show, or None while it is still open.

    ``settled``: the machine has been quiet long enough after POST for a ``bios-pause`` boot to
    count as paused. A normal boot (a device other than the target, or an OS boot without the target) is
    returned as not happened with a provisional sentence; :func:`explain_normal_boot` refines it.
    """
    seen = tuple(events)
    wanted = TARGET_DEVICES.get(target)
    posted = False
    for event in seen:
        if event.kind == "https-boot-failed":
            return BootOutcome(target, False, event.text, seen)
        if event.kind in ("post", "setup"):
            posted = True
        if target == "bios":
            if event.kind == "setup":
                return BootOutcome(target, True, "entered BIOS setup", seen)
            if event.kind in ("os-boot", "boot-device"):
                where = f"the {_device_name(event.device)}" if event.kind == "boot-device" else "the OS"
                return BootOutcome(
                    target, False, f"did not enter BIOS setup: the machine booted {where}", seen
                )
        elif target == "bios-pause":
            if event.kind in ("os-boot", "boot-device"):
                return BootOutcome(target, False, "the BIOS did not pause: the machine went on booting", seen)
        elif wanted is not None:
            if (event.kind == "boot-device" and event.device == wanted == "https") or (
                event.kind == "https-boot-ok" and wanted == "https"
            ):
                return BootOutcome(target, True, "booted over UEFI HTTPS", seen)
            if event.kind == "boot-device" and event.device == wanted:
                return BootOutcome(target, True, f"booted the {_device_name(wanted)}", seen)
            if event.kind == "boot-failed" and event.device == wanted:
                why = event.text.rsplit(": ", 1)[-1]
                return BootOutcome(target, False, f"the {_device_name(wanted)} did not boot: {why}", seen)
            if event.kind == "boot-device":
                return BootOutcome(
                    target,
                    False,
                    f"booted the {_device_name(event.device)}, not the {_device_name(wanted)}",
                    seen,
                )
            if event.kind == "os-boot" and not any(e.kind == "boot-device" for e in seen):
                return BootOutcome(
                    target, False, f"the OS started without booting the {_device_name(wanted)}", seen
                )
    if target == "bios-pause" and posted and settled:
        return BootOutcome(target, True, "the BIOS paused after POST and waits for a key", seen)
    return None


async def explain_normal_boot(transport: Transport, outcome: BootOutcome) -> BootOutcome:
    """Say that the setting was cleared without being used when AMT_BootSettingData shows it."""
    if outcome.happened:
        return outcome
    try:
        data = await get_instance(transport, AMT_BOOT_SETTING_DATA)
    except UNREADABLE:
        return outcome
    status = data.integers("BIOSLastStatus")
    if data.boolean("OptionsCleared") and status and status[0] == BIOS_NOT_UPDATED:
        return BootOutcome(
            outcome.target,
            False,
            f"the one-time setting was cleared without being used ({outcome.message})",
            outcome.events,
        )
    return outcome


async def follow_boot(
    transport: Transport,
    target: str,
    before: Sequence[Event],
    *,
    wait: float = DEFAULT_WAIT,
    poll: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> BootOutcome:
    """Poll the event log until the new events decide the outcome, for at most ``wait`` seconds.

    Args:
        transport: the device.
        target: the boot target that was set.
        before: the events read before the reset.
        wait: seconds to follow the log.
        poll: seconds between reads.
        clock, sleep: the time source and the pause (tests).
    """
    deadline = clock() + wait
    fresh: list[Event] = []
    posted_at: float | None = None
    while True:
        fresh = new_events(before, await read_events(transport))
        if posted_at is None and any(event.kind in ("post", "setup") for event in fresh):
            posted_at = clock()
        settled = posted_at is not None and clock() - posted_at >= PAUSE_SETTLE
        outcome = judge(target, fresh, settled=settled)
        if outcome is not None:
            return await explain_normal_boot(transport, outcome)
        if clock() >= deadline:
            break
        await sleep(min(poll, max(0.0, deadline - clock())))
    last = f"; the last event was: {fresh[-1].text}" if fresh else "; the event log shows nothing new"
    return BootOutcome(target, False, f"no sign of the boot within {wait:g} s{last}", tuple(fresh))

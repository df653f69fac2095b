"""The simulated device's event log (AMT_MessageLog) and what its firmware reports after a boot.

Like real AMT the log is a bounded ring (:data:`CAPACITY` records, the oldest dropped first) of
21-byte PET records (wsman.md §9.6), read with PositionToFirstRecord / GetRecords. What writes
to it, as real firmware and the ME would:

* the device itself: power on, reset, power cycle, power off (IPMI "system boot/restart
  initiated" and "power unit" records);
* the host's firmware, through :meth:`DeviceEvents.boot_event` (wired to the hosts'
  ``on_boot_event(kind, text)`` hook by the device): POST progress, BIOS setup, the boot
  device chosen, boot failures, OS boot starting, UEFI HTTPS boot success or failure.

Boot-event kinds (:data:`BOOT_EVENT_KINDS`), with the text each takes:

======================  =====================================================================
``post``                a POST step; keywords pick the progress code: "processor"/"cpu",
                        "memory", "pci", "usb", "video", "keyboard", "option rom", "disk"
                        (anything else: "unspecified progress")
``setup``               BIOS setup entered (text ignored)
``boot-device``         the device the BIOS boots: ``ider-cd``, ``ider-floppy``, ``cd``,
                        ``disk``, ``pxe``, ``floppy``, ``https``, or free text naming one
                        ("IDE-R CD-ROM", "Hard Disk", "network", ...)
``boot-failed``         a device did not boot: the device as for ``boot-device``
``os-boot``             the OS boot starts (progress 0x13; text ignored)
``https-boot-ok``       the UEFI firmware loaded the image over HTTPS (text ignored)
``https-boot-failed``   it did not; keywords pick the reason: "certificate"/"trust"/"tls",
                        "connect"/"refused"/"timeout", "404"/"not found"/"download"/"retrieve",
                        "secure boot"/"signature"/"image"
======================  =====================================================================

After a boot consumed the one-time options, AMT_BootSettingData reports OptionsCleared true
and BIOSLastStatus [0, 0] (used); firmware that ignores the options (the
:attr:`DeviceEvents.honour_boot_options` test switch) leaves BIOSLastStatus [2, 0] ("not
updated") while AMT still clears them.
"""

from __future__ import annotations

import base64
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from amtterm.sim.wsman.replies import Properties
from amtterm.wsman import eventlog as pet
from amtterm.wsman.eventlog import EventRecord

CAPACITY: Final = 390
BOOT_EVENT_KINDS: Final = (
    "post",
    "setup",
    "boot-device",
    "boot-failed",
    "os-boot",
    "https-boot-ok",
    "https-boot-failed",
)
#: BIOSLastStatus when no boot consumed options since (as the captures show an idle device).
NOT_UPDATED: Final = (2, 0)

_PROGRESS_WORDS: Final = (
    (("processor", "cpu"), 0x19),
    (("memory",), 0x01),
    (("pci",), 0x07),
    (("usb",), 0x06),
    (("video",), 0x09),
    (("keyboard",), 0x0C),
    (("option rom",), 0x08),
    (("disk", "sata", "ide"), 0x02),
)
_DEVICE_WORDS: Final = (
    (("ider-cd", "ide-r cd"), "ider-cd"),
    (("ider-floppy", "ide-r floppy"), "ider-floppy"),
    (("https",), "https"),
    (("pxe", "network"), "pxe"),
    (("floppy",), "floppy"),
    (("cd", "dvd"), "cd"),
    (("disk", "hard"), "disk"),
)
_HTTPS_WORDS: Final = (
    (("certificate", "trust", "tls"), 1),
    (("connect", "refused", "timeout", "unreachable"), 2),
    (("404", "not found", "download", "retrieve", "nbp"), 3),
    (("secure boot", "signature", "image"), 4),
)
_OS_BOOT_OFFSETS: Final = {
    "floppy": 0,
    "disk": 1,
    "pxe": 2,
    "cd": 4,
    "ider-cd": 4,
    "ider-floppy": 0,
    "https": 2,
}


def _pick(text: str, table: tuple[tuple[tuple[str, ...], object], ...], default: object) -> object:
    lowered = text.lower()
    for words, value in table:
        if any(word in lowered for word in words):
            return value
    return default


def boot_device_key(text: str) -> str:
    """``ider-cd``, ``disk``... for a device named in free text (``other`` when none fits)."""
    return str(_pick(text, _DEVICE_WORDS, "other"))


def _device_data(device: str) -> bytes:
    if device.startswith("ider-"):
        return bytes([pet.OEM_MARK, pet.OEM_IDER, 1 if device == "ider-cd" else 0])
    if device == "https":
        return bytes([pet.OEM_MARK, pet.OEM_HTTPS])
    return b""


def _progress(stamp: int, code: int) -> EventRecord:
    return EventRecord(stamp, pet.SENSOR_FIRMWARE, 2, data=bytes([0x40, code]))


def boot_event_record(kind: str, text: str, stamp: int) -> EventRecord:
    """The PET record real firmware would log for a host boot event.

    Args:
        kind: one of :data:`BOOT_EVENT_KINDS`.
        text: what the host saw (see the module docstring for the words that matter).
        stamp: Unix seconds.

    Raises:
        ValueError: an unknown kind.
    """
    if kind == "post":
        return _progress(stamp, int(str(_pick(text, _PROGRESS_WORDS, 0x00))))
    if kind == "setup":
        return _progress(stamp, pet.PROGRESS_SETUP)
    if kind == "os-boot":
        return _progress(stamp, pet.PROGRESS_OS_BOOT)
    if kind == "boot-device":
        device = boot_device_key(text)
        offset = _OS_BOOT_OFFSETS.get(device, 6)
        return EventRecord(
            stamp, pet.SENSOR_OS_BOOT, offset, pet.SEVERITY_INFORMATION, data=_device_data(device)
        )
    if kind == "boot-failed":
        device = boot_device_key(text)
        offset = 2 if device == "pxe" else 0
        return EventRecord(
            stamp, pet.SENSOR_BOOT_ERROR, offset, pet.SEVERITY_CRITICAL, data=_device_data(device)
        )
    if kind == "https-boot-failed":
        reason = int(str(_pick(text, _HTTPS_WORDS, 0)))
        data = bytes([pet.OEM_MARK, pet.OEM_HTTPS_FAILED, reason])
        return EventRecord(stamp, pet.SENSOR_BOOT_ERROR, 2, pet.SEVERITY_CRITICAL, data=data)
    if kind == "https-boot-ok":
        data = bytes([pet.OEM_MARK, pet.OEM_HTTPS])
        return EventRecord(stamp, pet.SENSOR_RESTART, 7, pet.SEVERITY_INFORMATION, data=data)
    raise ValueError(f"unknown boot event kind {kind!r}; use one of {', '.join(BOOT_EVENT_KINDS)}")


#: Device power changes (PowerEvent kinds) -> (sensor type, offset).
POWER_RECORDS: Final[dict[str, tuple[int, int]]] = {
    "on": (pet.SENSOR_RESTART, 0),
    "reset": (pet.SENSOR_RESTART, 1),
    "cycle": (pet.SENSOR_POWER_UNIT, 1),
    "off": (pet.SENSOR_POWER_UNIT, 0),
}


def _default_epoch() -> float:
    # The device clock is the event loop's (time.monotonic by default): Unix time = epoch + now.
    return time.time() - time.monotonic()


@dataclass
class DeviceEvents:
    """The event log ring, the clock that stamps it, and the firmware's boot report.

    Attributes:
        records: the ring, oldest first.
        capacity: how many records it keeps.
        epoch: Unix time of device-clock 0 (``now`` values of 1e9 and more are Unix time already).
        bios_last_status: AMT_BootSettingData.BIOSLastStatus.
        honour_boot_options: the BIOS uses AMT's one-time boot options (False: it ignores them,
            as firmware without AMT boot support does; AMT still clears them).
        listeners: called (no arguments) after every new record.
    """

    records: deque[EventRecord] = field(default_factory=lambda: deque(maxlen=CAPACITY))
    capacity: int = CAPACITY
    epoch: float = field(default_factory=_default_epoch)
    bios_last_status: tuple[int, int] = NOT_UPDATED
    honour_boot_options: bool = True
    listeners: list[Callable[[], None]] = field(default_factory=list)

    def stamp(self, now: float) -> int:
        """Unix seconds of device time ``now``."""
        return int(now if now >= 1e9 else self.epoch + now)

    def add(self, record: EventRecord) -> None:
        """Append a record (the oldest falls out when the ring is full)."""
        if self.records.maxlen != self.capacity:
            self.records = deque(self.records, maxlen=self.capacity)
        self.records.append(record)
        for listener in list(self.listeners):
            listener()

    def boot_event(self, now: float, kind: str, text: str = "") -> None:
        """Log a host boot event (:data:`BOOT_EVENT_KINDS`); unknown kinds are ignored."""
        if kind in BOOT_EVENT_KINDS:
            self.add(boot_event_record(kind, text, self.stamp(now)))

    def power_event(self, now: float, kind: str) -> None:
        """Log a power change: ``on``, ``reset``, ``cycle`` or ``off``."""
        sensor, offset = POWER_RECORDS.get(kind, (pet.SENSOR_RESTART, 7))
        self.add(EventRecord(self.stamp(now), sensor, offset, pet.SEVERITY_INFORMATION, entity=pet.ENTITY_ME))

    def encoded(self) -> list[str]:
        """The records as GetRecords returns them (base64), oldest first."""
        return [base64.b64encode(record.pack()).decode("ascii") for record in self.records]


# -- AMT_MessageLog over WS-Man ------------------------------------------------------------------
def message_log(events: DeviceEvents) -> Properties:
    """The AMT_MessageLog instance (Get), with the fields of go-wsman-messages' recorded reply."""
    count = len(events.records)
    return [
        ("Capabilities", [5, 6, 8, 7]),
        ("CharacterSet", 10),
        ("CreationClassName", "AMT_MessageLog"),
        ("CurrentNumberOfRecords", count),
        ("ElementName", pet.MESSAGE_LOG_NAME),
        ("EnabledDefault", 2),
        ("EnabledState", 2),
        ("HealthState", 5),
        ("IsFrozen", False),
        ("LastChange", 0),
        ("LogState", 4),
        ("MaxLogSize", 0),
        ("MaxNumberOfRecords", events.capacity),
        ("MaxRecordSize", pet.RECORD_SIZE),
        ("Name", pet.MESSAGE_LOG_NAME),
        ("OperationalStatus", 2),
        ("OverwritePolicy", 2),
        ("PercentageNearFull", count * 100 // max(1, events.capacity)),
        ("RequestedState", 12),
        ("SizeOfHeader", 0),
        ("SizeOfRecordHeader", 0),
        ("Status", "OK"),
    ]


def position_to_first_record(events: DeviceEvents) -> Properties:
    """PositionToFirstRecord: iteration 1, or ReturnValue 2 when the log is empty."""
    if not events.records:
        return [("IterationIdentifier", 0), ("ReturnValue", 2)]
    return [("IterationIdentifier", 1), ("ReturnValue", 0)]


def get_records(events: DeviceEvents, iteration: int | None, maximum: int | None) -> Properties:
    """GetRecords from the 1-based position ``iteration``, at most ``maximum`` records."""
    encoded = events.encoded()
    start = (iteration or 1) - 1
    if start < 0 or start > len(encoded):
        return [("IterationIdentifier", iteration or 0), ("NoMoreRecords", True), ("ReturnValue", 2)]
    count = max(1, min(maximum or pet.PAGE_RECORDS, pet.PAGE_RECORDS))
    page = encoded[start : start + count]
    end = start + len(page)
    props: Properties = [("IterationIdentifier", end + 1), ("NoMoreRecords", end >= len(encoded))]
    if page:
        props.append(("RecordArray", page))
    props.append(("ReturnValue", 0))
    return props

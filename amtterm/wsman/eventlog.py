"""AMT's event log (AMT_MessageLog): read the PET records and say in one sentence what each means.

The firmware (BIOS) and the ME log Platform Event Trap records: POST progress, boot errors,
the device the BIOS booted, power changes, failed log-ons. This is where "why did it boot
Windows instead of the ISO" is answered. Rules (wsman.md §9.6; facts from MeshCommander's
``amt-0.2.0.js`` ``GetMessageLog``, go-wsman-messages ``amt/messagelog/decoder.go`` and its
recorded records; no code copied):

* ``PositionToFirstRecord()`` gives an ``IterationIdentifier`` (ReturnValue 2: the log is
  empty). ``GetRecords(IterationIdentifier, MaxReadRecords)`` returns the next identifier,
  ``NoMoreRecords`` and ``RecordArray`` (base64 strings); repeat until NoMoreRecords. Bounded
  here: at most :data:`MAX_PAGES` pages of :data:`PAGE_RECORDS` (the log's capacity is 390).
* A record is 21 bytes: uint32 little-endian timestamp (seconds, the ME's clock), device
  address, event sensor type, event type, event offset, event source type, severity, sensor
  number, entity, entity instance, then 8 bytes of event data. A timestamp of 0 or
  0xFFFFFFFF marks an empty slot (MeshCommander skips those).
* Sensor types follow IPMI's table: 0x0F system firmware progress (offset 0 = POST error with
  the error code in data byte 2, offset 1 = hang, offset 2 = progress code in data byte 2; a
  first data byte of 0xEB marks invalid data), 0x1E boot error, 0x1F OS boot (the offset is
  the boot device), 0x1D system boot/restart initiated, 0x09 power unit, 0x06 platform
  security (failed log-ons: the count in data bytes 2-3), 0x20 OS stop, 0x23 "system boot
  failure", 0x25 "system firmware started", 0x12 agent watchdog (data byte 1 = 0xAA).
* AMT-specific detail rides in the event data after an OEM marker byte 0xAA (as AMT's own
  watchdog records do). amtterm's simulator uses it to say which boot device an AMT override
  chose (IDE-R, UEFI HTTPS) and why an HTTPS boot failed; see :data:`OEM_MARK`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import struct
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from amtterm.errors import ConfigError, WsmanMalformedReply
from amtterm.wsman import envelope, parse
from amtterm.wsman.envelope import Value
from amtterm.wsman.operations import Transport
from amtterm.wsman.resources import resource_uri

AMT_MESSAGE_LOG: Final = "AMT_MessageLog"
MESSAGE_LOG_NAME: Final = "Intel(r) AMT:MessageLog 1"
RECORD_SIZE: Final = 21
#: Records asked for per GetRecords (the log's capacity, as MeshCommander and Go ask).
PAGE_RECORDS: Final = 390
#: GetRecords calls per read at most: a device that never says NoMoreRecords must not hang us.
MAX_PAGES: Final = 12
_LAYOUT: Final = struct.Struct("<IBBBBBBBBB8s")

# -- sensor types and codes (IPMI tables; names as MeshCommander and Go print them) ----------------
SENSOR_AUTH: Final = 0x06
SENSOR_POWER_UNIT: Final = 0x09
SENSOR_FIRMWARE: Final = 0x0F
SENSOR_WATCHDOG: Final = 0x12
SENSOR_RESTART: Final = 0x1D
SENSOR_BOOT_ERROR: Final = 0x1E
SENSOR_OS_BOOT: Final = 0x1F
SENSOR_OS_STOP: Final = 0x20
SENSOR_BOOT_FAILURE: Final = 0x23
SENSOR_FIRMWARE_STARTED: Final = 0x25

ENTITY_BIOS: Final = 34
ENTITY_ME: Final = 38
SEVERITY_MONITOR: Final = 1
SEVERITY_INFORMATION: Final = 2
SEVERITY_OK: Final = 4
SEVERITY_NON_CRITICAL: Final = 8
SEVERITY_CRITICAL: Final = 16

#: System firmware progress codes (sensor 0x0F, offset 2, data byte 2).
PROGRESS_CODES: Final[dict[int, str]] = {
    0x00: "unspecified progress",
    0x01: "memory initialization",
    0x02: "starting hard-disk initialization and test",
    0x03: "secondary processor initialization",
    0x04: "user authentication",
    0x05: "entered BIOS setup",
    0x06: "USB resource configuration",
    0x07: "PCI resource configuration",
    0x08: "option ROM initialization",
    0x09: "video initialization",
    0x0A: "cache initialization",
    0x0B: "SM bus initialization",
    0x0C: "keyboard controller initialization",
    0x0D: "embedded controller initialization",
    0x0E: "docking station attachment",
    0x0F: "enabling docking station",
    0x10: "docking station ejection",
    0x11: "disabling docking station",
    0x12: "calling the OS wake-up vector",
    0x13: "starting OS boot",
    0x14: "baseboard initialization",
    0x16: "floppy initialization",
    0x17: "keyboard test",
    0x18: "pointing device test",
    0x19: "primary processor initialization",
}
PROGRESS_SETUP: Final = 0x05
PROGRESS_OS_BOOT: Final = 0x13

#: System firmware errors (sensor 0x0F, offset 0, data byte 2).
FIRMWARE_ERRORS: Final[dict[int, str]] = {
    0x00: "unspecified error",
    0x01: "no system memory is installed",
    0x02: "no usable system memory",
    0x03: "unrecoverable hard-disk/ATAPI/IDE device failure",
    0x04: "unrecoverable system-board failure",
    0x05: "unrecoverable diskette subsystem failure",
    0x06: "unrecoverable hard-disk controller failure",
    0x07: "unrecoverable keyboard failure",
    0x08: "removable boot media not found",
    0x09: "unrecoverable video controller failure",
    0x0A: "no video device detected",
    0x0B: "firmware (BIOS) ROM corruption detected",
    0x0C: "CPU voltage mismatch",
    0x0D: "CPU speed matching failure",
}

#: OS boot (sensor 0x1F): the offset names the device that booted.
OS_BOOT_DEVICES: Final[dict[int, str]] = {
    0: "floppy",
    1: "hard disk",
    2: "network (PXE)",
    3: "diagnostic partition",
    4: "CD/DVD",
    5: "boot ROM",
    6: "an unspecified device",
}
OS_BOOT_OTHER: Final[dict[int, str]] = {
    7: "OS installation started",
    8: "OS installation completed",
    9: "OS installation aborted",
    10: "OS installation failed",
}
BOOT_ERRORS: Final[dict[int, str]] = {
    0: "no bootable medium",
    1: "a non-bootable diskette is in the drive",
    2: "no PXE server answered",
    3: "invalid boot sector",
    4: "timed out waiting for a boot device selection",
}
RESTART_CAUSES: Final[dict[int, str]] = {
    0: "powered on",
    1: "hard reset",
    2: "warm reset",
    3: "PXE boot requested by the user",
    4: "automatic boot to diagnostics",
    5: "hard reset by the OS",
    6: "warm reset by the OS",
    7: "system restart",
}
POWER_UNIT: Final[dict[int, str]] = {0: "powered off", 1: "power cycle", 4: "AC lost"}
OS_STOPS: Final[dict[int, str]] = {
    0: "critical stop during OS load",
    1: "run-time critical stop",
    2: "OS graceful stop",
    3: "OS graceful shutdown",
}
WATCHDOG_STATES: Final[dict[int, str]] = {
    1: "not started",
    2: "stopped",
    4: "running",
    8: "expired",
    16: "suspended",
}
SEVERITIES: Final[dict[int, str]] = {
    0: "unspecified",
    1: "monitor",
    2: "information",
    4: "ok",
    8: "non-critical",
    16: "critical",
    32: "non-recoverable",
}
ENTITIES: Final[dict[int, str]] = {
    3: "processor",
    4: "disk",
    7: "system board",
    8: "memory module",
    10: "power supply",
    23: "system chassis",
    30: "cooling unit",
    32: "memory device",
    33: "system management software",
    34: "BIOS",
    35: "Intel(r) ME",
    38: "Intel(r) ME",
    40: "battery",
    46: "management controller firmware",
}

# -- the OEM detail amtterm's simulator writes (data byte 1 = OEM_MARK) -----------------------------
OEM_MARK: Final = 0xAA
OEM_IDER: Final = 0x01  # data byte 3: 0 floppy, 1 CD
OEM_HTTPS_FAILED: Final = 0x02  # data byte 3: a key of HTTPS_FAILURES
OEM_HTTPS: Final = 0x03
HTTPS_FAILURES: Final[dict[int, str]] = {
    0: "the firmware gave no reason",
    1: "the firmware refused the server certificate",
    2: "the firmware could not connect to the server",
    3: "the server did not send the image",
    4: "the firmware refused the image (Secure Boot)",
}


@dataclass(frozen=True)
class EventRecord:
    """One 21-byte PET record of AMT_MessageLog (wsman.md §9.6)."""

    timestamp: int
    sensor_type: int
    offset: int
    severity: int = SEVERITY_MONITOR
    entity: int = ENTITY_BIOS
    data: bytes = bytes(8)
    device_address: int = 0xFF
    event_type: int = 0x6F
    source_type: int = 0x68
    sensor_number: int = 0xFF
    entity_instance: int = 0

    def pack(self) -> bytes:
        """The record's 21 bytes."""
        return _LAYOUT.pack(
            self.timestamp & 0xFFFFFFFF,
            self.device_address,
            self.sensor_type,
            self.event_type,
            self.offset,
            self.source_type,
            self.severity,
            self.sensor_number,
            self.entity,
            self.entity_instance,
            self.data.ljust(8, b"\0")[:8],
        )

    @classmethod
    def unpack(cls, raw: bytes) -> EventRecord:
        """Read a record (bytes past the 21st are ignored).

        Raises:
            ValueError: fewer than 21 bytes.
        """
        if len(raw) < RECORD_SIZE:
            raise ValueError(f"an event record has {RECORD_SIZE} bytes, this one {len(raw)}")
        fields = _LAYOUT.unpack(raw[:RECORD_SIZE])
        return cls(
            timestamp=fields[0],
            device_address=fields[1],
            sensor_type=fields[2],
            event_type=fields[3],
            offset=fields[4],
            source_type=fields[5],
            severity=fields[6],
            sensor_number=fields[7],
            entity=fields[8],
            entity_instance=fields[9],
            data=fields[10],
        )

    @property
    def empty(self) -> bool:
        """An unused slot (timestamp 0 or 0xFFFFFFFF)."""
        return self.timestamp in (0, 0xFFFFFFFF)


@dataclass(frozen=True)
class Event:
    """A decoded event for people.

    Attributes:
        time: when it happened, Unix seconds as the device's clock says.
        kind: ``post``, ``setup``, ``os-boot``, ``boot-device``, ``boot-failed``,
            ``https-boot-failed``, ``https-boot-ok``, ``firmware-error``, ``power``, ``auth``,
            ``os-stop``, ``watchdog`` or ``other``.
        text: one sentence, e.g. ``BIOS: starting OS boot``.
        device: for ``boot-device`` and ``boot-failed``: ``ider-cd``, ``ider-floppy``, ``cd``,
            ``disk``, ``pxe``, ``floppy``, ``https`` or ``other``; else None.
        entity: who logged it (``BIOS``, ``Intel(r) ME``...).
        severity: ``monitor``, ``information``, ``critical``...
        record: the record's 21 bytes in hex.
    """

    time: int
    kind: str
    text: str
    device: str | None
    entity: str
    severity: str
    record: str

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data, with the time also as ISO 8601 (UTC)."""
        data = dataclasses.asdict(self)
        data["iso_time"] = format_time(self.time, iso=True)
        return data


def format_time(stamp: int, *, iso: bool = False) -> str:
    """``2026-12-07 12:03:41`` (UTC) of a record's timestamp."""
    moment = datetime.fromtimestamp(stamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ" if iso else "%Y-%m-%d %H:%M:%S")


def _byte(data: bytes, index: int) -> int:
    return data[index] if index < len(data) else 0


def _oem(data: bytes) -> int | None:
    return _byte(data, 1) if _byte(data, 0) == OEM_MARK else None


def _firmware(record: EventRecord) -> tuple[str, str]:
    data = record.data
    if _byte(data, 0) == 0xEB:
        return "other", "BIOS: an event with invalid data"
    code = _byte(data, 1)
    if record.offset == 0:
        return "firmware-error", f"BIOS error: {FIRMWARE_ERRORS.get(code, f'error code {code}')}"
    step = PROGRESS_CODES.get(code, f"progress code {code:#04x}")
    if record.offset == 1:
        return "firmware-error", f"BIOS hung at: {step}"
    if code == PROGRESS_SETUP:
        return "setup", "BIOS: entered BIOS setup"
    if code == PROGRESS_OS_BOOT:
        return "os-boot", "BIOS: starting OS boot"
    return "post", f"BIOS: {step}"


def _ider_device(data: bytes) -> str:
    return "ider-cd" if _byte(data, 2) == 1 else "ider-floppy"


DEVICE_NAMES: Final[dict[str, str]] = {
    "ider-cd": "IDE-R CD",
    "ider-floppy": "IDE-R floppy",
    "cd": "CD/DVD",
    "disk": "hard disk",
    "pxe": "network (PXE)",
    "floppy": "floppy",
    "https": "UEFI HTTPS (One Click Recovery)",
    "other": "another device",
}
_OS_BOOT_KEYS: Final[dict[int, str]] = {0: "floppy", 1: "disk", 2: "pxe", 4: "cd"}


def _os_boot(record: EventRecord) -> tuple[str, str, str | None]:
    if record.offset in OS_BOOT_OTHER:
        return "os-boot", f"OS: {OS_BOOT_OTHER[record.offset]}", None
    oem = _oem(record.data)
    if oem == OEM_IDER:
        device = _ider_device(record.data)
    elif oem == OEM_HTTPS:
        device = "https"
    else:
        device = _OS_BOOT_KEYS.get(record.offset, "other")
    name = DEVICE_NAMES[device] if device != "other" else OS_BOOT_DEVICES.get(record.offset, "another device")
    return "boot-device", f"boot device selected: {name}", device


def _boot_error(record: EventRecord) -> tuple[str, str, str | None]:
    oem = _oem(record.data)
    if oem == OEM_HTTPS_FAILED:
        reason = HTTPS_FAILURES.get(_byte(record.data, 2), HTTPS_FAILURES[0])
        return "https-boot-failed", f"HTTPS boot failed: {reason}", "https"
    error = BOOT_ERRORS.get(record.offset, f"boot error {record.offset}")
    if oem == OEM_IDER:
        device = _ider_device(record.data)
        return "boot-failed", f"boot failed: {DEVICE_NAMES[device]}: {error}", device
    device = "pxe" if record.offset == 2 else "other"
    return "boot-failed", f"boot failed: {error}", device


def describe(record: EventRecord) -> Event:
    """One sentence (and a kind) for a record; unknown records still get a plain sentence."""
    sensor, offset, data = record.sensor_type, record.offset, record.data
    device: str | None = None
    if sensor == SENSOR_FIRMWARE:
        kind, text = _firmware(record)
    elif sensor == SENSOR_OS_BOOT:
        kind, text, device = _os_boot(record)
    elif sensor == SENSOR_BOOT_ERROR:
        kind, text, device = _boot_error(record)
    elif sensor == SENSOR_RESTART:
        kind, text = "power", f"power: {RESTART_CAUSES.get(offset, f'restart ({offset})')}"
        if _oem(data) == OEM_HTTPS:
            kind, text = "https-boot-ok", "HTTPS boot: the firmware loaded the image"
    elif sensor == SENSOR_POWER_UNIT:
        kind, text = "power", f"power: {POWER_UNIT.get(offset, f'power unit event {offset}')}"
    elif sensor == SENSOR_AUTH:
        count = _byte(data, 1) + (_byte(data, 2) << 8)
        kind, text = "auth", f"log-on failed {count} times: the system may be under attack"
    elif sensor == SENSOR_OS_STOP:
        kind, text = "os-stop", f"OS: {OS_STOPS.get(offset, 'lockup or power interrupt')}"
    elif sensor == SENSOR_BOOT_FAILURE:
        kind, text = "boot-failed", "system boot failure"
    elif sensor == SENSOR_FIRMWARE_STARTED:
        kind, text = "post", "BIOS: system firmware started (a CPU is running)"
    elif sensor == SENSOR_WATCHDOG and _byte(data, 0) == OEM_MARK:
        agent = data[4:0:-1].hex() + "-" + data[6:4:-1].hex()
        state = WATCHDOG_STATES.get(_byte(data, 7), f"state {_byte(data, 7)}")
        kind, text = "watchdog", f"agent watchdog {agent}-... changed to {state}"
    else:
        kind, text = "other", f"event of sensor type {sensor:#04x}, offset {offset}"
    return Event(
        time=record.timestamp,
        kind=kind,
        text=text,
        device=device,
        entity=ENTITIES.get(record.entity, f"entity {record.entity}"),
        severity=SEVERITIES.get(record.severity, f"severity {record.severity}"),
        record=record.pack().hex(),
    )


def decode_records(encoded: Iterable[str]) -> list[EventRecord]:
    """The records of a RecordArray (base64 strings); empty slots and unreadable ones are skipped."""
    records: list[EventRecord] = []
    for text in encoded:
        try:
            raw = base64.b64decode(text.strip(), validate=True)
            record = EventRecord.unpack(raw)
        except (binascii.Error, ValueError):
            continue
        if not record.empty:
            records.append(record)
    return records


# -- reading the log ------------------------------------------------------------------------------
async def _invoke(transport: Transport, method: str, arguments: dict[str, Value]) -> parse.Instance:
    request = envelope.build_invoke(resource_uri(AMT_MESSAGE_LOG), method, arguments)
    return parse.parse_output(await transport(request), method)


async def read_records(transport: Transport) -> list[EventRecord]:
    """Every record of the device's event log, in the order the device gives them.

    Raises:
        WsmanReturnValueError / WsmanFault: the device refused (e.g. no event log on this firmware).
        WsmanMalformedReply: the log never ends, or a reply lacks its fields.
    """
    first = await _invoke(transport, "PositionToFirstRecord", {})
    value = first.integer("ReturnValue")
    if value == 2:
        return []
    parse.check_return_value(first, "PositionToFirstRecord", _refused)
    iteration = first.integer("IterationIdentifier")
    records: list[EventRecord] = []
    for _ in range(MAX_PAGES):
        page = await _invoke(
            transport, "GetRecords", {"IterationIdentifier": iteration or 0, "MaxReadRecords": PAGE_RECORDS}
        )
        parse.check_return_value(page, "GetRecords", _refused)
        raw = page.properties.get("RecordArray", ())
        records.extend(decode_records(v for v in raw if isinstance(v, str)))
        if page.boolean("NoMoreRecords") is not False:
            return records
        iteration = page.integer("IterationIdentifier")
    raise WsmanMalformedReply("The device's event log never ended (no NoMoreRecords).")


def _refused(value: int) -> str:
    if value == 1:
        return "This device does not offer its event log (AMT_MessageLog ReturnValue 1)."
    return f"The device refused to read its event log (AMT_MessageLog ReturnValue {value})."


async def read_events(transport: Transport, since: float | None = None) -> list[Event]:
    """The decoded events, oldest first (by timestamp; the device's order breaks ties).

    Args:
        transport: the device.
        since: keep events at or after this Unix time only.
    """
    records = await read_records(transport)
    events = [describe(record) for record in records]
    events.sort(key=lambda event: event.time)
    return [e for e in events if since is None or e.time >= since]


def new_events(before: Sequence[Event], after: Sequence[Event]) -> list[Event]:
    """The events of ``after`` that ``before`` did not have (records compared byte for byte)."""
    seen = Counter(event.record for event in before)
    fresh: list[Event] = []
    for event in after:
        if seen[event.record] > 0:
            seen[event.record] -= 1
        else:
            fresh.append(event)
    return fresh


# -- --since --------------------------------------------------------------------------------------
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?$")
_UNITS: Final = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now: float | None = None) -> float:
    """A ``--since`` value as Unix time: a duration back from now (``90s``, ``15m``, ``1h``,
    ``2d``), a UTC time today (``12:03`` or ``12:03:41``), or a UTC date and time
    (``2026-12-07`` or ``2026-12-07 12:03``).

    Raises:
        ConfigError: none of these forms.
    """
    now = time.time() if now is None else now
    value = text.strip().lower()
    match = _DURATION.match(value)
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    for form in ("%H:%M", "%H:%M:%S"):
        try:
            clock = datetime.strptime(value, form).time()
        except ValueError:
            continue
        today = datetime.fromtimestamp(now, tz=UTC).date()
        moment = datetime.combine(today, clock, tzinfo=UTC)
        if moment.timestamp() > now:
            moment -= timedelta(days=1)
        return moment.timestamp()
    for form in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dt%H:%M:%S"):
        try:
            return datetime.strptime(value.rstrip("z"), form).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise ConfigError(
        f"--since {text!r} is neither a duration (30m, 1h, 2d) nor a UTC time (12:03, 2026-12-07 12:03)."
    )

"""The event-log decoder: golden records, the GetRecords iteration, --since, and boot judgements.

The golden records are the three base64 records of go-wsman-messages' recorded GetRecords reply
(``wsmantesting/responses/amt/messagelog/getrecords.xml``) and what its decoder test says they
mean (failed log-ons, PCI resource configuration by the BIOS); the envelopes around them are
written here in AMT's layout.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from amtterm.errors import ConfigError, WsmanMalformedReply, WsmanReturnValueError
from amtterm.sim.wsman.eventlog import BOOT_EVENT_KINDS, boot_event_record
from amtterm.wsman import eventlog
from amtterm.wsman.bootwatch import BootOutcome, follow_boot, judge
from amtterm.wsman.eventlog import Event, EventRecord, describe, parse_since

GOLDEN = ("Y8iYZf8GbwVoEP8mYaoKAAAAAAAA", "IgYBZf8PbwJoAf8iAEAHAAAAAAAA", "IgYBZf8PbwJoAf8iAEAHAAAAAAAA")
NS = "http://intel.com/wbem/wscim/1/amt-schema/1/AMT_MessageLog"


def reply(method: str, body: str) -> str:
    """A method reply in AMT's prefix layout."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<a:Envelope xmlns:a="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:b="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:c="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
        f'xmlns:g="{NS}">'
        "<a:Header><b:RelatesTo>1</b:RelatesTo>"
        f"<b:Action>{NS}/{method}Response</b:Action></a:Header>"
        f"<a:Body><g:{method}_OUTPUT>{body}</g:{method}_OUTPUT></a:Body></a:Envelope>"
    )


def device(pages: list[list[str]], *, first: int = 0) -> Callable[[str], Awaitable[str]]:
    """A transport answering PositionToFirstRecord and then GetRecords page by page."""
    calls = iter(pages)

    async def transport(request: str) -> str:
        if "PositionToFirstRecord_INPUT" in request:
            return reply(
                "PositionToFirstRecord",
                f"<g:IterationIdentifier>1</g:IterationIdentifier><g:ReturnValue>{first}</g:ReturnValue>",
            )
        page = next(calls, None)
        more = "false" if page is None or page is not pages[-1] else "true"
        records = "".join(f"<g:RecordArray>{r}</g:RecordArray>" for r in page or [])
        return reply(
            "GetRecords",
            f"<g:IterationIdentifier>2</g:IterationIdentifier><g:NoMoreRecords>{more}</g:NoMoreRecords>"
            f"{records}<g:ReturnValue>0</g:ReturnValue>",
        )

    return transport


def test_golden_records_decode_as_the_recording_says() -> None:
    auth, pci, _ = eventlog.decode_records(GOLDEN)
    assert auth.timestamp == 0x6598C863 and auth.sensor_type == 6 and auth.entity == 0x26
    assert auth.data == bytes([0xAA, 0x0A, 0, 0, 0, 0, 0, 0])
    told = describe(auth)
    assert told.kind == "auth"
    assert told.text == "log-on failed 10 times: the system may be under attack"
    assert (told.entity, told.severity) == ("Intel(r) ME", "critical")
    told = describe(pci)
    assert pci.timestamp == 0x65010622 and (pci.sensor_type, pci.offset) == (0x0F, 2)
    assert (told.kind, told.text, told.entity, told.severity) == (
        "post",
        "BIOS: PCI resource configuration",
        "BIOS",
        "monitor",
    )
    assert eventlog.format_time(told.time) == "2023-09-13 00:45:22"
    assert base64.b64encode(pci.pack()).decode() == GOLDEN[1]


async def test_the_recorded_getrecords_reply_is_read_and_sorted_oldest_first() -> None:
    events = await eventlog.read_events(device([list(GOLDEN)]))
    assert [e.kind for e in events] == ["post", "post", "auth"]
    assert events[0].to_json()["iso_time"] == "2023-09-13T00:45:22Z"
    assert await eventlog.read_events(device([list(GOLDEN)]), since=0x65010623) == events[2:]


async def test_an_empty_log_and_a_log_that_never_ends() -> None:
    assert await eventlog.read_records(device([], first=2)) == []
    with pytest.raises(WsmanReturnValueError, match="does not offer its event log"):
        await eventlog.read_records(device([], first=1))
    endless = [[GOLDEN[0]]] * (eventlog.MAX_PAGES + 5) + [[GOLDEN[1]]]
    with pytest.raises(WsmanMalformedReply, match="never ended"):
        await eventlog.read_records(device(endless))


def test_broken_and_empty_slots_are_skipped() -> None:
    empty = base64.b64encode(EventRecord(0, 0x0F, 2).pack()).decode()
    full = base64.b64encode(EventRecord(0xFFFFFFFF, 0x0F, 2).pack()).decode()
    short = base64.b64encode(b"\x01\x02\x03").decode()
    assert eventlog.decode_records([empty, full, short, "not base64!", GOLDEN[1]]) == [
        EventRecord.unpack(base64.b64decode(GOLDEN[1]))
    ]


@pytest.mark.parametrize(
    ("record", "kind", "text"),
    [
        (EventRecord(1, 0x0F, 2, data=b"\x40\x13"), "os-boot", "BIOS: starting OS boot"),
        (EventRecord(1, 0x0F, 2, data=b"\x40\x05"), "setup", "BIOS: entered BIOS setup"),
        (
            EventRecord(1, 0x0F, 0, data=b"\x40\x08"),
            "firmware-error",
            "BIOS error: removable boot media not found",
        ),
        (EventRecord(1, 0x0F, 1, data=b"\x40\x09"), "firmware-error", "BIOS hung at: video initialization"),
        (EventRecord(1, 0x0F, 2, data=b"\xeb\x13"), "other", "BIOS: an event with invalid data"),
        (EventRecord(1, 0x1F, 4), "boot-device", "boot device selected: CD/DVD"),
        (EventRecord(1, 0x1F, 4, data=b"\xaa\x01\x01"), "boot-device", "boot device selected: IDE-R CD"),
        (EventRecord(1, 0x1F, 7), "os-boot", "OS: OS installation started"),
        (EventRecord(1, 0x1E, 0), "boot-failed", "boot failed: no bootable medium"),
        (
            EventRecord(1, 0x1E, 2, data=b"\xaa\x02\x01"),
            "https-boot-failed",
            "HTTPS boot failed: the firmware refused the server certificate",
        ),
        (EventRecord(1, 0x1D, 1), "power", "power: hard reset"),
        (EventRecord(1, 0x09, 0), "power", "power: powered off"),
        (EventRecord(1, 0x20, 3), "os-stop", "OS: OS graceful shutdown"),
        (EventRecord(1, 0x23, 0), "boot-failed", "system boot failure"),
        (EventRecord(1, 0x25, 0), "post", "BIOS: system firmware started (a CPU is running)"),
        (
            EventRecord(1, 0x12, 0, data=bytes([0xAA, 1, 2, 3, 4, 5, 6, 1])),
            "watchdog",
            "agent watchdog 04030201-0605-... changed to not started",
        ),
        (EventRecord(1, 0x77, 3), "other", "event of sensor type 0x77, offset 3"),
    ],
)
def test_each_sensor_type_reads_as_one_sentence(record: EventRecord, kind: str, text: str) -> None:
    told = describe(EventRecord.unpack(record.pack()))
    assert (told.kind, told.text) == (kind, text)


@pytest.mark.parametrize(
    ("kind", "text", "sentence"),
    [
        ("post", "memory initialization", "BIOS: memory initialization"),
        ("setup", "", "BIOS: entered BIOS setup"),
        ("boot-device", "Booting from IDE-R CD-ROM", "boot device selected: IDE-R CD"),
        ("boot-device", "ider-floppy", "boot device selected: IDE-R floppy"),
        ("boot-device", "https", "boot device selected: UEFI HTTPS (One Click Recovery)"),
        ("boot-failed", "pxe", "boot failed: no PXE server answered"),
        ("boot-failed", "ider-cd", "boot failed: IDE-R CD: no bootable medium"),
        ("os-boot", "", "BIOS: starting OS boot"),
        ("https-boot-ok", "", "HTTPS boot: the firmware loaded the image"),
        (
            "https-boot-failed",
            "TLS handshake failed: certificate not trusted",
            "HTTPS boot failed: the firmware refused the server certificate",
        ),
        ("https-boot-failed", "HTTP 404 Not Found", "HTTPS boot failed: the server did not send the image"),
    ],
)
def test_what_the_simulator_logs_reads_back_as_the_event(kind: str, text: str, sentence: str) -> None:
    assert kind in BOOT_EVENT_KINDS
    told = describe(EventRecord.unpack(boot_event_record(kind, text, 1_800_000_000).pack()))
    assert told.text == sentence
    assert told.kind == kind or (kind == "https-boot-ok" and told.kind == "https-boot-ok")


def test_since_takes_durations_times_and_dates() -> None:
    now = datetime(2026, 12, 7, 12, 30, tzinfo=UTC).timestamp()
    assert parse_since("1h", now) == now - 3600
    assert parse_since("90s", now) == now - 90
    assert parse_since("2d", now) == now - 2 * 86400
    assert parse_since("12:03", now) == datetime(2026, 12, 7, 12, 3, tzinfo=UTC).timestamp()
    assert parse_since("13:00", now) == datetime(2026, 12, 6, 13, 0, tzinfo=UTC).timestamp()
    assert parse_since("2026-12-01 08:15", now) == datetime(2026, 12, 1, 8, 15, tzinfo=UTC).timestamp()
    with pytest.raises(ConfigError, match="neither a duration"):
        parse_since("yesterday-ish", now)


def event(kind: str, device: str | None = None, text: str = "") -> Event:
    return Event(0, kind, text or kind, device, "BIOS", "monitor", kind)


def test_judging_a_boot_from_the_new_events() -> None:
    post = event("post")
    assert judge("bios", [post]) is None
    assert judge("bios", [post, event("setup")]) == BootOutcome(
        "bios", True, "entered BIOS setup", (post, event("setup"))
    )
    normal = judge("bios", [post, event("boot-device", "disk"), event("os-boot")])
    assert normal is not None and not normal.happened
    assert normal.message == "did not enter BIOS setup: the machine booted the hard disk"
    ider = judge("ider-cd", [post, event("boot-device", "ider-cd")])
    assert ider is not None and ider.happened and ider.message == "booted the IDE-R CD"
    failed = judge("ider-cd", [event("boot-failed", "ider-cd", "boot failed: IDE-R CD: no bootable medium")])
    assert failed is not None and failed.message == "the IDE-R CD did not boot: no bootable medium"
    other = judge("pxe", [event("boot-device", "disk")])
    assert other is not None and other.message == "booted the hard disk, not the network (PXE)"
    https = judge(
        "disk", [event("https-boot-failed", "https", "HTTPS boot failed: the server did not send the image")]
    )
    assert https is not None and https.message == "HTTPS boot failed: the server did not send the image"
    assert judge("bios-pause", [post]) == BootOutcome(
        "bios-pause", True, "the BIOS paused after POST and waits for a key", (post,)
    )


async def test_following_a_boot_is_bounded_in_time() -> None:
    clock = [0.0]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    outcome = await follow_boot(
        device([list(GOLDEN)] * 200), "bios", [], wait=10, poll=2, clock=lambda: clock[0], sleep=sleep
    )
    assert not outcome.happened
    assert outcome.message.startswith("no sign of the boot within 10 s; the last event was: ")
    assert clock[0] == 10


async def test_a_bios_pause_counts_once_the_machine_stays_quiet_after_post() -> None:
    clock = [0.0]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    outcome = await follow_boot(
        device([list(GOLDEN)] * 200), "bios-pause", [], wait=60, poll=2, clock=lambda: clock[0], sleep=sleep
    )
    assert outcome.happened and outcome.message == "the BIOS paused after POST and waits for a key"
    assert clock[0] == 16  # POST seen at 0, quiet for 15 s, judged at the next read

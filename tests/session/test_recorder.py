"""The asciicast v2 and plain-text writers, line by line, and feeding them from a ConsoleHub."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from amtterm.errors import ConfigError
from amtterm.session.console import ConsoleHub
from amtterm.session.recorder import (
    AsciicastWriter,
    ConsoleRecorder,
    PlainLogWriter,
    record_subscription,
)


def fake_clock(*times: float) -> Callable[[], float]:
    values = iter(times)
    return lambda: next(values)


def lines(stream: io.StringIO) -> list[object]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_header_and_events_exact_lines() -> None:
    out = io.StringIO()
    writer = AsciicastWriter(
        out,
        width=80,
        height=25,
        title="amtterm sol lab",
        clock=fake_clock(100.0, 100.5, 101.25, 102.0),
        timestamp=1_700_000_000,
    )
    writer.output(b"Press F2\r\n")
    writer.marker("power off")
    writer.output(b"\x1b[2J")
    writer.close()
    assert out.getvalue().splitlines() == [
        '{"version": 2, "width": 80, "height": 25, "timestamp": 1700000000, "title": "amtterm sol lab", '
        '"env": {"TERM": "xterm-256color"}}',
        '[0.5, "o", "Press F2\\r\\n"]',
        '[1.25, "m", "power off"]',
        '[2.0, "o", "\\u001b[2J"]',
    ]


def test_times_never_go_backwards() -> None:
    out = io.StringIO()
    writer = AsciicastWriter(out, clock=fake_clock(10.0, 11.0, 10.5, 12.0), timestamp=0)
    for chunk in (b"a", b"b", b"c"):
        writer.output(chunk)
    times = [event[0] for event in lines(out)[1:]]  # type: ignore[index]
    assert times == [1.0, 1.0, 2.0]


def test_every_event_is_flushed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "live.cast"
    writer = AsciicastWriter.open(path, timestamp=0)
    writer.output(b"BIOS")
    # Not closed (as after a crash): the file already holds the header and the event.
    recorded = [json.loads(line) for line in path.read_text().splitlines()]
    assert recorded[0]["version"] == 2
    assert recorded[1][1:] == ["o", "BIOS"]
    writer.close()


def test_no_input_events_unless_asked() -> None:
    out = io.StringIO()
    writer = AsciicastWriter(out, timestamp=0)
    writer.input(b"secret\r")
    writer.output(b"x")
    assert [event[1] for event in lines(out)[1:]] == ["o"]  # type: ignore[index]


def test_input_when_asked_but_never_during_a_password_prompt() -> None:
    out = io.StringIO()
    writer = AsciicastWriter(out, record_input=True, timestamp=0)
    writer.input(b"\x1bOQ")
    with writer.password_prompt():
        writer.input(b"hunter2\r")
    writer.input(b"y")
    events = lines(out)[1:]
    assert [event[1:] for event in events] == [["i", "\x1bOQ"], ["i", "y"]]  # type: ignore[index]
    assert "hunter2" not in out.getvalue()


def test_cp437_and_utf8_decoding() -> None:
    cp437 = io.StringIO()
    AsciicastWriter(cp437, encoding="cp437", timestamp=0).output(b"\xc9\xcd\xbb")
    assert lines(cp437)[1][2] == "╔═╗"  # type: ignore[index]
    utf8 = io.StringIO()
    writer = AsciicastWriter(utf8, encoding="utf-8", timestamp=0)
    writer.output("é".encode()[:1])  # half a character: held back until the rest arrives
    writer.output("é".encode()[1:] + b"\xff")
    # A byte UTF-8 cannot have is shown as the console shows it: its CP437 glyph (0xFF: NBSP).
    assert [event[2] for event in lines(utf8)[1:]] == ["é\xa0"]  # type: ignore[index]
    with pytest.raises(ConfigError):
        AsciicastWriter(io.StringIO(), encoding="latin-1")


def test_auto_encoding_takes_utf8_where_valid_else_cp437() -> None:
    out = io.StringIO()
    writer = AsciicastWriter(out, timestamp=0)  # auto is the default
    writer.output("Grüße ".encode()[:3])  # "Gr" and half of "ü": the half waits for the rest
    writer.output("Grüße ".encode()[3:])
    writer.output(b"\xc9\xcd\xbb")  # a BIOS frame: not UTF-8
    writer.output("└─".encode())
    assert [event[2] for event in lines(out)[1:]] == ["Gr", "üße ", "╔═╗", "└─"]  # type: ignore[index]


def test_plain_log_strips_escapes_across_chunks() -> None:
    out = io.StringIO()
    log = PlainLogWriter(out, encoding="cp437")
    log.output(b"\x1b[2J\x1b[1;1HPhoenix BIOS\x1b")
    log.output(b"[0m\r\nPress F2 to enter \x1b[1mSETUP\x1b[0m\r\n")
    log.output(b"\x1b[5;3H\xc9\xcdMain\x1b[6;3HSave & Exit")
    log.marker("power off")
    log.output(b"login: rootx\bt")
    log.close()
    assert out.getvalue().splitlines() == [
        "Phoenix BIOS",
        "Press F2 to enter SETUP",
        "╔═Main",
        "Save & Exit",
        "[amtterm: power off]",
        "login: roott",
    ]


def test_console_recorder_power_markers_and_no_input_in_log() -> None:
    cast_out, log_out = io.StringIO(), io.StringIO()
    recorder = ConsoleRecorder(AsciicastWriter(cast_out, timestamp=0), PlainLogWriter(log_out))
    recorder.power(True)
    recorder.output(b"hello\r\n")
    recorder.input(b"typed")
    recorder.power(False)
    recorder.close()
    events = [event[1:] for event in lines(cast_out)[1:]]  # type: ignore[index]
    assert events == [["m", "power on"], ["o", "hello\r\n"], ["m", "power off"]]
    assert log_out.getvalue() == "[amtterm: power on]\nhello\n[amtterm: power off]\n"


async def test_record_subscription_from_a_hub() -> None:
    hub = ConsoleHub()
    out = io.StringIO()
    sub = hub.subscribe("recorder", lossless=False)
    task = asyncio.create_task(record_subscription(sub, ConsoleRecorder(AsciicastWriter(out, timestamp=0))))
    await hub.publish(b"one ")
    await hub.publish(b"two")
    await asyncio.sleep(0)
    sub.close()
    await asyncio.wait_for(task, 5)
    assert "".join(event[2] for event in lines(out)[1:]) == "one two"  # type: ignore[index]

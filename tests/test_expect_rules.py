"""What Console.expect counts as a match, on a console fed by hand (no device)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from amtterm.errors import ConfigError, ExpectTimeout, SessionClosed
from amtterm.expect import Console, key_bytes


class FakeClient:
    """Stands in for a started SolClient: output from a queue, keys into a list."""

    target = "pc-test:16994"

    def __init__(self) -> None:
        self.power_listeners: list[Any] = []
        self.sent: list[bytes] = []
        self.output: asyncio.Queue[bytes] = asyncio.Queue()

    async def read(self) -> bytes:
        return await self.output.get()

    async def write(self, data: bytes) -> None:
        self.sent.append(data)

    async def close(self) -> None:
        self.output.put_nowait(b"")


def console(**options: Any) -> tuple[Console, FakeClient]:
    client = FakeClient()
    return Console(client, **options), client  # type: ignore[arg-type]


async def test_text_already_on_screen_when_keys_went_out_does_not_count() -> None:
    con, client = console()
    con.feed(b"\x1b[2J\x1b[23;1HPress F2 for Setup")
    assert (await con.expect("Setup", timeout=0.1)).row == 22
    await con.send_keys("F2")
    assert client.sent == [b"\x1b[OQ"]
    with pytest.raises(ExpectTimeout):
        await con.expect("Setup", timeout=0.1, where="screen")
    con.feed(b"\x1b[2J\x1b[1;20HSetup Utility")
    found = await con.expect("Setup", timeout=0.1, where="screen")
    assert (found.row, found.column) == (0, 19)
    await con.close()


async def test_waits_between_two_sends_see_the_same_screen_in_any_order() -> None:
    con, _ = console()
    con.feed(b"Main  Advanced  Save & Exit")
    assert (await con.expect("Save & Exit", timeout=0.1)).column == 16
    assert (await con.expect("Main", timeout=0.1)).column == 0
    await con.close()


async def test_the_stream_keeps_text_that_was_overwritten() -> None:
    con, client = console()
    await con.send("boot\r")
    assert client.sent == [b"boot\r"]
    con.feed(b"\x1b[5;1HBooting from IDE-R CD-ROM\x1b[2J\x1b[1;1Hlogin:")
    found = await con.expect("IDE-R", timeout=0.1)
    assert found.where == "stream" and found.row is None
    assert "IDE-R" not in con.screen_text()
    con.mark()
    with pytest.raises(ExpectTimeout):
        await con.expect("IDE-R", timeout=0.1)
    await con.close()


async def test_an_escape_split_between_reads_is_not_text() -> None:
    con, _ = console()
    con.feed(b"ready\x1b[1")
    con.feed(b"0;1HSetup")
    assert "\x1b" not in con.stream_text and "[10" not in con.stream_text
    assert con.stream_text == "ready\nSetup"
    await con.close()


async def test_cp437_and_regex_across_rows() -> None:
    con, _ = console(encoding="cp437")
    con.feed(b"\xc9\xcd\xcd\xbb\r\n\xc8\xcd\xcd\xbc")
    assert con.screen_lines()[0].startswith("╔══╗") and con.screen_lines()[1].startswith("╚══╝")
    found = await con.expect(re.compile(r"╗\s*\n╚"), timeout=0.1)
    assert found.row == 0
    await con.close()


async def test_the_wait_wakes_up_when_output_comes() -> None:
    con, client = console()
    waiting = asyncio.ensure_future(con.expect("login:", timeout=5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    client.output.put_nowait(b"demo login: ")
    found = await asyncio.wait_for(waiting, 2)
    assert found.text == "login:"
    await con.close()


async def test_session_end_while_waiting_is_one_sentence() -> None:
    con, client = console()
    client.output.put_nowait(b"")
    with pytest.raises(SessionClosed, match='pc-test:16994 ended the session while we waited for "x"'):
        await con.expect("x", timeout=5)
    with pytest.raises(SessionClosed):
        await con.send_keys("Enter")
    await con.close()


def test_key_names() -> None:
    assert key_bytes("F2") == b"\x1b[OQ"
    assert key_bytes("F2", "alternate") == b"\x1b2"
    assert key_bytes("f10", "vt100+") == b"\x1bOY"
    assert key_bytes("Enter") == b"\r" and key_bytes("Enter", enter="crlf") == b"\r\n"
    assert key_bytes("Esc") == b"\x1b" and key_bytes("PgDn") == b"\x1b[6~"
    assert key_bytes("Ctrl-Alt-Del") == b"\x1bR\x1br\x1bR"
    assert key_bytes("Ctrl-C") == b"\x03"
    assert key_bytes("Y") == b"Y" and key_bytes("-") == b"-"
    for bad in ("F13", "Hyper-X", ""):
        with pytest.raises(ConfigError, match="is not a key"):
            key_bytes(bad)

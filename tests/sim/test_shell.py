"""The demo OS: login, line editing, commands, and the flood benchmark."""

from __future__ import annotations

import hashlib
import re
import tracemalloc
from collections.abc import Callable

import pytest

from tests.sim.console import Console

Make = Callable[..., Console]
PROMPT = "alice@demo-host:~$"
FLOOD = re.compile(rb"FLOOD-BEGIN (\d+)\r\n")
TRAILER = re.compile(rb"\x1b\[0m\x1b\[\d+;1H\r\nFLOOD-END (\d+) ([0-9a-f]{64})\r\n")


def last_line(con: Console) -> str:
    lines = [line.rstrip() for line in con.screen.display if line.strip()]
    return lines[-1]


class TestLogin:
    def test_login_echoes_the_name_but_not_the_password(self, booted: Make) -> None:
        con = booted()
        con.wait_for("demo-host login:", timeout=30)
        con.send(b"bob")
        assert last_line(con) == "demo-host login: bob"
        con.send(b"\r")
        assert last_line(con) == "Password:"
        con.send(b"hunter2")
        assert "hunter2" not in con.text()
        con.send(b"\r\n")  # CR LF: one Enter, not an empty command after the login
        assert last_line(con) == "bob@demo-host:~$"
        assert con.text().count("bob@demo-host:~$") == 1

    def test_empty_name_asks_again(self, booted: Make) -> None:
        con = booted()
        con.wait_for("demo-host login:", timeout=30)
        con.send(b"\r")
        assert con.text().count("demo-host login:") == 2

    def test_prompt_has_colours(self, shell: Make) -> None:
        con = shell()
        y, x = con.find(PROMPT)
        assert con.cell(y, x).fg == "green" and con.cell(y, x).bold


class TestLineEditing:
    def test_typed_characters_echo(self, shell: Make) -> None:
        con = shell()
        con.send(b"echo hello")
        assert last_line(con) == f"{PROMPT} echo hello"
        con.send(b"\r")
        assert "hello" in con.screen.display[con.screen.cursor.y - 1]

    @pytest.mark.parametrize("backspace", [b"\x08", b"\x7f"])
    def test_backspace_erases(self, shell: Make, backspace: bytes) -> None:
        con = shell()
        con.send(b"echo abX" + backspace)
        assert last_line(con) == f"{PROMPT} echo ab"
        con.send(b"c\r")
        assert "abc" in con.text() and "abX" not in con.text()

    def test_backspace_on_an_empty_line_does_not_eat_the_prompt(self, shell: Make) -> None:
        con = shell()
        con.send(b"\x7f\x7f\x08")
        assert last_line(con) == PROMPT

    def test_ctrl_c_and_ctrl_u(self, shell: Make) -> None:
        con = shell()
        con.send(b"some words\x03")
        assert "some words^C" in con.text()
        assert last_line(con) == PROMPT
        con.send(b"more\x15")
        assert last_line(con) == PROMPT

    def test_a_line_never_wraps(self, shell: Make) -> None:
        con = shell()
        con.send(b"x" * 200)
        assert con.screen.wraps == 0
        assert b"\x07" in con.raw

    @pytest.mark.parametrize("enter", [b"\r", b"\n", b"\r\n"])
    def test_every_enter_convention_runs_the_command_once(self, shell: Make, enter: bytes) -> None:
        con = shell()
        con.send(b"echo once" + enter)
        assert con.text().count(PROMPT) == 2


class TestCommands:
    def test_help(self, shell: Make) -> None:
        con = shell()
        con.send(b"help\r")
        for command in ("uname", "date", "colors", "flood N", "reboot", "poweroff"):
            assert command in con.text()

    def test_uname_date_ls(self, shell: Make) -> None:
        con = shell()
        con.send(b"uname -a\r")
        assert "Linux demo-host 6.1.0-21-amd64" in con.text() and "x86_64 GNU/Linux" in con.text()
        con.send(b"date\r")
        assert re.search(r"Sat Jun  1 09:00:\d\d UTC 2024", con.text())
        con.send(b"ls\r")
        assert "notes.txt" in con.text() and "Documents" in con.text()

    def test_date_follows_now(self, shell: Make) -> None:
        con = shell()
        con.advance(3600)
        con.send(b"date\r")
        assert re.search(r"Sat Jun  1 10:0\d:\d\d UTC 2024", con.text())

    def test_unknown_command(self, shell: Make) -> None:
        con = shell()
        con.send(b"frobnicate\r")
        assert "frobnicate: command not found" in con.text()

    def test_clear(self, shell: Make) -> None:
        con = shell()
        con.send(b"clear\r")
        assert con.screen.display[0].startswith(PROMPT)
        assert "Last login" not in con.text()

    def test_cat_shows_saved_bios_settings(self, shell: Make) -> None:
        con = shell()
        con.send(b"cat bios-settings.txt\r")
        assert "Boot Option #1 = Hard Disk: DEMO SSD 512GB" in con.text()

    def test_colors_card(self, shell: Make) -> None:
        con = shell()
        con.send(b"colors\r")
        assert b"\x1b(0" in con.raw and b"\x1b(B" in con.raw
        assert "┌──────┬──────┐" in con.text()
        assert "└──────┴──────┘" in con.text()
        y, x = con.find("  37m")
        cell = con.cell(y, x + 8 + 5 * 4 + 1)  # 37 on 44: the fifth cell of the row
        assert (cell.fg, cell.bg) == ("white", "blue")
        assert con.screen.wraps == 0

    def test_exit_returns_to_login(self, shell: Make) -> None:
        con = shell()
        con.send(b"exit\r")
        assert last_line(con) == "demo-host login:"

    def test_reboot_goes_back_to_post(self, shell: Make) -> None:
        con = shell()
        con.send(b"reboot\r")
        con.wait_for("reboot: Restarting system", timeout=3)
        con.wait_for("BIOS Version", timeout=2)
        assert con.host.boot_count == 2

    def test_poweroff_ends_powered_off_with_its_last_words_read(self, shell: Make) -> None:
        con = shell()
        con.send(b"poweroff\r")
        con.advance(10)
        assert not con.host.powered
        assert "reboot: Power down" in con.text()
        assert con.host.read_output(con.now + 1) == b""
        assert con.host.next_deadline() is None

    def test_poweroff_text_survives_a_reader_that_comes_late(self, shell: Make) -> None:
        con = shell()
        con.host.feed(b"poweroff\r", con.now)
        data = con.host.read_output(con.now + 60)
        assert b"reboot: Power down" in data
        assert not con.host.powered


def run_flood(con: Console, count: int, chunk: int = 4096) -> tuple[bytes, bytes]:
    """Type ``flood count``, read with max_bytes=chunk; return (the N bytes, the trailer line)."""
    con.send(b"flood %d\r" % count)
    data = bytearray(con.raw)
    while con.host.next_deadline() is not None and con.host.pending_output:
        piece = con.host.read_output(con.now, chunk)
        assert len(piece) <= chunk
        data += piece
    begin = FLOOD.search(data)
    assert begin is not None and int(begin.group(1)) == count
    start = begin.end()
    trailer = TRAILER.match(data, start + count)
    assert trailer is not None, bytes(data[start + count : start + count + 100])
    con.show(bytes(data[len(con.raw) :]))
    return bytes(data[start : start + count]), trailer.group(0)


class TestFlood:
    @pytest.mark.parametrize("count", [0, 1, 7, 1000, 12345, 100_000])
    def test_exactly_n_bytes_and_their_hash(self, shell: Make, count: int) -> None:
        con = shell()
        body, trailer = run_flood(con, count)
        assert len(body) == count
        assert trailer.endswith(f"FLOOD-END {count} {hashlib.sha256(body).hexdigest()}\r\n".encode())
        assert last_line(con) == PROMPT
        assert f"FLOOD-END {count}" in con.text()

    def test_flood_is_ansi_heavy_and_stays_on_screen(self, shell: Make) -> None:
        con = shell()
        body, _ = run_flood(con, 50_000)
        assert body.count(b"\x1b[") > 2000
        assert re.search(rb"\x1b\[0;1;3\d;4\dm", body)
        assert b"\xc9\xcd\xcd\xcd\xbb" in body and b"\xb0\xb1\xb2" in body
        moves = [(int(r), int(c)) for r, c in re.findall(rb"\x1b\[(\d+);(\d+)H", body)]
        assert moves and all(1 <= r <= 25 and 1 <= c <= 80 for r, c in moves)

    def test_same_n_same_bytes(self, shell: Make) -> None:
        first, _ = run_flood(shell(), 30_000)
        second, _ = run_flood(shell(), 30_000)
        assert first == second

    def test_fifty_megabytes_are_produced_lazily(self, shell: Make) -> None:
        con = shell()
        count = 50_000_000
        tracemalloc.start()
        try:
            con.host.feed(b"flood %d\r" % count, con.now)
            digest = hashlib.sha256()
            head = con.host.read_output(con.now, 65536)
            begin = FLOOD.search(head)
            assert begin is not None
            body = head[begin.end() :]
            seen = len(body)
            digest.update(body)
            tail = b""
            while True:
                piece = con.host.read_output(con.now, 65536)
                if not piece:
                    break
                if seen + len(piece) > count:
                    cut = count - seen
                    digest.update(piece[:cut])
                    tail += piece[cut:]
                    seen = count
                else:
                    digest.update(piece)
                    seen += len(piece)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert seen == count
        assert f"FLOOD-END {count} {digest.hexdigest()}".encode() in tail
        assert peak < 4_000_000, peak

    def test_bad_arguments(self, shell: Make) -> None:
        con = shell()
        con.send(b"flood lots\r")
        assert "usage: flood N" in con.text()
        assert b"FLOOD-BEGIN" not in con.raw

    def test_keys_typed_during_a_flood_echo_after_it(self, shell: Make) -> None:
        con = shell()
        con.host.feed(b"flood 200000\r", con.now)
        con.host.feed(b"echo after\r", con.now)
        data = con.host.read_output(con.now)
        assert data.index(b"FLOOD-END") < data.index(b"after")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (b"uname", "Linux"),
        (b"uname -r", "6.1.0-21-amd64"),
        (b"uname -sn", "Linux demo-host"),
        (b"uname -m -n", "demo-host x86_64"),
        (b"uname -q", "uname: invalid option -- 'q'"),
    ],
)
def test_uname_flags(shell: Make, command: bytes, expected: str) -> None:
    con = shell()
    con.send(command + b"\r")
    assert con.screen.display[con.screen.cursor.y - 1].rstrip() == expected

"""Keys that reach a BIOS: the four F-key conventions, Enter/Backspace settings, control keys,
paste pacing, the send-text field, and the tmux escape-time warning."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from amtterm.sim.synthetic.keys import KeyDecoder
from amtterm.terminal.keymap import (
    CTRL_ALT_DEL,
    KEY_MODES,
    check_mode,
    fkey_bytes,
    key_to_bytes,
    paste_chunks,
    send_text_chunks,
)
from amtterm.terminal.tmux import tmux_escape_time_warning

FKEYS = {
    "intel": [b"\x1b[O" + bytes([c]) for c in b"PQRSTUVWXYZ["],
    "alternate": [b"\x1b1", b"\x1b2", b"\x1b3", b"\x1b4", b"\x1b5", b"\x1b6", b"\x1b7", b"\x1b8",
                  b"\x1b9", b"\x1b0", b"\x1b!", b"\x1b@"],
    "vt100+": [b"\x1bO" + bytes([c]) for c in b"PQRSTUVWXYZ["],
    "xterm": [b"\x1bOP", b"\x1bOQ", b"\x1bOR", b"\x1bOS", b"\x1b[15~", b"\x1b[17~", b"\x1b[18~",
              b"\x1b[19~", b"\x1b[20~", b"\x1b[21~", b"\x1b[23~", b"\x1b[24~"],
}  # fmt: skip


@pytest.mark.parametrize("mode", KEY_MODES)
def test_f1_to_f12_in_every_convention(mode: str) -> None:
    got = [key_to_bytes(f"f{n}", check_mode(mode)) for n in range(1, 13)]
    assert got == FKEYS[mode]
    assert [fkey_bytes(n, check_mode(mode)) for n in range(1, 13)] == FKEYS[mode]


def test_intel_f1_to_f4_are_esc_bracket_o() -> None:
    assert [key_to_bytes(f"f{n}", "intel") for n in range(1, 5)] == [
        b"\x1b[OP",
        b"\x1b[OQ",
        b"\x1b[OR",
        b"\x1b[OS",
    ]


@pytest.mark.parametrize("mode", KEY_MODES)
def test_the_simulated_bios_reads_every_fkey_back(mode: str) -> None:
    """The simulator's key decoder (which accepts all conventions) sees F1..F12 in order."""
    decoder = KeyDecoder()
    keys = []
    for n in range(1, 13):
        keys += decoder.feed(key_to_bytes(f"f{n}", check_mode(mode)) or b"", 0.0)
    assert [key.name.value for key in keys] == [f"f{n}" for n in range(1, 13)]


def test_no_fkey_beyond_12() -> None:
    assert key_to_bytes("f13") is None
    with pytest.raises(ValueError, match="F1-F12"):
        fkey_bytes(13)


def test_enter_and_backspace_choices() -> None:
    assert key_to_bytes("enter") == b"\r"
    assert key_to_bytes("enter", enter="crlf") == b"\r\n"
    assert key_to_bytes("backspace") == b"\x08"
    assert key_to_bytes("backspace", backspace="del") == b"\x7f"
    assert key_to_bytes("ctrl+h", backspace="del") == b"\x08"  # Ctrl-H is always BS


@pytest.mark.parametrize(
    ("key", "data"),
    [
        ("up", b"\x1b[A"), ("down", b"\x1b[B"), ("right", b"\x1b[C"), ("left", b"\x1b[D"),
        ("escape", b"\x1b"), ("tab", b"\t"), ("shift+tab", b"\x1b[Z"), ("space", b" "),
        ("ctrl+a", b"\x01"), ("ctrl+c", b"\x03"), ("ctrl+z", b"\x1a"), ("ctrl+@", b"\x00"),
        ("ctrl+backslash", b"\x1c"), ("ctrl+right_square_bracket", b"\x1d"),
        ("ctrl+alt+delete", CTRL_ALT_DEL), ("alt+x", b"\x1bx"), ("ctrl+up", b"\x1b[A"),
        ("shift+f2", b"\x1b[OQ"), ("a", b"a"), ("A", b"A"), ("shift+a", b"A"),
        ("exclamation_mark", b"!"), ("full_stop", b"."), ("slash", b"/"), ("at", b"@"),
        ("break", None), ("f24", None),
    ],
)  # fmt: skip
def test_other_keys(key: str, data: bytes | None) -> None:
    assert key_to_bytes(key) == data


def test_ctrl_alt_del_is_esc_r_esc_r_esc_r() -> None:
    assert CTRL_ALT_DEL == b"\x1bR\x1br\x1bR"


@pytest.mark.parametrize(
    ("key", "intel", "headless", "xterm"),
    [
        ("home", b"\x1b[1~", b"\x1bh", b"\x1b[H"),
        ("end", b"\x1b[4~", b"\x1bk", b"\x1b[F"),
        ("insert", b"\x1b[2~", b"\x1b+", b"\x1b[2~"),
        ("delete", b"\x1b[3~", b"\x1b-", b"\x1b[3~"),
        ("pageup", b"\x1b[5~", b"\x1b?", b"\x1b[5~"),
        ("pagedown", b"\x1b[6~", b"\x1b/", b"\x1b[6~"),
    ],
)
def test_editing_keys(key: str, intel: bytes, headless: bytes, xterm: bytes) -> None:
    assert key_to_bytes(key, "intel") == intel
    assert key_to_bytes(key, "alternate") == headless
    assert key_to_bytes(key, "vt100+") == headless
    assert key_to_bytes(key, "xterm") == xterm


def test_printable_characters_use_the_host_encoding() -> None:
    assert key_to_bytes("é", character="é") == "é".encode()
    assert key_to_bytes("é", character="é", encoding="cp437") == b"\x82"
    assert key_to_bytes("ж", character="ж", encoding="cp437") == b"?"


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="intel, alternate, vt100\\+, xterm"):
        check_mode("ami")


def test_paste_chunks_are_small_and_end_at_line_ends() -> None:
    chunks = paste_chunks("correct horse battery staple\nline two\r\nlast", chunk=8)
    assert chunks == [b"correct ", b"horse ba", b"ttery st", b"aple\r", b"line two", b"\r", b"last"]
    assert all(len(chunk) <= 8 for chunk in chunks)


def test_paste_crlf_enter_and_no_control_characters() -> None:
    assert paste_chunks("a\tb\x1b[2Jc\x07\n", enter=b"\r\n") == [b"a\tb[2Jc\r\n"]
    assert paste_chunks("") == []


def test_paste_never_splits_a_character() -> None:
    chunks = paste_chunks("ééééé", chunk=3)
    assert chunks == ["é".encode()] * 5
    assert b"".join(paste_chunks("ünïcødé", chunk=3)).decode() == "ünïcødé"


def test_send_text_with_key_names() -> None:
    assert send_text_chunks("admin<enter>") == [b"admin", b"\r"]
    assert send_text_chunks("<f2>", mode="alternate") == [b"\x1b2"]
    assert send_text_chunks("<ctrl+alt+delete><esc>") == [CTRL_ALT_DEL, b"\x1b"]
    assert send_text_chunks("a<<b <nope>") == [b"a<b <nope>"]


def fake_tmux(tmp_path: Path, script: str) -> dict[str, str]:
    """An environment inside tmux whose PATH finds a fake ``tmux`` running ``script``."""
    tmux = tmp_path / "tmux"
    tmux.write_text("#!/bin/sh\n" + script + "\n")
    tmux.chmod(tmux.stat().st_mode | stat.S_IEXEC)
    return {"TMUX": "/tmp/tmux-0/default,1,0", "PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"}


def test_tmux_warning_when_escape_time_is_the_default(tmp_path: Path) -> None:
    env = fake_tmux(tmp_path, 'test "$*" = "show -sv escape-time" && echo 500')
    warning = tmux_escape_time_warning(env)
    assert warning is not None
    assert "500 ms" in warning and "escape-time" in warning
    assert warning.count(". ") == 0  # one sentence


def test_no_tmux_warning_when_escape_time_is_low(tmp_path: Path) -> None:
    assert tmux_escape_time_warning(fake_tmux(tmp_path, "echo 10")) is None


def test_no_tmux_warning_outside_tmux(tmp_path: Path) -> None:
    env = fake_tmux(tmp_path, "echo 500")
    del env["TMUX"]
    assert tmux_escape_time_warning(env) is None


@pytest.mark.parametrize("script", ["exit 1", "echo garbage", "echo", "sleep 5"])
def test_tmux_warning_tolerates_failures(tmp_path: Path, script: str) -> None:
    assert tmux_escape_time_warning(fake_tmux(tmp_path, script), timeout=0.5) is None


def test_tmux_warning_without_tmux_installed(tmp_path: Path) -> None:
    env = {"TMUX": "/tmp/tmux-0/default,1,0", "PATH": str(tmp_path)}
    assert tmux_escape_time_warning(env) is None

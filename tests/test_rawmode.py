"""The raw console's key filter: what reaches the remote, and the quit escapes."""

from __future__ import annotations

from amtterm.terminal.decoder import terminal_converter
from amtterm.terminal.escape import KeyFilter


def test_enter_is_sent_as_cr_by_default_and_as_configured() -> None:
    assert KeyFilter().feed(b"ab\r") == (b"ab\r", False, b"")
    assert KeyFilter(enter=b"\r\n").feed(b"ab\r") == (b"ab\r\n", False, b"")


def test_piped_lf_becomes_enter() -> None:
    assert KeyFilter(translate_lf=True).feed(b"help\n") == (b"help\r", False, b"")
    # On a terminal LF (Ctrl-J) is a key of its own and passes through.
    assert KeyFilter().feed(b"\n") == (b"\n", False, b"")


def test_ctrl_rbracket_quits_anywhere_and_sends_what_came_before() -> None:
    assert KeyFilter().feed(b"xy\x1dzz") == (b"xy", True, b"")


def test_tilde_dot_quits_only_at_line_start() -> None:
    keys = KeyFilter()
    assert keys.feed(b"a~.") == (b"a~.", False, b"")
    assert keys.feed(b"\r~.") == (b"\r", True, b"")


def test_tilde_dot_split_across_reads() -> None:
    keys = KeyFilter()
    assert keys.feed(b"~") == (b"", False, b"")
    assert keys.feed(b".") == (b"", True, b"")


def test_double_tilde_sends_one_and_other_tilde_sends_both() -> None:
    assert KeyFilter().feed(b"~~") == (b"~", False, b"")
    assert KeyFilter().feed(b"~x") == (b"~x", False, b"")


def test_tilde_question_mark_shows_help_locally() -> None:
    remote, quit_now, local = KeyFilter().feed(b"~?")
    assert remote == b"" and not quit_now
    assert b"~." in local and b"Ctrl-]" in local


def test_cp437_box_drawing_on_a_utf8_terminal() -> None:
    # Light shade is 0xB0 and dark shade 0xB2 (MeshCommander swaps them).
    cp437 = terminal_converter("cp437")
    assert cp437(b"\xc9\xcd\xbb\xb0\xb2").decode() == "╔═╗░▓"
    assert cp437(b"\x1b[1;37mOK") == b"\x1b[1;37mOK"
    assert terminal_converter("raw")(b"\xc9\xcd") == b"\xc9\xcd"
    assert terminal_converter("auto")(b"\x1b[1;1H\xc9\xcd\xcd\xbb").decode() == "\x1b[1;1H╔══╗"

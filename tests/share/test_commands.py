"""The owner's ``~`` escapes and a viewer's Ctrl-] commands, as pure state machines."""

from __future__ import annotations

from amtterm.share.commands import OwnerKeys, ViewerKeys


def test_owner_escapes_work_after_enter_and_at_the_start() -> None:
    keys = OwnerKeys()
    result = keys.feed(b"~g")
    assert result.remote == b"" and result.actions == [("give", None)]
    result = keys.feed(b"ab~t")  # not at a line start: typed as it is
    assert result.remote == b"ab~t" and result.actions == []
    result = keys.feed(b"\r~3x")
    assert result.remote == b"\rx" and result.actions == [("give", 3)]


def test_owner_quits_with_tilde_dot_or_ctrl_bracket_and_keeps_what_came_before() -> None:
    assert OwnerKeys().feed(b"~.rest").actions == [("quit", None)]
    result = OwnerKeys().feed(b"ls\x1dmore")
    assert result.remote == b"ls" and result.actions == [("quit", None)]


def test_owner_double_tilde_sends_one_and_unknown_escapes_pass_through() -> None:
    assert OwnerKeys().feed(b"~~").remote == b"~"
    assert OwnerKeys().feed(b"~x").remote == b"~x"
    assert [a for a, _ in OwnerKeys().feed(b"~?~w").actions] == ["help", "who"]


def test_owner_enter_is_translated_and_lf_only_from_scripts() -> None:
    assert OwnerKeys(enter=b"\r\n").feed(b"a\r").remote == b"a\r\n"
    assert OwnerKeys(translate_lf=True).feed(b"a\n").remote == b"a\r"


def test_read_only_viewer_keys_go_nowhere_and_are_noticed() -> None:
    result = ViewerKeys().feed(b"\x1b[OQ", holding=False)
    assert result.remote == b"" and result.actions == ["refused"]


def test_viewer_holding_the_keyboard_types_and_doubles_ctrl_bracket() -> None:
    keys = ViewerKeys()
    assert keys.feed(b"\x1b[OQ", holding=True).remote == b"\x1b[OQ"
    assert keys.feed(b"\x1d\x1d", holding=True).remote == b"\x1d"


def test_viewer_commands_behind_ctrl_bracket() -> None:
    keys = ViewerKeys()
    assert keys.feed(b"\x1dk", holding=False).actions == ["ask"]
    assert keys.feed(b"\x1dk", holding=True).actions == ["release"]
    assert keys.feed(b"\x1d", holding=False).actions == []  # split across reads
    assert keys.feed(b"q", holding=False).actions == ["leave"]
    assert keys.feed(b"\x1dz", holding=True).actions == ["help"]
    assert keys.feed(b"\x1d\x1d", holding=False).actions == ["help"]  # nothing to send while read-only

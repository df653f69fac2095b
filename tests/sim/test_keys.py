"""The serial key decoder: every spelling a console may send for a key a BIOS needs."""

from __future__ import annotations

import pytest

from amtterm.sim.synthetic.keys import ESC_TIMEOUT, Key, KeyDecoder, KeyName

K = KeyName
F_KEYS = [K.F1, K.F2, K.F3, K.F4, K.F5, K.F6, K.F7, K.F8, K.F9, K.F10, K.F11, K.F12]


def names(keys: list[Key]) -> list[str]:
    return [str(key) for key in keys]


def decode(data: bytes, now: float = 0.0) -> list[Key]:
    decoder = KeyDecoder()
    keys = decoder.feed(data, now)
    return keys + decoder.flush(now + 10)


INTEL = [b"\x1b[O" + bytes([c]) for c in b"PQRSTUVWXYZ["]
VT100_PLUS = [b"\x1bO" + bytes([c]) for c in b"PQRSTUVWXYZ["]
ALTERNATE = [b"\x1b" + bytes([c]) for c in b"1234567890!@"]
XTERM = [f"\x1b[{n}~".encode() for n in (11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 23, 24)]


@pytest.mark.parametrize(
    ("convention", "sequences"),
    [("intel", INTEL), ("ss3", VT100_PLUS), ("alternate", ALTERNATE), ("xterm", XTERM)],
)
def test_function_keys_in_every_convention(convention: str, sequences: list[bytes]) -> None:
    decoder = KeyDecoder()
    for sequence, name in zip(sequences, F_KEYS, strict=True):
        assert decoder.feed(sequence, 0.0) == [Key(name)], sequence
        assert decoder.last_fkey_convention == convention
    assert not decoder.pending


def test_function_keys_back_to_back_in_one_read() -> None:
    data = b"".join([INTEL[1], VT100_PLUS[1], ALTERNATE[1], XTERM[1]])
    assert decode(data) == [Key(K.F2)] * 4


def test_linux_console_f1_to_f5() -> None:
    assert decode(b"\x1b[[A\x1b[[E") == [Key(K.F1), Key(K.F5)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\r", ["enter"]),
        (b"\n", ["enter"]),
        (b"\r\n", ["enter"]),
        (b"\r\n\r\n", ["enter", "enter"]),
        (b"\r\r", ["enter", "enter"]),
        (b"\n\n", ["enter", "enter"]),
        (b"\r\x00", ["enter"]),
        (b"\x08", ["backspace"]),
        (b"\x7f", ["backspace"]),
        (b"\t", ["tab"]),
        (b"a\x03", ["'a'", "'\\x03'"]),
    ],
)
def test_enter_backspace_and_plain_bytes(data: bytes, expected: list[str]) -> None:
    assert names(decode(data)) == expected


def test_cr_lf_split_across_reads_is_one_enter() -> None:
    decoder = KeyDecoder()
    assert decoder.feed(b"x\r", 0.0) == [Key.of("x"), Key(K.ENTER)]
    assert decoder.feed(b"\ny", 5.0) == [Key.of("y")]


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\x1b[A", K.UP), (b"\x1b[B", K.DOWN), (b"\x1b[C", K.RIGHT), (b"\x1b[D", K.LEFT),
        (b"\x1bOA", K.UP), (b"\x1bOB", K.DOWN), (b"\x1bOC", K.RIGHT), (b"\x1bOD", K.LEFT),
        (b"\x1b[1;5A", K.UP),
        (b"\x1b[H", K.HOME), (b"\x1b[F", K.END), (b"\x1bOH", K.HOME), (b"\x1bOF", K.END),
        (b"\x1b[1~", K.HOME), (b"\x1b[4~", K.END), (b"\x1b[2~", K.INSERT), (b"\x1b[3~", K.DELETE),
        (b"\x1b[5~", K.PAGE_UP), (b"\x1b[6~", K.PAGE_DOWN),
        (b"\x1bh", K.HOME), (b"\x1bk", K.END), (b"\x1b+", K.INSERT), (b"\x1b-", K.DELETE),
        (b"\x1b?", K.PAGE_UP), (b"\x1b/", K.PAGE_DOWN),
        (b"\x1bOM", K.ENTER),
    ],
)  # fmt: skip
def test_cursor_and_editing_keys(data: bytes, name: KeyName) -> None:
    assert decode(data) == [Key(name)]


def test_ctrl_alt_del() -> None:
    assert decode(b"\x1bR\x1br\x1bR") == [Key(K.CTRL_ALT_DEL)]


def test_ctrl_alt_del_split_over_reads() -> None:
    decoder = KeyDecoder()
    assert decoder.feed(b"\x1bR\x1b", 0.0) == []
    assert decoder.feed(b"r\x1bR", 0.1) == [Key(K.CTRL_ALT_DEL)]


def test_broken_ctrl_alt_del_is_esc_then_letters() -> None:
    assert names(decode(b"\x1bRx")) == ["esc", "'R'", "'x'"]


class TestEscTimeout:
    def test_lone_esc_waits_then_counts_as_esc(self) -> None:
        decoder = KeyDecoder()
        assert decoder.feed(b"\x1b", 1.0) == []
        assert decoder.pending
        assert decoder.deadline() == pytest.approx(1.0 + ESC_TIMEOUT)
        assert decoder.flush(1.0 + ESC_TIMEOUT / 2) == []
        assert decoder.flush(1.0 + ESC_TIMEOUT) == [Key(K.ESC)]
        assert not decoder.pending and decoder.deadline() is None

    def test_sequence_split_within_the_timeout_is_one_key(self) -> None:
        decoder = KeyDecoder()
        assert decoder.feed(b"\x1b", 0.0) == []
        assert decoder.feed(b"[", 0.1) == []
        assert decoder.feed(b"O", 0.2) == []
        assert decoder.feed(b"Q", 0.3) == [Key(K.F2)]  # each byte within 0.25 s of the last

    def test_byte_after_the_timeout_starts_fresh(self) -> None:
        decoder = KeyDecoder()
        decoder.feed(b"\x1b", 0.0)
        assert decoder.feed(b"2", 0.5) == [Key(K.ESC), Key.of("2")]

    def test_half_sequence_times_out_into_plain_keys(self) -> None:
        decoder = KeyDecoder()
        assert decoder.feed(b"\x1b[", 0.0) == []
        assert names(decoder.flush(1.0)) == ["esc", "'['"]

    def test_double_esc_is_esc_then_pending(self) -> None:
        decoder = KeyDecoder()
        assert decoder.feed(b"\x1b\x1b", 0.0) == [Key(K.ESC)]
        assert decoder.flush(1.0) == [Key(K.ESC)]

    def test_esc_then_unknown_byte_is_esc_and_the_byte(self) -> None:
        assert names(decode(b"\x1bx")) == ["esc", "'x'"]


def test_unknown_csi_is_swallowed() -> None:
    assert names(decode(b"\x1b[200~a\x1b[99Xb")) == ["'a'", "'b'"]


def test_reset_forgets_a_half_sequence() -> None:
    decoder = KeyDecoder()
    decoder.feed(b"\x1b[", 0.0)
    decoder.reset()
    assert decoder.feed(b"A", 0.1) == [Key.of("A")]

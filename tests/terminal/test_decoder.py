"""The byte decoders: a correct CP437 table, UTF-8 that never stalls, the auto guess, live switching."""

from __future__ import annotations

import pyte
import pytest

from amtterm.terminal.decoder import (
    AutoDecoder,
    Cp437Decoder,
    StreamDecoder,
    Utf8Decoder,
    normalize_encoding,
    utf8_evidence,
)

# The IBM table, cell by cell, where it matters for BIOS screens (MeshCommander swaps B0/B2).
CP437_CELLS = {
    0xB0: "\u2591",  # ░ LIGHT SHADE
    0xB1: "\u2592",  # ▒ MEDIUM SHADE
    0xB2: "\u2593",  # ▓ DARK SHADE
    0xDB: "\u2588",  # █ FULL BLOCK
    0xDC: "\u2584",  # ▄ LOWER HALF BLOCK
    0xDF: "\u2580",  # ▀ UPPER HALF BLOCK
    0xC9: "╔", 0xCD: "═", 0xBB: "╗", 0xBA: "║", 0xC8: "╚", 0xBC: "╝",
    0xDA: "┌", 0xC4: "─", 0xBF: "┐", 0xB3: "│", 0xC0: "└", 0xD9: "┘",
    0xC3: "├", 0xB4: "┤", 0xC2: "┬", 0xC1: "┴", 0xC5: "┼",
    0xCC: "╠", 0xB9: "╣", 0xCB: "╦", 0xCA: "╩", 0xCE: "╬", 0xD1: "╤", 0xCF: "╧",
    0xFE: "■", 0xF9: "∙", 0xFA: "·", 0xF8: "°", 0xE3: "π", 0x9C: "£", 0x80: "Ç", 0x82: "é",
}  # fmt: skip


@pytest.mark.parametrize(("byte", "char"), sorted(CP437_CELLS.items()))
def test_cp437_cells_are_the_ibm_table(byte: int, char: str) -> None:
    assert Cp437Decoder().decode(bytes([byte])) == char
    assert StreamDecoder("cp437").decode(bytes([byte])) == char


def test_cp437_light_shade_is_not_dark_shade() -> None:
    decoded = StreamDecoder("cp437").decode(b"\xb0\xb1\xb2\xdb")
    assert decoded == "░▒▓█"
    assert [hex(ord(c)) for c in decoded] == ["0x2591", "0x2592", "0x2593", "0x2588"]


def test_cp437_control_bytes_stay_controls() -> None:
    controls = bytes(range(0x20))
    assert StreamDecoder("cp437").decode(controls) == controls.decode("ascii")
    assert StreamDecoder("cp437").decode(b"\x7f") == "\x7f"


def test_cp437_sequences_reach_pyte_as_escape_sequences() -> None:
    screen = pyte.Screen(20, 3)
    stream = pyte.Stream(screen)
    stream.use_utf8 = False
    stream.feed(StreamDecoder("cp437").decode(b"\x1b[2;3H\x1b[1;33;44m\xc9\xcd\xbb"))
    assert screen.display[1][2:5] == "╔═╗"
    assert screen.buffer[1][2].fg == "brown" and screen.buffer[1][2].bg == "blue"


def test_utf8_multibyte_split_across_reads() -> None:
    decoder = StreamDecoder("utf-8")
    data = "┌─┐ ünïcødé ✓".encode()
    text = "".join(decoder.decode(data[i : i + 1]) for i in range(len(data)))
    assert text == "┌─┐ ünïcødé ✓"
    assert decoder.pending == b""


def test_utf8_invalid_bytes_show_at_once_as_cp437() -> None:
    decoder = Utf8Decoder()
    assert decoder.decode(b"A\xb0\xb1\xb2B") == "A░▒▓B"
    assert decoder.decode(b"\xc9\x1b[0m") == "╔\x1b[0m"  # lead byte followed by ESC: not held


def test_utf8_invalid_bytes_can_be_replacement_chars() -> None:
    assert Utf8Decoder("replace").decode(b"A\xb0B") == "A\ufffdB"


def test_utf8_cut_sequence_is_held_then_flushed() -> None:
    decoder = StreamDecoder("utf-8")
    assert decoder.decode(b"box \xc9") == "box "  # might be the start of a 2-byte sequence
    assert decoder.pending == b"\xc9"
    assert decoder.flush() == "╔"  # the stream went quiet: show it
    assert decoder.pending == b""


@pytest.mark.parametrize("seed", range(20))
def test_utf8_never_stalls_on_random_bytes(seed: int) -> None:
    """Whatever garbage came before, the text after it shows at once (nothing is waited for)."""
    garbage = bytes((i * (37 + seed) + 11 * seed) % 256 for i in range(500 + seed))
    for encoding in ("utf-8", "auto"):
        decoder = StreamDecoder(encoding)
        assert decoder.decode(garbage + b"\x1b[0mEND").endswith("\x1b[0mEND")
        assert decoder.pending == b""


def test_evidence_counts_sequences_and_stray_bytes() -> None:
    assert utf8_evidence(b"plain ascii") == (0, 0)
    assert utf8_evidence("é─✓😀".encode()) == (4, 0)
    assert utf8_evidence(b"\xb0\xb1\xb2") == (0, 3)
    assert utf8_evidence(b"ok \xe2\x94") == (0, 0)  # a cut sequence at the end counts for nobody


def test_auto_guesses_cp437_from_a_bios_screen() -> None:
    decoder = StreamDecoder("auto")
    assert decoder.active == "utf-8"
    text = decoder.decode(b"\x1b[1;1H\xc9" + b"\xcd" * 20 + b"\xbb\r\n\xba \xb0\xb1\xb2\xdb \xba")
    assert decoder.active == "cp437"
    assert text.endswith("╔" + "═" * 20 + "╗\r\n║ ░▒▓█ ║")


def test_auto_guesses_utf8_from_utf8_text() -> None:
    decoder = AutoDecoder(initial="cp437")
    text = decoder.decode("Démarrage ─ systemd ● OK ✓ — prêt ─ é è à ù".encode())
    assert decoder.guess == "utf-8"
    assert text == "Démarrage ─ systemd ● OK ✓ — prêt ─ é è à ù"


def test_auto_hysteresis_one_odd_byte_does_not_flip() -> None:
    decoder = StreamDecoder("auto")
    decoder.decode(b"\xb0" * 40)  # firmly CP437
    assert decoder.active == "cp437"
    decoder.decode("é".encode())  # one valid pair (could be CP437 ├⌐ too)
    assert decoder.active == "cp437"
    decoder.decode("─ ✓ é ü ö".encode() * 5)  # now the OS speaks UTF-8
    assert decoder.active == "utf-8"
    decoder.decode(b"\xff")  # one stray byte
    assert decoder.active == "utf-8"


def test_auto_in_utf8_guess_still_shows_stray_bytes_as_cp437() -> None:
    decoder = StreamDecoder("auto")
    assert decoder.decode(b"\xb2\xb1\xb0 DemoTech") == "▓▒░ DemoTech"
    assert decoder.active == "utf-8"  # 3 stray bytes are not yet enough to switch


def test_live_switch_flushes_held_bytes() -> None:
    decoder = StreamDecoder("utf-8")
    assert decoder.decode(b"x\xe2\x94") == "x"
    held = decoder.set_encoding("cp437")
    assert held == "Γö"  # the held bytes, shown with the fallback before switching
    assert decoder.encoding == "cp437"
    assert decoder.decode(b"\xe2\x94\x80") == "ΓöÇ"
    decoder.set_encoding("UTF8")
    assert decoder.encoding == "utf-8"
    assert decoder.decode("─".encode()) == "─"


def test_reset_forgets_the_guess() -> None:
    decoder = StreamDecoder("auto")
    decoder.decode(b"\xb0" * 40)
    decoder.reset()
    assert decoder.active == "utf-8"


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("UTF-8", "utf-8"), ("utf8", "utf-8"), ("CP437", "cp437"), ("ibm437", "cp437"), ("Auto", "auto")],
)
def test_encoding_names(name: str, canonical: str) -> None:
    assert normalize_encoding(name) == canonical


def test_unknown_encoding_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="utf-8, cp437 or auto"):
        StreamDecoder("latin-1")


def test_auto_shows_a_read_with_a_byte_utf8_cannot_have_as_cp437_before_the_guess_turns() -> None:
    decoder = StreamDecoder("auto")
    assert decoder.decode(b"\x1b[1;1H\xc9\xcd\xcd\xbb") == "\x1b[1;1H╔══╗"  # its ═╗ alone is UTF-8 "ͻ"
    assert decoder.active == "utf-8"  # one small frame is not yet enough to turn the guess
    assert decoder.decode("démarré ✓".encode()) == "démarré ✓"  # a well-formed read stays UTF-8

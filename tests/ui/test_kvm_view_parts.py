"""The KVM view's pure parts: keys as X keysyms, the fitted size, half-block cells."""

from __future__ import annotations

from amtterm.ui.widgets.kvm_keys import key_keysyms, text_keysyms
from amtterm.ui.widgets.kvm_view import UPPER_HALF, fit_size, half_block_rows

CTRL, SHIFT, ALT = 0xFFE3, 0xFFE1, 0xFFE9


def taps(*keysyms: int) -> list[tuple[int, bool]]:
    out: list[tuple[int, bool]] = []
    for keysym in keysyms:
        out += [(keysym, True), (keysym, False)]
    return out


def test_printable_keys_send_their_character() -> None:
    assert key_keysyms("a", "a") == taps(ord("a"))
    assert key_keysyms("A", "A") == taps(ord("A"))
    assert key_keysyms("exclamation_mark", "!") == taps(ord("!"))
    assert key_keysyms("space", " ") == taps(0x20)
    assert key_keysyms("é", "é") == taps(0xE9)  # Latin-1: the code point
    assert key_keysyms("€", "€") == taps(0x010020AC)  # beyond: X11's Unicode keysyms


def test_named_keys_send_the_pc_keyboards_keysyms() -> None:
    assert key_keysyms("enter", "\r") == taps(0xFF0D)
    assert key_keysyms("escape", "\x1b") == taps(0xFF1B)
    assert key_keysyms("tab", "\t") == taps(0xFF09)
    assert key_keysyms("backspace", "\x7f") == taps(0xFF08)
    assert key_keysyms("f2") == taps(0xFFBF)
    assert key_keysyms("f12") == taps(0xFFC9)
    assert key_keysyms("delete") == taps(0xFFFF)
    assert key_keysyms("pagedown") == taps(0xFF56)
    assert key_keysyms("up") == taps(0xFF52)


def test_modifiers_go_down_first_and_up_last() -> None:
    assert key_keysyms("ctrl+c", "\x03") == [(CTRL, True), (ord("c"), True), (ord("c"), False), (CTRL, False)]
    assert key_keysyms("shift+tab") == [(SHIFT, True), (0xFF09, True), (0xFF09, False), (SHIFT, False)]
    assert key_keysyms("ctrl+alt+delete") == [
        (CTRL, True),
        (ALT, True),
        (0xFFFF, True),
        (0xFFFF, False),
        (ALT, False),
        (CTRL, False),
    ]
    assert key_keysyms("alt+x") == [(ALT, True), (ord("x"), True), (ord("x"), False), (ALT, False)]
    # The prefix pressed twice sends the prefix itself: Ctrl-] is Ctrl and the ] key.
    bracket = ord("]")
    assert key_keysyms("ctrl+right_square_bracket") == [
        (CTRL, True),
        (bracket, True),
        (bracket, False),
        (CTRL, False),
    ]


def test_keys_the_pc_has_no_keysym_for_are_not_sent() -> None:
    assert key_keysyms("f13") is None
    assert key_keysyms("hyper+q") is None


def test_the_key_bars_text_field_types_words_and_named_keys() -> None:
    assert text_keysyms("ab<enter>") == taps(ord("a"), ord("b"), 0xFF0D)
    assert text_keysyms("<f2>") == taps(0xFFBF)
    assert text_keysyms("<nonsense>")[:2] == taps(ord("<"))  # typed as written
    assert text_keysyms("<ctrl-alt-del>")[0] == (CTRL, True)


def test_the_fitted_screen_keeps_its_proportions() -> None:
    assert fit_size(720, 400, 80, 23) == (80, 44)  # 80x24 with the status line: width bound
    assert fit_size(1024, 768, 80, 23) == (61, 46)  # height bound (a half-cell is about square)
    assert fit_size(640, 480, 640, 240) == (640, 480)  # room for 1:1
    assert fit_size(0, 0, 80, 23) == (0, 0)


def test_half_blocks_carry_the_top_pixel_in_front_and_the_bottom_behind() -> None:
    red, blue = bytes((255, 0, 0)), bytes((0, 0, 255))
    top, bottom = red + red + blue, blue + blue + blue  # 3x2 pixels: one row of 3 cells
    (row,) = half_block_rows(top + bottom, 3, 2)
    first, second = row
    assert first.text == UPPER_HALF * 2  # two equal cells are one run
    assert first.style is not None and first.style.color is not None and first.style.bgcolor is not None
    assert first.style.color.get_truecolor() == (255, 0, 0)
    assert first.style.bgcolor.get_truecolor() == (0, 0, 255)
    assert second.text == " "  # both pixels blue: a blue space
    assert second.style is not None and second.style.bgcolor is not None
    assert second.style.bgcolor.get_truecolor() == (0, 0, 255)

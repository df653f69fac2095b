"""Keys for the remote: Textual key names -> the bytes a BIOS (or an OS) on a serial console expects.

No Textual import: keys are named as Textual names them (``"f2"``, ``"enter"``, ``"ctrl+c"``,
``"up"``, ``"shift+tab"``, ``"exclamation_mark"``), so this is a pure table plus a few rules.

A BIOS reading its serial port sees bytes, not scan codes, and vendors spell the keys ASCII
lacks in one of a few conventions. The host's "key mode" picks one:

========= ================ ============== ============== ================
key       ``intel``        ``alternate``  ``vt100+``     ``xterm``
========= ================ ============== ============== ================
F1-F4     ESC [ O P..S     ESC 1..ESC 4   ESC O P..S     ESC O P..S
F5-F8     ESC [ O T..W     ESC 5..ESC 8   ESC O T..W     ESC [ 15~, 17~..19~
F9, F10   ESC [ O X, Y     ESC 9, ESC 0   ESC O X, Y     ESC [ 20~, 21~
F11, F12  ESC [ O Z, [     ESC !, ESC @   ESC O Z, [     ESC [ 23~, 24~
Home/End  ESC [ 1~, 4~     ESC h, ESC k   ESC h, ESC k   ESC [ H, ESC [ F
Ins/Del   ESC [ 2~, 3~     ESC +, ESC -   ESC +, ESC -   ESC [ 2~, 3~
PgUp/PgDn ESC [ 5~, 6~     ESC ?, ESC /   ESC ?, ESC /   ESC [ 5~, 6~
========= ================ ============== ============== ================

"intel" continues the ``ESC [ O`` + letter form of F1-F4 through F12 (T, U, V ... Z, [), as the
VT100+ form does with ``ESC O``. The ``ESC h``/``ESC k``... editing keys are the headless-server
(VT100+/VT-UTF8) ones. Arrows are ``ESC [ A``..``D`` in every mode.

Everywhere: Enter is CR (``"cr"``) or CR LF (``"crlf"``); Backspace is BS 0x08 (``"bs"``) or
DEL 0x7F (``"del"``); Esc is a lone ESC; Tab is HT, Shift-Tab ``ESC [ Z``; Ctrl-letter is 0x01-0x1A;
Alt-key is ESC then the key; Ctrl-Alt-Del is ``ESC R ESC r ESC R``. Break (:data:`BREAK`) has no
byte sequence, and a console cannot send one over SOL (see the README), so it maps to nothing.
"""

from __future__ import annotations

import unicodedata
from typing import Final, Literal

KeyMode = Literal["intel", "alternate", "vt100+", "xterm"]
Enter = Literal["cr", "crlf"]
Backspace = Literal["bs", "del"]

#: The key modes, in the order a selector shows them.
KEY_MODES: Final[tuple[KeyMode, ...]] = ("intel", "alternate", "vt100+", "xterm")
#: What the modes are called in the UI.
KEY_MODE_LABELS: Final[dict[KeyMode, str]] = {
    "intel": "Intel (ESC [ O P)",
    "alternate": "Alternate (ESC 1)",
    "vt100+": "VT100+ (ESC O P)",
    "xterm": "xterm (ESC [ 15~)",
}
ENTER_BYTES: Final[dict[Enter, bytes]] = {"cr": b"\r", "crlf": b"\r\n"}
BACKSPACE_BYTES: Final[dict[Backspace, bytes]] = {"bs": b"\x08", "del": b"\x7f"}

ESC: Final = b"\x1b"
#: Ctrl-Alt-Del for console redirection: ``ESC R ESC r ESC R``.
CTRL_ALT_DEL: Final = b"\x1bR\x1br\x1bR"
#: The name of the Break action (not bytes: a SOL break, or the session's equivalent).
BREAK: Final = "break"
#: Key names meaning Ctrl-Alt-Del (the local OS usually eats the real chord; the key bar sends it).
CTRL_ALT_DEL_KEYS: Final = frozenset({"ctrl+alt+delete", "ctrl+alt+del", "ctrl_alt_del"})

_FKEY_LETTERS: Final = b"PQRSTUVWXYZ["
_FKEYS: Final[dict[KeyMode, tuple[bytes, ...]]] = {
    "intel": tuple(b"\x1b[O" + bytes([c]) for c in _FKEY_LETTERS),
    "alternate": tuple(ESC + bytes([c]) for c in b"1234567890!@"),
    "vt100+": tuple(b"\x1bO" + bytes([c]) for c in _FKEY_LETTERS),
    "xterm": (
        *(b"\x1bO" + bytes([c]) for c in b"PQRS"),
        *(b"\x1b[" + str(n).encode("ascii") + b"~" for n in (15, 17, 18, 19, 20, 21, 23, 24)),
    ),
}
_CSI_EDIT: Final = {
    "home": b"\x1b[1~", "end": b"\x1b[4~", "insert": b"\x1b[2~",
    "delete": b"\x1b[3~", "pageup": b"\x1b[5~", "pagedown": b"\x1b[6~",
}  # fmt: skip
_HEADLESS_EDIT: Final = {
    "home": b"\x1bh", "end": b"\x1bk", "insert": b"\x1b+",
    "delete": b"\x1b-", "pageup": b"\x1b?", "pagedown": b"\x1b/",
}  # fmt: skip
_EDIT: Final[dict[KeyMode, dict[str, bytes]]] = {
    "intel": _CSI_EDIT,
    "alternate": _HEADLESS_EDIT,
    "vt100+": _HEADLESS_EDIT,
    "xterm": {**_CSI_EDIT, "home": b"\x1b[H", "end": b"\x1b[F"},
}
_ARROWS: Final = {"up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C", "left": b"\x1b[D"}
_PLAIN: Final = {"escape": ESC, "tab": b"\t", "shift+tab": b"\x1b[Z", "space": b" ", "newline": b"\n"}
# Ctrl with a punctuation key: the C0 byte a terminal sends.
_CTRL_PUNCT: Final = {
    "@": 0x00, "at": 0x00, "space": 0x00, "left_square_bracket": 0x1B, "backslash": 0x1C,
    "right_square_bracket": 0x1D, "circumflex_accent": 0x1E, "underscore": 0x1F, "minus": 0x1F,
    "2": 0x00, "3": 0x1B, "4": 0x1C, "5": 0x1D, "6": 0x1E, "7": 0x1F, "8": 0x7F,
}  # fmt: skip
# Textual's friendlier names for some characters (it shortens the Unicode names).
_KEY_CHARS: Final = {
    "slash": "/", "backslash": "\\", "at": "@", "minus": "-", "plus": "+", "underscore": "_",
    "space": " ",
}  # fmt: skip


def fkey_bytes(number: int, mode: KeyMode = "intel") -> bytes:
    """The bytes of function key ``number`` (1-12) in a key mode.

    Raises:
        ValueError: a number outside 1-12 or an unknown mode.
    """
    if not 1 <= number <= 12:
        raise ValueError(f"F{number}: only F1-F12 reach a BIOS")
    return _FKEYS[check_mode(mode)][number - 1]


def check_mode(mode: str) -> KeyMode:
    """Validate a key mode name (``"vt100plus"`` and ``"VT100+"`` spell ``"vt100+"``).

    Raises:
        ValueError: an unknown mode, naming the known ones.
    """
    key = mode.strip().lower().replace("plus", "+")
    for known in KEY_MODES:
        if key == known:
            return known
    raise ValueError(f"unknown key mode {mode!r}: use one of {', '.join(KEY_MODES)}")


def key_character(key: str) -> str | None:
    """The character a Textual key name stands for ("a", "A", "exclamation_mark" -> "!")."""
    if len(key) == 1:
        return key
    if key in _KEY_CHARS:
        return _KEY_CHARS[key]
    try:
        return unicodedata.lookup(key.replace("_", " "))
    except KeyError:
        return None


def key_to_bytes(
    key: str,
    mode: KeyMode = "intel",
    enter: Enter = "cr",
    backspace: Backspace = "bs",
    *,
    character: str | None = None,
    encoding: str = "utf-8",
) -> bytes | None:
    """The bytes to send for a key press.

    Args:
        key: Textual's key name (``"f2"``, ``"enter"``, ``"ctrl+c"``, ``"up"``, ``"a"``,
            ``"exclamation_mark"``, ``"alt+x"``, ``"ctrl+alt+delete"``).
        mode: the F-key convention (``intel``, ``alternate``, ``vt100+``, ``xterm``).
        enter: ``"cr"`` or ``"crlf"``.
        backspace: ``"bs"`` (0x08) or ``"del"`` (0x7F).
        character: the printable character of the key event, if any (wins for plain keys).
        encoding: how printable characters are encoded (the host's, e.g. ``cp437``);
            characters it lacks become ``?``.

    Returns:
        The bytes, or None for keys that send nothing (Break, F13+, bare modifiers...).
    """
    if key in CTRL_ALT_DEL_KEYS:
        return CTRL_ALT_DEL
    if key == BREAK:
        return None
    plain = _plain_key(key, mode, enter, backspace)
    if plain is not None:
        return plain
    modifiers, _, base = key.rpartition("+")
    mods = set(modifiers.split("+")) if modifiers else set()
    if "alt" in mods or "meta" in mods:
        rest = "+".join([*sorted(mods - {"alt", "meta"}), base])
        inner = key_to_bytes(rest, mode, enter, backspace, encoding=encoding)
        return None if inner is None else ESC + inner
    if not mods:
        char = character if character and character.isprintable() else key_character(base)
        if char is not None and char.isprintable():
            return _encode(char, encoding)
        return None
    if mods == {"ctrl"}:
        return _ctrl(base, mode, enter, backspace)
    if mods <= {"shift", "ctrl"}:
        nav = _plain_key(base, mode, enter, backspace)
        if nav is not None and base not in ("tab", "space"):
            return nav  # BIOSes know no modified arrows or F-keys: send the plain key
        if mods == {"shift"}:
            char = character if character and character.isprintable() else key_character(base)
            if char is not None and len(char) == 1:
                return _encode(char.upper(), encoding)
    return None


def _plain_key(key: str, mode: KeyMode, enter: Enter, backspace: Backspace) -> bytes | None:
    if key in ("enter", "return", "ctrl+m"):
        return ENTER_BYTES[enter]
    if key in ("backspace", "ctrl+backspace"):
        return BACKSPACE_BYTES[backspace]
    if key in _ARROWS:
        return _ARROWS[key]
    edit = _EDIT[mode].get(key)
    if edit is not None:
        return edit
    if key in _PLAIN:
        return _PLAIN[key]
    if key.startswith("f") and key[1:].isdigit():
        number = int(key[1:])
        return _FKEYS[mode][number - 1] if 1 <= number <= 12 else None
    return None


def _ctrl(base: str, mode: KeyMode, enter: Enter, backspace: Backspace) -> bytes | None:
    if len(base) == 1 and base.isascii() and base.isalpha():
        return bytes([ord(base.lower()) - 0x60])
    if base in _CTRL_PUNCT:
        return bytes([_CTRL_PUNCT[base]])
    return _plain_key(base, mode, enter, backspace)


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, "replace")


def paste_chunks(
    text: str,
    enter: bytes = b"\r",
    chunk: int = 16,
    *,
    encoding: str = "utf-8",
) -> list[bytes]:
    """Cut pasted text into pieces to type one at a time (BIOS fields drop fast input).

    Line ends (CR LF, LF, CR) become ``enter`` and end a piece, so the caller can wait a little
    longer after each line; tabs stay; other control characters are dropped (a pasted ESC must
    not leave a BIOS screen). A piece never splits a multi-byte character.

    Args:
        text: what was pasted.
        enter: the bytes for a line end (``b"\\r"`` or ``b"\\r\\n"``).
        chunk: the most bytes per piece (at least 1).
        encoding: the host's encoding; characters it lacks become ``?``.

    Returns:
        The pieces, in order; empty for empty text.
    """
    chunk = max(1, chunk)
    pieces: list[bytes] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for n, line in enumerate(lines):
        current = b""
        for char in line:
            if char != "\t" and not char.isprintable():
                continue
            data = _encode(char, encoding)
            if current and len(current) + len(data) > chunk:
                pieces.append(current)
                current = b""
            current += data
        if n < len(lines) - 1:
            if current and len(current) + len(enter) > chunk:
                pieces.append(current)
                current = b""
            current += enter
        if current:
            pieces.append(current)
    return pieces


def send_text_chunks(
    text: str,
    mode: KeyMode = "intel",
    enter: Enter = "cr",
    backspace: Backspace = "bs",
    chunk: int = 16,
    *,
    encoding: str = "utf-8",
) -> list[bytes]:
    """The "send text" field: literal text with ``<key>`` names for keys the terminal eats.

    ``admin<enter>``, ``<f2>``, ``<ctrl+alt+delete>``, ``<esc>``; ``<<`` is a literal ``<``.
    A ``<...>`` that names no key is sent as typed. Each key is its own piece; text is cut as
    by :func:`paste_chunks`.

    Returns:
        The pieces to send, in order.
    """
    pieces: list[bytes] = []
    literal = ""
    i = 0
    aliases = {"esc": "escape", "del": "delete", "ins": "insert", "pgup": "pageup", "pgdn": "pagedown",
               "bs": "backspace", "cr": "enter", "ret": "enter"}  # fmt: skip
    while i < len(text):
        if text.startswith("<<", i):
            literal += "<"
            i += 2
            continue
        end = text.find(">", i + 1) if text[i] == "<" else -1
        if end > i:
            name = text[i + 1 : end].strip().lower()
            data = key_to_bytes(aliases.get(name, name), mode, enter, backspace, encoding=encoding)
            if data is not None and len(name) > 1:
                pieces += paste_chunks(literal, ENTER_BYTES[enter], chunk, encoding=encoding)
                pieces.append(data)
                literal = ""
                i = end + 1
                continue
        literal += text[i]
        i += 1
    pieces += paste_chunks(literal, ENTER_BYTES[enter], chunk, encoding=encoding)
    return pieces

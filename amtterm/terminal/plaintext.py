"""Console text without its escape sequences: what a plain-text log and expect's stream read.

The screen model (:mod:`amtterm.terminal.screen`) shows where things are; this shows what was
written, in order, as plain text, with the same characters the screen shows:

* escape sequences (CSI, OSC, SS3, charset picks, other ``ESC x``) are dropped; one cut at the
  end of a chunk is held until the next chunk;
* a cursor move to another place on the screen (``ESC [ row ; col H`` or ``f``) is reported as
  :data:`MOVED`: a BIOS draws its screen that way, so words drawn in different places must
  not run together;
* DEC special graphics are translated as the screen translates them (pyte's own tables):
  ``ESC ( 0`` / ``ESC ) 0`` pick the line-drawing set for G0 / G1, SO and SI shift between
  them, ``ESC ( B`` goes back to ASCII and ``ESC c`` resets both. So ``ESC ( 0 lqqk`` is
  ``┌──┐`` in a log too, not ``lqqk``;
* control characters are passed on (the reader decides what CR, BS and LF mean), except SO and
  SI, which only switch the character set.

The text comes in decoded (:class:`~amtterm.terminal.decoder.StreamDecoder`), so CP437 box
drawing and UTF-8 are already the characters the screen shows.
"""

from __future__ import annotations

import re
from typing import Final

from pyte import charsets

#: A piece that is no text: the cursor moved to another place on the screen.
MOVED: Final = None

# ANSI: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), SS3 / charset picks (ESC O x, ESC ( x),
# other ESC x; and SO / SI, which switch the character set in the middle of text.
_TOKEN: Final = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[()*+O#%][\x20-\x7e]"
    r"|\x1b[\x20-\x7e]"
    r"|[\x0e\x0f]"
)
# An escape that may still be incomplete at the end of a chunk.
_PARTIAL: Final = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[()*+O#%])?\Z")
# Cursor moves to another place on the screen.
_CURSOR_MOVE: Final = re.compile(r"\x1b\[[0-9;]*[Hf]")
# C0 controls other than tab and LF, and DEL.
_CONTROLS: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_SHIFT_OUT: Final = "\x0e"
_SHIFT_IN: Final = "\x0f"


class PlainText:
    """Decoded console text as plain pieces, chunk by chunk (see the module's rules)."""

    def __init__(self) -> None:
        self._pending = ""
        self._reset_charsets()

    def _reset_charsets(self) -> None:
        # As a pyte screen starts (and ``ESC c`` resets it): G0 ASCII, G1 line drawing, G0 on.
        self._g0: str = charsets.LAT1_MAP
        self._g1: str = charsets.VT100_MAP
        self._shifted = False

    def pieces(self, text: str) -> list[str | None]:
        """The plain text of ``text`` (and of what the previous chunk left unfinished).

        Returns:
            Text pieces (controls kept, character sets applied) and :data:`MOVED` where the
            cursor jumped to another place.
        """
        text = self._pending + text
        partial = _PARTIAL.search(text)
        if partial:
            text, self._pending = text[: partial.start()], text[partial.start() :]
        else:
            self._pending = ""
        out: list[str | None] = []
        pos = 0
        for match in _TOKEN.finditer(text):
            if match.start() > pos:
                out.append(self._translate(text[pos : match.start()]))
            self._control(match.group(), out)
            pos = match.end()
        if pos < len(text):
            out.append(self._translate(text[pos:]))
        return out

    def text(self, text: str) -> str:
        """The plain text of ``text`` as one string: a cursor move is a line end, and CR, BS and
        the other controls go (LF and tab stay)."""
        joined = "".join("\n" if piece is MOVED else piece for piece in self.pieces(text))
        return _CONTROLS.sub("", joined)

    def _translate(self, text: str) -> str:
        table = self._g1 if self._shifted else self._g0
        return text if table is charsets.LAT1_MAP else text.translate(table)

    def _control(self, token: str, out: list[str | None]) -> None:
        if token == _SHIFT_OUT:
            self._shifted = True
        elif token == _SHIFT_IN:
            self._shifted = False
        elif token == "\x1bc":
            self._reset_charsets()
        elif len(token) == 3 and token[1] in "()":
            table = charsets.MAPS.get(token[2])
            if table is not None:  # pyte ignores sets it does not know; so does this
                if token[1] == "(":
                    self._g0 = table
                else:
                    self._g1 = table
        elif _CURSOR_MOVE.fullmatch(token):
            out.append(MOVED)

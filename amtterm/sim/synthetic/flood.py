"""``flood N``: exactly N bytes of busy, coloured terminal output, then a line to check them by.

What the shell sends for ``flood N``::

    FLOOD-BEGIN N\\r\\n
    <exactly N bytes>
    ESC [ 0 m  ESC [ <rows> ; 1 H  \\r\\n  FLOOD-END N <sha256 hex of the N bytes>\\r\\n

The N bytes mix what a terminal must get right: SGR colours (30-37, 40-47, bold, reset),
absolute cursor moves ``ESC [ r ; c H`` that stay on the screen, erase-to-end-of-line, CP437
box drawing and shade blocks (single bytes 0xB0-0xDF) and plain text. No text run reaches the
last column, so nothing wraps or scrolls except through the filler described below.

They come from one pattern of whole "atoms" (one escape sequence or one run of text) repeated
over and over. Where N ends inside an atom, the rest is filled with ``.`` so no escape sequence
is cut. The bytes are produced lazily, a chunk at a time, with a running SHA-256, so even a
50 MB flood needs only the pattern (a few KiB) in memory.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterator
from functools import lru_cache
from typing import Final

#: The largest piece handed to the output queue at once.
CHUNK: Final = 65536
#: Refused above this (10 GB) so a typo cannot keep the device busy for hours.
MAX_FLOOD: Final = 10_000_000_000

_WORDS: Final = (
    "Serial-over-LAN", "redirection", "POST", "BIOS", "flood", "terminal", "Intel(R) AMT",
    "keep-alive", "sequence", "ANSI", "CP437", "benchmark", "0123456789", "throughput",
)  # fmt: skip
_GLYPHS: Final = (
    bytes([0xC9, 0xCD, 0xCD, 0xCD, 0xBB]),  # ╔═══╗
    bytes([0xB0, 0xB1, 0xB2, 0xDB]),  # ░▒▓█
    bytes([0xDA, 0xC4, 0xC2, 0xC4, 0xBF]),  # ┌─┬─┐
    bytes([0xBA, 0x20, 0xB3, 0x20, 0xBA]),  # ║ │ ║
    bytes([0xC8, 0xCD, 0xCF, 0xCD, 0xBC]),  # ╚═╧═╝
    bytes([0xDC, 0xDF, 0xFE, 0xF9]),  # ▄▀■∙
)


@lru_cache(maxsize=8)
def pattern(columns: int, rows: int) -> tuple[bytes, tuple[int, ...]]:
    """The repeating block for a screen size and the offsets where its atoms start.

    Args:
        columns: screen width (at least 20).
        rows: screen height.

    Returns:
        (block, atom start offsets, ascending, starting with 0).
    """
    atoms: list[bytes] = []
    line_count = 3 * rows + 1  # not a multiple of rows, so lines drift over the screen
    for n in range(line_count):
        row = 1 + (n * 7) % rows
        col = 1 + (n * 11) % max(1, columns // 3)
        room = columns - col  # cells left on the line, keeping the last column free
        fg, bg = 30 + n % 8, 40 + (n * 3 + 4) % 8
        if fg - 30 == bg - 40:
            bg = 40 + (bg - 39) % 8
        bold = "1;" if n % 3 == 0 else ""
        atoms.append(f"\x1b[{row};{col}H".encode("ascii"))
        atoms.append(f"\x1b[0;{bold}{fg};{bg}m".encode("ascii"))
        used = 0
        pieces = [f"{n:03d} ".encode("ascii"), _GLYPHS[n % len(_GLYPHS)], b" "]
        pieces += [_WORDS[(n + k) % len(_WORDS)].encode("ascii") + b" " for k in range(4)]
        for k, piece in enumerate(pieces):
            if used + len(piece) > room:
                break
            if k == 3:  # a colour change in the middle of the line
                atoms.append(b"\x1b[0;" + str(30 + (n + 5) % 8).encode("ascii") + b";40m")
            atoms.append(piece)
            used += len(piece)
        if n % 4 == 1:
            atoms.append(b"\x1b[K")
        atoms.append(b"\x1b[0m")
    offsets: list[int] = []
    size = 0
    for atom in atoms:
        offsets.append(size)
        size += len(atom)
    return b"".join(atoms), tuple(offsets)


def flood_trailer(count: int, digest: str, rows: int) -> bytes:
    """The bytes after the flood: reset colours, go to the bottom line, the FLOOD-END line."""
    return f"\x1b[0m\x1b[{rows};1H\r\nFLOOD-END {count} {digest}\r\n".encode("ascii")


def flood(count: int, columns: int, rows: int) -> Iterator[bytes]:
    """Produce the FLOOD-BEGIN line, exactly ``count`` pattern bytes, and the trailer.

    Args:
        count: how many bytes between the FLOOD-BEGIN line and the trailer.
        columns: screen width (cursor moves stay inside it).
        rows: screen height.

    Yields:
        Pieces of at most :data:`CHUNK` bytes (the header and trailer are separate pieces).
    """
    block, offsets = pattern(columns, rows)
    big = block * max(1, CHUNK // len(block))  # whole blocks, so the pattern repeats cleanly
    digest = hashlib.sha256()
    yield f"FLOOD-BEGIN {count}\r\n".encode("ascii")
    left = count
    while left >= len(big):
        digest.update(big)
        yield big
        left -= len(big)
    while left >= len(block):
        digest.update(block)
        yield block
        left -= len(block)
    if left:
        cut = offsets[bisect.bisect_right(offsets, left) - 1]  # last atom start within reach
        tail = block[:cut] + b"." * (left - cut)
        digest.update(tail)
        yield tail
    yield flood_trailer(count, digest.hexdigest(), rows)

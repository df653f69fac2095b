"""The VGA text-mode font of the simulated PC's KVM screen, read from a Linux console font (PSF).

A PC in VGA text mode draws each character cell from an 8x16 bitmap in the video BIOS, and the
card shows it 9 pixels wide: column 9 is blank, except for the line-drawing characters CP437
0xC0-0xDF, where it repeats column 8 so that frames join up (720x400 for 80x25).

The bitmaps are not shipped with amtterm: they are read at run time from Debian's console fonts.
``default8x16.psf.gz`` (package ``console-data``, GPL-2) is the IBM VGA font in CP437 order;
without it the ``VGA16`` fonts of ``console-setup-linux`` serve (their few missing block
elements are drawn from their geometry). Both formats of the PC Screen Font are read: PSF1
(magic ``36 04``) and PSF2 (magic ``72 B5 4A 86``), with their Unicode tables when present.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from amtterm.errors import ConfigError

#: Where Debian puts console fonts, in the order they are tried.
FONT_DIRS: Final = (Path("/usr/share/consolefonts"), Path("/usr/share/kbd/consolefonts"))
FONT_NAMES: Final = ("default8x16.psf.gz", "Uni2-VGA16.psf.gz", "Lat15-VGA16.psf.gz")
FONT_PACKAGE: Final = "console-data"
CELL_HEIGHT: Final = 16

_PSF1_MAGIC: Final = b"\x36\x04"
_PSF2_MAGIC: Final = b"\x72\xb5\x4a\x86"


class FontMissing(ConfigError):
    """No VGA console font is installed."""


def _cp437(byte: int) -> str:
    return bytes([byte]).decode("cp437")


def _block(char: str) -> list[int] | None:
    """Rows of the CP437 block elements, drawn from their geometry (for fonts that lack them)."""
    full, rows = 0xFF, range(CELL_HEIGHT)
    shapes = {
        "█": [full for _ in rows],
        "▄": [full if y >= CELL_HEIGHT // 2 else 0 for y in rows],
        "▀": [full if y < CELL_HEIGHT // 2 else 0 for y in rows],
        "▌": [0xF0 for _ in rows],
        "▐": [0x0F for _ in rows],
        "░": [0x88 if y % 4 == 0 else 0x22 if y % 4 == 2 else 0 for y in rows],
        "▒": [0xAA if y % 2 == 0 else 0x55 for y in rows],
        "▓": [0xDD if y % 2 == 0 else 0x77 for y in rows],
    }
    return shapes.get(char)


class VgaFont:
    """8x16 glyph bitmaps by character, shown 8 or 9 pixels wide.

    Args:
        glyphs: 16 row bytes per glyph (bit 7 = leftmost pixel).
        table: character -> glyph index.
        cell_width: 8, or 9 for VGA's 720-pixel text mode.
        name: where the font came from (for messages).
    """

    def __init__(
        self, glyphs: Sequence[bytes], table: dict[str, int], *, cell_width: int = 9, name: str = ""
    ) -> None:
        if cell_width not in (8, 9):
            raise ValueError("a VGA text cell is 8 or 9 pixels wide")
        self.cell_width = cell_width
        self.cell_height = CELL_HEIGHT
        self.name = name
        self._glyphs = list(glyphs)
        self._table = dict(table)
        self._rows: dict[str, tuple[int, ...]] = {}
        self._unknown = self._table.get("?", 0)

    def rows(self, char: str) -> tuple[int, ...]:
        """The glyph of ``char``: one int per pixel row, bit (cell_width - 1) the leftmost pixel."""
        cached = self._rows.get(char)
        if cached is not None:
            return cached
        index = self._table.get(char)
        bitmap = list(self._glyphs[index]) if index is not None and index < len(self._glyphs) else None
        if bitmap is None:
            bitmap = _block(char) or list(self._glyphs[self._unknown])
        bitmap = (bitmap + [0] * CELL_HEIGHT)[:CELL_HEIGHT]
        if self.cell_width == 9:
            try:
                code = char.encode("cp437")[0] if len(char) == 1 else 0
            except UnicodeEncodeError:
                code = 0
            joins = 0xC0 <= code <= 0xDF
            rows = tuple((row << 1) | (row & 1 if joins else 0) for row in bitmap)
        else:
            rows = tuple(bitmap)
        self._rows[char] = rows
        return rows

    def has(self, char: str) -> bool:
        """Whether the font has its own glyph for ``char``."""
        return char in self._table


def parse_psf(data: bytes, *, cell_width: int = 9, name: str = "") -> VgaFont:
    """Read a PSF1 or PSF2 font (uncompressed bytes) of 8-pixel-wide, 16-row glyphs.

    Raises:
        ValueError: not a PSF font, or not 8x16.
    """
    if data[:2] == _PSF1_MAGIC:
        mode, height = data[2], data[3]
        count = 512 if mode & 0x01 else 256
        start, size, width = 4, height, 8
        table_at = start + count * size if mode & 0x06 else None
    elif data[:4] == _PSF2_MAGIC:
        _magic, _version, start, flags, count, size, height, width = struct.unpack_from("<8I", data)
        table_at = start + count * size if flags & 0x01 else None
    else:
        raise ValueError(f"{name or 'the font'} is not a PC Screen Font")
    if width != 8 or height != CELL_HEIGHT or size != CELL_HEIGHT:
        raise ValueError(f"{name or 'the font'} is {width}x{height}, not the VGA 8x16")
    glyphs = [data[start + i * size : start + (i + 1) * size] for i in range(count)]
    if len(glyphs[-1]) != size:
        raise ValueError(f"{name or 'the font'} is cut short")
    table: dict[str, int] = {}
    if table_at is None:
        table = {_cp437(i): i for i in range(min(count, 256))}
    elif data[:2] == _PSF1_MAGIC:
        index, pos = 0, table_at
        while pos + 2 <= len(data) and index < count:
            (code,) = struct.unpack_from("<H", data, pos)
            pos += 2
            if code == 0xFFFF:
                index += 1
            elif code != 0xFFFE:
                table.setdefault(chr(code), index)
    else:
        for index, entry in enumerate(data[table_at:].split(b"\xff")[:count]):
            for char in entry.split(b"\xfe")[0].decode("utf-8", errors="ignore"):
                table.setdefault(char, index)
    return VgaFont(glyphs, table, cell_width=cell_width, name=name)


def find_font_file(dirs: Sequence[Path] = FONT_DIRS) -> Path | None:
    """The first VGA console font installed, or None."""
    for name in FONT_NAMES:
        for folder in dirs:
            path = folder / name
            if path.is_file():
                return path
    return None


def load_vga_font(
    *, cell_width: int = 9, path: Path | None = None, dirs: Sequence[Path] = FONT_DIRS
) -> VgaFont:
    """The VGA font from the system's console fonts (or the PSF file at ``path``).

    Raises:
        FontMissing: none is installed (one sentence naming the package), or it cannot be read.
    """
    found = path or find_font_file(dirs)
    if found is None:
        raise FontMissing(
            "The simulator's KVM screen needs a VGA console font: install the Debian package "
            f"{FONT_PACKAGE} (it provides /usr/share/consolefonts/default8x16.psf.gz)."
        )
    try:
        raw = found.read_bytes()
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        return parse_psf(data, cell_width=cell_width, name=str(found))
    except (OSError, ValueError, EOFError) as exc:
        raise FontMissing(f"Cannot read the console font {found} ({exc}).") from None

"""The terminal emulator under :class:`~amtterm.ui.widgets.terminal.TerminalView`, without a widget.

The screen model is :class:`~amtterm.terminal.screen.RemoteScreen` (decoder, pyte, scrollback,
text), the same one the share viewers and expect use (and the recorder decodes with its
decoder), so all of them show the same text. What this module adds is only what the UI needs:
colours (a :class:`TerminalPalette`) and rows rendered to Textual :class:`~textual.strip.Strip`
objects, cached, and rebuilt only when pyte marks the row dirty or what is drawn over it
(cursor, selection, search hits) changes.

Colour rules (:meth:`TerminalEmulator.style_for`):

* the 16 ANSI colours come from a :class:`TerminalPalette` (the theme's, or :data:`VGA_PALETTE`);
  256-colour indices 0-15 are the palette's too (the screen model rewrites them to SGR
  30-37/90-97 before pyte sees them), other indices and truecolor are used as sent;
* bold on one of the 8 base colours (or the default foreground) selects the bright colour
  (bold-as-bright, as a PC text console does) and is not also drawn in a bold font; bold on any
  other colour is drawn bold;
* reverse swaps the resolved colours; the cursor and a selection reverse once more; a search hit
  is drawn black on bright yellow.

Line numbers in the public API count from the top row of the screen: 0..rows-1 are the screen,
-1 is the last line that scrolled off, -len(history) the oldest one kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from rich.cells import cell_len
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip

from amtterm.terminal.screen import (
    MAX_SIZE,
    MIN_SIZE,
    SCREEN_SIZES,
    STUB,
    Line,
    RemoteScreen,
    find_all,
)

__all__ = [
    "CURSOR",
    "MATCH",
    "MAX_SIZE",
    "MIN_SIZE",
    "SCREEN_SIZES",
    "SELECTION",
    "STUB",
    "VGA_PALETTE",
    "TerminalEmulator",
    "TerminalPalette",
    "find_all",
]

#: Overlay kinds drawn over cells.
CURSOR: Final = 1
SELECTION: Final = 2
MATCH: Final = 3

_COLOR_NAMES: Final = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
# pyte's names for SGR 30-37/90-97 (it calls yellow "brown", and spells SGR 105 "bfightmagenta").
_PYTE_NAMES: Final = ("black", "red", "green", "brown", "blue", "magenta", "cyan", "white")
_PYTE_INDEX: Final = {
    **{name: i for i, name in enumerate(_PYTE_NAMES)},
    **{"bright" + name: i + 8 for i, name in enumerate(_PYTE_NAMES)},
    "bfightmagenta": 13,
}


def _check_color(value: str) -> str:
    color = Color.parse(value)
    triplet = color.get_truecolor()
    return triplet.hex


@dataclass(frozen=True)
class TerminalPalette:
    """The colours of the remote screen: 16 ANSI colours and the defaults.

    Args:
        colors: 16 colours ("#rrggbb" or any name Rich parses): black, red, green, yellow, blue,
            magenta, cyan, white, then their bright versions.
        foreground: the default foreground (SGR 39); colour 7 when None.
        background: the default background (SGR 49); colour 0 when None.
        bold_foreground: the default foreground when bold; colour 15 when None.

    Raises:
        ValueError: not 16 colours, or a colour that does not parse.
    """

    colors: tuple[str, ...]
    foreground: str | None = None
    background: str | None = None
    bold_foreground: str | None = None
    _resolved: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.colors) != 16:
            raise ValueError(f"a terminal palette needs 16 colours, got {len(self.colors)}")
        try:
            colors = [_check_color(value) for value in self.colors]
            fg = _check_color(self.foreground) if self.foreground else colors[7]
            bg = _check_color(self.background) if self.background else colors[0]
            bold = _check_color(self.bold_foreground) if self.bold_foreground else colors[15]
        except Exception as error:  # rich raises ColorParseError
            raise ValueError(f"bad colour in terminal palette: {error}") from None
        object.__setattr__(self, "_resolved", (*colors, fg, bg, bold))

    @property
    def ansi(self) -> tuple[str, ...]:
        """The 16 colours as "#rrggbb"."""
        return self._resolved[:16]

    @property
    def default_foreground(self) -> str:
        """The default foreground as "#rrggbb"."""
        return self._resolved[16]

    @property
    def default_background(self) -> str:
        """The default background as "#rrggbb"."""
        return self._resolved[17]

    @property
    def bold_default_foreground(self) -> str:
        """The default foreground of bold text as "#rrggbb"."""
        return self._resolved[18]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base: TerminalPalette | None = None) -> TerminalPalette:
        """A palette from a theme's table; what it leaves out comes from ``base`` (VGA).

        Keys: ``colors`` (a list of 16), or any of ``black`` ... ``white``, ``bright_black`` ...
        ``bright_white``, ``color0`` ... ``color15``; and ``foreground``, ``background``,
        ``bold_foreground``.

        Raises:
            ValueError: unknown keys, a wrong number of colours, or a colour that does not parse.
        """
        base = base or VGA_PALETTE
        colors = list(base.colors)
        if "colors" in data:
            colors = [str(value) for value in data["colors"]]
        names = {name: i for i, name in enumerate(_COLOR_NAMES)}
        names.update({f"bright_{name}": i + 8 for i, name in enumerate(_COLOR_NAMES)})
        names.update({f"color{i}": i for i in range(16)})
        extra = {"colors", "foreground", "background", "bold_foreground"}
        unknown = sorted(set(data) - set(names) - extra)
        if unknown:
            raise ValueError(f"unknown terminal palette keys: {', '.join(unknown)}")
        for key, index in names.items():
            if key in data:
                if index >= len(colors):
                    raise ValueError(f"a terminal palette needs 16 colours, got {len(colors)}")
                colors[index] = str(data[key])

        def pick(key: str, default: str | None) -> str | None:
            value = data.get(key, default)
            return None if value is None else str(value)

        return cls(
            tuple(colors),
            pick("foreground", base.foreground),
            pick("background", base.background),
            pick("bold_foreground", base.bold_foreground),
        )


#: A PC's VGA text mode: light grey on black, brown as the dark yellow, bold = bright.
VGA_PALETTE: Final = TerminalPalette(
    (
        "#000000", "#aa0000", "#00aa00", "#aa5500", "#0000aa", "#aa00aa", "#00aaaa", "#aaaaaa",
        "#555555", "#ff5555", "#55ff55", "#ffff55", "#5555ff", "#ff55ff", "#55ffff", "#ffffff",
    )
)  # fmt: skip


class TerminalEmulator(RemoteScreen):
    """The console's screen model (:class:`~amtterm.terminal.screen.RemoteScreen`) with colours
    and cached row rendering.

    Args:
        columns: remote screen width.
        rows: remote screen height.
        encoding: ``utf-8``, ``cp437`` or ``auto``.
        palette: the colours (VGA when None).
        scrollback: lines kept above the screen.
        bold_is_bright: bold selects the bright colour for the 8 base colours.

    Raises:
        ValueError: a size out of range or an unknown encoding.
    """

    def __init__(
        self,
        columns: int = 80,
        rows: int = 25,
        *,
        encoding: str = "auto",
        palette: TerminalPalette | None = None,
        scrollback: int = 2000,
        bold_is_bright: bool = True,
    ) -> None:
        super().__init__(columns, rows, encoding=encoding, scrollback=scrollback)
        self._palette = palette or VGA_PALETTE
        self.bold_is_bright = bold_is_bright
        #: How many row strips were built (cache misses); for tests and benchmarks.
        self.strips_built = 0
        self._styles: dict[tuple[Any, ...], Style] = {}
        self._strips: LRUCache[int, tuple[Line, Any, Strip]] = LRUCache(max(256, 4 * rows))

    def take_dirty(self) -> set[int]:
        """The rows changed since the last call (their cached strips are dropped)."""
        dirty = super().take_dirty()
        buffer = self.screen.buffer
        for y in dirty:
            line = buffer.get(y)
            if line is not None:
                self._strips.discard(id(line))
        return dirty

    def resize(self, columns: int, rows: int) -> None:
        """Change the remote screen size (what the remote draws for, not the local window).

        Raises:
            ValueError: a size out of range.
        """
        super().resize(columns, rows)
        self._strips = LRUCache(max(256, 4 * rows))

    # -- rendering --------------------------------------------------------------------------

    @property
    def palette(self) -> TerminalPalette:
        """The colours; setting it redraws everything."""
        return self._palette

    @palette.setter
    def palette(self, value: TerminalPalette) -> None:
        self._palette = value
        self.invalidate()

    def invalidate(self) -> None:
        """Forget every cached style and strip (palette or rendering rules changed)."""
        self._styles.clear()
        self._strips.clear()
        self.dirty = set(range(self.rows))

    def strip(self, line: Line, overlay: Sequence[tuple[int, int, int]] = (), key: Any = None) -> Strip:
        """The rendered row, ``columns`` cells wide, from the cache when nothing changed.

        Args:
            line: a row of :attr:`screen` or of the scrollback.
            overlay: (start column, end column, kind) spans to draw over it (:data:`CURSOR`,
                :data:`SELECTION`, :data:`MATCH`); later spans win.
            key: anything that identifies ``overlay``; a cached strip is reused only with the
                same key (None means "no overlay").
        """
        cached = self._strips.get(id(line))
        if cached is not None and cached[0] is line and cached[1] == key:
            return cached[2]
        strip = self._build(line, overlay)
        if cached is not None:
            self._strips.discard(id(line))  # LRUCache.set keeps an existing entry
        self._strips.set(id(line), (line, key, strip))
        return strip

    def _build(self, line: Line, overlay: Sequence[tuple[int, int, int]]) -> Strip:
        self.strips_built += 1
        columns = self.columns
        kinds: list[int] | None = None
        if overlay:
            kinds = [0] * columns
            for start, end, kind in overlay:
                for x in range(max(0, start), min(columns, end)):
                    kinds[x] = kind
        default = self.blank(line)
        get = line.get
        style_for = self.style_for
        segments: list[Segment] = []
        run: list[str] = []
        run_attrs: tuple[Any, ...] = ()
        run_kind = -1
        kind = 0
        wide = False
        previous_wide = False
        for x in range(columns):
            char = get(x, default)
            data = char.data
            if not data:  # the stub after a wide character
                if previous_wide:
                    previous_wide = False
                    continue
                data = " "
            previous_wide = False
            if data > "\u10ff" and cell_len(data) == 2:
                wide = previous_wide = True
            attrs = char[1:]
            if kinds is not None:
                kind = kinds[x]
            if attrs != run_attrs or kind != run_kind:
                if run:
                    segments.append(Segment("".join(run), style_for((*run_attrs, run_kind))))
                run = [data]
                run_attrs, run_kind = attrs, kind
            else:
                run.append(data)
        if run:
            segments.append(Segment("".join(run), style_for((*run_attrs, run_kind))))
        if wide:
            return Strip(segments).adjust_cell_length(columns, style_for((*default[1:], 0)))
        return Strip(segments, columns)

    def style_for(self, attrs: tuple[Any, ...] | None) -> Style:
        """The Rich style of a cell: pyte's (fg, bg, bold, italics, underscore, strikethrough,
        reverse, blink) plus the overlay kind."""
        assert attrs is not None
        style = self._styles.get(attrs)
        if style is None:
            style = self._styles[attrs] = self._make_style(attrs)
        return style

    def _make_style(self, attrs: tuple[Any, ...]) -> Style:
        fg_name, bg_name, bold, italics, underscore, strike, reverse, _blink, kind = attrs
        palette = self._palette
        fg, brightened = self._color(fg_name, bold and self.bold_is_bright, foreground=True)
        bg, _ = self._color(bg_name, False, foreground=False)
        if reverse:
            fg, bg = bg, fg
        if kind in (CURSOR, SELECTION):
            fg, bg = bg, fg
        elif kind == MATCH:
            fg, bg = palette.ansi[0], palette.ansi[11]
        return Style(
            color=Color.parse(fg),
            bgcolor=Color.parse(bg),
            bold=bool(bold) and not brightened,
            italic=bool(italics),
            underline=bool(underscore),
            strike=bool(strike),
        )

    def _color(self, name: str, bright: bool, *, foreground: bool) -> tuple[str, bool]:
        """The "#rrggbb" for a pyte colour name, and whether bold was used up as brightness."""
        palette = self._palette
        if name == "default":
            if not foreground:
                return palette.default_background, False
            if bright:
                return palette.bold_default_foreground, True
            return palette.default_foreground, False
        index = _PYTE_INDEX.get(name)
        if index is None:
            if len(name) == 6:
                try:
                    int(name, 16)
                except ValueError:
                    pass
                else:
                    return "#" + name, False
            default = palette.default_foreground if foreground else palette.default_background
            return default, False
        if bright and index < 8:
            return palette.ansi[index + 8], True
        return palette.ansi[index], False

"""KvmView: a host's KVM screen (the PC's graphics) drawn in terminal cells with half-blocks.

Each cell shows two pixels, one above the other: ``▀`` with the foreground the top pixel's colour
and the background the bottom one's (a cell whose two pixels agree is a coloured space). That
works in every terminal that shows 24-bit colour, tmux included, at any size.

Three zooms (:attr:`KvmView.zoom`, cycled by :meth:`KvmView.toggle_zoom`): ``fit`` scales the whole
remote screen into the widget, keeping its proportions (Pillow's box filter: each cell pixel is the
average of the screen pixels it covers); ``1:2`` shows every 2x2 screen pixels as one half-cell and
``1:1`` one screen pixel per half-cell, so small text can be read. Zoomed, the view pans with
Shift-arrows or the mouse wheel (Shift-wheel sideways), and a pan never leaves the screen.

Drawing happens only when something changed: a FramebufferUpdate (:meth:`KvmView.frame_arrived`,
coalesced to at most :data:`MAX_FPS` redraws a second), a new size, zoom or pan. Rows whose pixels
did not change keep their strips and are not repainted.

Keys: while the view has focus every key goes to the PC as X keysyms (:class:`KvmView.Keys`;
:mod:`amtterm.ui.widgets.kvm_keys`), except the prefix key, whose next key is posted as
:class:`KvmView.Command` (the prefix twice sends Ctrl-] itself). Mouse: clicks, drags and moves are
posted as :class:`KvmView.Pointer` in framebuffer pixels (left 1, middle 2, right 4; the wheel is
buttons 8 / 16 while the screen is fitted).

With Sixel (:mod:`amtterm.ui.kvm_graphics`, ``--kvm-graphics``) the picture is real pixels: fitted
to the widget's size in the terminal's pixels (or 1:2 / 1:1 screen pixels per terminal pixel when
zoomed, the widget's last line left free), encoded as one Sixel image (:func:`encode_sixel`) and
written with the widget's last line, at the picture's top-left cell; written again every
:data:`SIXEL_REPAINT` seconds, as text drawn over it erases it. A screen that is not live is drawn
in half-blocks (dimmed, under its reason).

Whatever is not a live screen (connecting, refused, closed) is said in one sentence over the top
row (:attr:`KvmView.reason`), and the last screen below it is dimmed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar, Literal

from rich.color import Color
from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from amtterm.ui.kvm_graphics import HALF_BLOCKS, KvmGraphics, encode_sixel
from amtterm.ui.widgets.kvm_keys import Keysyms, key_keysyms

if TYPE_CHECKING:
    from PIL import Image

    from amtterm.rfb import Framebuffer

#: At most this many redraws a second, however fast frames arrive.
MAX_FPS = 15
#: Seconds between repaints of a Sixel picture: text drawn over it (a notification coming or going
#: over the view) erases its pixels, which Textual does not know, so it is written again this often.
SIXEL_REPAINT = 1.0
#: The upper half block: foreground = top pixel, background = bottom pixel.
UPPER_HALF = "\u2580"
#: How the reason of a screen that is not live is drawn over the top row.
REASON_STYLE = Style(color="black", bgcolor="yellow", bold=True)
#: Cells one Shift-arrow moves a zoomed view.
PAN_STEP = 8

Zoom = Literal["fit", "1:2", "1:1"]
#: Screen pixels per half-cell, each way, of the zooms that pan.
SCALES: dict[str, int] = {"1:2": 2, "1:1": 1}


def fit_size(width: int, height: int, columns: int, rows: int) -> tuple[int, int]:
    """The size in pixels (two a cell, stacked) of a ``width`` x ``height`` screen fitted into
    ``columns`` x ``rows`` cells with its proportions kept (a half-cell is square enough)."""
    if not (width and height and columns and rows):
        return 0, 0
    scale = min(columns / width, 2 * rows / height)
    fitted_w = max(1, min(columns, round(width * scale)))
    fitted_h = max(2, min(2 * rows, round(height * scale)))
    return fitted_w, fitted_h + (fitted_h % 2)


#: Colours and cell styles made so far (a screen's colours repeat from frame to frame); forgotten
#: when they grow past :data:`STYLE_CACHE` entries (a photo or a video brings new ones every frame).
_COLOURS: dict[bytes, Color] = {}
_STYLES: dict[bytes, Style] = {}
STYLE_CACHE = 100_000


def half_block_rows(rgb: bytes, width: int, height: int) -> list[list[Segment]]:
    """RGB pixels (``width`` x ``height``, height even) -> one list of segments per cell row."""
    if len(_STYLES) > STYLE_CACHE or len(_COLOURS) > STYLE_CACHE:
        _STYLES.clear()
        _COLOURS.clear()
    rows: list[list[Segment]] = []
    stride = width * 3
    for top_at in range(0, height - 1, 2):
        top = rgb[top_at * stride : (top_at + 1) * stride]
        bottom = rgb[(top_at + 1) * stride : (top_at + 2) * stride]
        segments: list[Segment] = []
        run_key = b""
        run = 0
        for x in range(0, stride, 3):
            key = top[x : x + 3] + bottom[x : x + 3]
            if key == run_key:
                run += 1
                continue
            if run:
                segments.append(_segment(run_key, run))
            run_key, run = key, 1
        if run:
            segments.append(_segment(run_key, run))
        rows.append(segments)
    return rows


def _colour(rgb: bytes) -> Color:
    colour = _COLOURS.get(rgb)
    if colour is None:
        colour = _COLOURS[rgb] = Color.from_rgb(rgb[0], rgb[1], rgb[2])
    return colour


def _segment(key: bytes, count: int) -> Segment:
    style = _STYLES.get(key)
    same = key[:3] == key[3:]
    if style is None:
        bottom = _colour(key[3:])
        style = Style.from_color(None if same else _colour(key[:3]), bottom)
        _STYLES[key] = style
    return Segment(" " * count if same else UPPER_HALF * count, style)


class KvmMessage(Message):
    """A message from a :class:`KvmView` (``view``, also ``control`` for ``@on``)."""

    def __init__(self, view: KvmView) -> None:
        super().__init__()
        self.view = view

    @property
    def control(self) -> KvmView:
        """The view that posted it."""
        return self.view


class KvmView(Widget, can_focus=True):
    """The remote screen in half-blocks, fitted or zoomed with panning; keys and mouse to the PC.

    Args:
        prefix_key: the key before an app command.
        graphics: half-blocks (the default) or Sixel, with the terminal's cell size.
        id: widget id.
    """

    DEFAULT_CSS = """
    KvmView {
        width: 1fr;
        height: 1fr;
        background: $background;
    }
    KvmView.-stale {
        tint: $background 45%;
    }
    """

    class Keys(KvmMessage):
        """Key presses for the PC: ``keys``, (keysym, down) in order."""

        def __init__(self, view: KvmView, keys: Keysyms) -> None:
            super().__init__(view)
            self.keys = keys

    class Pointer(KvmMessage):
        """The pointer at framebuffer pixel ``x``, ``y`` with ``buttons`` held."""

        def __init__(self, view: KvmView, x: int, y: int, buttons: int) -> None:
            super().__init__(view)
            self.x = x
            self.y = y
            self.buttons = buttons

    class Prefix(KvmMessage):
        """The prefix key was pressed; the next key is a :class:`Command`."""

    class Command(KvmMessage):
        """The key pressed after the prefix: ``key``, Textual's key name."""

        def __init__(self, view: KvmView, key: str) -> None:
            super().__init__(view)
            self.key = key

    ZOOMS: ClassVar[tuple[Zoom, ...]] = ("fit", "1:2", "1:1")

    def __init__(
        self, *, prefix_key: str | None, graphics: KvmGraphics = HALF_BLOCKS, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.prefix_key = prefix_key
        self.graphics = graphics
        #: The Sixel picture drawn (empty: none), its size in cells, and the pixels it was made of.
        self.sixel = ""
        self._sixel_cells = (0, 0)
        self._sixel_key = b""
        self.framebuffer: Framebuffer | None = None
        self._zoom: Zoom = "fit"
        #: A zoomed view's top-left framebuffer pixel.
        self.pan = (0, 0)
        self._reason: str | None = None
        self._prefix_pending = False
        self._buttons = 0
        #: The drawn picture: its size in pixels, its place in the widget, its rows.
        self._picture = (0, 0)
        self._offset = (0, 0)
        self._rows: list[Strip] = []
        self._row_keys: list[bytes] = []
        self._pending: Timer | None = None
        self._last_draw = 0.0
        #: Redraws done (tests read it).
        self.draws = 0

    # -- what is shown ------------------------------------------------------------------------

    @property
    def zoom(self) -> Zoom:
        """``fit`` (the whole screen), ``1:2`` or ``1:1`` (screen pixels per half-cell, panned)."""
        return self._zoom

    @zoom.setter
    def zoom(self, value: Zoom) -> None:
        self._zoom = value
        self._clamp_pan()
        self.redraw()

    def toggle_zoom(self) -> Zoom:
        """Fit -> 1:2 -> 1:1 -> fit; a zoomed view keeps its place on the screen."""
        self.zoom = self.ZOOMS[(self.ZOOMS.index(self._zoom) + 1) % len(self.ZOOMS)]
        return self._zoom

    @property
    def scale(self) -> int:
        """Screen pixels per half-cell each way while zoomed (0: fitted)."""
        return SCALES.get(self._zoom, 0)

    @property
    def pixels(self) -> bool:
        """Whether the picture is drawn as Sixel pixels now (a live screen with Sixel graphics)."""
        return self.graphics.mode == "sixel" and self._reason is None

    @property
    def unit(self) -> tuple[int, int]:
        """Picture pixels per cell (width, height): two stacked for half-blocks, else the cell's."""
        return self.graphics.cell if self.pixels else (1, 2)

    @property
    def reason(self) -> str | None:
        """Why the screen is not live (drawn over the top row), or None."""
        return self._reason

    @reason.setter
    def reason(self, value: str | None) -> None:
        if value != self._reason:
            pixels = self.pixels
            self._reason = value
            self.set_class(value is not None and self._picture != (0, 0), "-stale")
            if pixels != self.pixels:  # Sixel while live, half-blocks under a reason
                self.redraw()
            self.refresh()

    def show(self, framebuffer: Framebuffer) -> None:
        """Show ``framebuffer`` (a new session's); drawn at once."""
        self.framebuffer = framebuffer
        self._clamp_pan()
        self.redraw()

    def frame_arrived(self) -> None:
        """The framebuffer changed: redraw, at most :data:`MAX_FPS` times a second.

        Hidden (the SOL view is shown), nothing is drawn: the console redraws when it shows the view.
        """
        if self._pending is not None or not self.display:
            return
        wait = self._last_draw + 1 / MAX_FPS - time.monotonic()
        if wait <= 0:
            self.redraw()
        else:
            self._pending = self.set_timer(wait, self._timed_redraw)

    def _timed_redraw(self) -> None:
        self._pending = None
        self.redraw()

    def cells(self) -> list[list[tuple[tuple[int, int, int], tuple[int, int, int]]]]:
        """The drawn picture as (top pixel, bottom pixel) colours per cell, row by row (tests)."""
        result = []
        for strip in self._rows:
            row: list[tuple[tuple[int, int, int], tuple[int, int, int]]] = []
            for segment in strip:
                style = segment.style
                if style is None or style.bgcolor is None:
                    continue
                bottom = style.bgcolor.get_truecolor()
                top = style.color.get_truecolor() if style.color is not None else bottom
                row += [(tuple(top), tuple(bottom))] * len(segment.text)  # type: ignore[list-item]
            result.append(row)
        return result

    # -- drawing ------------------------------------------------------------------------------

    def _image(self, columns: int, rows: int) -> tuple[bytes, int, int]:
        """The pixels to draw for a ``columns`` x ``rows`` widget: RGB bytes, width, height."""
        fb = self.framebuffer
        if fb is None or not fb.width or not fb.height or not columns or not rows:
            return b"", 0, 0
        from PIL import Image  # here: the console starts without Pillow until KVM is shown

        # The framebuffer's own bytes, not a copy; the image does not outlive this call.
        image = Image.frombuffer("RGB", (fb.width, fb.height), fb.rgb, "raw", "RGB", 0, 1)
        if self._zoom == "fit":
            width, height = fit_size(fb.width, fb.height, columns, rows)
            if (width, height) != (fb.width, fb.height):
                image = image.resize((width, height), Image.Resampling.BOX)
        else:
            scale = self.scale
            x, y = self.pan
            width = min(columns, (fb.width - x) // scale)
            height = min(2 * rows, (fb.height - y) // scale)
            height -= height % 2
            image = image.crop((x, y, x + width * scale, y + height * scale))
            if scale > 1:
                image = image.resize((width, height), Image.Resampling.BOX)
        return image.tobytes(), width, height

    def redraw(self) -> None:
        """Draw the framebuffer now (only rows that changed are repainted)."""
        if self._pending is not None:
            self._pending.stop()
            self._pending = None
        self._last_draw = time.monotonic()
        self.draws += 1
        columns, rows = self.size.width, self.size.height
        if self.scale:
            self._clamp_pan()  # the screen may have shrunk
        if self.pixels:
            self._redraw_sixel(columns, rows)
            return
        if self.sixel:
            self.sixel, self._sixel_key, self._picture = "", b"", (0, 0)
        rgb, width, height = self._image(columns, rows)
        offset = (max(0, (columns - width) // 2), max(0, (rows - height // 2) // 2))
        moved = (width, height) != self._picture or offset != self._offset
        self._picture, self._offset = (width, height), offset
        stride = width * 3
        keys = [rgb[y * 2 * stride : (y * 2 + 2) * stride] for y in range(height // 2)]
        if moved or len(keys) != len(self._row_keys):
            self._rows = [Strip(segments, width) for segments in half_block_rows(rgb, width, height)]
            self._row_keys = keys
            self.set_class(self._reason is not None and bool(width), "-stale")
            self.refresh()
            return
        changed = [y for y, key in enumerate(keys) if key != self._row_keys[y]]
        if not changed:
            return
        for y in changed:
            (segments,) = half_block_rows(keys[y], width, 2)
            self._rows[y] = Strip(segments, width)
        self._row_keys = keys
        for y in changed:
            self.refresh(Region(0, y + offset[1], self.size.width, 1))

    def _pixels_image(self, columns: int, rows: int) -> Image.Image | None:
        """The picture for Sixel: fitted to the widget's pixels, or a zoomed crop at the pan."""
        fb = self.framebuffer
        if fb is None or not fb.width or not fb.height or not columns or not rows:
            return None
        from PIL import Image

        cell_w, cell_h = self.unit
        room_w, room_h = columns * cell_w, rows * cell_h
        image = Image.frombuffer("RGB", (fb.width, fb.height), fb.rgb, "raw", "RGB", 0, 1)
        scale = self.scale
        if not scale:
            ratio = min(room_w / fb.width, room_h / fb.height)
            width = max(1, min(room_w, round(fb.width * ratio)))
            height = max(1, min(room_h, round(fb.height * ratio)))
            if (width, height) == (fb.width, fb.height):
                return image.copy()
            return image.resize((width, height), Image.Resampling.BOX)
        x, y = self.pan
        width = max(1, min(room_w, (fb.width - x) // scale))
        height = max(1, min(room_h, (fb.height - y) // scale))
        image = image.crop((x, y, x + width * scale, y + height * scale))
        return image.resize((width, height), Image.Resampling.BOX) if scale > 1 else image

    def _redraw_sixel(self, columns: int, rows: int) -> None:
        rows = max(1, rows - 1)  # the last line carries the picture (render_lines)
        image = self._pixels_image(columns, rows)
        if image is None:
            if self.sixel:
                self.sixel, self._sixel_key, self._picture = "", b"", (0, 0)
                self.refresh()
            return
        cell_w, cell_h = self.unit
        width, height = image.size
        cells = (-(-width // cell_w), -(-height // cell_h))
        offset = (max(0, (columns - cells[0]) // 2), max(0, (rows - cells[1]) // 2))
        key = image.tobytes()
        if key == self._sixel_key and offset == self._offset and (width, height) == self._picture:
            return
        self._rows, self._row_keys = [], []
        self._picture, self._offset, self._sixel_cells = (width, height), offset, cells
        self._sixel_key = key
        self.sixel = encode_sixel(image)
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        """With Sixel: blank lines, and the picture written on the last one, at its top-left.

        The picture leaves the widget's last line free, so it is written at the start of that line
        (an overlay such as a notification over the line's right part does not cut it off); a crop
        ending higher, over the picture, writes it after its last line's blanks too.
        """
        if not self.pixels:
            return super().render_lines(crop)
        style = self.rich_style
        lines = [Strip.blank(crop.width, style) for _ in range(crop.height)]
        if not self.sixel or not crop.height:
            return lines
        try:
            where = self.screen.find_widget(self).region
        except Exception:  # not on a screen (yet): nothing to place
            return lines
        left, top = self._offset
        no_cursor = ((ControlType.CURSOR_FORWARD, 0),)
        picture = [
            Segment(Control.move_to(where.x + left, where.y + top).segment.text, control=no_cursor),
            Segment(self.sixel, control=no_cursor),
        ]
        last = crop.bottom - 1
        start = Segment(Control.move_to(where.x + crop.x, where.y + last).segment.text, control=no_cursor)
        end = Segment(Control.move_to(where.x + crop.right, where.y + last).segment.text, control=no_cursor)
        over_picture = last < top + self._sixel_cells[1]
        segments = [*picture, start, *lines[-1], *([*picture, end] if over_picture else [])]
        lines[-1] = Strip(segments, crop.width)
        return lines

    def render_line(self, y: int) -> Strip:
        """One line of the widget: a row of the picture (centred), or blank; the reason on top."""
        width = self.size.width
        style = self.rich_style
        if y == 0 and self._reason is not None:
            text = f" {self._reason} "[:width]
            left = max(0, (width - len(text)) // 2)
            return Strip(
                [
                    Segment(" " * left, style),
                    Segment(text, REASON_STYLE),
                    Segment(" " * max(0, width - left - len(text)), style),
                ],
                width,
            )
        left, top = self._offset
        row = y - top
        if not 0 <= row < len(self._rows):
            return Strip.blank(width, style)
        strip = self._rows[row]
        right = max(0, width - left - strip.cell_length)
        return Strip.join([Strip.blank(left, style), strip, Strip.blank(right, style)]).crop(0, width)

    def on_mount(self) -> None:
        """Repaint a Sixel picture now and then (:data:`SIXEL_REPAINT`)."""
        if self.graphics.mode == "sixel":
            self.set_interval(SIXEL_REPAINT, self._repaint_sixel)

    def _repaint_sixel(self) -> None:
        if self.display and self.pixels and self.sixel:
            self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        """A new size: fit again."""
        self._clamp_pan()
        self.redraw()

    # -- panning ------------------------------------------------------------------------------

    def _clamp_pan(self) -> None:
        fb = self.framebuffer
        if fb is None:
            self.pan = (0, 0)
            return
        scale = self.scale or 1
        unit_w, unit_h = self.unit
        x, y = self.pan
        x = max(0, min(x, fb.width - scale * unit_w * self.size.width))
        y = max(0, min(y, fb.height - scale * unit_h * self.size.height))
        self.pan = (x, y)

    def pan_by(self, dx: int, dy: int) -> None:
        """Move a zoomed view by ``dx``, ``dy`` screen pixels (kept on the screen)."""
        before = self.pan
        self.pan = (before[0] + dx, before[1] + dy)
        self._clamp_pan()
        if self.pan != before:
            self.redraw()

    # -- keys ---------------------------------------------------------------------------------

    _PANS: ClassVar[dict[str, tuple[int, int]]] = {
        "shift+left": (-PAN_STEP, 0),
        "shift+right": (PAN_STEP, 0),
        "shift+up": (0, -2 * PAN_STEP),
        "shift+down": (0, 2 * PAN_STEP),
    }

    def on_key(self, event: events.Key) -> None:
        """Every key goes to the PC as keysyms; the prefix key starts an app command."""
        key = event.key
        if self._prefix_pending:
            self._prefix_pending = False
            self._stop(event)
            if key != self.prefix_key:
                self.post_message(self.Command(self, key))
            else:  # the prefix twice: the prefix key itself (Ctrl-] is Ctrl down, ], Ctrl up)
                keys = key_keysyms(key, event.character)
                if keys:
                    self.post_message(self.Keys(self, keys))
            return
        if self.prefix_key is not None and key == self.prefix_key:
            self._prefix_pending = True
            self._stop(event)
            self.post_message(self.Prefix(self))
            return
        if self.scale and key in self._PANS:
            self._stop(event)
            dx, dy = self._PANS[key]
            self.pan_by(dx * self.scale, dy * self.scale)
            return
        keys = key_keysyms(key, event.character)
        if keys is None:
            return  # not a key the PC knows; app bindings may use it
        self._stop(event)
        self.post_message(self.Keys(self, keys))

    def arm_prefix(self) -> None:
        """Take the next key as a command, as if the prefix had been typed here."""
        self._prefix_pending = True
        self.post_message(self.Prefix(self))

    @staticmethod
    def _stop(event: events.Event) -> None:
        event.stop()
        event.prevent_default()

    # -- mouse --------------------------------------------------------------------------------

    def pixel_at(self, x: int, y: int) -> tuple[int, int] | None:
        """The framebuffer pixel under widget cell (``x``, ``y``), or None off the picture."""
        fb = self.framebuffer
        width, height = self._picture
        if fb is None or not width or not height:
            return None
        column, row = x - self._offset[0], y - self._offset[1]
        scale = self.scale
        if self.pixels:  # the middle of the cell, in picture pixels
            cell_w, cell_h = self.unit
            px, py = column * cell_w + cell_w // 2, row * cell_h + cell_h // 2
            if not (0 <= px < width and 0 <= py < height and column >= 0 and row >= 0):
                return None
            if scale:
                return self.pan[0] + scale * px, self.pan[1] + scale * py
            return px * fb.width // width, py * fb.height // height
        if not (0 <= column < width and 0 <= row < height // 2):
            return None
        if scale:
            return self.pan[0] + scale * column + scale // 2, self.pan[1] + scale * (2 * row + 1)
        return (column * fb.width + fb.width // 2) // width, (2 * row + 1) * fb.height // height

    def _pointer(self, event: events.MouseEvent, buttons: int) -> None:
        offset = event.get_content_offset_capture(self)
        where = self.pixel_at(offset.x, offset.y)
        if where is not None:
            self.post_message(self.Pointer(self, where[0], where[1], buttons))

    _BUTTONS: ClassVar[dict[int, int]] = {1: 1, 2: 2, 3: 4}

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """A button goes down on the PC's screen (and the view keeps the keyboard)."""
        self._buttons |= self._BUTTONS.get(event.button, 0)
        self.capture_mouse()
        self.focus()
        self._pointer(event, self._buttons)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        """The button comes up."""
        self._buttons &= ~self._BUTTONS.get(event.button, 0)
        if not self._buttons:
            self.release_mouse()
        self._pointer(event, self._buttons)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """The pointer follows the mouse."""
        self._pointer(event, self._buttons)

    def _wheel(self, event: events.MouseEvent, down: bool) -> None:
        self._stop(event)
        if self.scale:
            step = (4 if down else -4) * PAN_STEP * self.scale
            self.pan_by(step, 0) if event.shift else self.pan_by(0, step)
            return
        bit = 16 if down else 8
        self._pointer(event, self._buttons | bit)
        self._pointer(event, self._buttons)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, False)

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, True)

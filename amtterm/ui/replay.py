"""ReplayApp: ``amtterm replay FILE`` in the terminal widget, with its markers beside it.

    ┌──────────── TerminalView (the recorded size) ─────────────┐┌ Markers ──────┐
    │                                                             ││ 0:01 power on │
    │                                                             ││ 0:12 power ...│
    └─────────────────────────────────────────────────────────────┘└───────────────┘
    ▶ 4x  0:14 / 1:02   space pause  + - speed  n next marker  e end  q quit

The recording is drawn by the same widget as the live console (fixed size, colours, CP437 and
DEC line drawing as recorded), so a ticket's recording looks as the console did. Keys go to the
player, never to a remote: the widget does not take the keyboard. There is no seeking back;
``n`` plays up to the next marker at once, ``e`` to the end. At the end the last screen stays
until ``q``.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Static

from amtterm.session import Cast, CastEvent, Player
from amtterm.ui.widgets.emulator import MAX_SIZE, MIN_SIZE
from amtterm.ui.widgets.terminal import TerminalView


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour on)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ReplayApp(App[int], inherit_bindings=False):
    """Plays one recording in a TerminalView.

    Args:
        cast: the recording.
        speed: play this many times faster.
        max_wait: cut longer pauses to this many recorded seconds.
        title: what the status line calls it (the file name).
    """

    TITLE = "amtterm replay"
    ENABLE_COMMAND_PALETTE: ClassVar[bool] = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "pause", "pause"),
        Binding("plus,equals_sign,right", "faster", "faster"),
        Binding("minus,left", "slower", "slower"),
        Binding("n", "next_marker", "next marker"),
        Binding("e,end", "end", "to the end"),
        Binding("q,escape,ctrl+c", "quit", "quit", priority=True),
    ]
    DEFAULT_CSS = """
    #replay-body { height: 1fr; }
    #markers { width: 34; border: round $primary; padding: 0 1; }
    #replay-status { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(
        self, cast: Cast, *, speed: float = 1.0, max_wait: float | None = None, title: str = ""
    ) -> None:
        super().__init__()
        self.cast = cast
        self.player = Player(cast, speed=speed, max_wait=max_wait)
        self.label = title
        #: The markers played so far (time, label).
        self.markers_seen: list[CastEvent] = []

    def compose(self) -> ComposeResult:
        """The recorded screen, the markers, the status line."""
        columns, rows = self.cast.size
        columns = max(MIN_SIZE[0], min(MAX_SIZE[0], columns))
        rows = max(MIN_SIZE[1], min(MAX_SIZE[1], rows))
        with Horizontal(id="replay-body"):
            yield TerminalView(
                columns=columns, rows=rows, encoding="utf-8", prefix_key=None, id="replay-view"
            )
            yield Static(id="markers")
        yield Static(id="replay-status")

    @property
    def view(self) -> TerminalView:
        """The terminal widget."""
        return self.query_one(TerminalView)

    def on_mount(self) -> None:
        """Start playing; the widget shows, the player listens to the keys."""
        self.view.can_focus = False
        self.query_one("#markers", Static).border_title = "Markers"
        self._show_markers()
        self.set_interval(0.25, self._show_status)
        self._show_status()
        self.run_worker(self._play(), exit_on_error=False, name="replay")

    async def _play(self) -> None:
        view = self.view
        async for event in self.player.play():
            if event.code == "o":
                view.feed(event.data.encode("utf-8", "replace"))
            else:
                self.markers_seen.append(event)
                self._show_markers()
                self.notify(f"{clock(event.time)} {event.data}", timeout=4)
        self._show_status()

    def _show_markers(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if not self.cast.markers:
            text.append("none in this recording", "dim")
        for event in self.markers_seen:
            text.append(f"{clock(event.time):>5} ", "dim")
            text.append(f"{event.data}\n")
        left = len(self.cast.markers) - len(self.markers_seen)
        if left:
            text.append(f"{left} more to come", "dim")
        self.query_one("#markers", Static).update(text)

    def status_text(self) -> str:
        """The status line as plain text."""
        player = self.player
        state = "■ end" if player.finished else "❚❚ paused" if player.paused else "▶"
        where = f"{clock(player.position)} / {clock(self.cast.duration)}"
        truncated = f"  (cut off at line {self.cast.truncated})" if self.cast.truncated else ""
        keys = "q quit" if player.finished else "space pause  + - speed  n next marker  e end  q quit"
        return f"{state} {player.speed:g}x  {where}  {self.label}{truncated}   {keys}"

    def _show_status(self) -> None:
        self.query_one("#replay-status", Static).update(Text(self.status_text(), no_wrap=True))

    # -- keys -------------------------------------------------------------------------------

    def action_pause(self) -> None:
        """Pause or go on."""
        self.player.toggle_pause()
        self._show_status()

    def action_faster(self) -> None:
        """Double the speed (up to 64x)."""
        self.player.faster()
        self._show_status()

    def action_slower(self) -> None:
        """Halve the speed (down to a quarter)."""
        self.player.slower()
        self._show_status()

    def action_next_marker(self) -> None:
        """Play up to the next marker at once."""
        self.player.skip_to_marker()

    def action_end(self) -> None:
        """Play the rest at once."""
        self.player.skip_to_end()

    async def action_quit(self) -> None:
        """Leave."""
        self.exit(0)

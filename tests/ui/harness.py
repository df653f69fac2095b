"""A Textual app around one TerminalView (and a KeyBar) that records the messages they post."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip

from amtterm.ui.widgets import KeyBar, TerminalView


class CountingView(TerminalView):
    """A TerminalView that counts which widget lines the compositor asked for."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.rendered: list[int] = []

    def render_line(self, y: int) -> Strip:
        self.rendered.append(y)
        return super().render_line(y)


class TerminalApp(App[None]):
    """The widget under test fills the screen; a key bar sits below when asked for."""

    def __init__(self, *, keybar: bool = False, **options: Any) -> None:
        super().__init__()
        self.options = options
        self.keybar = keybar
        self.sent: list[bytes] = []
        self.pasted: list[str] = []
        self.commands: list[str] = []
        self.prefixes = 0
        self.guesses: list[str] = []
        self.copied: list[str] = []
        self.keybar_chunks: list[tuple[bytes, ...]] = []
        self.breaks = 0

    def compose(self) -> ComposeResult:
        yield CountingView(**self.options)
        if self.keybar:
            yield KeyBar()

    @property
    def view(self) -> CountingView:
        return self.query_one(CountingView)

    def on_terminal_view_send(self, message: TerminalView.Send) -> None:
        self.sent.append(message.data)

    def on_terminal_view_paste(self, message: TerminalView.Paste) -> None:
        self.pasted.append(message.text)

    def on_terminal_view_command(self, message: TerminalView.Command) -> None:
        self.commands.append(message.key)

    def on_terminal_view_prefix(self, message: TerminalView.Prefix) -> None:
        self.prefixes += 1

    def on_terminal_view_encoding_guessed(self, message: TerminalView.EncodingGuessed) -> None:
        self.guesses.append(message.encoding)

    def on_terminal_view_copied(self, message: TerminalView.Copied) -> None:
        self.copied.append(message.text)

    def on_key_bar_send(self, message: KeyBar.Send) -> None:
        self.keybar_chunks.append(message.chunks)

    def on_key_bar_break(self, message: KeyBar.Break) -> None:
        self.breaks += 1


def cells(strip: Strip) -> list[tuple[str, Style]]:
    """One (character, style) per cell of a rendered line."""
    out: list[tuple[str, Style]] = []
    for segment in strip:
        style = segment.style or Style()
        out += [(char, style) for char in segment.text]
    return out


def hex_color(style: Style, background: bool = False) -> str | None:
    """The style's foreground (or background) as "#rrggbb"."""
    color = style.bgcolor if background else style.color
    return None if color is None else color.get_truecolor().hex

"""AttachApp: a console someone shares (``amtterm share``, the console's Ctrl-] S), in the terminal widget.

    app = AttachApp(client)          # client: a connected amtterm.share.client.ShareClient
    await app.run_async()

The share draws for the window size it is told, like for ``ssh``: the widget asks for exactly
its own size (and again when it changes), so the remote screen arrives centred, with the
share's status line (who types, who watches) as its last row. Keys typed here go to the share,
which passes them on only while the owner has given us the keyboard.

Commands behind the prefix (Ctrl-] by default): ``k`` asks for the keyboard (and gives it back
while we hold it), ``q`` leaves, ``h`` says so. The prefix twice sends a Ctrl-] to the remote.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from amtterm.share.client import ShareClient
from amtterm.terminal.keynames import describe_key
from amtterm.ui.widgets.emulator import MAX_SIZE, MIN_SIZE
from amtterm.ui.widgets.terminal import DEFAULT_PREFIX, TerminalView

#: The share's own prefix byte (Ctrl-]): its commands follow it, twice is a Ctrl-] for the remote.
SHARE_PREFIX = b"\x1d"
ATTACH_COMMANDS = {"k": "ask for the keyboard / give it back", "q": "leave", "h": "this help"}


class AttachApp(App[int], inherit_bindings=False):
    """A shared console, watched from here.

    Args:
        client: the connection to the share.
        prefix: the prefix key (a Textual key name).
        key_mode: the F-key convention of the remote's BIOS.
    """

    TITLE = "amtterm attach"
    ENABLE_COMMAND_PALETTE: ClassVar[bool] = False
    BINDINGS: ClassVar[list[BindingType]] = []
    CSS = """
    #console { height: 1fr; width: 1fr; }
    #attach-footer { height: 1; background: $primary 30%; padding: 0 1; }
    """
    show_tracebacks = False

    def __init__(self, client: ShareClient, *, prefix: str = DEFAULT_PREFIX, key_mode: str = "intel") -> None:
        super().__init__()
        self.client = client
        self.prefix = prefix
        self.key_mode = key_mode
        self.ended = False

    def compose(self) -> ComposeResult:
        """The shared screen and one footer line."""
        yield TerminalView(
            columns=80,
            rows=26,
            encoding="utf-8",
            prefix_key=self.prefix,
            key_mode=self.key_mode,
            id="console",
        )
        yield Static(self._footer(), id="attach-footer")

    @property
    def view(self) -> TerminalView:
        """The terminal widget."""
        return self.query_one("#console", TerminalView)

    def _footer(self) -> Text:
        shown = describe_key(self.prefix)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(shown, "bold reverse")
        text.append(" then ")
        for key, what in ATTACH_COMMANDS.items():
            text.append(key, "bold")
            text.append(f" {what}  ")
        return text

    def on_mount(self) -> None:
        """Start showing what the share draws."""
        self.view.focus()
        self.run_worker(self._pump(), exit_on_error=False)
        self.call_after_refresh(self._fit)

    async def _pump(self) -> None:
        async for chunk in self.client.output():
            self.view.feed(chunk)
        self.ended = True
        self.exit(0, message="amtterm attach: the share ended the session.")

    def on_resize(self) -> None:
        """Ask the share to draw for our new size."""
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        view = self.view
        width, height = view.size.width, view.size.height
        if not width or not height:
            return
        size = (
            min(max(width, MIN_SIZE[0]), MAX_SIZE[0]),
            min(max(height, MIN_SIZE[1]), MAX_SIZE[1]),
        )
        if size != view.screen_size:
            view.screen_size = size
            self.client.resize(*size)

    # -- keys ---------------------------------------------------------------------------------

    def on_terminal_view_send(self, message: TerminalView.Send) -> None:
        """Keys go to the share (a Ctrl-] doubled, so the share passes it on)."""
        self.client.write(message.data.replace(SHARE_PREFIX, SHARE_PREFIX * 2))

    def on_terminal_view_paste(self, message: TerminalView.Paste) -> None:
        """Pasted text goes to the share (it reaches the remote only while we hold the keyboard)."""
        data = message.text.replace("\r\n", "\r").replace("\n", "\r").encode("utf-8", "replace")
        self.client.write(data.replace(SHARE_PREFIX, SHARE_PREFIX * 2))

    async def on_terminal_view_command(self, message: TerminalView.Command) -> None:
        """The key after the prefix."""
        key = message.key
        if key in ("k", "K", "shift+k"):
            self.client.write(SHARE_PREFIX + b"k")
        elif key == "q":
            self.client.write(SHARE_PREFIX + b"q")
            self.exit(0)
        else:
            shown = describe_key(self.prefix)
            listed = ", ".join(f"{shown} {key} {what}" for key, what in ATTACH_COMMANDS.items())
            self.notify(f"{listed}.", timeout=6)

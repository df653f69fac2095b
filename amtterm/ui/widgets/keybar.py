"""KeyBar: buttons for the keys a local terminal (or tmux, or the desktop) eats before the BIOS can.

One line: F1-F12, Esc, Ctrl-Alt-Del, the key mode in use, and a "send text" field that
takes literal text with ``<key>`` names (``admin<enter>``, ``<f2>``; see
:func:`amtterm.terminal.keymap.send_text_chunks`). Clicking posts :class:`KeyBar.Send` with the bytes
in the host's key mode; the app forwards them to the session. (No Break: a console cannot send one
over SOL, see the README.) The
buttons never take the focus, so the terminal keeps it.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Input, Label

from amtterm.terminal.keymap import (
    KEY_MODE_LABELS,
    Backspace,
    Enter,
    KeyMode,
    check_mode,
    key_to_bytes,
    send_text_chunks,
)
from amtterm.ui.widgets.ordered_input import OrderedInput

#: (button label, key name) in the order shown.
KEYS: tuple[tuple[str, str], ...] = (
    *((f"F{n}", f"f{n}") for n in range(1, 13)),
    ("Esc", "escape"),
    ("Ctrl-Alt-Del", "ctrl+alt+delete"),
)


class KeyBar(Horizontal):
    """A bar of key buttons and a send-text field.

    Args:
        mode: F-key convention (``intel``, ``alternate``, ``vt100+``, ``xterm``).
        enter: ``cr`` or ``crlf`` (for ``<enter>`` in the text field).
        backspace: ``bs`` or ``del``.
        encoding: how typed text is encoded for the host.
        name: widget name.
        id: widget id.
        classes: CSS classes.
    """

    DEFAULT_CSS = """
    KeyBar {
        height: 1;
        width: 1fr;
        background: $panel;
    }
    KeyBar > Button {
        min-width: 0;
        width: auto;
        margin: 0 1 0 0;
    }
    KeyBar > Label {
        margin: 0 1;
        color: $text-muted;
    }
    KeyBar > Input {
        width: 1fr;
        min-width: 10;
    }
    """

    class Send(Message):
        """Bytes for the remote, in pieces to send one at a time (text is paced).

        ``key`` is the button's key name and ``text`` the text field's words as typed, for a
        console that sends keys rather than bytes (KVM).
        """

        def __init__(
            self,
            keybar: KeyBar,
            chunks: tuple[bytes, ...],
            *,
            key: str | None = None,
            text: str | None = None,
        ) -> None:
            super().__init__()
            self.keybar = keybar
            self.chunks = chunks
            self.key = key
            self.text = text

        @property
        def data(self) -> bytes:
            """All the bytes at once."""
            return b"".join(self.chunks)

        @property
        def control(self) -> KeyBar:
            """The key bar."""
            return self.keybar

    def __init__(
        self,
        mode: str = "intel",
        enter: Enter = "cr",
        backspace: Backspace = "bs",
        *,
        encoding: str = "utf-8",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._mode: KeyMode = check_mode(mode)
        self.enter: Enter = enter
        self.backspace: Backspace = backspace
        self.encoding = encoding

    @property
    def mode(self) -> KeyMode:
        """The F-key convention; switchable live (the label follows)."""
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        self._mode = check_mode(value)
        if self.is_mounted:
            self.query_one("#key-mode", Label).update(self._mode_label())

    def _mode_label(self) -> str:
        return KEY_MODE_LABELS[self._mode].split(" ", 1)[0]

    def compose(self) -> ComposeResult:
        """The buttons, the mode and the text field."""
        for label, key in KEYS:
            button = Button(label, name=key, id=f"key-{key.replace('+', '-')}", compact=True)
            button.can_focus = False
            yield button
        yield Label(self._mode_label(), id="key-mode")
        yield OrderedInput(placeholder="send text, e.g. admin<enter>", id="send-text", compact=True)

    def key_bytes(self, key: str) -> bytes | None:
        """The bytes a button sends in the current mode (None for a key it has no bytes for)."""
        return key_to_bytes(key, self._mode, self.enter, self.backspace)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Post the button's key."""
        event.stop()
        key = event.button.name or ""
        data = self.key_bytes(key)
        if data is not None:
            self.post_message(self.Send(self, (data,), key=key))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Post the text field's content as paced pieces and empty the field."""
        event.stop()
        chunks = send_text_chunks(event.value, self._mode, self.enter, self.backspace, encoding=self.encoding)
        text = event.value
        event.input.value = ""
        if chunks:
            self.post_message(self.Send(self, tuple(chunks), text=text))

"""StatusLine and PrefixFooter: the two lines under the console.

The status line says, for the host on screen, what its session is doing (connecting,
connected, reconnecting, failed, with the session's one sentence), where typed keys go
(``keys: console``, ``keys: Power pane`` ...) and how keys and bytes are interpreted (encoding,
F-key mode, ``Enter=CR``, ``Bksp=BS``, screen size; below 120 columns encoding and size only).
The host, its state and a share stay whole; a sentence that does not fit is cut and says which
key shows it whole. While a host's KVM view is shown (:meth:`StatusLine.show_kvm`) the right part
is the KVM screen's: its size, encoding, frames and kB per second, and the zoom. The footer shows
the prefix key and the commands most used after it; while the prefix waits for its command key it says so.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from amtterm.session import HostController, KvmState, SessionState
from amtterm.terminal.keymap import KEY_MODE_LABELS
from amtterm.terminal.keynames import describe_key
from amtterm.ui.commands import COMMANDS
from amtterm.ui.widgets.device_panes import session_state_style
from amtterm.ui.widgets.kvm_view import KvmView
from amtterm.ui.widgets.terminal import TerminalView

ENCODING_NAMES = {"auto": "auto", "cp437": "CP437", "utf-8": "UTF-8"}


def encoding_label(view: TerminalView) -> str:
    """``CP437``, ``UTF-8``, or ``auto: CP437`` (the current guess)."""
    if view.encoding == "auto":
        return f"auto: {ENCODING_NAMES.get(view.active_encoding, view.active_encoding)}"
    return ENCODING_NAMES.get(view.encoding, view.encoding)


class StatusLine(Static):
    """One line: host, session state and sentence; encoding, keys, screen."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    #: The whole left part of the last repaint (host, state, sentence), and whether it was cut.
    full_text = ""
    cut = False

    def show(
        self,
        link: HostController,
        view: TerminalView,
        note: str = "",
        *,
        shared: str = "",
        keys: str = "console",
        more: str = "",
    ) -> None:
        """Repaint for ``link`` shown in ``view``; ``shared`` (who watches a share) comes first,
        ``keys`` says where typed keys go (``console``, ``Power pane`` ...); ``more`` names the key
        that shows the whole sentence when it does not fit."""
        status = link.status
        state = status.state if link.started else SessionState.IDLE
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{link.name} ", "bold")
        text.append(f"{state.value}", f"bold {session_state_style(state)}")
        if shared:
            text.append(f"  [{shared}]", "bold magenta")
        tail = Text(no_wrap=True, overflow="ellipsis")
        sentence = status.message if link.started else "Not connected yet."
        tail.append(f"  {sentence}")
        if link.dropped:
            tail.append(f"  ({link.dropped} keys dropped while not connected)", "yellow")
        if link.keys_pending:
            tail.append(f"  typing... {link.keys_pending} left", "yellow")
        if note:
            tail.append(f"  {note}", "italic")
        columns, rows = view.screen_size
        mode = KEY_MODE_LABELS[view.key_mode].split(" ", 1)[0]
        enter = "CR LF" if view.enter == "crlf" else "CR"
        right = (
            f" │ {encoding_label(view)} │ {mode} │ Enter={enter} │ "
            f"Bksp={view.backspace.upper()} │ {columns}x{rows}"
        )
        if self.size.width and self.size.width < 120:
            right = f" │ {encoding_label(view)} │ {columns}x{rows}"  # room for the sentence first
        self._lay_out(text, tail, right, keys=keys, more=more)

    def _lay_out(self, text: Text, tail: Text, right: str, *, keys: str, more: str) -> None:
        """Paint ``text`` (host, state, share), ``tail`` (the sentence), where keys go, ``right``.

        The host, its state and the share stay whole; the sentence gives way, and says how to read
        it whole (``more``).
        """
        where = f" │ keys: {keys}"
        width = max(0, self.size.width - 2 - len(right) - len(where)) if self.size.width else 0
        self.full_text = text.plain + tail.plain
        room = width - text.cell_len
        self.cut = bool(width) and tail.cell_len > room
        if self.cut and more and room > len(more) + 10:
            tail.truncate(room - len(more) - 2, overflow="crop")
            tail.append(f"… {more}", "bold yellow")
        text.append_text(tail)
        if width:
            text.truncate(width, pad=True)
        text.append(where, "bold" if keys == "console" else "bold reverse")
        text.append(right, "dim")
        self.update(text)

    def show_kvm(
        self,
        link: HostController,
        view: KvmView,
        note: str = "",
        *,
        shared: str = "",
        keys: str = "console",
        more: str = "",
    ) -> None:
        """Repaint for ``link``'s KVM view: host, ``KVM`` and its state, the sentence; screen size,
        encoding, frames and kB per second, zoom."""
        kvm = link.kvm
        state = kvm.state
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{link.name} ", "bold")
        text.append(f"KVM {state.value}", f"bold {_KVM_STYLES[state]}")
        if shared:
            text.append(f"  [{shared} (SOL)]", "bold magenta")
        tail = Text(no_wrap=True, overflow="ellipsis")
        tail.append(f"  {kvm.message}")
        if note:
            tail.append(f"  {note}", "italic")
        stats = kvm.stats()
        size = f"{stats.width}x{stats.height}" if stats.width else "no screen yet"
        rate = f"{stats.fps:.1f} fps │ {stats.kbps:.1f} kB/s"
        right = f" │ {size} │ {stats.encoding} │ {rate} │ {view.zoom} │ {view.graphics.label}"
        if self.size.width and self.size.width < 120:
            right = f" │ {size} │ {stats.fps:.1f} fps │ {stats.kbps:.0f} kB/s"  # the sentence first
            if self.size.width >= 100:
                right += f" │ {view.graphics.label}"
        self._lay_out(text, tail, right, keys=keys, more=more)


#: The colour of each KVM state, as the SOL session's states have theirs.
_KVM_STYLES = {
    KvmState.IDLE: "",
    KvmState.CONNECTING: "yellow",
    KvmState.CONNECTED: "green",
    KvmState.FAILED: "red",
    KvmState.CLOSED: "yellow",
}


class PrefixFooter(Static):
    """The prefix key and the commands behind it."""

    DEFAULT_CSS = """
    PrefixFooter {
        height: 1;
        background: $primary 30%;
        color: $text;
        padding: 0 1;
    }
    PrefixFooter.pending {
        background: $accent;
        color: $text;
        text-style: bold;
    }
    """

    def __init__(self, prefix: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.prefix = prefix

    def on_mount(self) -> None:
        """Show the commands."""
        self.waiting(False)

    def waiting(self, pending: bool) -> None:
        """Say whether the prefix is waiting for its command key."""
        shown = describe_key(self.prefix)
        self.set_class(pending, "pending")
        text = Text(no_wrap=True, overflow="ellipsis")
        if pending:
            text.append(
                f"{shown} ... now a command key: h help, q quit, p panes, n next host "
                f"({shown} again sends {shown} to the remote)"
            )
        else:
            text.append(f"{shown}", "bold reverse")
            text.append(" then ")
            for command in COMMANDS:
                if command.footer:
                    text.append(describe_key(command.keys[0]), "bold")
                    text.append(f" {command.footer}  ")
        self.update(text)

"""The keys of a shared console: the owner's ``~`` escapes and a viewer's Ctrl-] commands.

Pure state machines (bytes in, actions out), so they are tested without a terminal.

The owner (``amtterm share HOST``) types on the console as with ``amtterm sol``; escapes work
right after Enter (or at the start), as in ssh and classic amtterm:

    ~.   quit (every viewer is disconnected)     ~w   who is watching, numbered
    ~g   give the keyboard to the viewer who     ~1 .. ~9   give it to viewer n
         asked for it (or the only viewer)       ~t   take the keyboard back
    ~?   these escapes                           ~~   send one ~
    Ctrl-]  quit at once

A viewer's keys go to nobody while they are read-only. Their commands sit behind Ctrl-] (the
prefix of amtterm's console), because ssh itself takes the ``~`` escapes (``~.`` still leaves):

    Ctrl-] k   ask for the keyboard; while holding it, give it back
    Ctrl-] q   leave                             Ctrl-] h   help in the status line
    Ctrl-] Ctrl-]   send one Ctrl-] (while holding the keyboard)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, cast

from amtterm.terminal.escape import CTRL_RBRACKET, EscapeKeys

#: Owner actions besides typing: quit, help, who, give (with an optional viewer number), take.
OwnerAction = Literal["quit", "help", "who", "give", "take"]
ViewerAction = Literal["ask", "release", "leave", "help", "refused"]

OWNER_HELP: Final = (
    "escapes (after Enter): ~. quit  ~w who is watching  ~g give the keyboard to who asked  "
    "~1..~9 give it to viewer n  ~t take it back  ~~ a ~  ~? this help"
)
VIEWER_HELP: Final = "Ctrl-] k ask for / give back the keyboard, Ctrl-] q leave (or ~. in ssh)"


@dataclass
class OwnerInput:
    """What one read of the owner's keyboard amounts to."""

    remote: bytes = b""
    actions: list[tuple[OwnerAction, int | None]] = field(default_factory=list)


class OwnerKeys:
    """The owner's key filter: Enter translation and the ``~`` escapes (see ``OWNER_HELP``).

    Args:
        enter: what Enter (CR) sends.
        translate_lf: also send LF as Enter (input from a script, not a terminal).
    """

    def __init__(self, enter: bytes = b"\r", translate_lf: bool = False) -> None:
        escapes: dict[int, str] = dict(_OWNER_ESCAPES)
        self._keys = EscapeKeys(escapes, digits="give", enter=enter, translate_lf=translate_lf)

    def feed(self, data: bytes) -> OwnerInput:
        """Filter one read of the owner's keyboard; stops at a quit."""
        remote, actions = self._keys.feed(data)
        return OwnerInput(remote, [(cast(OwnerAction, action), number) for action, number in actions])


_OWNER_ESCAPES: Final[dict[int, OwnerAction]] = {
    ord("."): "quit",
    ord("?"): "help",
    ord("w"): "who",
    ord("g"): "give",
    ord("t"): "take",
}


@dataclass
class ViewerInput:
    """What one read of a viewer's keyboard amounts to."""

    remote: bytes = b""
    actions: list[ViewerAction] = field(default_factory=list)


@dataclass
class ViewerKeys:
    """A viewer's key filter: their keys pass only while they hold the keyboard."""

    pending_prefix: bool = False

    def feed(self, data: bytes, *, holding: bool) -> ViewerInput:
        """Filter one read of a viewer's keys.

        Args:
            data: the bytes their terminal sent.
            holding: whether they hold the keyboard now.
        """
        result = ViewerInput()
        out = bytearray()
        refused = False
        for byte in data:
            if self.pending_prefix:
                self.pending_prefix = False
                command = _VIEWER_COMMANDS.get(byte)
                if command is not None:
                    result.actions.append(command if command != "ask" or not holding else "release")
                    if command == "leave":
                        break
                    continue
                if byte == CTRL_RBRACKET and holding:
                    out.append(byte)
                    continue
                result.actions.append("help")
                continue
            if byte == CTRL_RBRACKET:
                self.pending_prefix = True
                continue
            if holding:
                out.append(byte)
            else:
                refused = True
        if refused:
            result.actions.append("refused")
        result.remote = bytes(out)
        return result


_VIEWER_COMMANDS: Final[dict[int, ViewerAction]] = {
    ord("k"): "ask",
    ord("K"): "ask",
    ord("q"): "leave",
    ord("."): "leave",
    ord("h"): "help",
    ord("?"): "help",
}

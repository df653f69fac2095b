"""Keys typed on a local terminal for a remote console: Enter translation and ssh-style ``~`` escapes.

    ~.  quit (only right after Enter, or at the start)    ~~  send one ~
    ~?  list the escapes                                   Ctrl-]  quit at once

Used by ``amtterm sol`` and by the owner of ``amtterm share`` (with more escapes); pure state
machines, tested without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

CTRL_RBRACKET = 0x1D
ENTER_BYTES = {"cr": b"\r", "crlf": b"\r\n", "lf": b"\n"}
ESCAPE_HELP = (
    b"\r\nSupported escapes:\r\n  ~.  quit\r\n  ~~  send a single ~\r\n  ~?  this help\r\n  Ctrl-]  quit\r\n"
)


@dataclass
class EscapeKeys:
    """Enter translation and ssh-style escapes: ``~`` then a key, at the start of a line.

    A pure state machine, so that it is tested without a terminal. ``escapes`` maps the key
    after ``~`` to an action name; with ``digits`` set, ``~1``..``~9`` are that action with
    the number. ``~~`` sends one ``~``; ``~`` before any other key is sent as typed. Ctrl-]
    and the action ``quit`` end the read: nothing after them is looked at.

    Args:
        escapes: key after ``~`` -> action.
        digits: the action of ``~1``..``~9``, or None when digits are plain keys.
        enter: what Enter (CR) sends.
        translate_lf: also send LF as Enter (input from a script, not a terminal).
    """

    escapes: dict[int, str]
    digits: str | None = None
    enter: bytes = b"\r"
    translate_lf: bool = False
    at_line_start: bool = True
    pending_tilde: bool = False

    def feed(self, data: bytes) -> tuple[bytes, list[tuple[str, int | None]]]:
        """Filter one read: (bytes for the remote, the escapes seen as (action, number))."""
        out = bytearray()
        actions: list[tuple[str, int | None]] = []
        for byte in data:
            if byte == CTRL_RBRACKET:
                actions.append(("quit", None))
                break
            if self.pending_tilde:
                self.pending_tilde = False
                action = self.escapes.get(byte)
                if action is None and self.digits and ord("1") <= byte <= ord("9"):
                    action, number = self.digits, byte - ord("0")
                else:
                    number = None
                if action is not None:
                    actions.append((action, number))
                    self.at_line_start = True
                    if action == "quit":
                        break
                    continue
                out.append(ord("~"))
                if byte == ord("~"):
                    self.at_line_start = False
                    continue
            if byte == ord("~") and self.at_line_start:
                self.pending_tilde = True
                continue
            if byte == 0x0D or (byte == 0x0A and self.translate_lf):
                out += self.enter
                self.at_line_start = True
                continue
            out.append(byte)
            self.at_line_start = byte == 0x0A
        return bytes(out), actions


class KeyFilter:
    """``amtterm sol``'s keys: Enter translation, ``~.`` / Ctrl-] quit, ``~?`` help, ``~~`` a ``~``."""

    def __init__(self, enter: bytes = b"\r", translate_lf: bool = False) -> None:
        self._keys = EscapeKeys({ord("."): "quit", ord("?"): "help"}, enter=enter, translate_lf=translate_lf)

    def feed(self, data: bytes) -> tuple[bytes, bool, bytes]:
        """Filter ``data``.

        Returns:
            (bytes for the remote, whether to quit, bytes to show locally).
        """
        remote, actions = self._keys.feed(data)
        local = b"".join(ESCAPE_HELP for action, _ in actions if action == "help")
        return remote, any(action == "quit" for action, _ in actions), local

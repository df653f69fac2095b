"""Serial-over-LAN has no way for a console to send a Break, so nothing offers one (issue 12).

Before, ``Ctrl-] b`` and the key bar's Break button were offered, then said it could not be sent.
The README's "Break" paragraph says why.
"""

from __future__ import annotations

from amtterm.ui.commands import COMMANDS, find_command
from amtterm.ui.widgets.keybar import KEYS


def test_the_console_help_does_not_offer_break() -> None:
    assert find_command("b") is None
    assert not any("break" in command.help.lower() for command in COMMANDS)


def test_the_key_bar_does_not_offer_break() -> None:
    assert "Break" not in [label for label, _ in KEYS]

"""Expect-style automation of a remote console: wait for text on its screen, send keys.

    from amtterm.expect import connect

    async with connect("pc42") as console:          # a hosts-file name or an address
        await console.expect("Press F2", timeout=30)
        await console.send_keys("F2")
        await console.expect("Save & Exit", timeout=10)
        print(console.screen_text())

asyncio only (no Textual): usable from scripts, from pytest, and by ``amtterm expect``
(:mod:`amtterm.cli.expect`). The console keeps a pyte screen of the remote's fixed size (80x25
unless told otherwise), fed through the same decoder as the TUI's terminal (UTF-8, CP437 or a
guess), so box drawing and CP437 text read as the BIOS meant them.

What :meth:`Console.expect` matches: everything the remote showed since keys were last sent,

* on the screen as it is now, except text that was already there, in the same place, when the
  keys went out (so after F2 on a POST screen that says "Press F2 for Setup", waiting for
  "Setup" waits for a new "Setup", not that line);
* in the stream of text that arrived since (escape sequences removed, a cursor jump counts as a
  line end), so a message that flashed by and was overwritten still counts.

A plain string matches within one screen row; a compiled regex may span rows (they are joined
with ``\\n``, full width). Waits between two sends see the same baseline, so several waits for
texts of one screen pass in any order. :meth:`Console.mark` moves the baseline by hand (e.g.
after a power reset done elsewhere). A timeout raises :class:`~amtterm.errors.ExpectTimeout`
with what was awaited and the screen's last lines.
"""

from amtterm.errors import ExpectTimeout
from amtterm.expect.api import Connecting, ConnectOptions, connect, open_console
from amtterm.expect.scripted import Console, ExpectMatch, key_bytes

__all__ = [
    "ConnectOptions",
    "Connecting",
    "Console",
    "ExpectMatch",
    "ExpectTimeout",
    "connect",
    "key_bytes",
    "open_console",
]

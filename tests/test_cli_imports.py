"""The command line loads only what the command needs (issue 12: `amtterm demo` was slow to show POST).

Parsing the command line (and so `--help`, `--version` and every error in the words) loads no UI,
no simulator, no SSH, no HTTP, no protocol codec and no session code; a command loads its own.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("textual", "rich", "asyncssh", "httpx", "pyte", "numpy")
OURS = ("amtterm.ui", "amtterm.sim", "amtterm.redir", "amtterm.session", "amtterm.share", "amtterm.wsman")

PROBE = """
import sys
from amtterm.cli.main import build_parser
build_parser()
heavy = {name.split('.')[0] for name in sys.modules if name.split('.')[0] in %r}
ours = {'.'.join(name.split('.')[:2]) for name in sys.modules if name.startswith(%r)}
print(' '.join(sorted(heavy | ours)))
"""


def test_the_parser_loads_no_command() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", PROBE % (HEAVY, OURS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == []

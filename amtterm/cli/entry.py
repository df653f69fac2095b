"""The ``amtterm`` command's entry point: only amtterm's own words reach the user.

A dependency's warning (say, cryptography deprecating an algorithm that asyncssh still names) is
for the developers who pick the versions, not for an admin at a console: it is kept off the
terminal here, before anything else is imported, unless ``--debug`` is given. The filter is narrow:
it names the import packages of amtterm's dependency tree (``tests/test_entry.py`` checks the list
against the installed tree), so a warning from amtterm's own code or from Python itself still shows.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

# The import names of every package in amtterm's dependency tree (see uv.lock).
DEPENDENCY_MODULES = (
    "_cffi_backend",
    "aiohappyeyeballs",
    "aiohttp",
    "aiosignal",
    "anyio",
    "asyncssh",
    "attr",
    "attrs",
    "certifi",
    "cffi",
    "cryptography",
    "frozenlist",
    "h11",
    "httpcore",
    "httpx",
    "idna",
    "linkify_it",
    "markdown_it",
    "mdit_py_plugins",
    "mdurl",
    "multidict",
    "PIL",
    "platformdirs",
    "propcache",
    "pycparser",
    "pygments",
    "pyte",
    "rich",
    "sniffio",
    "textual",
    "textual_image",
    "typing_extensions",
    "wcwidth",
    "yarl",
)


def quiet_dependency_warnings() -> None:
    """Ignore warnings raised in (attributed to) the dependencies' modules."""
    for name in DEPENDENCY_MODULES:
        warnings.filterwarnings("ignore", module=rf"{name}(\.|$)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; dependencies' warnings show only with ``--debug``."""
    words = sys.argv[1:] if argv is None else argv
    if "--debug" not in words:
        quiet_dependency_warnings()
    from amtterm.cli.main import main as cli_main  # after the filter, on purpose

    return cli_main(argv)

"""The protocol cores stay sans-IO: no event loop, sockets, TLS, UI, imaging or clock anywhere in
amtterm.redir (the redirection protocol) or amtterm.rfb (KVM's RFB)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = ("asyncio", "socket", "ssl", "textual", "pyte", "httpx", "asyncssh", "time", "PIL", "numpy")

#: Each core and two of its modules the probe must have found (so an empty walk cannot pass).
CORES = {
    "amtterm.redir": ("amtterm.redir.connection", "amtterm.redir.messages"),
    "amtterm.rfb": ("amtterm.rfb.client", "amtterm.rfb.server"),
}

# ``time`` is imported by the interpreter itself at start-up, so it is removed from
# sys.modules first: any later ``import time`` would put it back.
PROBE = """
import importlib, pkgutil, sys
forbidden = {forbidden!r}
for name in forbidden:
    sys.modules.pop(name, None)
package = importlib.import_module({package!r})
names = [m.name for m in pkgutil.walk_packages(package.__path__, {package!r} + ".")]
for name in names:
    importlib.import_module(name)
print(",".join(names))
print(",".join(sorted(n for n in sys.modules if n.split(".")[0] in forbidden)))
"""


@pytest.mark.parametrize("package", sorted(CORES))
def test_importing_every_module_of_the_core_loads_no_io_ui_or_clock(package: str) -> None:
    probe = PROBE.format(forbidden=FORBIDDEN, package=package)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    modules, loaded = result.stdout.splitlines()
    for expected in CORES[package]:
        assert expected in modules.split(",")
    assert loaded == ""


@pytest.mark.parametrize("package", sorted(CORES))
def test_no_source_file_of_the_core_imports_them_either(package: str) -> None:
    """A static check too, so an import hidden inside a function is caught."""
    root = Path(importlib.import_module(package).__file__ or "").parent
    offenders = []
    for info in pkgutil.iter_modules([str(root)]):
        path = root / f"{info.name}.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []

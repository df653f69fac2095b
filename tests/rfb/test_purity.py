"""The RFB core stays sans-IO: no event loop, sockets, TLS, UI or clock anywhere in amtterm.rfb."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import amtterm.rfb

FORBIDDEN = ("asyncio", "socket", "ssl", "textual", "pyte", "httpx", "asyncssh", "time", "PIL", "numpy")

# ``time`` is imported by the interpreter itself at start-up, so it is removed from
# sys.modules first: any later ``import time`` would put it back.
PROBE = f"""
import importlib, pkgutil, sys
forbidden = {FORBIDDEN!r}
for name in forbidden:
    sys.modules.pop(name, None)
import amtterm.rfb
names = [m.name for m in pkgutil.walk_packages(amtterm.rfb.__path__, "amtterm.rfb.")]
for name in names:
    importlib.import_module(name)
print(",".join(names))
print(",".join(sorted(n for n in sys.modules if n.split(".")[0] in forbidden)))
"""


def test_importing_every_rfb_module_loads_no_io_ui_or_clock() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    modules, loaded = result.stdout.splitlines()
    assert "amtterm.rfb.client" in modules.split(",")
    assert "amtterm.rfb.server" in modules.split(",")
    assert loaded == ""


def test_no_rfb_source_file_imports_them_either() -> None:
    """A static check too, so an import hidden inside a function is caught."""
    root = Path(amtterm.rfb.__file__).parent
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

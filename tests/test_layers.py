"""The layers as the code's real shape: what each package of amtterm may import.

Data flows one way (``../shared/ARCHITECTURE.md``): ``cli`` on top, then ``ui`` (the only
package that knows Textual), then ``share`` / ``expect`` / ``sim``, then ``session``, then
``terminal`` / ``wsman``, then ``transport``, ``redir`` and ``rfb`` (stdlib only), with ``config``,
``errors`` and ``paths`` beside the bottom. Every import counts, also the ones inside functions.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import amtterm

PACKAGE = Path(amtterm.__file__).parent
BASE = {"errors", "paths"}

#: For each part of amtterm, the other parts it may import.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "paths": {"errors"},
    "redir": BASE,
    "rfb": BASE,
    "transport": BASE,
    "config": BASE | {"transport"},
    "terminal": BASE,
    "wsman": BASE | {"config", "transport", "redir"},
    "session": BASE | {"config", "transport", "redir", "rfb", "terminal", "wsman"},
    "share": BASE | {"config", "transport", "redir", "rfb", "terminal", "wsman", "session"},
    "expect": BASE | {"config", "transport", "redir", "terminal", "session"},
    "sim": BASE | {"config", "transport", "redir", "rfb", "terminal", "wsman", "session"},
    "ui": BASE | {"config", "transport", "redir", "rfb", "terminal", "wsman", "session", "share", "expect"},
    "cli": BASE
    | {"config", "transport", "redir", "rfb", "terminal", "wsman", "session", "share", "expect", "sim", "ui"},
}
#: Packages that show a face (``__init__`` with ``__all__``): other parts import the face only.
FACED = ("redir", "rfb", "session")
#: Third-party packages only some parts may import.
ONLY_IN = {"textual": {"ui"}, "rich": {"ui"}, "asyncssh": {"transport", "share"}, "httpx": {"wsman"}}


def _part(module: str) -> str:
    """``amtterm.session.host`` -> ``session``; ``amtterm.config`` -> ``config``."""
    return module.split(".")[1] if module.count(".") else ""


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def _imports(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, at its top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: amtterm writes its imports absolute"
            if node.module == "amtterm":  # from amtterm import config; __version__ is no part
                names.update(
                    f"amtterm.{alias.name}" for alias in node.names if not alias.name.startswith("__")
                )
            elif node.module:
                names.add(node.module)
    return names


def test_every_part_of_amtterm_has_a_rule() -> None:
    parts = {_part(name) for name, _ in _modules()} - {"", "__main__"}
    assert parts - set(ALLOWED) == set()


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[name for name, _ in _modules()])
def test_imports_follow_the_layers(module: str, path: Path) -> None:
    part = _part(module)
    if part in ("", "__main__"):
        return
    wrong = []
    for name in sorted(_imports(path, module)):
        top = name.split(".")[0]
        if top == "amtterm":
            other = _part(name)
            if other and other != part and other not in ALLOWED[part]:
                wrong.append(name)
        elif top in ONLY_IN and part not in ONLY_IN[top]:
            wrong.append(name)
    assert wrong == [], f"{module} ({part}/) may not import {wrong}"


def test_below_the_ui_nothing_loads_textual() -> None:
    """Importing every module outside ui/ and cli/ loads no Textual (also not through another module)."""
    below = [name for name, _ in _modules() if _part(name) not in ("ui", "cli", "__main__", "")]
    probe = "import importlib, sys\n" + "".join(f"importlib.import_module({name!r})\n" for name in below)
    probe += (
        "print(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('textual', 'rich') or m.startswith('amtterm.ui')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[name for name, _ in _modules()])
def test_other_parts_use_the_faces_of_redir_and_session(module: str, path: Path) -> None:
    part = _part(module)
    inner = sorted(
        name
        for name in _imports(path, module)
        if name.count(".") >= 2 and _part(name) in FACED and _part(name) != part
    )
    assert inner == [], (
        f"{module} imports {inner}: use the package's face (from amtterm.{_part(inner[0])} import ...)"
    )


@pytest.mark.parametrize("package", FACED)
def test_every_name_of_a_face_loads(package: str) -> None:
    face = __import__(f"amtterm.{package}", fromlist=["__all__"])
    assert face.__all__, package
    for name in face.__all__:
        assert getattr(face, name) is not None


def test_the_command_line_has_no_import_circle() -> None:
    """cli/'s modules import each other one way (main -> commands -> common), also inside functions."""
    modules = {name: path for name, path in _modules() if _part(name) == "cli"}
    edges = {
        name: {i for i in _imports(path, name) if i in modules and i != name}
        for name, path in modules.items()
    }
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, f"import circle: {' -> '.join((*trail, name))}"
        if name in done:
            return
        for other in sorted(edges[name]):
            visit(other, (*trail, name))
        done.add(name)

    for name in sorted(modules):
        visit(name, ())
    assert "amtterm.cli.common" in modules and edges["amtterm.cli.common"] == set()

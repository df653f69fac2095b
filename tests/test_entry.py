"""Only amtterm's own words reach the user: dependencies' warnings stay off the terminal.

The end-to-end tests run the installed ``amtterm`` script, as a user does, with the dependency
versions of this venv (the lock in CI, the newest releases under tools/check-latest).
"""

from __future__ import annotations

import importlib.metadata as metadata
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from amtterm.cli.entry import DEPENDENCY_MODULES, quiet_dependency_warnings

AMTTERM = Path(sys.executable).parent / "amtterm"


def _dependency_tree() -> set[str]:
    """The distributions amtterm needs at run time, as installed here (markers and extras followed)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str]]] = [("amtterm", frozenset())]
    while todo:
        name, extras = todo.pop()
        key = (canonicalize_name(name), extras)
        if key in seen:
            continue
        seen.add(key)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in {"", *extras}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return {name for name, _ in seen} - {"amtterm"}


def test_the_filter_names_every_module_of_the_dependency_tree() -> None:
    tree = _dependency_tree()
    assert {"asyncssh", "cryptography", "textual", "pyte", "httpx"} <= tree
    modules = {
        module
        for module, dists in metadata.packages_distributions().items()
        if any(canonicalize_name(d) in tree for d in dists)
    }
    assert modules - set(DEPENDENCY_MODULES) == set()


def _warn_from(module: str) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        quiet_dependency_warnings()
        warnings.warn_explicit("a warning", UserWarning, "x.py", 1, module=module)
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("module", ["asyncssh", "asyncssh.crypto.misc", "textual.app", "_cffi_backend"])
def test_a_dependencys_warning_is_kept_off(module: str) -> None:
    assert _warn_from(module) == []


@pytest.mark.parametrize("module", ["amtterm.cli", "asyncio.base_events", "__main__", "textualize", "rich2"])
def test_amtterms_own_and_pythons_warnings_still_show(module: str) -> None:
    assert _warn_from(module) == ["a warning"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AMTTERM), *args], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def _asyncssh_warns_at_import() -> bool:
    probe = subprocess.run(
        [sys.executable, "-W", "always", "-c", "import asyncssh"], capture_output=True, text=True, timeout=60
    )
    return "Warning" in probe.stderr


def test_commands_that_load_asyncssh_print_one_sentence_and_no_warning(env: dict[str, str]) -> None:
    env = dict(env, AMT_PASSWORD="x")
    jump = _run(env, "sol", "-J", "jump.invalid", "127.0.0.1")
    assert jump.returncode != 0
    assert jump.stderr.splitlines() == [
        "amtterm: Cannot resolve jump host 'jump.invalid': check its name (or its HostName)."
    ]

    attach = _run(env, "attach", f"ssh://127.0.0.1:{_closed_port()}")
    assert attach.returncode != 0
    assert len(attach.stderr.splitlines()) == 1, attach.stderr
    assert attach.stderr.startswith("amtterm: ") and "Warning" not in attach.stderr

    for command in ("share", "attach", "sol"):
        shown = _run(env, command, "--help")
        assert shown.returncode == 0 and shown.stderr == "" and "usage: amtterm" in shown.stdout


def test_debug_shows_the_dependencys_warnings(env: dict[str, str]) -> None:
    debug = _run(dict(env, AMT_PASSWORD="x"), "sol", "--debug", "-J", "jump.invalid", "127.0.0.1")
    assert debug.stderr.splitlines()[-1].startswith("amtterm: Cannot resolve jump host")
    # Whether there is one to show depends on the versions installed (cryptography 51 + asyncssh 2.24 do).
    assert ("CryptographyDeprecationWarning" in debug.stderr) == _asyncssh_warns_at_import()

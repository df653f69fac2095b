"""A private tmux server running one command, for tests that look at the app the way a tmux user does.

``tmux_running(env, tmp_path, argv)`` starts ``argv`` in a detached 132x42 session on its own
server (``-L``, empty config), so it neither sees nor touches the user's tmux; ``keys`` types,
``screen`` reads the pane (``capture-pane``), ``wait_for`` polls for text.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;:?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


@dataclass
class Tmux:
    """A private tmux server with one session running the app."""

    socket: str
    session: str
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=10,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def screen(self, *, escapes: bool = False) -> str:
        """The pane as text (with SGR escapes when asked)."""
        args = ["capture-pane", "-p", "-t", self.session]
        return self.run(*args, *(["-e"] if escapes else []))

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if not self.alive():
                raise AssertionError(f"the app ended before showing {text!r}:\n{screen}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on screen within {timeout} s:\n{screen}")
            time.sleep(0.1)

    def alive(self) -> bool:
        out = self.run("list-panes", "-t", self.session, "-F", "#{pane_dead}", check=False)
        return out.strip() == "0"

    def size(self) -> tuple[int, int]:
        out = self.run("display-message", "-p", "-t", self.session, "#{window_width}x#{window_height}")
        width, _, height = out.strip().partition("x")
        return int(width), int(height)


def tmux_running(env: dict[str, str], tmp_path: Path, argv: list[str]) -> Iterator[Tmux]:
    """``argv`` in a detached 132x42 tmux session on a private server."""
    root = Path(__file__).resolve().parents[2]
    env = dict(
        env,  # private config and state directories (tests/conftest.py)
        TERM="xterm-256color",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        PYTHONPATH=str(root),
        TMUX_TMPDIR=str(tmp_path),
    )
    env.pop("TMUX", None)
    server = Tmux(f"amtterm-test-{uuid.uuid4().hex[:8]}", "demo", env)
    command = " ".join(_quote(part) for part in argv)
    server.run(
        "-f", "/dev/null", "new-session", "-d", "-s", server.session, "-x", "132", "-y", "42",
        f"{command}; echo AMTTERM-EXIT=$?; sleep 30",  # the exit status, and the pane kept for a post-mortem
    )  # fmt: skip
    server.run("set-option", "-g", "remain-on-exit", "on")
    try:
        yield server
    finally:
        server.run("kill-server", check=False)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def plain(screen: str) -> str:
    return ANSI.sub("", screen)

"""What tmux does to a console inside it, asked of tmux itself: Esc held back, copies kept in.

Both are one ``tmux show -sv OPTION`` away; each check returns one sentence to show the user, or
None (not in tmux, nothing wrong, or tmux cannot be asked). No Textual.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping

__all__ = ["Runner", "tmux_clipboard_warning", "tmux_escape_time_warning", "tmux_option"]

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def tmux_option(
    name: str, env: Mapping[str, str] | None = None, *, run: Runner = subprocess.run, timeout: float = 2.0
) -> str | None:
    """The server option ``name`` of the tmux we run in, or None (not in tmux, or tmux did not say).

    Args:
        name: the option (``escape-time``, ``set-clipboard``).
        env: the environment (``os.environ`` when None); only ``$TMUX`` and ``$PATH`` matter.
        run: how to run ``tmux show -sv NAME`` (``subprocess.run``; tests pass a fake).
        timeout: seconds to wait for tmux.
    """
    env = os.environ if env is None else env
    if not env.get("TMUX"):
        return None
    try:
        result = run(
            ["tmux", "show", "-sv", name],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = str(result.stdout).strip().splitlines()
    return lines[0].strip() if result.returncode == 0 and lines else None


def tmux_escape_time_warning(
    env: Mapping[str, str] | None = None,
    *,
    run: Runner = subprocess.run,
    limit_ms: int = 50,
    timeout: float = 2.0,
) -> str | None:
    """One sentence when tmux would hold Esc back long enough to confuse a BIOS.

    tmux waits ``escape-time`` milliseconds (500 by default) after ESC to see whether a key
    sequence follows; the remote then gets Esc late, or glued to the next key.
    """
    text = tmux_option("escape-time", env, run=run, timeout=timeout)
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    if value is None or value <= limit_ms:
        return None
    return (
        f"tmux holds Esc for {value} ms (escape-time), so the BIOS gets Esc late; "
        "run `tmux set -sg escape-time 10` to fix it."
    )


def tmux_clipboard_warning(
    env: Mapping[str, str] | None = None, *, run: Runner = subprocess.run, timeout: float = 2.0
) -> str | None:
    """One sentence when tmux keeps copies away from the desktop clipboard (``set-clipboard``
    ``external`` or ``off``)."""
    value = tmux_option("set-clipboard", env, run=run, timeout=timeout)
    if value not in ("external", "off"):
        return None
    return (
        f"tmux's set-clipboard is {value}, so copies stay inside amtterm and never reach your desktop "
        "clipboard: run `tmux set -s set-clipboard on` (your terminal must allow OSC 52)."
    )

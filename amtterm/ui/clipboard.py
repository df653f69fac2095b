"""Whether a copy can reach the desktop's clipboard from inside tmux.

The console copies through the terminal (OSC 52, ``App.copy_to_clipboard``). Inside tmux that
works only with ``set-clipboard on``: with ``external`` (tmux's default) or ``off`` tmux drops
what an application sends, so "Copied" would be a lie. The console says so once instead.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def tmux_clipboard_warning(
    env: Mapping[str, str] | None = None, *, run: Runner = subprocess.run, timeout: float = 2.0
) -> str | None:
    """One sentence when tmux keeps copies away from the desktop clipboard, else None.

    Args:
        env: the environment (``os.environ`` when None); only ``$TMUX`` and ``$PATH`` matter.
        run: how to run ``tmux show -sv set-clipboard`` (tests pass a fake).
        timeout: seconds to wait for tmux.
    """
    env = os.environ if env is None else env
    if not env.get("TMUX"):
        return None
    try:
        result = run(
            ["tmux", "show", "-sv", "set-clipboard"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = str(result.stdout).strip() if result.returncode == 0 else ""
    if value not in ("external", "off"):
        return None
    return (
        f"tmux's set-clipboard is {value}, so copies stay inside amtterm and never reach your desktop "
        "clipboard: run `tmux set -s set-clipboard on` (your terminal must allow OSC 52)."
    )

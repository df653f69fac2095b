"""Where amtterm keeps its files: one config directory and one state directory.

Both follow the XDG base directory rules and can be overridden for tests and the simulator:

=============  ========================  ========================  ============================
directory      override                  XDG variable              fallback
=============  ========================  ========================  ============================
config         ``$AMTTERM_CONFIG_DIR``   ``$XDG_CONFIG_HOME``      ``~/.config/amtterm``
state          ``$AMTTERM_STATE_DIR``    ``$XDG_STATE_HOME``       ``~/.local/state/amtterm``
=============  ========================  ========================  ============================

The config directory holds what a user edits or decides (hosts file, ``known_hosts`` pins); the
state directory holds what amtterm produces (logs, recordings, the simulator's certificate).
An empty variable counts as unset, as the XDG specification asks. Directories are created on
demand with mode 0700, because they hold certificate pins and private keys.
"""

from __future__ import annotations

import os
from pathlib import Path

from amtterm.errors import ConfigError

__all__ = ["config_dir", "ensure_private_dir", "state_dir"]

_APP = "amtterm"


def _resolve(override_var: str, xdg_var: str, fallback: tuple[str, ...]) -> Path:
    override = os.environ.get(override_var)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get(xdg_var)
    # The XDG spec says relative paths in these variables are invalid and must be ignored.
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / _APP
    return Path.home().joinpath(*fallback, _APP)


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700 unless it exists.

    An existing directory keeps its mode: a user may have chosen a looser one on purpose.

    Args:
        path: the directory to create.

    Returns:
        ``path`` itself.

    Raises:
        ConfigError: the directory cannot be created (a file is in the way, no permission).
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"Cannot create the directory {path} ({exc.strerror or exc}): check its parent's permissions."
        ) from exc
    return path


def config_dir(*, create: bool = True) -> Path:
    """Return amtterm's configuration directory.

    Args:
        create: create the directory (mode 0700) when it is missing.

    Returns:
        ``$AMTTERM_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/amtterm``, else ``~/.config/amtterm``.

    Raises:
        ConfigError: ``create`` is true and the directory cannot be created.
    """
    path = _resolve("AMTTERM_CONFIG_DIR", "XDG_CONFIG_HOME", (".config",))
    return ensure_private_dir(path) if create else path


def state_dir(*, create: bool = True) -> Path:
    """Return amtterm's state directory (logs, recordings, simulator certificate).

    Args:
        create: create the directory (mode 0700) when it is missing.

    Returns:
        ``$AMTTERM_STATE_DIR``, else ``$XDG_STATE_HOME/amtterm``, else ``~/.local/state/amtterm``.

    Raises:
        ConfigError: ``create`` is true and the directory cannot be created.
    """
    path = _resolve("AMTTERM_STATE_DIR", "XDG_STATE_HOME", (".local", "state"))
    return ensure_private_dir(path) if create else path

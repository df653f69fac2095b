"""The keys of a shared console: the server's own host key and who may attach.

    host_key = load_host_key()                       # generated once, kept in the state directory
    viewers = AuthorizedKeys.load(path)              # OpenSSH authorized_keys format
    name = viewers.name_of(key, user="alice")        # the key's comment, else the SSH user name

The host key lives in ``<state dir>/share/ssh_host_ed25519_key`` (mode 0600), so a colleague's
``ssh`` recognises the share across restarts. The authorized-keys file is the one OpenSSH
reads: one key per line (``ssh-ed25519 AAAA... alice@laptop``), ``#`` comments, options before
the key allowed and ignored. A viewer is named by the key's comment (``alice@laptop``), or by
the SSH user name when the key has no comment.

Only this module and :mod:`amtterm.share.client` read key files; every failure is a
:class:`~amtterm.errors.ConfigError` in one sentence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from amtterm.errors import ConfigError
from amtterm.paths import config_dir, ensure_private_dir, state_dir

__all__ = ["AuthorizedKeys", "default_authorized_keys", "fingerprint", "host_key_path", "load_host_key"]

HOST_KEY_NAME = "ssh_host_ed25519_key"
AUTHORIZED_KEYS_NAME = "share_authorized_keys"


def default_authorized_keys() -> Path:
    """``share_authorized_keys`` in the config directory (``~/.config/amtterm``)."""
    return config_dir(create=False) / AUTHORIZED_KEYS_NAME


def host_key_path() -> Path:
    """Where the share's host key is kept."""
    return state_dir(create=False) / "share" / HOST_KEY_NAME


def fingerprint(key: asyncssh.SSHKey) -> str:
    """``SHA256:...``, as ``ssh`` shows it."""
    return str(key.get_fingerprint("sha256"))


def load_host_key(path: Path | None = None) -> asyncssh.SSHKey:
    """The share's host key; made (Ed25519) and saved the first time.

    Args:
        path: the key file (default :func:`host_key_path`).

    Raises:
        ConfigError: the key cannot be read, parsed or written.
    """
    path = path or host_key_path()
    if path.exists():
        try:
            return asyncssh.read_private_key(path)
        except (OSError, asyncssh.KeyImportError) as exc:
            raise ConfigError(
                f"Cannot read the share's host key {path} ({exc}): remove it to make a new one."
            ) from exc
    ensure_private_dir(path.parent)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="amtterm share")
    data = key.export_private_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except FileExistsError:  # another amtterm made it meanwhile: use that one
        return load_host_key(path)
    except OSError as exc:
        raise ConfigError(f"Cannot save the share's host key in {path} ({exc.strerror or exc}).") from exc
    return key


@dataclass(frozen=True)
class Viewer:
    """One authorized key and the name it stands for (None: use the SSH user name)."""

    key: asyncssh.SSHKey
    name: str | None


class AuthorizedKeys:
    """The public keys that may attach to a shared console."""

    def __init__(self, viewers: list[Viewer], path: Path | None = None) -> None:
        self.viewers = viewers
        self.path = path
        self._by_data = {viewer.key.public_data: viewer for viewer in viewers}

    @classmethod
    def load(cls, path: Path) -> AuthorizedKeys:
        """Read an authorized-keys file.

        Raises:
            ConfigError: the file is missing or unreadable, or holds no key.
        """
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise ConfigError(
                f"No authorized-keys file {path}: put your colleagues' public keys in it (one per line), "
                "or name another with --authorized-keys FILE."
            ) from None
        except OSError as exc:
            raise ConfigError(f"Cannot read the authorized-keys file {path}: {exc.strerror or exc}.") from exc
        viewers = [viewer for line in text.splitlines() if (viewer := _parse_line(line)) is not None]
        if not viewers:
            raise ConfigError(
                f"The authorized-keys file {path} holds no public key: add a line such as "
                "'ssh-ed25519 AAAA... alice' (a colleague's ~/.ssh/id_ed25519.pub)."
            )
        return cls(viewers, path)

    def __len__(self) -> int:
        return len(self.viewers)

    def find(self, key: asyncssh.SSHKey) -> Viewer | None:
        """The entry of ``key``, or None when it is not authorized."""
        return self._by_data.get(key.public_data)

    def name_of(self, key: asyncssh.SSHKey, user: str) -> str | None:
        """What to call the person with ``key`` (None: not authorized)."""
        viewer = self.find(key)
        if viewer is None:
            return None
        return viewer.name or user


def _parse_line(line: str) -> Viewer | None:
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    words = line.split()
    # Options (from="...",no-pty) may come before the key type; try each start.
    for start in range(min(len(words), 3)):
        try:
            key = asyncssh.import_public_key(" ".join(words[start : start + 2]))
        except (asyncssh.KeyImportError, ValueError):
            continue
        comment = " ".join(words[start + 2 :])
        return Viewer(key, _name_from_comment(comment))
    return None


def _name_from_comment(comment: str) -> str | None:
    """The comment as a name: printable characters only (no escapes reach a status line), at most 32."""
    word = "".join(char for char in " ".join(comment.split()) if char.isprintable())
    return word[:32] or None

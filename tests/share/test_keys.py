"""Authorized keys (names from comments, one-sentence errors) and the persisted host key."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from amtterm.errors import ConfigError
from amtterm.share.keys import AuthorizedKeys, load_host_key


def public_line(comment: str) -> tuple[asyncssh.SSHKey, str]:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    return key, key.export_public_key().decode().strip()


def test_viewers_are_named_by_comment_else_by_user(tmp_path: Path) -> None:
    alice, alice_line = public_line("alice@laptop")
    bob, bob_line = public_line("")
    stranger, _ = public_line("mallory")
    path = tmp_path / "keys"
    path.write_text(
        f'# team\n{alice_line}\nno-pty,from="10.0.0.0/8" {bob_line.split(" ")[0]} '
        f"{bob_line.split(' ')[1]}\n\n"
    )
    keys = AuthorizedKeys.load(path)
    assert len(keys) == 2
    assert keys.name_of(alice, "ignored") == "alice@laptop"
    assert keys.name_of(bob, "bob") == "bob"
    assert keys.name_of(stranger, "mallory") is None


def test_missing_empty_and_unreadable_files_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"No authorized-keys file .*--authorized-keys"):
        AuthorizedKeys.load(tmp_path / "absent")
    (tmp_path / "empty").write_text("# nobody yet\n")
    with pytest.raises(ConfigError, match="holds no public key"):
        AuthorizedKeys.load(tmp_path / "empty")
    with pytest.raises(ConfigError, match="Cannot read the authorized-keys file"):
        AuthorizedKeys.load(tmp_path)  # a directory


def test_host_key_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "state" / "share" / "ssh_host_ed25519_key"
    first = load_host_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_host_key(path).public_data == first.public_data

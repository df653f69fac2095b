"""Fixtures of the real-component tests: OpenSSH sshd jump hosts and a private SSH client side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sshd import SshClientFiles, Sshd, client_files, start_sshd


@pytest.fixture
def ssh_client(tmp_path: Path) -> SshClientFiles:
    """A client key, known_hosts and ssh config in tmp (the real ~/.ssh is never used)."""
    return client_files(tmp_path / "ssh-client")


@pytest.fixture
def jump_a(tmp_path: Path, ssh_client: SshClientFiles) -> Iterator[Sshd]:
    """A real sshd on loopback that lets the client key in."""
    server = start_sshd(tmp_path / "sshd-a", ssh_client.key.with_suffix(".pub"))
    yield server
    server.stop()


@pytest.fixture
def jump_b(tmp_path: Path, ssh_client: SshClientFiles) -> Iterator[Sshd]:
    """A second sshd (its own host key), for chains of two jump hosts."""
    server = start_sshd(tmp_path / "sshd-b", ssh_client.key.with_suffix(".pub"))
    yield server
    server.stop()

"""A real OpenSSH ``sshd`` on a free loopback port, as a throw-away jump host for one test.

Everything lives in the test's tmp directory: the host key, the authorized client key, the
config, the log. sshd runs as the current user (root in CI: ``PermitRootLogin prohibit-password``),
listens on 127.0.0.1 only, runs under ``timeout`` so that it ends by itself if a test leaks it,
and is stopped by :meth:`Sshd.stop`.

The client side gets its own files too (:class:`SshClientFiles`): a key pair, a known_hosts file
and an ssh config naming both, so nothing reads or writes the real ``~/.ssh``.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
#: The longest an sshd may live, whatever happens to the test (seconds).
LIFETIME = 300


def keygen(path: Path, comment: str) -> Path:
    """A new ed25519 key pair without passphrase at ``path`` (and ``path.pub``)."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        timeout=30,
    )
    return path


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def closed_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    return free_port()


@dataclass
class Sshd:
    """A running sshd."""

    proc: subprocess.Popen[bytes]
    port: int
    host_key: Path
    log: Path

    @property
    def host_key_line(self) -> str:
        """Its known_hosts line (``[127.0.0.1]:PORT ssh-ed25519 AAAA...``)."""
        algorithm, data = self.host_key.with_suffix(".pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {algorithm} {data}"

    @property
    def spec(self) -> str:
        """The ``user@host:port`` to give to --jump."""
        return f"{getpass.getuser()}@127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Terminate sshd (and its per-connection children)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_sshd(directory: Path, authorized: Path, *, forwarding: bool = True) -> Sshd:
    """Start sshd with its files in ``directory``, letting in the public key ``authorized``.

    Fails (never skips) when ``/usr/sbin/sshd`` is missing: ``.ci/run`` installs openssh-server.
    """
    assert Path(SSHD).exists(), f"{SSHD} is missing: install openssh-server (bash .ci/run does)"
    directory.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation directory
    host_key = keygen(directory / "host_key", "amtterm-test-host")
    port = free_port()
    config = directory / "sshd_config"
    log = directory / "sshd.log"
    config.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"Port {port}",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                f"PidFile {directory / 'sshd.pid'}",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                f"AllowTcpForwarding {'yes' if forwarding else 'no'}",
                "LogLevel DEBUG1",  # logs each direct-tcpip request with its target
                "",
            ]
        )
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["timeout", str(LIFETIME), SSHD, "-D", "-e", "-f", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    sshd = Sshd(proc, port, host_key, log)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if b"Server listening" in log.read_bytes():
            return sshd
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    sshd.stop()
    raise AssertionError(f"sshd did not start: {log.read_text(errors='replace')}")


@dataclass
class SshClientFiles:
    """A private client side: key, known_hosts, ssh config, HOME; nothing of the real ~/.ssh."""

    home: Path
    key: Path
    known_hosts: Path
    config: Path

    def trust(self, *servers: Sshd) -> None:
        """Write the servers' host keys into known_hosts."""
        self.known_hosts.write_text("".join(f"{s.host_key_line}\n" for s in servers))

    def write_config(self, *extra: str, key: Path | None = None) -> Path:
        """(Re)write the ssh config: every host uses our key and our known_hosts, plus ``extra`` lines."""
        # ssh (and asyncssh) keep the first value they see: ``extra`` goes before the defaults.
        lines = [
            "Host *",
            *(f"  {line}" for line in extra),
            f"  IdentityFile {key or self.key}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {self.known_hosts}",
            "  StrictHostKeyChecking yes",
            "",
        ]
        self.config.write_text("\n".join(lines))
        return self.config

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` with HOME here and no SSH agent of the real user."""
        env = dict(base, HOME=str(self.home))
        env.pop("SSH_AUTH_SOCK", None)
        return env


def client_files(directory: Path) -> SshClientFiles:
    """A fresh client key pair, an empty known_hosts and a config naming them."""
    home = directory / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    os.chmod(home / ".ssh", 0o700)
    files = SshClientFiles(
        home=home,
        key=keygen(directory / "client_key", "amtterm-test-client"),
        known_hosts=directory / "known_hosts",
        config=directory / "ssh_config",
    )
    files.known_hosts.write_text("")
    files.write_config()
    return files

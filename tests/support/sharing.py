"""Sharing a console in tests: throw-away SSH keys, `amtterm share` on a pty, OpenSSH viewers.

Every viewer is the real ``/usr/bin/ssh`` on its own pseudo-terminal, with ``-F /dev/null``,
its own known_hosts file in the test's directory, ``BatchMode`` and ``IdentitiesOnly``, so the
user's ``~/.ssh`` (config, keys, agent, known hosts) is never read or written. What a viewer
sees is judged the way their terminal would show it: the bytes go through pyte at the size of
their window.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pyte

from tests.support.ptyproc import PtyProcess
from tests.support.simproc import SimProcess, amtterm_argv

SSH = "/usr/bin/ssh"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
SHARING_RE = re.compile(rb"sharing \S+ on (\S+):(\d+) \(ssh -p \d+ \S+\), host key (SHA256:\S+),")


def make_key(directory: Path, name: str) -> Path:
    """A new Ed25519 key pair named ``name`` (the comment); returns the private key's path."""
    path = directory / f"id_{name}"
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)], check=True, timeout=20
    )
    return path


def authorize(directory: Path, *keys: Path) -> Path:
    """An authorized-keys file holding the public halves of ``keys``."""
    path = directory / "share_authorized_keys"
    path.write_text("".join(key.with_suffix(".pub").read_text() for key in keys))
    return path


@dataclass
class Share:
    """`amtterm share` running on a pty."""

    owner: PtyProcess
    host: str
    port: int
    fingerprint: str

    def stop(self) -> int:
        """Ctrl-] (as in ``amtterm sol``): the owner quits; returns the exit status."""
        self.owner.send(b"\x1d")
        return self.owner.wait(15)


def start_share(env: dict[str, str], sim: SimProcess, authorized: Path, *extra: str) -> Share:
    """`amtterm share -P 127.0.0.1 PORT` against ``sim``; waits for the line with the port."""
    assert sim.plain_port
    owner = PtyProcess(
        [
            *amtterm_argv(),
            "share",
            "-P",
            "127.0.0.1",
            str(sim.plain_port),
            "--authorized-keys",
            str(authorized),
            *extra,
        ],
        env=dict(env, AMT_PASSWORD=sim.password),
        cols=80,
        rows=25,
    )
    try:
        output = owner.expect(b"lists your escapes", timeout=30)
    except AssertionError:
        owner.close()
        raise
    match = SHARING_RE.search(output)
    assert match, output
    return Share(owner, match.group(1).decode(), int(match.group(2)), match.group(3).decode())


class Viewer:
    """``ssh -p PORT 127.0.0.1`` on a pty of its own, and the screen its terminal would show."""

    def __init__(
        self,
        env: dict[str, str],
        tmp: Path,
        key: Path,
        port: int,
        *,
        cols: int = 100,
        rows: int = 30,
        strict: str = "accept-new",
    ) -> None:
        argv = [
            SSH,
            "-F", "/dev/null",
            "-p", str(port),
            "-i", str(key),
            "-o", f"UserKnownHostsFile={tmp / 'viewer_known_hosts'}",
            "-o", f"StrictHostKeyChecking={strict}",
            "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none",
            "-tt",
            "127.0.0.1",
        ]  # fmt: skip
        self.proc = PtyProcess(argv, env=env, cols=cols, rows=rows)
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self._fed = 0

    def _update(self) -> None:
        data = bytes(self.proc.output[self._fed :])
        self._fed += len(data)
        self.stream.feed(data)

    def text(self) -> str:
        """The viewer's window now, one line per row."""
        self.proc.drain(0.05)
        self._update()
        return "\n".join(line.rstrip() for line in self.screen.display)

    def status(self) -> str:
        """The last row of the window (the share's status line)."""
        return self.text().splitlines()[-1]

    def wait_text(self, text: str, timeout: float = 15.0) -> str:
        """Wait until the window shows ``text``; returns the window."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.text()
            if text in shown:
                return shown
            if self.proc.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the viewer's window; it shows:\n{shown}")
            time.sleep(0.1)

    def send(self, data: bytes) -> None:
        """Type on the viewer's terminal."""
        self.proc.send(data)

    def resize(self, cols: int, rows: int) -> None:
        """Change the viewer's window size (ssh sends a window-change)."""
        fcntl.ioctl(self.proc.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.kill(self.proc.proc.pid, signal.SIGWINCH)
        self.screen.resize(rows, cols)

    def close(self) -> None:
        """Kill ssh if it still runs."""
        self.proc.close()

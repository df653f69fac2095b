"""Run a program on a pseudo-terminal, as a person at a terminal would, and read its screen bytes."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import time
from collections.abc import Sequence


def _become_terminal_owner() -> None:
    # In the child: a new session whose controlling terminal is the pty (fd 0), so
    # that /dev/tty works there as it does for a person at a terminal.
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyProcess:
    """A child process whose stdin, stdout and stderr are one pseudo-terminal."""

    def __init__(
        self, argv: Sequence[str], *, env: dict[str, str] | None = None, cols: int = 80, rows: int = 25
    ):
        master, slave = pty.openpty()
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        # The size is the pty's: no COLUMNS/LINES (pytest-xdist's workers export 80x24) to override it.
        env = {k: v for k, v in (os.environ if env is None else env).items() if k not in ("COLUMNS", "LINES")}
        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            preexec_fn=_become_terminal_owner,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.output = bytearray()

    def _read_some(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.output += data
        return True

    def expect(self, needle: bytes, timeout: float = 10.0, *, since: int = 0) -> bytes:
        """Wait until ``needle`` has appeared in the output (after offset ``since``); return all output."""
        deadline = time.monotonic() + timeout
        while self.output.find(needle, since) < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"{needle!r} not seen within {timeout}s; output was: {bytes(self.output)[-2000:]!r}"
                )
            if not self._read_some(min(left, 0.2)) and self.proc.poll() is not None:
                # Drain what is left, then give up.
                while self._read_some(0.05):
                    pass
                if self.output.find(needle, since) < 0:
                    tail = bytes(self.output)[-2000:]
                    code = self.proc.returncode
                    raise AssertionError(f"process exited ({code}) before {needle!r}: {tail!r}")
        return bytes(self.output)

    def send(self, data: bytes) -> None:
        """Type ``data``."""
        os.write(self.master, data)

    def drain(self, seconds: float) -> bytes:
        """Read for ``seconds``; return everything read so far."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._read_some(max(0.0, deadline - time.monotonic()))
        return bytes(self.output)

    def wait(self, timeout: float = 10.0) -> int:
        """Wait for the process to exit while draining its output."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read_some(0.1)
        while self._read_some(0.05):
            pass
        if self.proc.poll() is None:
            raise AssertionError(
                f"process still running after {timeout}s; output: {bytes(self.output)[-2000:]!r}"
            )
        return self.proc.returncode

    def close(self) -> None:
        """Kill the process group if still running and close the terminal."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        with contextlib.suppress(OSError):
            os.close(self.master)

"""ShareClient: watch a shared console from amtterm itself, as ``ssh -p PORT HOST`` would.

    address = ShareAddress.parse("ssh://alice@buildhost:2222")
    client = await ShareClient.connect(address, size=(80, 26))
    async for chunk in client.output(): ...       # the frames the share draws for our window
    client.write(b"\\x1dk")                        # keys (Ctrl-] k asks for the keyboard)
    client.resize(100, 31)
    await client.close()

Host keys are trusted on first use, as ssh does, but kept apart from ``~/.ssh``: in
``share_known_hosts`` in the config directory (OpenSSH's format, ``[host]:port type key``).
A changed key is refused with the line to remove; an unknown one is asked about, or accepted
with ``accept_new``. The client's own keys are ssh's defaults (``~/.ssh/id_*``, the agent)
unless ``identities`` names files.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncssh

from amtterm.errors import ConfigError, ConnectError, SessionRefused
from amtterm.paths import config_dir
from amtterm.share.keys import fingerprint

KNOWN_HOSTS_NAME = "share_known_hosts"


@dataclass(frozen=True)
class ShareAddress:
    """Where a console is shared."""

    host: str
    port: int
    user: str | None = None

    @classmethod
    def parse(cls, text: str) -> ShareAddress:
        """``ssh://[USER@]HOST:PORT`` (or without ``ssh://``).

        Raises:
            ConfigError: not such an address.
        """
        parts = urlsplit(text if "://" in text else f"ssh://{text}")
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme != "ssh" or not parts.hostname or port is None:
            raise ConfigError(
                f"Cannot attach to {text!r}: give the address the owner's amtterm printed, "
                "as ssh://HOST:PORT (e.g. ssh://127.0.0.1:2222)."
            )
        return cls(parts.hostname, port, parts.username)

    @property
    def key(self) -> str:
        """How the host is written in a known-hosts file."""
        return f"[{self.host}]:{self.port}"


class _Client(asyncssh.SSHClient):
    def __init__(self, check: Callable[[asyncssh.SSHKey], bool]) -> None:
        self.check = check

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        return self.check(key)


class _Session(asyncssh.SSHClientSession[bytes]):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        self.queue.put_nowait(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.queue.put_nowait(None)


class ShareClient:
    """One connection to a shared console."""

    def __init__(
        self, conn: asyncssh.SSHClientConnection, chan: asyncssh.SSHClientChannel[bytes], session: _Session
    ) -> None:
        self.conn = conn
        self.chan = chan
        self._session = session

    @classmethod
    async def connect(
        cls,
        address: ShareAddress,
        *,
        identities: Sequence[Path] | None = None,
        known_hosts: Path | None = None,
        accept_new: bool = False,
        ask: Callable[[str], bool] | None = None,
        size: tuple[int, int] = (80, 26),
    ) -> ShareClient:
        """Connect, authenticate with a key and open the shared console.

        Raises:
            ConnectError: nothing listens there.
            SessionRefused: the share refused our keys.
            ConfigError: the host key is unknown (and not accepted) or changed; a key file is unreadable.
        """
        path = known_hosts or config_dir() / KNOWN_HOSTS_NAME
        pins = HostKeys(path)
        verdict: list[str] = []

        def check(key: asyncssh.SSHKey) -> bool:
            known = pins.lookup(address.key)
            if known is not None:
                if known == key.public_data:
                    return True
                verdict.append(
                    f"The host key of the share at {address.key} changed (now {fingerprint(key)}); if the "
                    f"owner made a new one, remove the line for {address.key} from {path}."
                )
                return False
            question = (
                f"The share at {address.key} is new here; its host key is {fingerprint(key)}. Trust it?"
            )
            if accept_new or (ask is not None and ask(question)):
                pins.add(address.key, key)
                return True
            verdict.append(
                f"The share at {address.key} is not known yet (host key {fingerprint(key)}): "
                "compare it with what the owner's amtterm printed, then attach with --accept-new."
            )
            return False

        try:
            conn = await asyncssh.connect(
                address.host,
                address.port,
                username=address.user or getpass.getuser(),
                client_factory=lambda: _Client(check),
                known_hosts=lambda *_: ([], [], []),
                client_keys=[str(p) for p in identities] if identities else (),
                config=None,
                agent_forwarding=False,
            )
        except (OSError, asyncssh.Error) as exc:
            if verdict:
                raise ConfigError(verdict[0]) from exc
            if isinstance(exc, asyncssh.PermissionDenied):
                raise SessionRefused(
                    f"The share at {address.key} refused our keys: ask its owner to add your public key "
                    "to their share_authorized_keys."
                ) from exc
            if isinstance(exc, asyncssh.KeyImportError | FileNotFoundError):
                raise ConfigError(f"Cannot use the key file: {exc}.") from exc
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise ConnectError(f"Cannot reach the share at {address.key}: {reason}.") from exc
        try:
            chan, session = await conn.create_session(
                _Session, term_type="xterm-256color", term_size=size, encoding=None
            )
        except asyncssh.Error as exc:
            conn.close()
            raise SessionRefused(
                f"The share at {address.key} did not open its console: {exc.reason}."
            ) from exc
        assert isinstance(session, _Session)
        return cls(conn, chan, session)

    async def output(self) -> AsyncIterator[bytes]:
        """What the share draws, until it ends the session."""
        while True:
            chunk = await self._session.queue.get()
            if chunk is None:
                return
            yield chunk

    def write(self, data: bytes) -> None:
        """Keys for the share."""
        with contextlib.suppress(Exception):
            self.chan.write(data)

    def resize(self, columns: int, rows: int) -> None:
        """Our window changed size."""
        with contextlib.suppress(Exception):
            self.chan.change_terminal_size(columns, rows)

    async def close(self) -> None:
        """Leave."""
        self.chan.close()
        self.conn.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.conn.wait_closed(), 2)


class HostKeys:
    """Host keys of shares seen before (OpenSSH known-hosts lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lookup(self, host: str) -> bytes | None:
        """The key recorded for ``host`` (``[addr]:port``), as public key bytes."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"Cannot read {self.path}: {exc.strerror or exc}.") from exc
        for line in lines:
            words = line.split()
            if len(words) >= 3 and host in words[0].split(","):
                with contextlib.suppress(asyncssh.KeyImportError, ValueError):
                    return bytes(asyncssh.import_public_key(" ".join(words[1:3])).public_data)
        return None

    def add(self, host: str, key: asyncssh.SSHKey) -> None:
        """Remember ``key`` for ``host``."""
        line = f"{host} {key.export_public_key('openssh').decode().split()[0]} "
        line += key.export_public_key("openssh").decode().split()[1]
        try:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as exc:
            raise ConfigError(f"Cannot write {self.path}: {exc.strerror or exc}.") from exc

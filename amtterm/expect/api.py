"""connect(): reach a host's SOL the way ``amtterm sol`` does and hand back a :class:`Console`."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from amtterm.config import PASSWORD_ENV
from amtterm.errors import ConfigError
from amtterm.expect.scripted import Console
from amtterm.session import Recorder
from amtterm.terminal.keymap import Enter

if TYPE_CHECKING:
    from amtterm.config import HostEntry
    from amtterm.session import SolEndpoint


@dataclass
class ConnectOptions:
    """How :func:`connect` reaches a host; the hosts file fills in what is left None.

    Attributes:
        port: the redirection port (16995 TLS, 16994 plain).
        user: the AMT user (the hosts file's, else ``admin``).
        password: the password (else the host's hosts-file entry, else ``AMT_PASSWORD``).
        plain: plain TCP instead of TLS.
        cafile: verify the certificate against this CA instead of known_hosts (a hosts-file
            ``tls_pin`` must match as well).
        accept_new: pin an unknown certificate without asking.
        ask: asked about an unknown certificate (None: it is refused unless ``accept_new``).
        known_hosts: the pin file (the user's default when None).
        tls_legacy: allow TLS 1.0/1.1.
        legacy_auth: legacy plain auth (AMT 11 and older).
        hosts_file: the hosts file (the default one when None).
        peer_timeout: give up after this many seconds without a byte from the device.
        size: the remote screen (columns, rows).
        encoding: ``auto``, ``cp437`` or ``utf-8``.
        fkeys: the F-key convention.
        enter: what Enter sends.
        recorder: records the session (see :class:`Console`).
        jump: SSH jump hosts, ``[user@]host[:port]``, outermost first (as ``--jump``); they replace
            the hosts file's ``jump``, and ``["none"]`` switches it off. None: the hosts file's.
        ssh_config: the OpenSSH client config for the jump hosts (``ssh -F``; default
            ``~/.ssh/config``). An unknown jump-host key is asked about through ``ask``.
    """

    port: int | None = None
    user: str | None = None
    password: str | None = None
    plain: bool | None = None
    cafile: Path | None = None
    accept_new: bool = False
    ask: Callable[[str], bool] | None = None
    known_hosts: Path | None = None
    tls_legacy: bool = False
    legacy_auth: bool = False
    hosts_file: Path | None = None
    peer_timeout: float = 20.0
    size: tuple[int, int] | None = None
    encoding: str | None = None
    fkeys: str | None = None
    enter: Enter = "cr"
    recorder: Recorder | None = None
    jump: Sequence[str] | None = None
    ssh_config: Path | None = None


def resolve_console(host: str, options: ConnectOptions) -> tuple[HostEntry, SolEndpoint]:
    """``host``'s hosts-file entry and SOL endpoint, by the one resolver (as ``amtterm sol`` does).

    Raises:
        ConfigError: a broken hosts file, a malformed ``jump``, no password (the API never asks).
    """
    from amtterm.config import known_password, load_hosts
    from amtterm.session import resolve_sol

    entry = load_hosts(options.hosts_file).lookup(host)
    jump = [options.jump] if isinstance(options.jump, str) else options.jump  # jump="bastion" too

    def no_prompt(user: str) -> str:
        # The Python API never asks: amtterm's one rule (config.known_password), else a sentence.
        password = known_password(entry, options.password)
        if not password:
            raise ConfigError(
                f"No password for {user}@{entry.name}: set {PASSWORD_ENV}, or name a password_env or "
                "password_command for it in the hosts file."
            )
        return password

    endpoint = resolve_sol(
        entry,
        no_prompt,
        user=options.user,
        plain=options.plain,
        port=options.port,
        cafile=options.cafile,
        tls_legacy=options.tls_legacy,
        accept_new=options.accept_new,
        ask=options.ask,
        known_hosts=options.known_hosts,
        legacy_auth=options.legacy_auth,
        peer_timeout=options.peer_timeout,
        jump=jump,
        jump_option="jump",
        ssh_config=options.ssh_config,
    )
    return entry, endpoint


async def open_console(host: str, options: ConnectOptions) -> Console:
    """Connect to ``host``'s SOL and return its :class:`Console` (see :func:`connect`)."""
    from amtterm.session import open_sol

    entry, endpoint = resolve_console(host, options)
    columns, rows = options.size or entry.screen or (80, 25)
    client = await open_sol(endpoint)
    try:
        return Console(
            client,
            columns=columns,
            rows=rows,
            encoding=options.encoding or entry.encoding or "auto",
            key_mode=options.fkeys or entry.fkeys or "intel",
            enter=options.enter,
            recorder=options.recorder,
            name=entry.name if entry.from_file else None,
        )
    except BaseException:
        await client.close()
        raise


class Connecting:
    """What :func:`connect` returns: await it for a Console, or use it with ``async with``."""

    def __init__(self, host: str, options: ConnectOptions) -> None:
        self._host = host
        self._options = options
        self._console: Console | None = None

    def __await__(self) -> Generator[Any, None, Console]:
        return open_console(self._host, self._options).__await__()

    async def __aenter__(self) -> Console:
        self._console = await open_console(self._host, self._options)
        return self._console

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._console is not None:
            await self._console.close()


def connect(host: str, port: int | None = None, **options: Any) -> Connecting:
    """Connect to a host's Serial-over-LAN console, as ``amtterm sol`` does.

    ``host`` is a hosts-file name or an address; TLS on 16995 with digest auth and the
    certificate pinned in known_hosts by default. The keyword options are the fields of
    :class:`ConnectOptions` (``password``, ``plain``, ``accept_new``, ``size``, ``fkeys``,
    ``jump``, ``ssh_config``...).

        async with connect("127.0.0.1", 16994, plain=True, password=secret) as console:
            await console.expect("Press F2")

        async with connect("pc42", jump=["admin@bastion.example.net"]) as console:  # as sol -J
            ...

    Raises:
        ConfigError: no password, a broken hosts file, an unknown option.
        ConnectError, TlsError, AuthError, SessionBusy, JumpError, ...: one sentence each, as
            ``amtterm sol``.
    """
    try:
        settings = ConnectOptions(port=port, **options)
    except TypeError as exc:
        raise ConfigError(f"connect() got an unknown option: {exc}.") from None
    return Connecting(host, settings)

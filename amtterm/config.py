"""The hosts file: named AMT machines, how to reach them, and where their passwords come from.

It lives at ``<config dir>/hosts.toml`` (``~/.config/amtterm/hosts.toml``; ``$AMTTERM_CONFIG_DIR``
overrides the directory, ``--hosts-file`` the file) and is TOML::

    [defaults]                      # optional: applies to every host below
    user = "admin"
    password_env = "AMT_PASSWORD"

    [hosts.pc42]
    address = "pc42.example.net"    # required: name or IP address
    user = "admin"
    password_env = "PC42_AMT_PASSWORD"          # the NAME of a variable holding the password
    # password_command = "pass show amt/pc42"   # or a command printing it (first line)
    tls = true                      # false = plain HTTP 16992 / redirection 16994 (like -P)
    tls_pin = "SHA256:..."          # the certificate's fingerprint, instead of known_hosts
    cafile = "~/amt-ca.pem"         # or verify against a CA (like -C)
    wsman_port = 16993
    redir_port = 16995
    amt_version = "16.1"            # a hint; the device is still asked
    screen = "80x25"                # 80x25, 80x24 or 100x30
    encoding = "cp437"              # cp437, utf-8 or auto
    fkeys = "intel"                 # intel, alternate or vt100+
    jump = ["admin@bastion.example.net"]  # SSH jump hosts, outermost first ([user@]host[:port])

Passwords never go in the file: a ``password`` key is refused. Every problem is one
:class:`~amtterm.errors.ConfigError` sentence naming the file and the key. A HOST given on the
command line is looked up by name; anything else is taken as an address.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from amtterm import paths
from amtterm.errors import ConfigError
from amtterm.transport.jump import parse_jumps
from amtterm.transport.tls import is_fingerprint

HOSTS_FILE_NAME: Final = "hosts.toml"
SCREEN_SIZES: Final = ("80x25", "80x24", "100x30")
ENCODINGS: Final = ("cp437", "utf-8", "auto")
FKEY_MODES: Final = ("intel", "alternate", "vt100+")
#: Longest a password_command may take (seconds).
PASSWORD_ENV: Final = "AMT_PASSWORD"
PASSWORD_COMMAND_TIMEOUT: Final = 30.0

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VERSION_RE = re.compile(r"\d+(\.\d+){0,3}")


@dataclass(frozen=True)
class HostEntry:
    """One machine: from the hosts file, or just an address given on the command line.

    Attributes:
        name: the name in the file (the address itself when not from the file).
        address: the host name or IP address to connect to.
        user: the AMT user name, if the file gives one.
        password_env: the name of the environment variable that holds the password.
        password_command: a command that prints the password (first line of its output).
        tls: True for TLS (16993/16995), False for plain (16992/16994), None = the default (TLS).
        tls_pin: the expected ``SHA256:...`` certificate fingerprint (overrides known_hosts).
        cafile: a CA file to verify the certificate with (like ``-C``).
        wsman_port: the WS-Management port, if not the default.
        redir_port: the redirection port, if not the default.
        amt_version: a hint such as ``16.1``.
        screen: (columns, rows) of the remote screen.
        encoding: ``cp437``, ``utf-8`` or ``auto``.
        fkeys: the BIOS F-key convention: ``intel``, ``alternate`` or ``vt100+``.
        jump: SSH jump hosts, outermost first.
        from_file: whether the entry came from the hosts file.
    """

    name: str
    address: str
    user: str | None = None
    password_env: str | None = None
    password_command: str | None = None
    tls: bool | None = None
    tls_pin: str | None = None
    cafile: Path | None = None
    wsman_port: int | None = None
    redir_port: int | None = None
    amt_version: str | None = None
    screen: tuple[int, int] | None = None
    encoding: str | None = None
    fkeys: str | None = None
    jump: tuple[str, ...] = ()
    from_file: bool = False


@dataclass(frozen=True)
class HostsFile:
    """The parsed hosts file.

    Attributes:
        path: where it was read from (or would be), for messages.
        hosts: name -> entry, in file order.
        exists: whether the file was there.
    """

    path: Path
    hosts: dict[str, HostEntry] = field(default_factory=dict)
    exists: bool = False

    def lookup(self, host: str) -> HostEntry:
        """The entry named ``host``, or an address-only entry for anything else."""
        entry = self.hosts.get(host)
        return entry if entry is not None else HostEntry(name=host, address=host)

    @property
    def names(self) -> list[str]:
        """Host names in file order."""
        return list(self.hosts)


def default_hosts_path() -> Path:
    """``<config dir>/hosts.toml``."""
    return paths.config_dir(create=False) / HOSTS_FILE_NAME


# -- validation ------------------------------------------------------------------------------------

Checker = Callable[[Any, str, Path], Any]


def _fail(path: Path, where: str, text: str) -> ConfigError:
    return ConfigError(f"{path}: {where} {text}.")


def _string(value: Any, where: str, path: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, where, f"must be a non-empty string, not {value!r}")
    return value.strip()


def _bool(value: Any, where: str, path: Path) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, where, f"must be true or false, not {value!r}")
    return value


def _port(value: Any, where: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _fail(path, where, f"must be a port number from 1 to 65535, not {value!r}")
    return value


def _env_name(value: Any, where: str, path: Path) -> str:
    text = _string(value, where, path)
    if not _ENV_RE.fullmatch(text):
        raise _fail(
            path, where, f"must be the NAME of an environment variable (like AMT_PASSWORD), not {text!r}"
        )
    return text


def _pin(value: Any, where: str, path: Path) -> str:
    text = _string(value, where, path)
    if not is_fingerprint(text):
        raise _fail(path, where, f"must be a fingerprint like SHA256:<43 base64 characters>, not {text!r}")
    return text


def _cafile(value: Any, where: str, path: Path) -> Path:
    file = Path(_string(value, where, path)).expanduser()
    return file if file.is_absolute() else path.parent / file


def _version(value: Any, where: str, path: Path) -> str:
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _VERSION_RE.fullmatch(text.strip()):
        raise _fail(path, where, f'must be an AMT version like "16.1", not {value!r}')
    return text.strip()


def _screen(value: Any, where: str, path: Path) -> tuple[int, int]:
    if value not in SCREEN_SIZES:
        raise _fail(path, where, f"must be one of {', '.join(SCREEN_SIZES)}, not {value!r}")
    columns, _, rows = str(value).partition("x")
    return int(columns), int(rows)


def _choice(choices: tuple[str, ...]) -> Checker:
    def check(value: Any, where: str, path: Path) -> str:
        if not isinstance(value, str) or value.lower() not in choices:
            raise _fail(path, where, f"must be one of {', '.join(choices)}, not {value!r}")
        return value.lower()

    return check


def _jump(value: Any, where: str, path: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise _fail(path, where, f'must be a list of host names like ["bastion.example.net"], not {value!r}')
    try:
        parse_jumps(value)
    except ValueError as exc:
        raise _fail(path, where, f"is not a jump host list: {exc}") from None
    return tuple(item.strip() for item in value)


CHECKS: Final[dict[str, Checker]] = {
    "address": _string,
    "user": _string,
    "password_env": _env_name,
    "password_command": _string,
    "tls": _bool,
    "tls_pin": _pin,
    "cafile": _cafile,
    "wsman_port": _port,
    "redir_port": _port,
    "amt_version": _version,
    "screen": _screen,
    "encoding": _choice(ENCODINGS),
    "fkeys": _choice(FKEY_MODES),
    "jump": _jump,
}
#: Keys that make sense for one host only, not in [defaults].
HOST_ONLY: Final = ("address", "tls_pin")


def _check_table(table: Mapping[str, Any], where: str, path: Path, *, defaults: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in table.items():
        here = f"{where}.{key}"
        if key in ("password", "pass", "passwd"):
            raise _fail(
                path,
                here,
                "is not allowed: keep passwords out of the hosts file and name where to find them, "
                "with password_env (an environment variable) or password_command",
            )
        check = CHECKS.get(key)
        if check is None:
            close = difflib.get_close_matches(key, list(CHECKS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (known keys: {', '.join(CHECKS)})"
            raise _fail(path, here, f"is not a known key{hint}")
        if defaults and key in HOST_ONLY:
            raise _fail(path, here, "belongs to one host, not to [defaults]")
        values[key] = check(value, here, path)
    return values


def parse_hosts(text: str, path: Path) -> HostsFile:
    """Parse and check hosts-file text.

    Args:
        text: the TOML text.
        path: the file it came from, for messages (relative ``cafile`` is relative to it).

    Raises:
        ConfigError: not TOML, an unknown key, a wrong value, a password in the file.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from None
    for key in data:
        if key not in ("hosts", "defaults"):
            raise _fail(path, key, "is not a known section (use [defaults] and [hosts.NAME])")
    defaults_table = data.get("defaults", {})
    if not isinstance(defaults_table, dict):
        raise _fail(path, "defaults", "must be a table: [defaults]")
    defaults = _check_table(defaults_table, "defaults", path, defaults=True)
    hosts_table = data.get("hosts", {})
    if not isinstance(hosts_table, dict):
        raise _fail(path, "hosts", "must be a table of hosts: [hosts.NAME]")
    hosts: dict[str, HostEntry] = {}
    for name, table in hosts_table.items():
        where = f"hosts.{name}"
        if not _NAME_RE.fullmatch(name):
            raise _fail(path, where, "has a name that is hard to type: use letters, digits, '.', '_' and '-'")
        if not isinstance(table, dict):
            raise _fail(path, where, f"must be a table ([{where}] with address = ...)")
        values = {**defaults, **_check_table(table, where, path, defaults=False)}
        if "address" not in values:
            raise _fail(path, where, 'has no address: add address = "<host name or IP>"')
        hosts[name] = HostEntry(name=name, from_file=True, **values)
    return HostsFile(path, hosts, exists=True)


def load_hosts(path: Path | None = None) -> HostsFile:
    """Read the hosts file.

    Args:
        path: the file (``--hosts-file``); None = the default one, which may be absent.

    Raises:
        ConfigError: an explicitly named file is missing, or any file is unreadable or invalid.
    """
    explicit = path is not None
    file = path.expanduser() if path is not None else default_hosts_path()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"The hosts file {file} does not exist: check --hosts-file.") from None
        return HostsFile(file)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the hosts file {file} ({exc}).") from None
    return parse_hosts(text, file)


# -- credentials -----------------------------------------------------------------------------------


def _run_password_command(entry: HostEntry, command: str) -> str:
    where = f"the password_command of {entry.name}"
    try:
        argv = shlex.split(command)
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=PASSWORD_COMMAND_TIMEOUT, check=False
        )
    except ValueError as exc:
        raise ConfigError(f"Cannot parse {where} ({exc}): fix its quoting in the hosts file.") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"{where.capitalize()} ran for {PASSWORD_COMMAND_TIMEOUT:g} s without finishing."
        ) from None
    except OSError as exc:
        raise ConfigError(f"Cannot run {where} ({exc.strerror or exc}): check the command.") from None
    if result.returncode != 0:
        raise ConfigError(f"{where.capitalize()} failed with exit status {result.returncode}.")
    password = result.stdout.splitlines()[0].strip() if result.stdout.strip() else ""
    if not password:
        raise ConfigError(f"{where.capitalize()} printed no password.")
    return password


def stored_password(
    entry: HostEntry,
    *,
    environ: Mapping[str, str] | None = None,
    cache: dict[str, str] | None = None,
) -> str | None:
    """The password the hosts file points to for ``entry``, or None if it names no source.

    Args:
        entry: the host.
        environ: the environment to read ``password_env`` from (default ``os.environ``).
        cache: remembers ``password_command`` outputs by command, so many hosts sharing one
            command run it once.

    Raises:
        ConfigError: the variable is unset or empty, or the command fails.
    """
    env = os.environ if environ is None else environ
    if entry.password_command:
        if cache is not None and entry.password_command in cache:
            return cache[entry.password_command]
        password = _run_password_command(entry, entry.password_command)
        if cache is not None:
            cache[entry.password_command] = password
        return password
    if entry.password_env:
        value = env.get(entry.password_env)
        if not value:
            raise ConfigError(
                f"The hosts file keeps the password of {entry.name} in ${entry.password_env}, "
                "but that variable is not set: export it."
            )
        return value
    return None


def known_password(
    entry: HostEntry,
    given: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cache: dict[str, str] | None = None,
) -> str | None:
    """amtterm's one password rule, most specific first, short of asking: ``given`` (``-p``, or
    ``password=`` in the Python API), then the host's own entry in the hosts file (``password_env`` /
    ``password_command``), then ``AMT_PASSWORD``. None when none of them has one (the command line
    then asks on the terminal; the Python API says so in one sentence).

    Raises:
        ConfigError: the host's entry names a source that fails (see :func:`stored_password`).
    """
    if given:
        return given
    stored = stored_password(entry, environ=environ, cache=cache)
    if stored is not None:
        return stored
    return (os.environ if environ is None else environ).get(PASSWORD_ENV) or None

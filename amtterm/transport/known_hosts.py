"""Trust on first use for AMT's self-signed TLS certificates: the ``known_hosts`` pin file.

AMT devices present a certificate made at provisioning, signed by nobody
(``../shared/protocol/wsman.md`` section 3). Like OpenSSH, amtterm remembers the SHA-256
fingerprint of the certificate a device showed the first time and refuses a different one later.

File format (``config_dir() / "known_hosts"``), one pin per line::

    # comments start with '#'; blank lines are fine
    amt-lab-3.example.net:16995 SHA256:q5OcKz3q0tYqJ+...43 base64 characters, no padding
    192.0.2.17:16993 SHA256:...
    [2001:db8::17]:16995 SHA256:...

* The key is ``HOST:PORT``: WS-Man (16993) and redirection (16995) are pinned separately, even
  though AMT uses one certificate for both; :meth:`KnownHosts.remove_host` (``amtterm known-hosts
  remove HOST``) forgets every port of a device at once. IPv6 addresses are written in brackets.
* Host names are compared case-insensitively; IP addresses in their canonical form.
* The parser is tolerant: a line it cannot read is skipped for lookups but kept, byte for byte,
  whenever the file is rewritten. Only lines of the entry being replaced or removed change.
* Every change rewrites the whole file atomically (temporary file in the same directory, then
  rename) with mode 0600; the file is re-read before each operation, so two consoles and the
  ``amtterm known-hosts`` sub-command see each other's changes.

The check of a presented certificate against its pin (and the sentence when it differs) is
:func:`amtterm.transport.trust.check_certificate`; this module only keeps the file.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from amtterm.errors import ConfigError
from amtterm.paths import config_dir, ensure_private_dir
from amtterm.transport.tls import format_endpoint, is_fingerprint

__all__ = [
    "DEFAULT_TLS_PORT",
    "KnownHosts",
    "default_path",
    "endpoint_key",
    "forget",
    "parse_host_port",
]

DEFAULT_TLS_PORT = 16995
"""The redirection port over TLS, used when ``HOST`` is given without ``:PORT``."""

_HEADER = (
    "# amtterm known_hosts: TLS certificate pins, one 'HOST:PORT SHA256:fingerprint' per line.\n"
    "# Forget a device with 'amtterm known-hosts remove HOST' (every port), one port with\n"
    "# 'amtterm known-hosts remove HOST:PORT', or delete its lines.\n"
)


def default_path() -> Path:
    """Return where the pins live by default: ``config_dir() / "known_hosts"``.

    The directory is not created here; :meth:`KnownHosts.add` creates it when it first writes.
    """
    return config_dir(create=False) / "known_hosts"


def _normalize_host(host: str) -> str:
    bare = host.strip()
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    if not bare:
        raise ValueError("empty host")
    try:
        return str(ipaddress.ip_address(bare))  # canonical: '::0001' and '::1' are one device
    except ValueError:
        pass
    if any(ch.isspace() or ch in "[]#/" for ch in bare) or ":" in bare:
        raise ValueError(f"not a host name: {host!r}")
    return bare.lower().rstrip(".")


def endpoint_key(host: str, port: int) -> str:
    """Return the ``HOST:PORT`` key a pin is stored under.

    Args:
        host: a host name or an IPv4/IPv6 address (IPv6 with or without brackets).
        port: the TCP port.

    Returns:
        The normalized key, e.g. ``"amt-3.example.net:16995"`` or ``"[::1]:16995"``.

    Raises:
        ValueError: the host or the port is not valid.
    """
    if not 0 < port < 65536:
        raise ValueError(f"port out of range: {port}")
    return format_endpoint(_normalize_host(host), port)


def parse_host_port(text: str, *, default_port: int | None = DEFAULT_TLS_PORT) -> tuple[str, int]:
    """Split what a user typed (``host``, ``host:16993``, ``[::1]:16995``, ``::1``) into host and port.

    Args:
        text: the user's ``HOST[:PORT]``.
        default_port: the port when none is given; None makes the port mandatory.

    Returns:
        ``(host, port)`` with the host normalized as in :func:`endpoint_key`.

    Raises:
        ConfigError: the text is not a host, or the port is missing or not a number in 1..65535.
    """
    spec = text.strip()
    host, port_text = spec, ""
    if spec.startswith("["):
        close = spec.find("]")
        if close < 0 or (close + 1 < len(spec) and spec[close + 1] != ":"):
            raise ConfigError(f"Cannot read {text!r} as HOST:PORT: write IPv6 addresses as [ADDRESS]:PORT.")
        host, port_text = spec[1:close], spec[close + 2 :]
    elif spec.count(":") == 1:
        host, port_text = spec.split(":")
    # Several colons without brackets: a bare IPv6 address, no port.
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(
                f"Cannot read {text!r} as HOST:PORT: the port must be a number from 1 to 65535."
            )
        port = int(port_text)
    elif default_port is None:
        raise ConfigError(f"Cannot read {text!r} as HOST:PORT: give the port, e.g. {text}:16995.")
    else:
        port = default_port
    try:
        return _normalize_host(host), port
    except ValueError:
        raise ConfigError(
            f"Cannot read {text!r} as HOST:PORT: {host!r} is not a host name or address."
        ) from None


def _split_key(key: str) -> tuple[str, int]:
    host, _, port = key.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class _Line:
    """One line of the file: the raw text and, if it is a valid entry, its key and fingerprint."""

    raw: str
    key: str | None = None
    fingerprint: str | None = None


def _parse_line(raw: str) -> _Line:
    fields = raw.split("#", 1)[0].split()
    if len(fields) != 2 or not is_fingerprint(fields[1]):
        return _Line(raw)
    try:
        host, port = parse_host_port(fields[0], default_port=None)
    except ConfigError:
        return _Line(raw)
    return _Line(raw, endpoint_key(host, port), fields[1])


class KnownHosts:
    """The pin file: ``HOST:PORT`` -> SHA-256 fingerprint of the device's TLS certificate.

    Args:
        path: the file; defaults to :func:`default_path`. It need not exist yet.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()

    @classmethod
    def default(cls) -> KnownHosts:
        """Return the pin file at :func:`default_path` (``config_dir() / "known_hosts"``)."""
        return cls(default_path())

    def __repr__(self) -> str:
        return f"KnownHosts({str(self.path)!r})"

    def _read(self) -> list[_Line]:
        try:
            # surrogateescape: bytes that are not UTF-8 survive a rewrite unchanged.
            text = self.path.read_text(encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigError(
                f"Cannot read the TLS pins in {self.path} ({exc.strerror or exc}): check its permissions."
            ) from exc
        return [_parse_line(raw) for raw in text.splitlines()]

    def _write(self, lines: list[_Line]) -> None:
        text = "".join(line.raw + "\n" for line in lines)
        try:
            ensure_private_dir(self.path.parent)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="\n") as out:
                    out.write(text)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(tmp, 0o600)  # mkstemp already does; say it where it matters
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise ConfigError(
                f"Cannot save the TLS pins to {self.path} ({exc.strerror or exc}): check that its "
                "directory is writable."
            ) from exc

    def entries(self) -> list[tuple[tuple[str, int], str]]:
        """Return every valid pin in file order, the first one winning for a repeated key.

        Returns:
            ``[((host, port), "SHA256:..."), ...]``; hosts are bare (IPv6 without brackets, use
            :func:`amtterm.transport.tls.format_endpoint` to show them). Malformed lines are left out.
        """
        return [(_split_key(key), fp) for key, fp in self._pins().items()]

    def _pins(self) -> dict[str, str]:
        pins: dict[str, str] = {}
        for line in self._read():
            if line.key is not None and line.fingerprint is not None:
                pins.setdefault(line.key, line.fingerprint)
        return pins

    def lookup(self, host: str, port: int) -> str | None:
        """Return the pinned fingerprint of ``host:port``, or None when the device is not known.

        Args:
            host: host name or address as dialled.
            port: the TCP port.

        Returns:
            ``"SHA256:..."`` or None.

        Raises:
            ConfigError: the file exists but cannot be read.
        """
        return self._pins().get(endpoint_key(host, port))

    def add(self, host: str, port: int, fp: str) -> None:
        """Pin ``fp`` for ``host:port``, replacing an earlier pin in place.

        Args:
            host: host name or address.
            port: the TCP port.
            fp: a fingerprint as returned by :func:`amtterm.transport.tls.fingerprint`.

        Raises:
            ValueError: ``fp`` is not in the ``SHA256:base64`` form, or host/port are invalid.
            ConfigError: the file cannot be read or written.
        """
        if not is_fingerprint(fp):
            raise ValueError(f"not a SHA256 fingerprint: {fp!r}")
        key = endpoint_key(host, port)
        entry = _Line(f"{key} {fp}", key, fp)
        lines = self._read()
        out: list[_Line] = [] if lines else [_Line(raw) for raw in _HEADER.splitlines()]
        placed = False
        for line in lines:
            if line.key == key:
                if not placed:
                    out.append(entry)
                    placed = True
                continue  # later duplicates of the same key go
            out.append(line)
        if not placed:
            out.append(entry)
        self._write(out)

    def remove(self, host: str, port: int) -> bool:
        """Forget the pin of ``host:port``; every other line stays as it was.

        Args:
            host: host name or address.
            port: the TCP port.

        Returns:
            True when a pin was removed, False when there was none (the file is then untouched).

        Raises:
            ConfigError: the file cannot be read or written.
        """
        key = endpoint_key(host, port)
        lines = self._read()
        kept = [line for line in lines if line.key != key]
        if len(kept) == len(lines):
            return False
        self._write(kept)
        return True

    def remove_host(self, host: str) -> list[int]:
        """Forget every pin of ``host`` (all its ports); every other line stays as it was.

        Args:
            host: host name or address.

        Returns:
            The ports whose pins were removed (empty: there were none, the file is untouched).

        Raises:
            ConfigError: the file cannot be read or written.
        """
        device = _normalize_host(host)
        lines = self._read()
        ports = [
            _split_key(line.key)[1]
            for line in lines
            if line.key is not None and _key_host(line.key) == device
        ]
        if ports:
            self._write([line for line in lines if line.key is None or _key_host(line.key) != device])
        return sorted(set(ports))


def _key_host(key: str) -> str:
    return _split_key(key)[0]


def forget(host: str, port: int, *, path: Path | None = None) -> bool:
    """Remove the pin of ``host:port``: what ``amtterm known-hosts remove HOST:PORT`` runs.

    Parse the user's argument with :func:`parse_host_port` first.

    Args:
        host: host name or address.
        port: the TCP port.
        path: the pin file; defaults to :func:`default_path`.

    Returns:
        True when a pin was removed, False when ``host:port`` had none.

    Raises:
        ConfigError: the file cannot be read or written.
    """
    return KnownHosts(path).remove(host, port)

"""Jump-host keys, trusted the way OpenSSH trusts them: known_hosts and StrictHostKeyChecking.

The rules (``ssh_config(5)``, StrictHostKeyChecking and UserKnownHostsFile):

* A key listed for the host in a known_hosts file is trusted. asyncssh checks that itself.
* A host listed with *other* keys has a **changed** key: always refused, whatever
  StrictHostKeyChecking says (OpenSSH's ``no`` would connect but with forwarding disabled, and
  forwarding is all a jump host is for).
* An **unknown** host: ``yes`` refuses; ``ask`` (OpenSSH's default) asks the user and refuses when
  nobody can be asked; ``accept-new`` and ``no`` add the key and go on.
* New keys go to the first user known_hosts file, hashed when ``HashKnownHosts yes``, under
  ``host`` for port 22 and ``[host]:port`` otherwise, as ssh writes them.

asyncssh does not read StrictHostKeyChecking or HashKnownHosts, so :func:`openssh_settings` asks
OpenSSH itself (``ssh -G``, which evaluates Host and Match blocks without connecting). Without an
``ssh`` program the defaults apply: ``ask`` and no hashing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from amtterm.transport.jump import JumpHost

__all__ = ["HostKeyCheck", "HostKeySettings", "known_hosts_pattern", "openssh_settings", "read_known_hosts"]

#: How long ``ssh -G`` may take (it runs ``Match exec`` commands, if the config has any).
SSH_G_TIMEOUT = 10.0

_STRICT_WORDS = {"true": "yes", "yes": "yes", "false": "no", "no": "no", "off": "no", "ask": "ask"}


@dataclass(frozen=True)
class HostKeySettings:
    """What the OpenSSH config says about one jump host's key.

    Attributes:
        strict: StrictHostKeyChecking: ``yes``, ``ask``, ``accept-new`` or ``no``.
        hash_known_hosts: whether new known_hosts lines are hashed.
    """

    strict: str = "ask"
    hash_known_hosts: bool = False


def openssh_settings(hop: JumpHost, config: Path | None) -> HostKeySettings:
    """Evaluate StrictHostKeyChecking and HashKnownHosts for ``hop`` with ``ssh -G``.

    Args:
        hop: the jump host (its user and port take part in Match blocks).
        config: the config file given with ``--ssh-config`` (``ssh -F``); None = OpenSSH's own.

    Returns:
        The settings; OpenSSH's defaults when ``ssh`` is missing or fails.
    """
    ssh = shutil.which("ssh")
    if ssh is None:
        return HostKeySettings()
    argv = [ssh, "-G"]
    if config is not None:
        argv += ["-F", str(config)]
    if hop.port is not None:
        argv += ["-p", str(hop.port)]
    if hop.user is not None:
        argv += ["-l", hop.user]
    argv += ["--", hop.host]
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=SSH_G_TIMEOUT, check=False, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return HostKeySettings()
    if result.returncode != 0:
        return HostKeySettings()
    values: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" ")
        values[key.lower()] = value.strip().lower()
    strict = values.get("stricthostkeychecking", "ask")
    return HostKeySettings(
        strict=_STRICT_WORDS.get(strict, "accept-new" if strict == "accept-new" else "ask"),
        hash_known_hosts=values.get("hashknownhosts") in ("yes", "true"),
    )


def known_hosts_pattern(host: str, port: int | None) -> str:
    """The host field ssh writes: ``host`` on port 22, ``[host]:port`` otherwise."""
    return host if port in (None, 22) else f"[{host}]:{port}"


def _hashed(pattern: str) -> str:
    salt = os.urandom(20)
    digest = hmac.new(salt, pattern.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def _describe(key: asyncssh.SSHKey) -> str:
    return f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"


class HostKeyCheck:
    """Decides about a jump-host key that is not in known_hosts; remembers why it refused.

    asyncssh calls it (through the connection's client object) only for keys it did not find
    trusted in ``known`` itself.

    Args:
        known: the parsed known_hosts lines of ``files``.
        files: the known_hosts files that were read; the first is where new keys are written.
        settings: StrictHostKeyChecking and HashKnownHosts for this host.
        ask: asks the user a yes/no question; None = nobody to ask.
        label: how sentences name the jump host, e.g. ``root@bastion:2222``.

    Attributes:
        problem: the one sentence to show when the key was refused, else None.
    """

    def __init__(
        self,
        known: asyncssh.SSHKnownHosts,
        files: Sequence[Path],
        settings: HostKeySettings,
        ask: Callable[[str], bool] | None,
        label: str,
    ) -> None:
        self.known = known
        self.files = list(files)
        self.settings = settings
        self.ask = ask
        self.label = label
        self.problem: str | None = None

    @property
    def write_file(self) -> Path | None:
        """Where a newly trusted key is appended."""
        return self.files[0] if self.files else None

    def __call__(self, host: str, addr: str, port: int | None, key: asyncssh.SSHKey) -> bool:
        """True to trust ``key`` for ``host``; False (with :attr:`problem` set) to refuse it."""
        pattern = known_hosts_pattern(host, port)
        listed = asyncssh.match_known_hosts(self.known, host, addr, port)[0]
        file = self.write_file
        if listed:
            where = f" -f {file}" if file is not None else ""
            self.problem = (
                f"The SSH host key of jump host {self.label} has CHANGED (it now shows {_describe(key)}, "
                f"known_hosts has another): someone may be in the middle; if the host was reinstalled, "
                f"remove the old key with 'ssh-keygen -R \"{pattern}\"{where}' and connect again."
            )
            return False
        strict = self.settings.strict
        if strict in ("accept-new", "no"):
            return self._remember(pattern, key, (host, addr, port))
        if strict == "ask" and self.ask is not None:
            target = f"add it to {file}" if file is not None else "use it for this connection"
            if self.ask(
                f"The SSH host key of jump host {self.label} is not known yet ({_describe(key)}). "
                f"Trust it and {target}?"
            ):
                return self._remember(pattern, key, (host, addr, port))
            self.problem = f"The SSH host key of jump host {self.label} was not trusted: nothing was sent."
            return False
        why = "StrictHostKeyChecking is yes" if strict == "yes" else "there is no terminal to ask on"
        self.problem = (
            f"The SSH host key of jump host {self.label} is not known ({_describe(key)}) and {why}: "
            f"check it and add it (connect once with 'ssh {self.label}'), or set "
            "'StrictHostKeyChecking accept-new' for this host in your ssh config."
        )
        return False

    def _remember(self, pattern: str, key: asyncssh.SSHKey, where: tuple[str, str, int | None]) -> bool:
        file = self.write_file
        if file is None:
            return True
        # Another connection of this process (the console and the panes open theirs together) may
        # have added it since this one read the file.
        if key in asyncssh.match_known_hosts(read_known_hosts([file]), *where)[0]:
            return True
        name = _hashed(pattern) if self.settings.hash_known_hosts else pattern
        algorithm, data = key.export_public_key("openssh").decode("ascii").split()[:2]
        line = f"{name} {algorithm} {data}"
        try:
            file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with file.open("a", encoding="ascii") as out:
                out.write(line + "\n")
        except OSError as exc:
            self.problem = (
                f"Cannot add the SSH host key of jump host {self.label} to {file} "
                f"({exc.strerror or exc}): check that the file is writable."
            )
            return False
        return True


def read_known_hosts(files: Sequence[Path]) -> asyncssh.SSHKnownHosts:
    """Parse every readable file of ``files`` into one known-hosts list (missing files are empty)."""
    text = []
    for file in files:
        try:
            text.append(file.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return asyncssh.import_known_hosts("\n".join(text))

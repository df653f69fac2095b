"""`amtterm doctor`: probe one device step by step and say what to fix.

The checks run in the order a console needs them, and a failed step skips what depends on it:

1. TCP to the WS-Man port (16993, or 16992 with ``-P``);
2. TLS: the certificate and how it is trusted (pin, hosts-file pin, CA); no credentials are
   sent to a device whose certificate fails (the pinner runs on the first, unauthenticated reply);
3. identify: WS-Management Identify, without credentials: is this AMT, which version (it tells
   "not an AMT port" from "wrong password");
4. log-on (digest): one attempt only, never a retry loop (ten failures lock the account);
5. the device: AMT version, control mode, host name;
6. the redirection listener, SOL and IDE-R switches (AMT_RedirectionService), and KVM
   (CIM_KVMRedirectionSAP: absent on SKUs without KVM, else on or off);
7. TCP to the redirection port (16995, or 16994 with ``-P``);
8. user consent (IPS_OptInService);
9. power.

Each check is ``ok``, ``warn`` (works, but something a user may trip on), ``fail`` (what the
user wanted will not work; the ``fix`` says what to do) or ``skip`` (an earlier step failed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from amtterm.errors import (
    AmtError,
    AuthError,
    ConnectError,
    TlsError,
    TlsPinMismatch,
    TlsUnknownCertificate,
)
from amtterm.wsman import operations
from amtterm.wsman.operations import NotAmtPort, Transport
from amtterm.wsman.results import DeviceReport, Identity
from amtterm.wsman.target import CertificatePinner, Target

Status = Literal["ok", "warn", "fail", "skip"]
#: Connects to ``(address, port)`` and closes again; raises ConnectError.
TcpProbe = Callable[[str, int], Awaitable[None]]


@dataclass(frozen=True)
class Check:
    """One line of the checklist.

    Attributes:
        name: what was checked (``tcp``, ``tls``, ``identify``, ``log-on``, ``device``, ``listener``, ``sol``,
            ``ide-r``, ``kvm``, ``redirection-port``, ``consent``, ``power``).
        status: ``ok``, ``warn``, ``fail`` or ``skip``.
        detail: one sentence: what was found.
        fix: one sentence: what to do, when something is wrong.
    """

    name: str
    status: Status
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The check as JSON-ready data."""
        return asdict(self)


def _refused(exc: ConnectError) -> bool:
    return isinstance(exc.__cause__, ConnectionRefusedError) or "refused" in str(exc)


class Doctor:
    """Runs the checks against one device.

    Args:
        target: the device.
        transport: its WS-Man client (a :class:`~amtterm.wsman.client.WsmanClient`).
        pinner: the client's certificate checker (None on plain HTTP).
        probe_tcp: opens and closes a TCP connection.
        command: formats a fix command for this host, e.g. ``command("redirection", "enable")``.
    """

    def __init__(
        self,
        target: Target,
        transport: Transport,
        pinner: CertificatePinner | None,
        probe_tcp: TcpProbe,
        command: Callable[..., str],
    ) -> None:
        self.target = target
        self.transport = transport
        self.pinner = pinner
        self.probe_tcp = probe_tcp
        self.command = command
        self.checks: list[Check] = []

    def _add(self, name: str, status: Status, detail: str, fix: str | None = None) -> None:
        self.checks.append(Check(name, status, detail, fix))

    def _skip(self, *names: str) -> list[Check]:
        for name in names:
            self._add(name, "skip", "not checked: an earlier step failed.")
        return self.checks

    async def run(self) -> list[Check]:
        """Run every check; never raises an AmtError (each becomes a failed check)."""
        target = self.target
        later = (
            "tls",
            "identify",
            "log-on",
            "device",
            "listener",
            "sol",
            "ide-r",
            "kvm",
            "redirection-port",
            "consent",
            "power",
        )
        if not await self._tcp(target.wsman_port, "tcp", "WS-Management"):
            return self._skip(*later)
        info = await self._logon()
        if info is None:
            done = {check.name for check in self.checks}
            return self._skip(*[name for name in later if name not in done])
        await self._redirection(info)
        await self._consent()
        self._power(info)
        return self.checks

    async def _tcp(self, port: int, name: str, what: str) -> bool:
        where = f"{self.target.address}:{port}"
        try:
            await self.probe_tcp(self.target.address, port)
        except ConnectError as exc:
            if name == "tcp":
                other = "-P for plain HTTP on 16992" if self.target.tls else "HTTPS on 16993 (drop -P)"
                fix = (
                    f"Check the address and that AMT is provisioned; try {other}, or --wsman-port."
                    if _refused(exc)
                    else "Check the address and your network route; a sleeping ME may need a ping to wake up."
                )
                self._add(name, "fail", str(exc), fix)
            else:
                self._add(name, "fail", str(exc))
            return False
        self._add(name, "ok", f"{where} accepts connections ({what}).")
        return True

    def _tls_failed(self, exc: TlsError) -> None:
        if isinstance(exc, TlsPinMismatch):
            fix = "Only if the change is expected: forget the old pin, then retry."
        elif isinstance(exc, TlsUnknownCertificate):
            fix = "Re-run with --accept-new to pin it, or -C CAFILE."
        else:
            fix = "Try --tls-legacy for firmware older than AMT 12, or -P."
        self._add("tls", "fail", str(exc), fix)

    def _logon_failed(self, exc: AuthError, identity: Identity | None) -> None:
        target = self.target
        detail = str(exc)
        if identity is not None and identity.amt_version is not None:
            detail = (
                f"AMT {identity.amt_version} answers, but the log-on as {target.user} failed: wrong user "
                "name or password, or the account is locked after repeated failures."
            )
        self._add(
            "log-on",
            "fail",
            detail,
            f"Check the user (-u {target.user}) and the password (AMT_PASSWORD); after 10 failures "
            "in a row AMT refuses even the right password for a while, so wait a minute first.",
        )

    async def _identify(self) -> tuple[bool, Identity | None]:
        """Identify without credentials; (go on, identity)."""
        try:
            identity = await operations.identify(self.transport)
        except TlsError as exc:
            self._tls_failed(exc)
            return False, None
        except NotAmtPort as exc:
            self._tls_ok()
            other = "16992 with -P" if self.target.tls else "16993 without -P"
            self._add(
                "identify",
                "fail",
                str(exc),
                f"Point amtterm at AMT's WS-Management port: {self.target.wsman_port} is not it "
                f"(try {other}, or --wsman-port).",
            )
            return False, None
        except AuthError as exc:  # the device wants credentials even for Identify, and they failed
            self._tls_ok()
            self._add("identify", "warn", "The device does not answer Identify without logging on.")
            self._logon_failed(exc, None)
            return False, None
        except AmtError as exc:
            self._tls_ok()
            self._add("identify", "fail", str(exc), "Retry; with --debug for details if it persists.")
            return False, None
        self._tls_ok()
        if identity is None:
            self._add("identify", "warn", "The device does not answer WS-Management Identify; going on.")
        else:
            self._add(
                "identify",
                "ok",
                f"AMT {identity.amt_version or '?'} ({identity.vendor}) answers WS-Management Identify.",
            )
        return True, identity

    async def _logon(self) -> DeviceReport | None:
        target = self.target
        go_on, identity = await self._identify()
        if not go_on:
            return None
        try:
            info = await operations.device_report(self.transport, identity)
        except TlsError as exc:
            self.checks = [check for check in self.checks if check.name != "tls"]
            self._tls_failed(exc)
            return None
        except AuthError as exc:
            self._logon_failed(exc, identity)
            return None
        except AmtError as exc:
            self._add("log-on", "fail", str(exc), "Retry; with --debug for details if it persists.")
            return None
        self._add("log-on", "ok", f"Logged on as {target.user} with digest authentication.")
        host = info.fqdn or ("host name not read" if "host name" in info.unreadable else "no host name set")
        mode = f"{info.control_mode} control mode" if info.control_mode else "control mode not read"
        summary = f"AMT {info.amt_version or 'version unknown'}, {mode}, {host}."
        if info.unreadable:
            parts = "; ".join(f"{part} not read: {why.rstrip('.')}" for part, why in info.unreadable.items())
            self._add("device", "warn", f"{summary[:-1]} ({parts}).")
        else:
            self._add("device", "ok", summary)
        return info

    def _tls_ok(self) -> None:
        if not self.target.tls:
            self._add(
                "tls",
                "warn",
                "Plain HTTP: commands travel unencrypted, and AMT 16.1 and later refuse plain remote "
                "connections.",
                "Drop -P to use HTTPS on 16993 once TLS is set up on the device.",
            )
        elif self.pinner is not None and self.pinner.fingerprint is not None:
            trust = {
                "CA": "verified by the CA file",
                "hosts file pin": "matches tls_pin in the hosts file",
                "pinned": "matches the pin in known_hosts",
                "newly pinned": "pinned now in known_hosts",
            }.get(self.pinner.trust or "", "trusted")
            self._add("tls", "ok", f"Certificate {self.pinner.fingerprint}, {trust}.")

    async def _redirection(self, info: DeviceReport) -> None:
        state = info.redirection
        if state is None:
            self._skip("listener", "sol", "ide-r", "kvm", "redirection-port")
            return
        enable = self.command("redirection", "enable")
        if state.listener:
            self._add("listener", "ok", "The redirection listener is enabled.")
        else:
            self._add(
                "listener",
                "fail",
                "The redirection listener is disabled, so SOL and IDE-R are refused.",
                enable,
            )
        if state.sol:
            self._add("sol", "ok", "Serial-over-LAN is enabled.")
        else:
            self._add("sol", "fail", "Serial-over-LAN is disabled.", enable)
        if state.ider:
            self._add("ide-r", "ok", "IDE redirection is enabled.")
        else:
            self._add(
                "ide-r", "warn", "IDE redirection is disabled (needed only for remote boot media).", enable
            )
        await self._kvm()
        port = self.target.redir_port
        try:
            await self.probe_tcp(self.target.address, port)
        except ConnectError as exc:
            if not state.listener:
                self._add(
                    "redirection-port", "fail", f"Port {port} is closed, as the listener is disabled.", enable
                )
            else:
                self._add(
                    "redirection-port",
                    "fail",
                    str(exc),
                    "The listener is enabled, so the port is likely wrong: 16995 is TLS, 16994 plain "
                    "(-P); set --redir-port or redir_port in the hosts file.",
                )
            return
        self._add(
            "redirection-port", "ok", f"{self.target.address}:{port} accepts connections (redirection)."
        )

    async def _kvm(self) -> None:
        try:
            kvm = await operations.kvm_status(self.transport)
        except AmtError as exc:
            self._add("kvm", "warn", f"Cannot read the KVM state: {exc}")
            return
        if not kvm.present:
            self._add(
                "kvm",
                "warn",
                "This machine has no KVM (Intel Standard Manageability, or no Intel graphics), so there "
                "is no remote screen; SOL and IDE-R work without it.",
            )
        elif kvm.enabled:
            self._add("kvm", "ok", "KVM (the remote screen) is enabled.")
        else:
            self._add(
                "kvm",
                "warn",
                "KVM (the remote screen) is disabled, so 'amtterm kvm' is refused.",
                self.command("redirection", "enable", "--kvm"),
            )

    async def _consent(self) -> None:
        try:
            consent = await operations.consent_status(self.transport)
        except AmtError as exc:
            self._add("consent", "warn", f"Cannot read the user-consent state: {exc}")
            return
        if consent.required == "none":
            self._add("consent", "ok", "User consent is not required.")
        elif consent.granted:
            self._add("consent", "ok", f"User consent is required ({consent.required}) and given.")
        elif consent.required == "kvm":
            self._add("consent", "ok", "User consent is required for KVM only.")
        else:
            self._add(
                "consent",
                "warn",
                "User consent is required for boot options and IDE-R (client control mode); "
                "power and plain SOL work without it.",
                f"{self.command('consent', 'request')}, then {self.command('consent', 'code', 'NNNNNN')} "
                "with the code shown on the host's screen.",
            )

    def _power(self, info: DeviceReport) -> None:
        if info.power is None:
            self._skip("power")
            return
        state = info.power.state
        if state == "on":
            self._add("power", "ok", "The machine is on.")
        else:
            self._add(
                "power",
                "warn",
                f"The machine is {state}: its console shows nothing until it runs.",
                self.command("power", "on"),
            )


def problems(checks: list[Check]) -> int:
    """How many checks failed."""
    return sum(check.status == "fail" for check in checks)

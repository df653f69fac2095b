"""The WS-Man sub-commands as a user runs them, against a real `amtterm sim` process on loopback.

Most runs call ``amtterm.cli.main`` in this process (fast); the sim is always a separate
process with real sockets, and a few runs go through a real `amtterm` process too.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from amtterm.cli import common
from amtterm.cli import main as cli
from tests.support.simproc import SimProcess, amtterm_argv, start_sim

pytestmark = pytest.mark.timeout(60)


@dataclass
class Run:
    """One `amtterm` run: exit status, stdout, stderr."""

    code: int
    out: str
    err: str

    def one_sentence(self) -> str:
        """The single error line, checked to be one line with no traceback."""
        assert self.code != 0, self.out
        assert self.err.count("\n") == 1, self.err
        assert self.err.startswith("amtterm: "), self.err
        assert "Traceback" not in self.err
        return self.err.removeprefix("amtterm: ").strip()


Amtterm = Callable[..., Run]


@pytest.fixture
def amtterm(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Amtterm:
    """Run ``amtterm ARGS`` in this process with the test's private config dir; no terminal."""
    monkeypatch.setenv("AMTTERM_CONFIG_DIR", env["AMTTERM_CONFIG_DIR"])
    monkeypatch.setenv("AMTTERM_STATE_DIR", env["AMTTERM_STATE_DIR"])
    monkeypatch.setattr(common, "terminal_available", lambda: False)

    def run(*argv: str, password: str | None = "Sim-Pass-123!") -> Run:
        if password is None:
            monkeypatch.delenv("AMT_PASSWORD", raising=False)
        else:
            monkeypatch.setenv("AMT_PASSWORD", password)
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def wsim(env: dict[str, str]) -> Iterator[SimProcess]:
    """`amtterm sim` (AMT 16.1) with WS-Man on HTTP and HTTPS and Intel LMS in the host OS."""
    process = start_sim(env, "--amt-version", "16.1", "--lms", "--power-on", "start", wsman=True)
    yield process
    process.stop()


def via(sim: SimProcess, scheme: str) -> list[str]:
    """Connection options for the sim's HTTP or HTTPS port."""
    if scheme == "http":
        return ["-P", "--wsman-port", str(sim.wsman_port), "--redir-port", str(sim.plain_port)]
    return ["--accept-new", "--wsman-port", str(sim.wsman_tls_port), "--redir-port", str(sim.tls_port)]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_every_sub_command(amtterm: Amtterm, wsim: SimProcess, scheme: str) -> None:
    host = "127.0.0.1"
    opts = via(wsim, scheme)

    status = amtterm("power", host, "status", *opts)
    assert status.code == 0, status.err
    assert status.out.startswith("127.0.0.1: on (can: off, cycle, reset, ")
    for action, words in [
        ("reset", "Reset the machine."),
        ("cycle", "Power-cycled the machine."),
        ("soft-reset", "Asked the operating system to restart."),
        ("off", "Powered the machine off."),
        ("on", "Powered the machine on."),
        ("soft-off", "Asked the operating system to shut down."),
    ]:
        result = amtterm("power", host, action, *opts)
        assert (result.code, result.out.strip()) == (0, f"127.0.0.1: {words}"), result.err
    data = json.loads(amtterm("power", host, "status", "--json", *opts).out)
    assert data["state"] == "off" and data["actions"] == ["on"]
    assert amtterm("power", "status", host, *opts).out.strip() == "127.0.0.1: off (can: on)"

    for target in ("bios", "bios-pause", "pxe", "disk", "cd", "ider-cd", "ider-floppy", "clear"):
        result = amtterm("boot", host, target, *opts)
        assert result.code == 0, result.err
    boot = json.loads(amtterm("boot", host, "bios", "--sol", "--then", "on", "--json", *opts).out)
    assert boot == {
        "host": host,
        "target": "bios",
        "sol": True,
        "power": "on",
        "message": "The machine boots into BIOS setup with its text on SOL now: powered on.",
    }

    assert "listener on, SOL on, IDE-R on" in amtterm("redirection", host, "status", *opts).out
    assert (
        "redirection disabled: listener off, SOL off, IDE-R off"
        in amtterm("redirection", host, "disable", *opts).out
    )
    assert (
        "redirection enabled: listener on, SOL on, IDE-R on"
        in amtterm("redirection", host, "enable", *opts).out
    )
    assert json.loads(amtterm("redirection", host, "--json", *opts).out)["listener"] is True

    consent = amtterm("consent", host, "status", *opts)
    assert consent.out.strip() == "127.0.0.1: consent required: none; state: not started"
    request = amtterm("consent", host, "request", *opts)
    assert "does not require user consent" in request.out

    info = amtterm("info", host, *opts)
    assert info.code == 0, info.err
    assert "AMT version:     16.1.0" in info.out
    assert "control mode:    admin" in info.out
    if scheme == "https":
        assert "TLS certificate: SHA256:" in info.out
    else:
        assert "TLS certificate: none (plain HTTP)" in info.out
    info_json = json.loads(amtterm("info", host, "--json", *opts).out)
    assert info_json["power"]["state"] == "on" and info_json["amt_version"] == "16.1.0"

    doctor = amtterm("doctor", host, *opts)
    assert doctor.code == 0, doctor.out
    assert doctor.out.strip().endswith("No problems found.")
    checks = json.loads(amtterm("doctor", host, "--json", *opts).out)["checks"]
    expected = {
        "tcp",
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
    }
    assert expected | {"power"} == {c["name"] for c in checks}
    assert all(c["status"] == "ok" for c in checks if c["name"] != "tls" or scheme == "https")


def test_https_pins_the_certificate_like_sol(amtterm: Amtterm, wsim: SimProcess, env: dict[str, str]) -> None:
    port = str(wsim.wsman_tls_port)
    unknown = amtterm("power", "127.0.0.1", "status", "--wsman-port", port).one_sentence()
    assert "is not known yet and there is nobody to ask" in unknown
    assert "--accept-new" in unknown
    assert amtterm("power", "127.0.0.1", "--accept-new", "--wsman-port", port).code == 0
    pins = (Path(env["AMTTERM_CONFIG_DIR"]) / "known_hosts").read_text()
    assert f"127.0.0.1:{port} SHA256:" in pins
    # Pinned now: no --accept-new needed.
    assert amtterm("power", "127.0.0.1", "--wsman-port", port).code == 0
    # Someone swapped the certificate.
    (Path(env["AMTTERM_CONFIG_DIR"]) / "known_hosts").write_text(f"127.0.0.1:{port} SHA256:{'A' * 43}\n")
    changed = amtterm("info", "127.0.0.1", "--wsman-port", port, "--accept-new").one_sentence()
    assert "has changed" in changed
    assert f"amtterm known-hosts remove 127.0.0.1:{port}" in changed


def hosts_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hosts.toml"
    path.write_text(text)
    return path


def test_host_names_from_the_hosts_file(
    amtterm: Amtterm, wsim: SimProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fingerprint = next(line for line in wsim.lines if "(TLS, SHA256:" in line).split("(TLS, ")[1].rstrip(")")
    path = hosts_file(
        tmp_path,
        f"""
[defaults]
password_env = "LAB_AMT_PASSWORD"

[hosts.lab1]
address = "127.0.0.1"
wsman_port = {wsim.wsman_tls_port}
redir_port = {wsim.tls_port}
tls_pin = "{fingerprint}"

[hosts.lab1-plain]
address = "127.0.0.1"
tls = false
wsman_port = {wsim.wsman_port}
user = "admin"

[hosts.lab1-swapped]
address = "127.0.0.1"
wsman_port = {wsim.wsman_tls_port}
tls_pin = "SHA256:{"B" * 43}"
""",
    )
    opts = ["--hosts-file", str(path)]
    unset = amtterm("power", "lab1", *opts).one_sentence()
    assert unset == (
        "The hosts file keeps the password of lab1 in $LAB_AMT_PASSWORD, but that variable is not set: "
        "export it."
    )
    monkeypatch.setenv("LAB_AMT_PASSWORD", "Sim-Pass-123!")
    # The tls_pin of the file is trusted: no known_hosts entry, no --accept-new needed.
    assert amtterm("power", "lab1", "status", *opts, password=None).out.startswith("lab1: on")
    assert amtterm("power", "lab1-plain", *opts, password=None).out.startswith("lab1-plain: on")
    doctor = amtterm("doctor", "lab1", *opts, password=None)
    assert "matches tls_pin in the hosts file" in doctor.out
    swapped = amtterm("power", "lab1-swapped", *opts, password=None).one_sentence()
    # The one pin-mismatch sentence (amtterm.transport.trust.pin_mismatch), as sol and the console say it.
    assert swapped == (
        f"The TLS certificate of lab1-swapped (127.0.0.1) has changed (pinned SHA256:{'B' * 43} by tls_pin "
        f"in the hosts file, presented {fingerprint}): if the device was re-provisioned or given a new "
        "certificate on purpose, edit tls_pin of lab1-swapped in the hosts file and connect again, "
        "otherwise someone may be in the middle."
    )


def test_a_bad_hosts_file_is_one_sentence_naming_file_and_key(amtterm: Amtterm, tmp_path: Path) -> None:
    path = hosts_file(tmp_path, '[hosts.pc]\naddress = "10.0.0.1"\nwsman_port = "abc"\n')
    error = amtterm("power", "pc", "--hosts-file", str(path)).one_sentence()
    assert error == f"{path}: hosts.pc.wsman_port must be a port number from 1 to 65535, not 'abc'."
    path.write_text('[hosts.pc]\naddress = "10.0.0.1"\npassword = "hunter2"\n')
    assert (
        "keep passwords out of the hosts file"
        in amtterm("info", "pc", "--hosts-file", str(path)).one_sentence()
    )
    missing = amtterm("power", "pc", "--hosts-file", str(tmp_path / "nope.toml")).one_sentence()
    assert missing == f"The hosts file {tmp_path / 'nope.toml'} does not exist: check --hosts-file."


def test_refusals_say_why(amtterm: Amtterm, env: dict[str, str]) -> None:
    sim = start_sim(env, "--amt-version", "16.1", "--power-on", "off", wsman=True)
    try:
        opts = via(sim, "http")
        assert amtterm("power", "127.0.0.1", "status", *opts).out.strip() == "127.0.0.1: off (can: on)"
        reset = amtterm("power", "127.0.0.1", "reset", *opts).one_sentence()
        assert reset == "The machine is off, reset needs it on; use 'power on' instead."
        assert "already off" in amtterm("power", "127.0.0.1", "off", *opts).out
        assert amtterm("power", "127.0.0.1", "on", *opts).code == 0
        soft = amtterm("power", "127.0.0.1", "soft-off", *opts).one_sentence()
        assert "does not offer soft-off now" in soft and "Intel LMS" in soft
        then_on = amtterm("boot", "127.0.0.1", "bios", "--then", "on", *opts).one_sentence()
        assert then_on.startswith("The machine is already on; use --then reset")
        sol_pxe = amtterm("boot", "127.0.0.1", "pxe", "--sol", *opts).one_sentence()
        assert sol_pxe.startswith("--sol goes with bios, bios-pause, ider-cd and ider-floppy only")
        assert amtterm("redirection", "127.0.0.1", "disable", *opts).code == 0
        no_ider = amtterm("boot", "127.0.0.1", "ider-cd", *opts).one_sentence()
        assert no_ider.startswith("IDE-R redirection is disabled on the device")
        code = amtterm("consent", "127.0.0.1", "code", "12ab56", *opts).one_sentence()
        assert code == "The consent code is the 6 digits shown on the host's screen, e.g. 123456."
        many = amtterm("power", "off", "127.0.0.1", "127.0.0.2", *opts).one_sentence()
        assert many.startswith("Only 'status' works on several hosts at once")
    finally:
        sim.stop()


def test_consent_is_required_in_client_mode(amtterm: Amtterm, env: dict[str, str]) -> None:
    sim = start_sim(
        env, "--amt-version", "16.1", "--control-mode", "client", "--power-on", "start", wsman=True
    )
    try:
        opts = via(sim, "http")
        status = amtterm("consent", "127.0.0.1", *opts)
        assert status.out.strip() == "127.0.0.1: consent required: all; state: not started"
        refused = amtterm("boot", "127.0.0.1", "bios", "--then", "reset", *opts).one_sentence()
        assert refused.startswith("User consent is required to change boot options on this device")
        request = amtterm("consent", "127.0.0.1", "request", *opts)
        assert "The host's screen now shows a 6-digit code" in request.out
        wrong = amtterm("consent", "127.0.0.1", "code", "000000", *opts).one_sentence()
        assert wrong.startswith("The device did not accept the code 000000")
        doctor = amtterm("doctor", "127.0.0.1", *opts)
        assert "[WARN] consent" in doctor.out
        assert "fix: amtterm consent 127.0.0.1 request -P" in doctor.out
    finally:
        sim.stop()


def test_wrong_password_then_lockout(amtterm: Amtterm, env: dict[str, str]) -> None:
    sim = start_sim(env, "--amt-version", "16.1", wsman=True)
    try:
        opts = via(sim, "http")
        wrong = amtterm("power", "127.0.0.1", *opts, password="not-it").one_sentence()
        assert wrong == (
            f"Log-on to 127.0.0.1:{sim.wsman_port} failed: wrong user name or password, or the account is "
            "locked after repeated failures (AMT locks it for a while after 10 in a row)."
        )
        for _ in range(9):
            assert amtterm("power", "127.0.0.1", *opts, password="not-it").code == 1
        # Ten failures in a row: now even the right password is refused for a while.
        locked = amtterm("power", "127.0.0.1", *opts).one_sentence()
        assert locked == wrong
        doctor = amtterm("doctor", "127.0.0.1", *opts)
        assert doctor.code == 1
        assert "[FAIL] log-on" in doctor.out and "wait a minute first" in doctor.out
    finally:
        sim.stop()


def test_unreachable_and_silent_hosts(amtterm: Amtterm) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        refused = amtterm("power", "127.0.0.1", "-P", "--wsman-port", str(port)).one_sentence()
        assert refused.startswith(
            f"127.0.0.1:{port} refused the connection: AMT's WS-Management port is closed"
        )
        doctor = amtterm("doctor", "127.0.0.1", "-P", "--wsman-port", str(port))
        assert doctor.code == 1
        assert "[FAIL] tcp" in doctor.out and "[skip] log-on" in doctor.out
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        slow = amtterm(
            "power", "127.0.0.1", "-P", "--wsman-port", str(port), "--timeout", "0.5"
        ).one_sentence()
        assert "did not answer within 0.5 s" in slow


class CannedServer:
    """An HTTP server on loopback that answers every request with the same canned response."""

    def __init__(self, status: str, body: str) -> None:
        self.response = (
            f"HTTP/1.1 {status}\r\nContent-Type: application/soap+xml; charset=UTF-8\r\n"
            f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n{body}"
        ).encode()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(self.response)

    def close(self) -> None:
        self.sock.close()


FAULT = (
    '<a:Envelope xmlns:a="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:b="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:e="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><a:Header>'
    "<b:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</b:Action></a:Header><a:Body><a:Fault>"
    "<a:Code><a:Value>a:Sender</a:Value><a:Subcode><a:Value>e:InternalError</a:Value></a:Subcode></a:Code>"
    '<a:Reason><a:Text xml:lang="en-US">The service cannot comply with the request.</a:Text></a:Reason>'
    "<a:Detail>AMT-STATUS 36</a:Detail></a:Fault></a:Body></a:Envelope>"
)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            "400 Bad Request",
            FAULT,
            "The device answered with the SOAP fault InternalError: The service cannot comply with the "
            "request (AMT-STATUS 0x24 INVALID_PARAMETER).",
        ),
        ("200 OK", "<html><body>Hello</body>", "The device sent a reply that is not well-formed XML"),
        ("200 OK", "<a>fine XML</a>", "The device's reply is XML but not a SOAP 1.2 envelope."),
        ("404 Not Found", "nothing here", "answered HTTP 404 Not Found to POST /wsman"),
    ],
)
def test_faults_and_malformed_replies(amtterm: Amtterm, status: str, body: str, expected: str) -> None:
    server = CannedServer(status, body)
    try:
        error = amtterm("power", "127.0.0.1", "status", "-P", "--wsman-port", str(server.port)).one_sentence()
    finally:
        server.close()
    assert expected in error


def test_power_status_of_many_hosts_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    """A real `amtterm` process: two good hosts and one that refuses, each on its own line."""
    sim = start_sim(env, "--hosts", "2", "--amt-version", "16.1", "--power-on", "start", wsman=True)
    try:
        first, second = sim.devices
        path = hosts_file(
            tmp_path,
            f"""
[defaults]
tls = false
[hosts.a]
address = "{first.address}"
wsman_port = {first.wsman_port}
[hosts.b]
address = "{second.address}"
wsman_port = {second.wsman_port}
[hosts.gone]
address = "127.0.0.1"
wsman_port = 1
""",
        )
        run_env = dict(env, AMT_PASSWORD=sim.password)
        argv = [*amtterm_argv(), "power", "status", "--all", "--hosts-file", str(path)]
        result = subprocess.run(argv, env=run_env, capture_output=True, text=True, timeout=30)
        assert result.returncode == 1, result.stderr
        lines = result.stdout.splitlines()
        assert lines[:2] == ["a     on", "b     on"]
        assert lines[2].startswith("gone  error: 127.0.0.1:1 refused the connection")
        assert len(lines) == 3 and result.stderr == ""
        listed = [*amtterm_argv(), "power", "status", "a", "b", "--hosts-file", str(path), "--json"]
        data = json.loads(subprocess.run(listed, env=run_env, capture_output=True, timeout=30).stdout)
        assert [(d["host"], d["state"]) for d in data] == [("a", "on"), ("b", "on")]
    finally:
        sim.stop()

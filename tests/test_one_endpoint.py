"""One hosts entry, one endpoint, one pin check: sol, power, the console and the Python API agree.

A user names ``lab`` in the hosts file and reaches it four ways. They must dial the same address
and ports with the same TLS choice, pin and jump hosts (the one resolver), and a certificate that
no longer matches its pin must be refused by all four with the same sentence, naming both
fingerprints and the fix (the one pin check). Against a real `amtterm sim` process on loopback.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from amtterm.cli.main import build_parser
from amtterm.cli.sol import resolve_cli_sol
from amtterm.cli.tui import tui_links
from amtterm.cli.wsman import _target
from amtterm.config import load_hosts
from amtterm.errors import TlsPinMismatch
from amtterm.expect import ConnectOptions, connect
from amtterm.expect.api import resolve_console
from amtterm.redir import constants
from amtterm.session.console import SessionState
from amtterm.session.host import TrustPrompt
from amtterm.transport import resolver
from amtterm.transport.jump import JumpHost
from amtterm.ui.app import AmtApp
from amtterm.wsman import client
from tests.support.simproc import SimProcess, amtterm_argv, start_sim
from tests.ui.appsim import SIZE, svg_text

pytestmark = pytest.mark.timeout(120)

PASSWORD = "Sim-Pass-123!"
WRONG = "SHA256:" + "B" * 43


# -- what each way resolves ------------------------------------------------------------------------

ENTRY = f"""
[defaults]
user = "ops"

[hosts.lab]
address = "127.0.0.9"
redir_port = 17995
wsman_port = 17993
tls_pin = "SHA256:{"A" * 43}"
jump = ["ops@bastion.invalid:2222"]
"""


@pytest.mark.parametrize(
    ("argv", "api"),
    [
        ([], {}),
        (["-P"], {"plain": True}),
        (
            ["-u", "root", "-J", "none", "--tls-legacy"],
            {"user": "root", "jump": ["none"], "tls_legacy": True},
        ),
        (["-C", "/nonexistent/ca.pem"], {"cafile": Path("/nonexistent/ca.pem")}),
        (["-J", "admin@other.invalid"], {"jump": ["admin@other.invalid"]}),
    ],
)
def test_one_hosts_entry_resolves_alike_for_sol_wsman_the_console_and_the_api(
    argv: list[str], api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMT_PASSWORD", PASSWORD)
    path = tmp_path / "hosts.toml"
    path.write_text(ENTRY)
    options = ["--hosts-file", str(path), *argv]
    parser = build_parser()
    entry = load_hosts(path).lookup("lab")

    sol = resolve_cli_sol(parser.parse_args(["sol", "lab", *options]), entry).endpoint
    wsman = _target(parser.parse_args(["power", "lab", "status", *options]), load_hosts(path), "lab").endpoint
    trust = TrustPrompt()
    (link,) = tui_links(parser.parse_args(["tui", "lab", *options]), trust)
    assert link.service is not None
    console = link.service.target.endpoint
    _, from_api = resolve_console("lab", ConnectOptions(hosts_file=path, **api))

    assert sol == wsman == console == from_api.endpoint
    # The console's own SOL side dials exactly that, with its own policy (asking in a dialog).
    profile = link.profile
    assert (profile.address, profile.redir_port) == (sol.address, sol.redir_port)
    assert (profile.tls is None) == sol.plain
    if profile.tls is not None and sol.tls is not None:
        assert (profile.tls.pin, profile.tls.cafile, profile.tls.legacy) == (
            sol.tls.pin,
            sol.tls.cafile,
            sol.tls.legacy,
        )
        assert profile.tls.ask is trust
    assert (profile.via.hops if profile.via else ()) == sol.jump

    if not argv:  # the hosts file alone, spelled out
        assert (sol.address, sol.user, sol.redir_port, sol.wsman_port) == ("127.0.0.9", "ops", 17995, 17993)
        assert sol.pin_source == "hosts file" and sol.tls is not None and sol.tls.pin == "SHA256:" + "A" * 43
        assert sol.jump == (JumpHost("bastion.invalid", 2222, "ops"),)


def test_the_resolvers_default_ports_are_amts() -> None:
    assert (resolver.REDIRECTION_PLAIN_PORT, resolver.REDIRECTION_TLS_PORT) == (
        constants.REDIRECTION_PORT,
        constants.REDIRECTION_TLS_PORT,
    )
    assert (resolver.WSMAN_PLAIN_PORT, resolver.WSMAN_TLS_PORT) == (client.HTTP_PORT, client.HTTPS_PORT)


# -- the four ways against a simulator -------------------------------------------------------------


@pytest.fixture
def lab(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[SimProcess]:
    """`amtterm sim` (AMT 16.1) with TLS redirection and HTTPS WS-Man; this process uses its config dir."""
    process = start_sim(env, "--amt-version", "16.1", wsman=True, password=PASSWORD)
    monkeypatch.setenv("AMTTERM_CONFIG_DIR", env["AMTTERM_CONFIG_DIR"])
    monkeypatch.setenv("AMTTERM_STATE_DIR", env["AMTTERM_STATE_DIR"])
    monkeypatch.setenv("AMT_PASSWORD", PASSWORD)
    yield process
    process.stop()


def fingerprint_of(sim: SimProcess) -> str:
    """The certificate the simulator presents (one for redirection and WS-Man, as AMT has)."""
    return next(line for line in sim.lines if "(TLS, SHA256:" in line).split("(TLS, ")[1].rstrip(")")


def write_hosts(path: Path, sim: SimProcess, pin: str | None) -> Path:
    pin_line = f'tls_pin = "{pin}"\n' if pin else ""
    path.write_text(
        f'[hosts.lab]\naddress = "127.0.0.1"\nredir_port = {sim.tls_port}\n'
        f"wsman_port = {sim.wsman_tls_port}\n{pin_line}"
    )
    return path


def run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """``amtterm ARGV`` as a user runs it, without a terminal (nobody to ask), password from AMT_PASSWORD."""
    return subprocess.run(
        [*amtterm_argv(), *argv],
        env=dict(env, AMT_PASSWORD=PASSWORD),
        capture_output=True,
        text=True,
        errors="replace",  # the console's bytes are CP437
        timeout=60,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def sentence(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line, without the ``amtterm: `` in front."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("amtterm: "), result.stderr
    return lines[0].removeprefix("amtterm: ")


async def console(hosts: Path) -> tuple[SessionState, str, str]:
    """``amtterm lab --hosts-file HOSTS`` in the console (Pilot): the session's state, sentence, screen."""
    args = build_parser().parse_args(["tui", "lab", "--hosts-file", str(hosts)])
    trust = TrustPrompt()
    links = tui_links(args, trust)
    app = AmtApp(links, trust=trust, check_tmux=False, power_poll=0)
    async with app.run_test(size=SIZE) as pilot:
        try:
            for _ in range(400):
                if links[0].status.state in (SessionState.FAILED, SessionState.CONNECTED):
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            status = links[0].status
            return status.state, status.message, svg_text(app.export_screenshot())
        finally:
            await app.close_links()


async def api_error(hosts: Path) -> str:
    """``amtterm.expect.connect("lab")``'s refusal."""
    with pytest.raises(TlsPinMismatch) as refused:
        async with connect("lab", hosts_file=hosts):
            pass
    return str(refused.value)


def hosts_pin_sentence(pinned: str, presented: str) -> str:
    return (
        f"The TLS certificate of lab (127.0.0.1) has changed (pinned {pinned} by tls_pin in the hosts file, "
        f"presented {presented}): if the device was re-provisioned or given a new certificate on purpose, "
        "edit tls_pin of lab in the hosts file and connect again, otherwise someone may be in the middle."
    )


def known_hosts_sentence(port: int, pinned: str, presented: str) -> str:
    return (
        f"The TLS certificate of 127.0.0.1:{port} has changed (pinned {pinned} in known_hosts, presented "
        f"{presented}): if the device was re-provisioned or given a new certificate on purpose, forget the "
        f"old one with amtterm known-hosts remove 127.0.0.1:{port} and connect again, otherwise someone may "
        "be in the middle."
    )


async def test_a_wrong_tls_pin_is_refused_alike_everywhere_and_the_right_one_connects(
    lab: SimProcess, env: dict[str, str], tmp_path: Path
) -> None:
    real = fingerprint_of(lab)
    hosts = write_hosts(tmp_path / "hosts.toml", lab, WRONG)
    expected = hosts_pin_sentence(WRONG, real)

    assert sentence(run(env, "sol", "lab", "--hosts-file", str(hosts))) == expected
    assert sentence(run(env, "power", "lab", "status", "--hosts-file", str(hosts))) == expected
    state, message, screen = await console(hosts)
    assert state is SessionState.FAILED and message == expected
    assert "has changed" in screen and "tls_pin" in screen  # the status line says it
    assert await api_error(hosts) == expected

    # The fix the sentence names: edit tls_pin. Then all four connect, and known_hosts stays untouched.
    write_hosts(hosts, lab, real)
    sol = run(env, "sol", "lab", "--hosts-file", str(hosts), "-v")
    assert sol.returncode == 0, sol.stderr
    assert f"connected to 127.0.0.1:{lab.tls_port}" in sol.stderr
    power = run(env, "power", "lab", "status", "--hosts-file", str(hosts))
    assert power.returncode == 0 and power.stdout.startswith("lab: "), power.stderr
    state, message, _ = await console(hosts)
    assert state is SessionState.CONNECTED, message
    async with connect("lab", hosts_file=hosts) as scripted:
        assert not scripted.ended
    assert not (Path(env["AMTTERM_CONFIG_DIR"]) / "known_hosts").exists()


async def test_a_changed_known_hosts_pin_is_refused_alike_everywhere(
    lab: SimProcess, env: dict[str, str], tmp_path: Path
) -> None:
    real = fingerprint_of(lab)
    hosts = write_hosts(tmp_path / "hosts.toml", lab, None)
    assert lab.tls_port is not None and lab.wsman_tls_port is not None
    pins = Path(env["AMTTERM_CONFIG_DIR"]) / "known_hosts"
    pins.parent.mkdir(parents=True, exist_ok=True)
    pins.write_text(f"127.0.0.1:{lab.tls_port} {WRONG}\n127.0.0.1:{lab.wsman_tls_port} {WRONG}\n")
    on_redirection = known_hosts_sentence(lab.tls_port, WRONG, real)

    # sol, the console and the API dial the redirection port: the very same sentence.
    assert sentence(run(env, "sol", "lab", "--hosts-file", str(hosts))) == on_redirection
    state, message, screen = await console(hosts)
    assert state is SessionState.FAILED and message == on_redirection
    assert "has changed" in screen
    assert await api_error(hosts) == on_redirection
    # power dials WS-Man, pinned under its own port: the same sentence for that port.
    power = sentence(run(env, "power", "lab", "status", "--hosts-file", str(hosts)))
    assert power == known_hosts_sentence(lab.wsman_tls_port, WRONG, real)
    # Nothing was re-pinned behind the user's back.
    assert pins.read_text().count(WRONG) == 2

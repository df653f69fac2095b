"""`amtterm sim`: run simulated AMT devices until interrupted.

It prints one line per listener so that people and tests can find the ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from amtterm import paths
from amtterm.sim.device import Listener, SimDevice
from amtterm.sim.synthetic import SyntheticHost
from amtterm.transport import tls as tlsmod


@dataclass(frozen=True)
class SimOptions:
    """What `amtterm sim` was asked for."""

    listen: str = "127.0.0.1"
    redir_port: int | None = 16994
    redir_tls_port: int | None = 16995
    user: str = "admin"
    password: str | None = None
    amt_version: tuple[int, int] = (11, 8)
    power_on: str = "first-console"
    columns: int = 80
    rows: int = 25
    state_dir: Path | None = None
    tls_legacy: bool = False
    flood_on_attach: int = 0


def generate_password() -> str:
    """An AMT-style strong password: upper, lower, digit and a symbol."""
    return "Sim-" + secrets.token_urlsafe(9).replace("-", "x").replace("_", "y") + "7!"


@dataclass
class RunningSim:
    """A started simulator: its device, password and listeners."""

    device: SimDevice
    password: str
    generated_password: bool
    listeners: list[Listener]
    fingerprint: str | None
    cert_path: Path | None

    async def close(self) -> None:
        """Stop everything."""
        await self.device.close()


async def start_sim(options: SimOptions, *, log: Callable[[str], None] | None = None) -> RunningSim:
    """Start one simulated device with the listeners ``options`` asks for."""
    password = options.password or generate_password()
    host = SyntheticHost(columns=options.columns, rows=options.rows)
    device = SimDevice(
        host,
        user=options.user,
        password=password,
        amt_version=options.amt_version,
        power_on=options.power_on,
        flood_on_attach=options.flood_on_attach,
        log=log,
    )
    listeners: list[Listener] = []
    fingerprint = None
    cert_path = None
    try:
        if options.redir_port is not None:
            listeners.append(await device.listen(options.listen, options.redir_port))
        if options.redir_tls_port is not None:
            state = options.state_dir or paths.state_dir() / "sim"
            cert_path, key_path = tlsmod.ensure_self_signed(state)
            context = tlsmod.server_context(cert_path, key_path, legacy=options.tls_legacy)
            listeners.append(await device.listen(options.listen, options.redir_tls_port, tls=context))
            fingerprint = tlsmod.fingerprint(ssl.PEM_cert_to_DER_cert(cert_path.read_text()))
    except BaseException:
        await device.close()
        raise
    return RunningSim(device, password, options.password is None, listeners, fingerprint, cert_path)


def describe(sim: RunningSim, options: SimOptions) -> list[str]:
    """The lines `amtterm sim` prints at start."""
    major, minor = options.amt_version
    auth = "digest only" if major >= 12 else "digest and legacy plain"
    lines = [f"amtterm sim: AMT {major}.{minor} device ({auth} auth), user {options.user}"]
    for listener in sim.listeners:
        where = f"{listener.host}:{listener.port}"
        if listener.tls:
            lines.append(f"amtterm sim: {listener.kind} listening on {where} (TLS, {sim.fingerprint})")
        else:
            lines.append(f"amtterm sim: {listener.kind} listening on {where} (plain)")
    if sim.generated_password:
        lines.append(f"amtterm sim: generated password: {sim.password}  (set AMT_PASSWORD to choose one)")
    return lines


async def serve(options: SimOptions) -> int:
    """Run the simulator until SIGINT/SIGTERM; returns the exit status."""
    sim = await start_sim(options)
    for line in describe(sim, options):
        print(line, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.close()
        print("amtterm sim: stopped", file=sys.stderr, flush=True)
    return 0

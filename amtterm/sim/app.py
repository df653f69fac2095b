"""`amtterm sim`: run simulated AMT devices until interrupted.

Each device serves its redirection ports (16994/16995) and its WS-Management ports
(16992/16993) from this one process, over one shared :class:`DeviceState`. With
``--hosts N`` there are N devices on the loopback addresses 127.0.0.1, 127.0.0.2, ... (all
on the same ports), or, where those addresses cannot be bound, on distinct free ports.

It prints one line per listener so that people and tests can find the ports, then
``amtterm sim: ready``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import secrets
import signal
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from amtterm import paths
from amtterm.errors import ConfigError
from amtterm.sim.device import Listener, SimDevice, bind_socket
from amtterm.sim.ider_export import IderExport
from amtterm.sim.qemu_host import QEMU_BINARY, QEMU_PACKAGE_HINT, QemuHost, find_qemu, make_qemu_host
from amtterm.sim.synthetic import SyntheticHost
from amtterm.sim.synthetic.settings import Hardware
from amtterm.sim.uefi import OVMF_PACKAGE_HINT, find_ovmf
from amtterm.sim.wsman.digest import DigestGate
from amtterm.sim.wsman.kvm import KvmSettings
from amtterm.sim.wsman.server import WsmanServer
from amtterm.sim.wsman.state import DeviceState
from amtterm.transport import tls as tlsmod


@dataclass(frozen=True)
class SimOptions:
    """What `amtterm sim` was asked for.

    The WS-Man ports default to None (not served) here so that in-process users (tests,
    ``amtterm demo``) do not grab 16992/16993; the command line defaults to them.
    """

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
    wsman_port: int | None = None
    wsman_tls_port: int | None = None
    control_mode: str = "admin"
    hosts: int = 1
    lms: bool = False
    write_hosts: Path | None = None
    wsman_delay: float = 0.0
    qemu: bool = False
    qemu_memory: int = 1024
    #: ``amt``: full Intel AMT (with KVM); ``ism``: Intel Standard Manageability (no KVM).
    sku: str = "amt"
    #: The QEMU machine's firmware: "bios" (SeaBIOS) or "uefi" (OVMF).
    firmware: str = "bios"
    #: The UEFI firmware's own trusted roots for HTTPS boot (DER), instead of AMT's (None: AMT's).
    firmware_roots: tuple[bytes, ...] | None = None
    #: Leave the gaps after "greedy" messages that Debian amtterm and 9front need (redirection.md
    #: section 11). ``amtterm demo`` turns them off: its one console is amtterm's own, which reads
    #: every message exactly, and the gaps would hold its first POST screen back by ~0.4 s.
    paced: bool = True


def generate_password() -> str:
    """An AMT-style strong password: upper, lower, digit and a symbol."""
    return "Sim-" + secrets.token_urlsafe(9).replace("-", "x").replace("_", "y") + "7!"


@dataclass
class SimHost:
    """One simulated device of a running simulator, with its WS-Man servers and listeners."""

    name: str
    address: str
    device: SimDevice
    wsman: list[WsmanServer] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)

    @property
    def state(self) -> DeviceState:
        """The device state shared by its redirection and WS-Man sides."""
        return self.device.state

    def port(self, kind: str, tls: bool) -> int | None:
        """The port of this device's ``kind`` ("redirection" or "wsman") listener, if served."""
        return next((lst.port for lst in self.listeners if lst.kind == kind and lst.tls == tls), None)

    async def close(self) -> None:
        """Stop this device's servers."""
        for server in self.wsman:
            await server.close()
        await self.device.close()
        if isinstance(self.device.host, QemuHost):
            await self.device.host.aclose()
        if self.device.ider_export is not None:
            await self.device.ider_export.close()


@dataclass
class RunningSim:
    """A started simulator: its devices, password and listeners.

    ``device`` and ``listeners`` are those of the first device (and all listeners in device
    order), as before there could be several.
    """

    hosts: list[SimHost]
    password: str
    generated_password: bool
    fingerprint: str | None
    cert_path: Path | None

    @property
    def device(self) -> SimDevice:
        """The first device."""
        return self.hosts[0].device

    @property
    def listeners(self) -> list[Listener]:
        """Every listener, device by device (redirection ones first within a device)."""
        return [listener for host in self.hosts for listener in host.listeners]

    async def close(self) -> None:
        """Stop everything, quietly: consoles still attached are cut off without a traceback."""
        _quiet_cancelled_connections(asyncio.get_running_loop())
        for host in self.hosts:
            await host.close()


def _quiet_cancelled_connections(loop: asyncio.AbstractEventLoop) -> None:
    """Drop asyncio's report of a connection handler cancelled at shutdown; keep every other report.

    ``asyncio.start_server`` asks each finished handler task for its exception; a handler cancelled
    because the simulator stops makes that question raise ``CancelledError``, which the loop
    reports as "Exception in callback ..." with a traceback (Python 3.11). Nothing failed.
    """
    previous = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        if isinstance(context.get("exception"), asyncio.CancelledError):
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)


def _host_names(count: int) -> list[str]:
    if count == 1:
        return ["sim"]
    width = len(str(count))
    return [f"sim{i + 1:0{width}d}" for i in range(count)]


def _addresses(listen: str, count: int) -> list[str] | None:
    """Distinct loopback addresses for ``count`` devices, or None to use distinct ports instead."""
    if count == 1:
        return [listen]
    try:
        first = ipaddress.IPv4Address(listen)
    except ValueError:
        return None
    if not first.is_loopback or int(first) + count - 1 > int(ipaddress.IPv4Address("127.255.255.254")):
        return None
    addresses = [str(first + i) for i in range(count)]
    try:  # Linux answers the whole 127/8 on lo; other systems may not
        bind_socket(addresses[-1], 0).close()
    except OSError:
        return None
    return addresses


def _listen_error(exc: OSError, address: str, port: int, option: str) -> ConfigError:
    if exc.errno == errno.EADDRINUSE:
        return ConfigError(
            f"Cannot listen on {address}:{port}: the port is in use (another amtterm sim?); choose "
            f"another with {option}, 0 for any free port, or off."
        )
    return ConfigError(f"Cannot listen on {address}:{port} ({exc.strerror or exc}); check --listen.")


async def _start_host(
    options: SimOptions,
    name: str,
    address: str,
    ports: dict[str, int | None],
    password: str,
    context: ssl.SSLContext | None,
    log: Callable[[str], None] | None,
) -> SimHost:
    major, minor = options.amt_version
    # The PC's own screens (POST, setup) show the same firmware version the device reports.
    hardware = Hardware(amt_version=f"{major}.{minor}.0", me_version=f"{major}.{minor}.0.1000")
    host: SyntheticHost | QemuHost
    if options.qemu:
        host = make_qemu_host(
            "uefi" if options.firmware == "uefi" else "bios", memory_mb=options.qemu_memory, log=log
        )
    else:
        host = SyntheticHost(columns=options.columns, rows=options.rows, hardware=hardware)
    state = DeviceState(
        host=host,
        amt_version=f"{major}.{minor}.0",
        control_mode="client" if options.control_mode == "client" else "admin",
        host_name=name,
        domain_name="",
        lms_present=options.lms,
        kvm=KvmSettings() if options.sku == "amt" else None,
    )
    state.ocr.firmware_roots = options.firmware_roots
    device = SimDevice(
        host,
        user=options.user,
        password=password,
        amt_version=options.amt_version,
        power_on=options.power_on,
        flood_on_attach=options.flood_on_attach,
        log=log,
        state=state,
        paced=options.paced,
    )
    sim_host = SimHost(name, address, device)
    try:
        if isinstance(host, QemuHost):  # its CD-ROM reads the IDE-R drive through an NBD export
            device.ider_export = IderExport(device)
            await device.ider_export.start()
        for option, tls in (("--redir-port", False), ("--redir-tls-port", True)):
            port = ports[option]
            if port is not None:
                try:
                    await device.listen(address, port, tls=context if tls else None)
                except OSError as exc:
                    raise _listen_error(exc, address, port, option) from None
        sim_host.listeners.extend(device.listeners)
        # One digest gate for both WS-Man ports: failed logins count together (wsman.md 2.4).
        gate = DigestGate(options.user, password, state.digest_realm)
        server_header = "AMT" if major <= 11 else None  # ME 11 sends a bare "AMT" (wsman.md 1.3)
        for option, tls in (("--wsman-port", False), ("--wsman-tls-port", True)):
            port = ports[option]
            if port is None:
                continue
            server = WsmanServer(
                state,
                user=options.user,
                password=password,
                clock=device.clock,
                server_header=server_header,
                gate=gate,
                reply_delay=options.wsman_delay,
            )
            sim_host.wsman.append(server)
            try:
                bound = await server.start(address, port, context if tls else None)
            except OSError as exc:
                raise _listen_error(exc, address, port, option) from None
            sim_host.listeners.append(Listener("wsman", tls, address, bound, server.server))
    except BaseException:
        await sim_host.close()
        raise
    return sim_host


async def start_sim(options: SimOptions, *, log: Callable[[str], None] | None = None) -> RunningSim:
    """Start the simulated devices with the listeners ``options`` asks for.

    Raises:
        ConfigError: a port cannot be bound, or nothing would be served.
    """
    if options.hosts < 1:
        raise ConfigError("--hosts needs at least 1 device.")
    if options.qemu and find_qemu() is None:
        raise ConfigError(f"--qemu needs {QEMU_BINARY}, which is not installed: {QEMU_PACKAGE_HINT}.")
    if options.firmware == "uefi" and not options.qemu:
        raise ConfigError("--firmware uefi needs --qemu: the synthetic PC only has a BIOS.")
    if options.firmware == "uefi" and find_ovmf() is None:
        raise ConfigError(
            f"--firmware uefi needs the UEFI firmware OVMF, which is not installed: {OVMF_PACKAGE_HINT}."
        )
    password = options.password or generate_password()
    ports: dict[str, int | None] = {
        "--redir-port": options.redir_port,
        "--redir-tls-port": options.redir_tls_port,
        "--wsman-port": options.wsman_port,
        "--wsman-tls-port": options.wsman_tls_port,
    }
    fingerprint = None
    cert_path = None
    context = None
    if options.redir_tls_port is not None or options.wsman_tls_port is not None:
        state_dir = options.state_dir or paths.state_dir() / "sim"
        cert_path, key_path = tlsmod.ensure_self_signed(state_dir)
        # Each firmware generation offers its own TLS versions and suites (tls.amt_tls_profile).
        profile = tlsmod.amt_tls_profile(options.amt_version)
        context = tlsmod.server_context(cert_path, key_path, legacy=options.tls_legacy, profile=profile)
        fingerprint = tlsmod.fingerprint(ssl.PEM_cert_to_DER_cert(cert_path.read_text()))
    names = _host_names(options.hosts)
    addresses = _addresses(options.listen, options.hosts)
    hosts: list[SimHost] = []
    try:
        for index, name in enumerate(names):
            if addresses is not None:
                address, device_ports = addresses[index], ports
            else:  # one address: the first device gets the ports asked for, the others free ones
                address = options.listen
                device_ports = (
                    ports if index == 0 else {k: None if v is None else 0 for k, v in ports.items()}
                )
            hosts.append(await _start_host(options, name, address, device_ports, password, context, log))
    except BaseException:
        for host in hosts:
            await host.close()
        raise
    sim = RunningSim(hosts, password, options.password is None, fingerprint, cert_path)
    if options.write_hosts is not None:
        write_hosts_file(options.write_hosts, sim, options)
    return sim


def _toml_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def hosts_file_text(sim: RunningSim, options: SimOptions) -> str:
    """A hosts file (see amtterm.config) naming every simulated device, TLS pins included."""
    lines = [
        f"# Written by amtterm sim: {len(sim.hosts)} simulated AMT device(s).",
        "# The password is read from the environment variable named by password_env.",
        "",
        "[defaults]",
        f"user = {_toml_value(options.user)}",
        'password_env = "AMT_PASSWORD"',
        f'amt_version = "{options.amt_version[0]}.{options.amt_version[1]}"',
    ]
    for host in sim.hosts:
        values: dict[str, str | int | bool] = {"address": host.address}
        wsman_tls = host.port("wsman", True)
        wsman_plain = host.port("wsman", False)
        redir_tls = host.port("redirection", True)
        redir_plain = host.port("redirection", False)
        tls = wsman_tls is not None or (wsman_plain is None and redir_tls is not None)
        if options.amt_version[0] < 12 and not options.tls_legacy and (wsman_plain or redir_plain):
            # Its TLS is 1.0/1.1 only (tls.amt_tls_profile), which consoles reach only with
            # --tls-legacy: the hosts file names the plain ports that work as they are.
            tls = False
        values["tls"] = tls
        wsman = wsman_tls if tls else wsman_plain
        redir = redir_tls if tls else redir_plain
        if wsman is not None:
            values["wsman_port"] = wsman
        if redir is not None:
            values["redir_port"] = redir
        if tls and sim.fingerprint:
            values["tls_pin"] = sim.fingerprint
        lines += ["", f"[hosts.{host.name}]", *(f"{k} = {_toml_value(v)}" for k, v in values.items())]
    return "\n".join(lines) + "\n"


def write_hosts_file(path: Path, sim: RunningSim, options: SimOptions) -> None:
    """Write :func:`hosts_file_text` to ``path``.

    Raises:
        ConfigError: the file cannot be written.
    """
    try:
        path.write_text(hosts_file_text(sim, options), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot write the hosts file {path} ({exc.strerror or exc}).") from exc


def describe(sim: RunningSim, options: SimOptions) -> list[str]:
    """The lines `amtterm sim` prints at start, the last one ``amtterm sim: ready``."""
    major, minor = options.amt_version
    auth = "digest only" if major >= 12 else "digest and legacy plain"
    serves_wsman = options.wsman_port is not None or options.wsman_tls_port is not None
    mode = f", {options.control_mode} control mode" if serves_wsman else ""
    mode += ", KVM" if options.sku == "amt" else ", Standard Manageability (no KVM)"
    count = len(sim.hosts)
    what = f"AMT {major}.{minor} device" if count == 1 else f"{count} AMT {major}.{minor} devices"
    if any(listener.tls for listener in sim.listeners):  # what this generation's TLS ports offer
        profile = tlsmod.amt_tls_profile(options.amt_version)
        extra = " + TLS 1.0/1.1" if options.tls_legacy and profile.minimum > ssl.TLSVersion.TLSv1 else ""
        auth += f" auth; {profile.name}{extra}"
    else:
        auth += " auth"
    lines = [f"amtterm sim: {what} ({auth}), user {options.user}{mode}"]
    for listener in sim.listeners:
        where = tlsmod.format_endpoint(listener.host, listener.port)
        if listener.tls:
            lines.append(f"amtterm sim: {listener.kind} listening on {where} (TLS, {sim.fingerprint})")
        else:
            lines.append(f"amtterm sim: {listener.kind} listening on {where} (plain)")
    if options.write_hosts is not None:
        lines.append(f"amtterm sim: wrote the hosts file {options.write_hosts} ({count} hosts)")
    if sim.generated_password:
        lines.append(f"amtterm sim: generated password: {sim.password}  (set AMT_PASSWORD to choose one)")
    lines.append("amtterm sim: ready")
    return lines


async def serve(options: SimOptions, *, log: Callable[[str], None] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM; returns the exit status (``log``: diagnostics)."""
    sim = await start_sim(options, log=log)
    print("\n".join(describe(sim, options)), flush=True)
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

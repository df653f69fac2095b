"""Fixtures for the WS-Man tests: a recording host, a device, an in-memory transport, TLS certs."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from amtterm.sim.wsman import service
from amtterm.sim.wsman.server import WsmanServer
from amtterm.sim.wsman.state import DeviceState, PowerEvent

PASSWORD = "P@ssw0rd-sim"


@dataclass
class FakeHost:
    """A simulated PC that records what the device told it."""

    powered: bool = True
    calls: list[str] = field(default_factory=list)
    messages: list[str | None] = field(default_factory=list)
    next_boot: str | None = None

    def power_on(self, now: float) -> None:
        self.calls.append(f"on:{self.next_boot}")
        self.powered = True

    def power_off(self, now: float) -> None:
        self.calls.append("off")
        self.powered = False

    def reset(self, now: float) -> None:
        self.calls.append(f"reset:{self.next_boot}")
        self.powered = True

    def set_next_boot(self, target: str | None) -> None:
        self.next_boot = target

    def show_message(self, text: str | None) -> None:
        self.messages.append(text)


@dataclass
class Clock:
    """A settable clock for the device and the server."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Device:
    """A device, its host, its clock and an in-memory transport that counts requests."""

    state: DeviceState
    host: FakeHost
    clock: Clock
    requests: list[str] = field(default_factory=list)
    events: list[PowerEvent] = field(default_factory=list)

    async def transport(self, body: str) -> str:
        self.requests.append(body)
        return service.handle(body, self.state, self.clock())[1]


@pytest.fixture
def device() -> Device:
    """A powered-on admin-mode device (AMT 16.1) with a recording host."""
    host = FakeHost()
    state = DeviceState(host=host, digest_realm="Digest:" + "AB" * 16)
    dev = Device(state=state, host=host, clock=Clock())
    state.power_listeners.append(dev.events.append)
    return dev


@pytest.fixture
def transport(device: Device) -> Callable[[str], Awaitable[str]]:
    """The device's in-memory transport."""
    return device.transport


@dataclass(frozen=True)
class Cert:
    """A throw-away self-signed certificate for 127.0.0.1."""

    cert_path: Path
    key_path: Path
    der: bytes

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.cert_path))
        return context


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """A self-signed EC certificate for 127.0.0.1, made once per test session."""
    directory = tmp_path_factory.mktemp("wsman-tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "simulated AMT")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Cert(cert_path, key_path, certificate.public_bytes(serialization.Encoding.DER))


@dataclass
class Served:
    """A running WS-Man server for a device, and how to reach it."""

    device: Device
    server: WsmanServer
    port: int
    tls: bool
    verify: ssl.SSLContext | bool


async def start_served(device: Device, cert: Cert, tls: bool) -> Served:
    """Start the device's WS-Man server on 127.0.0.1 at a free port."""
    server = WsmanServer(device.state, user="admin", password=PASSWORD, clock=device.clock)
    port = await server.start("127.0.0.1", 0, cert.server_context() if tls else None)
    return Served(device, server, port, tls, cert.client_context() if tls else False)


@pytest.fixture(params=["http", "https"])
async def served(request: pytest.FixtureRequest, device: Device, cert: Cert) -> AsyncIterator[Served]:
    """The device's WS-Man server, once over plain HTTP and once over HTTPS."""
    running = await start_served(device, cert, request.param == "https")
    yield running
    await running.server.close()


@pytest.fixture
async def https(device: Device, cert: Cert) -> AsyncIterator[Served]:
    """The device's WS-Man server over HTTPS only."""
    running = await start_served(device, cert, True)
    yield running
    await running.server.close()

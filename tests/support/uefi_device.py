"""A simulated AMT 16.1 device whose PC has UEFI firmware that boots over HTTPS, on a real socket.

The simulator's own WS-Man server (TLS with AMT 16.1's profile, or plain) in front of the
synthetic PC extended with ``set_https_boot`` (the UefiHost protocol), which records each HTTPS
boot the device hands it. For tests of One Click Recovery with real clients.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from amtterm.sim.host import HttpsBoot
from amtterm.sim.synthetic import SyntheticHost
from amtterm.sim.wsman.server import WsmanServer
from amtterm.sim.wsman.state import DeviceState
from amtterm.transport import tls as tlsmod

PASSWORD = "Ocr-Test-Pass-1!"


class UefiSyntheticHost(SyntheticHost):
    """The synthetic PC with a firmware that takes HTTPS boots (records them)."""

    def __init__(self) -> None:
        super().__init__()
        self.https_boots: list[HttpsBoot | None] = []

    def set_https_boot(self, boot: HttpsBoot | None) -> None:
        self.https_boots.append(boot)


def make_ca(path: Path) -> bytes:
    """A throw-away root CA of the HTTPS boot server, as PEM in ``path``; returns its DER."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "boot server root")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate.public_bytes(serialization.Encoding.DER)


async def start_device(tmp_path: Path, *, tls: bool) -> tuple[WsmanServer, int, UefiSyntheticHost]:
    """Serve a powered-on AMT 16.1 device with a :class:`UefiSyntheticHost` on 127.0.0.1 (a free
    port), over TLS (a self-signed RSA certificate in ``tmp_path``) or plain HTTP."""
    host = UefiSyntheticHost()
    host.power_on(0.0)
    state = DeviceState(host=host, amt_version="16.1.25")
    server = WsmanServer(state, user="admin", password=PASSWORD)
    context = None
    if tls:
        cert, key = tlsmod.ensure_self_signed(tmp_path / "device")
        context = tlsmod.server_context(cert, key, profile=tlsmod.amt_tls_profile((16, 1)))
    port = await server.start("127.0.0.1", 0, context)
    return server, port, host

"""An admin's HTTPS boot server on loopback, with its own CA, for One Click Recovery tests.

``BootServer`` serves one file (e.g. Debian's ``/usr/lib/ipxe/ipxe.efi``) over TLS 1.2 on 127.0.0.1
with HTTP/1.1 keep-alive, as a web server does (UEFI HTTP boot sends HEAD and GET on one connection).
Its certificate is signed by a throw-away CA (:attr:`BootServer.ca_der`, what an admin uploads to
AMT's trusted roots) and names 10.0.2.2 (where the simulated PC reaches this machine), 127.0.0.1
and localhost. ``make_ca()`` makes another CA, the wrong one.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Ca:
    """A certificate authority: its key and self-signed certificate."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return builder.not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(
        now + datetime.timedelta(days=30)
    )


def make_ca(name: str = "amtterm test boot CA") -> Ca:
    """A fresh RSA CA."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        _validity(x509.CertificateBuilder())
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    return Ca(key, cert)


def server_cert(ca: Ca) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A server certificate signed by ``ca`` for 10.0.2.2, 127.0.0.1 and localhost."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names = [
        x509.IPAddress(ipaddress.ip_address("10.0.2.2")),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
    ]
    cert = (
        _validity(x509.CertificateBuilder())
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "10.0.2.2")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return key, cert


@dataclass
class BootServer:
    """A running HTTPS server for one file (see the module docstring)."""

    path: Path
    ca: Ca = field(default_factory=make_ca)
    port: int = 0
    requests: list[str] = field(default_factory=list)
    handshakes_failed: int = 0
    #: What the server offers: by default ECDHE as most servers, and RSA key exchange, which
    #: Debian 12's OVMF needs (it has no elliptic curves: amtterm.sim.uefi.OVMF_TLS_CIPHERS).
    ciphers: str = "ECDHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256:AES256-GCM-SHA384"

    def __post_init__(self) -> None:
        key, cert = server_cert(self.ca)
        self._dir = tempfile.TemporaryDirectory(prefix="amtterm-bootsrv-")
        chain = Path(self._dir.name) / "chain.pem"
        keyfile = Path(self._dir.name) / "key.pem"
        chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        keyfile.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(self.ciphers)
        context.load_cert_chain(chain, keyfile)
        body = self.path.read_bytes()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _head(self) -> bool:
                server.requests.append(f"{self.command} {self.path}")
                if self.path != "/" + server.path.name:
                    self.send_error(404)
                    return False
                self.send_response(200)
                self.send_header("Content-Type", "application/efi")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return True

            def do_HEAD(self) -> None:
                self._head()

            def do_GET(self) -> None:
                if self._head():
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[socket.socket, object]:
                sock, address = super().get_request()
                try:
                    return context.wrap_socket(sock, server_side=True), address
                except (ssl.SSLError, OSError):
                    server.handshakes_failed += 1
                    sock.close()
                    raise

        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, host: str = "localhost") -> str:
        """The file's URL as the admin types it."""
        return f"https://{host}:{self.port}/{self.path.name}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._dir.cleanup()

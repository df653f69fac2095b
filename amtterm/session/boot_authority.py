"""BootAuthority: amtterm's own CA for One Click Recovery HTTPS boot, and the server certificates it signs.

The CA is made once in the state directory (``https-boot/ca.pem`` and ``ca.key``, mode 0600) and
reused, so that the root put into AMT's trusted roots is the same one each time; a server
certificate is made per run for the names the device uses to reach the server (IP SANs, or DNS
SANs for names). Keys are RSA: UEFI firmware TLS stacks (EDK2's, as in Debian 12's OVMF) take RSA
certificates only, no ECDSA. Kept apart from :mod:`amtterm.session.image_server` so that loading
the console does not load ``cryptography.x509`` until a boot needs it.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from amtterm.errors import ConfigError
from amtterm.paths import ensure_private_dir, state_dir

__all__ = ["AUTHORITY_DIR", "BootAuthority"]

#: The CA's validity (it is reused across runs) and the server certificate's (one run).
CA_DAYS = 3650
SERVER_DAYS = 30
#: Where in the state directory the CA lives.
AUTHORITY_DIR = "https-boot"
#: RSA keys: UEFI firmware TLS stacks take RSA certificates only.
KEY_BITS = 2048


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


class BootAuthority:
    """amtterm's own CA for HTTPS boot: made once in the state directory, reused after.

    Attributes:
        directory: where ``ca.pem`` and ``ca.key`` live.
        certificate: the CA certificate (what goes into AMT's trusted roots).
    """

    def __init__(self, directory: Path, certificate: x509.Certificate, key: rsa.RSAPrivateKey):
        self.directory = directory
        self.certificate = certificate
        self._key = key

    @classmethod
    def load(cls, directory: Path | None = None) -> BootAuthority:
        """The CA in ``directory`` (default: the state directory's ``https-boot``), made if missing.

        Raises:
            ConfigError: the directory cannot be made, or its CA files are unreadable (one sentence).
        """
        where = ensure_private_dir(directory or state_dir() / AUTHORITY_DIR)
        cert_path, key_path = where / "ca.pem", where / "ca.key"
        if cert_path.exists() and key_path.exists():
            try:
                certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
                key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"Cannot read the HTTPS boot CA in {where} ({exc}): remove ca.pem and ca.key there "
                    "to make a new one."
                ) from None
            if isinstance(key, rsa.RSAPrivateKey) and certificate.not_valid_after_utc > _now():
                return cls(where, certificate, key)
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        now = _now()
        name = _name(f"amtterm HTTPS boot CA ({socket.gethostname()})")
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        pem_key = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(key_path, pem_key)
        _write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
        return cls(where, certificate, key)

    @property
    def der(self) -> bytes:
        """The CA certificate in DER (AMT's trusted-root store takes it base64'd)."""
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem_path(self) -> Path:
        """The CA certificate's file (``curl --cacert`` it)."""
        return self.directory / "ca.pem"

    def issue(self, address: str, *more: str) -> tuple[Path, Path]:
        """A server certificate for ``address`` (and ``more`` names), signed by this CA.

        Each name is an IP SAN, or a DNS SAN for a host name.

        Returns:
            The certificate chain file and the key file (both in :attr:`directory`, mode 0600).
        """
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        now = _now()
        alts: list[x509.GeneralName] = []
        for name in dict.fromkeys((address, *more)):
            try:
                alts.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alts.append(x509.DNSName(name))
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(address))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(alts), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        chain = certificate.public_bytes(serialization.Encoding.PEM) + self.certificate.public_bytes(
            serialization.Encoding.PEM
        )
        cert_path, key_path = self.directory / "server.pem", self.directory / "server.key"
        _write_private(cert_path, chain)
        _write_private(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        return cert_path, key_path


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)

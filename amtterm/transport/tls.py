"""TLS for AMT's redirection (16995) and WS-Man (16993) ports: contexts, certificates, errors.

Facts this module is built on (``../shared/protocol/redirection.md`` section 8,
``../shared/protocol/wsman.md`` section 3):

* AMT presents a **self-signed RSA certificate** made at provisioning. It rarely names the address
  a console dials, so hostname checking is off everywhere; trust comes either from a CA file the
  user names (``-C CAFILE``) or from a trust-on-first-use pin of the leaf's SHA-256
  (:mod:`amtterm.transport.known_hosts`).
* **Versions**: AMT 12.0 added TLS 1.2 and removed TLS 1.0; CSME 15/16 removed TLS 1.1; TLS 1.3
  arrives with AMT 21. Older firmware speaks only TLS 1.0/1.1 with CBC suites, lacks secure
  renegotiation (RFC 5746) and may offer only RSA key exchange; OpenSSL 3 clients refuse such a
  server (``UNSAFE_LEGACY_RENEGOTIATION_DISABLED``, MeshCommander issue 126) unless told
  otherwise. ``legacy=True`` opens all of that up. :func:`amt_tls_profile` states what each
  generation offers; the simulator serves it.
* **Ciphers**: some AMT builds do only RSA key exchange, and MeshCentral's console restricts
  itself to ``RSA+AES:!aNULL:!MD5:!DSS``. So both our client and our simulated server offer the
  ECDHE-RSA *and* the plain RSA key-exchange AES suites for TLS 1.2 (TLS 1.3 suites stay at
  OpenSSL's defaults).

**OpenSSL 3 and TLS 1.0/1.1.** OpenSSL 3 refuses TLS 1.0/1.1 at security level 1 and above,
because their handshake signatures use SHA-1/MD5. Legacy contexts therefore append
``@SECLEVEL=0`` to the cipher string. Some distributions build OpenSSL without TLS 1.0/1.1 or pin
a minimum protocol in ``openssl.cnf`` (``MinProtocol``); there legacy mode cannot help and the
handshake fails with the "accepts only TLS 1.0/1.1" sentence of :func:`describe_ssl_error`.

Pin check after an asyncio handshake (the transport in ``tcp.py`` does this)::

    reader, writer = await asyncio.open_connection(
        host, port, ssl=client_context(legacy=legacy), server_hostname=host)
    # ssl.SSLError / OSError from the line above -> raise describe_ssl_error(exc, host, port) from exc
    der = peer_certificate(writer.get_extra_info("ssl_object"))
    check_certificate(der, host, port, tls_options)  # amtterm.transport.trust: the one pin check

With a CA file the chain was verified during the handshake and no pin is needed.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
import re
import ssl
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from amtterm.errors import ConfigError, TlsError

__all__ = [
    "CERT_FILE_NAME",
    "KEY_FILE_NAME",
    "TlsProfile",
    "amt_tls_profile",
    "client_context",
    "describe_ssl_error",
    "ensure_self_signed",
    "fingerprint",
    "fingerprint_hex",
    "format_endpoint",
    "is_fingerprint",
    "peer_certificate",
    "server_context",
]

CERT_FILE_NAME = "tls-cert.pem"
"""File name of the certificate :func:`ensure_self_signed` keeps in its directory."""
KEY_FILE_NAME = "tls-key.pem"
"""File name of the private key (mode 0600) :func:`ensure_self_signed` keeps beside it."""

_VALIDITY = datetime.timedelta(days=3650)

# TLS 1.2 suites, strongest first: forward-secret ECDHE-RSA, then RSA key exchange for old AMT
# builds and for MeshCentral's "RSA+AES:!aNULL:!MD5:!DSS". AES-CBC-SHA1 suites stay in because
# TLS 1.0/1.1 firmware has nothing else.
_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:RSA+AESGCM:RSA+AES:!aNULL:!eNULL:!MD5:!DSS"
# OpenSSL 3 needs security level 0 before it will sign or verify TLS 1.0/1.1 handshakes.
_LEGACY_CIPHERS = _CIPHERS + ":@SECLEVEL=0"

# SSL_OP_LEGACY_SERVER_CONNECT: talk to servers without RFC 5746 secure renegotiation.
# Python exposes the name from 3.12 on; the bit has been 1 << 2 since OpenSSL 3.0.
_OP_LEGACY_SERVER_CONNECT: int = getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 1 << 2)

# What AMT before 12 offers: TLS 1.0/1.1 with AES-CBC-SHA1 suites, RSA or ECDHE-RSA key exchange.
_OLD_AMT_CIPHERS = "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-SHA:AES256-SHA:@SECLEVEL=0"

# Extensions old firmware never sends, switched off in the simulator's old profiles.
# OpenSSL 3 option bits (ssl.h); Python names none of them.
_OP_NO_EXTENDED_MASTER_SECRET = 1 << 0
_OP_NO_ENCRYPT_THEN_MAC = 1 << 19

_FINGERPRINT_RE = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


# --------------------------------------------------------------------------------------------
# Fingerprints and names


def fingerprint(der: bytes) -> str:
    """Return the SHA-256 fingerprint of a DER certificate the way OpenSSH shows keys.

    Args:
        der: the certificate in DER form (``getpeercert(binary_form=True)``).

    Returns:
        ``"SHA256:"`` followed by unpadded standard base64, e.g. ``SHA256:47DEQpj8HBSa+/TImW+5JC...``.
    """
    digest = hashlib.sha256(der).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def fingerprint_hex(der: bytes) -> str:
    """Return the SHA-256 fingerprint as colon-separated upper-case hex, for the info pane.

    This is the form browsers and ``openssl x509 -fingerprint -sha256`` print.

    Args:
        der: the certificate in DER form.

    Returns:
        32 hex pairs joined by colons, e.g. ``"3F:A0:...:9C"``.
    """
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def is_fingerprint(text: str) -> bool:
    """Tell whether ``text`` is a fingerprint in the form :func:`fingerprint` returns.

    Args:
        text: the candidate string.

    Returns:
        True for ``SHA256:`` plus 43 base64 characters.
    """
    return _FINGERPRINT_RE.fullmatch(text) is not None


def format_endpoint(host: str, port: int) -> str:
    """Write a host and port the way users type them: ``host:16995`` or ``[::1]:16995``.

    Args:
        host: a name, an IPv4 address or an IPv6 address (brackets optional).
        port: the TCP port.

    Returns:
        ``HOST:PORT`` with IPv6 addresses in brackets.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return f"[{bare}]:{port}" if ":" in bare else f"{bare}:{port}"


def peer_certificate(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> bytes:
    """Return the DER certificate the peer presented in a finished handshake.

    Works with the ``ssl_object`` of an asyncio transport
    (``writer.get_extra_info("ssl_object")``) and with a blocking :class:`ssl.SSLSocket`. The
    certificate is available even with ``CERT_NONE``, which is how pinning sees it.

    Args:
        ssl_object: the TLS object of the connection, or None when the connection has no TLS.

    Returns:
        The leaf certificate in DER form.

    Raises:
        TlsError: the connection has no TLS or the peer sent no certificate.
    """
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        raise TlsError("The device finished the TLS handshake without a certificate: it cannot be pinned.")
    return der


# --------------------------------------------------------------------------------------------
# Self-signed certificate (simulator; mirrors AMT's provisioning certificate)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600 from the first byte."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _make_self_signed(common_name: str) -> tuple[bytes, bytes]:
    # cryptography loads only when a certificate is made (the simulator), not with every command.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))  # tolerate clocks a little behind
        .not_valid_after(now + _VALIDITY)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,  # RSA key exchange encrypts the premaster secret to this key
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def ensure_self_signed(directory: Path, common_name: str = "amt-sim") -> tuple[Path, Path]:
    """Return a self-signed RSA certificate and key in ``directory``, creating them only once.

    Like a provisioned AMT device, the simulator keeps its certificate: when both
    ``tls-cert.pem`` and ``tls-key.pem`` exist they are reused as they are (whatever
    ``common_name`` they were made with), so pins recorded by consoles stay valid. Delete the
    files to get a new certificate.

    The certificate: RSA-2048, SHA-256 signature, subject and issuer ``CN=common_name``, valid
    for about ten years from yesterday, SAN ``DNS:localhost``, ``IP:127.0.0.1``, ``IP:::1``.

    Args:
        directory: where the two PEM files live; created with mode 0700 if missing.
        common_name: the CN of a newly made certificate.

    Returns:
        ``(cert_path, key_path)``; the key file has mode 0600.

    Raises:
        ConfigError: the directory or the files cannot be written.
    """
    cert_path = directory / CERT_FILE_NAME
    key_path = directory / KEY_FILE_NAME
    if cert_path.is_file() and key_path.is_file():
        return cert_path, key_path
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        cert_pem, key_pem = _make_self_signed(common_name)
        # Key first: a certificate file never exists without its key.
        _write_private(key_path, key_pem)
        _write_private(cert_path, cert_pem)
        cert_path.chmod(0o644)
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the TLS certificate into {directory} ({exc.strerror or exc}): "
            "check that the directory is writable."
        ) from exc
    return cert_path, key_path


# --------------------------------------------------------------------------------------------
# Contexts


def _set_minimum_version(ctx: ssl.SSLContext, *, legacy: bool) -> None:
    if not legacy:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return
    # Python warns (DeprecationWarning) whenever TLS 1.0/1.1 is chosen; choosing it is the whole
    # point of legacy mode, asked for explicitly by the user, so the warning is silenced here only.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1


@dataclass(frozen=True)
class TlsProfile:
    """What one AMT generation offers on its TLS ports (16993, 16995).

    Attributes:
        name: a short description for logs, e.g. ``"TLS 1.0-1.1, CBC"``.
        minimum: the oldest TLS version offered.
        maximum: the newest TLS version offered.
        ciphers: the OpenSSL cipher string for TLS 1.2 and older.
        old_extensions: leave out the extensions old firmware never sends (extended master
            secret, encrypt-then-MAC, session tickets).
    """

    name: str
    minimum: ssl.TLSVersion
    maximum: ssl.TLSVersion
    ciphers: str
    old_extensions: bool = False


def amt_tls_profile(amt_version: tuple[int, int]) -> TlsProfile:
    """Return what AMT firmware of ``amt_version`` offers on its TLS ports.

    From Intel's AMT SDK ("End of Support of TLS 1.0 and TLS 1.1") and what consoles meet:

    * before 12: TLS 1.0 and 1.1 only, AES-CBC-SHA1 suites (RSA or ECDHE-RSA key exchange);
    * 12 to 14: TLS 1.1 and 1.2 (12.0 added 1.2 and removed 1.0);
    * 15 to 20: TLS 1.2 only (CSME 15/16 removed 1.1);
    * 21 and later: TLS 1.2 and 1.3.

    None of them offers RFC 5746 secure renegotiation; see :func:`server_context` for what a
    server built on Python's :mod:`ssl` cannot leave out.

    Args:
        amt_version: firmware ``(major, minor)``.

    Returns:
        The profile the simulator serves for that version.
    """
    major = amt_version[0]
    if major < 12:
        return TlsProfile(
            "TLS 1.0-1.1, CBC", ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, _OLD_AMT_CIPHERS, True
        )
    if major < 15:
        return TlsProfile(
            "TLS 1.1-1.2", ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_2, _LEGACY_CIPHERS, True
        )
    if major < 21:
        return TlsProfile("TLS 1.2", ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, _CIPHERS)
    return TlsProfile("TLS 1.2-1.3", ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3, _CIPHERS)


_MODERN_PROFILE = TlsProfile("TLS 1.2-1.3", ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3, _CIPHERS)


def _set_versions(ctx: ssl.SSLContext, minimum: ssl.TLSVersion, maximum: ssl.TLSVersion) -> None:
    # Python warns (DeprecationWarning) whenever TLS 1.0/1.1 is chosen; serving or reaching old
    # firmware is the whole point here, so the warning is silenced for these two lines only.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.maximum_version = maximum
        ctx.minimum_version = minimum


def server_context(
    cert: Path, key: Path, *, legacy: bool = False, profile: TlsProfile | None = None
) -> ssl.SSLContext:
    """Build the TLS context of a simulated AMT device.

    By default TLS 1.2 and 1.3; for TLS 1.2 both ECDHE-RSA and plain RSA key-exchange AES
    suites, so MeshCentral's ``RSA+AES:!aNULL:!MD5:!DSS`` connects. With ``profile`` (see
    :func:`amt_tls_profile`) the versions and suites of one AMT generation. No client
    certificate is requested (AMT's default, mutual TLS being optional).

    What stays different from real old firmware: OpenSSL always answers a client's
    ``renegotiation_info`` (RFC 5746) and Python's :mod:`ssl` cannot turn that off, so this
    server still signals secure renegotiation where AMT before 12 does not. A client is
    therefore refused by the version and suites of the old profile, not by the missing
    extension.

    Args:
        cert: PEM certificate, e.g. from :func:`ensure_self_signed`.
        key: PEM private key of ``cert``.
        legacy: also accept TLS 1.0 and 1.1 whatever the profile says (``amtterm sim
            --tls-legacy``). Uses ``@SECLEVEL=0`` because OpenSSL 3 refuses those versions
            otherwise; where the local OpenSSL is built or configured without them, clients
            still cannot connect with them.
        profile: the versions and suites to offer; None for TLS 1.2-1.3.

    Returns:
        A server-side :class:`ssl.SSLContext`.

    Raises:
        ConfigError: the certificate or the key cannot be read or do not match.
    """
    profile = profile or _MODERN_PROFILE
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    minimum = ssl.TLSVersion.TLSv1 if legacy else profile.minimum
    _set_versions(ctx, minimum, profile.maximum)
    ciphers = profile.ciphers
    if minimum < ssl.TLSVersion.TLSv1_2 and "@SECLEVEL" not in ciphers:
        ciphers += ":@SECLEVEL=0"
    ctx.set_ciphers(ciphers)
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    if profile.old_extensions:
        ctx.options |= ssl.OP_NO_TICKET | _OP_NO_EXTENDED_MASTER_SECRET | _OP_NO_ENCRYPT_THEN_MAC
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.load_cert_chain(certfile=cert, keyfile=key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"Cannot load the TLS certificate {cert} with key {key} ({exc}): "
            "delete both files to have new ones made."
        ) from exc
    return ctx


def client_context(*, cafile: Path | None = None, legacy: bool = False) -> ssl.SSLContext:
    """Build the TLS context a console uses to reach an AMT device.

    Hostname checking is always off: AMT's certificate (self-signed at provisioning, or issued
    for a name in the enterprise) rarely names the address the console dials, and a console
    dials addresses, jump-host forwards and ``localhost`` tunnels alike.

    Args:
        cafile: verify the device's chain against the CA certificates in this PEM file. Without
            it no verification happens during the handshake (``CERT_NONE``) and the caller must
            check the certificate with :func:`amtterm.transport.trust.check_certificate`.
        legacy: for firmware before AMT 12: also allow TLS 1.0/1.1 (with ``@SECLEVEL=0``, which
            OpenSSL 3 needs for them) and unsafe legacy renegotiation
            (``OP_LEGACY_SERVER_CONNECT``, servers without RFC 5746).

    Returns:
        A client-side :class:`ssl.SSLContext`.

    Raises:
        ConfigError: ``cafile`` cannot be read or holds no certificate.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # AMT certificates rarely carry the name or address we dial; trust comes from the CA file
    # (chain only) or from the pin.
    ctx.check_hostname = False
    if cafile is None:
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.verify_mode = ssl.CERT_REQUIRED
        try:
            ctx.load_verify_locations(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"Cannot read CA certificates from {cafile} ({exc}): give a PEM file to -C."
            ) from exc
    ctx.set_ciphers(_LEGACY_CIPHERS if legacy else _CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION
    _set_minimum_version(ctx, legacy=legacy)
    if legacy:
        ctx.options |= _OP_LEGACY_SERVER_CONNECT
    return ctx


# --------------------------------------------------------------------------------------------
# Errors: one sentence per cause, with what to do

_VERSION_REASONS = frozenset(
    {
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "WRONG_SSL_VERSION",
        "VERSION_TOO_LOW",
        "NO_PROTOCOLS_AVAILABLE",
    }
)
_NOT_TLS_REASONS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "UNKNOWN_PROTOCOL",
        "PACKET_LENGTH_TOO_LONG",
        "RECORD_LAYER_FAILURE",
        "HTTP_REQUEST",
        "HTTPS_PROXY_REQUEST",
        "RECORD_TOO_LARGE",
        "ENCRYPTED_LENGTH_TOO_LONG",
        "UNKNOWN_ALERT_TYPE",
    }
)
_CIPHER_REASONS = frozenset(
    {
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
        "NO_SHARED_CIPHER",
        "NO_CIPHERS_AVAILABLE",
        "TLSV1_ALERT_INSUFFICIENT_SECURITY",
        "UNSAFE_LEGACY_RENEGOTIATION_DISABLED",
        "DH_KEY_TOO_SMALL",
        "EE_KEY_TOO_SMALL",
        "CA_MD_TOO_WEAK",
        "UNSUPPORTED_SIGNATURE_ALGORITHM",  # not an OpenSSL name in every release; harmless
    }
)
_CLIENT_CERT_REASONS = frozenset(
    {
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "TLSV1_ALERT_UNKNOWN_CA",
        "TLSV1_ALERT_ACCESS_DENIED",
    }
)


def describe_ssl_error(
    exc: OSError,
    host: str,
    port: int,
    *,
    cafile: Path | None = None,
    legacy: bool = False,
    plain_port: int = 16994,
) -> TlsError:
    """Turn an error raised during a TLS handshake into one sentence that says what to do.

    Use it only around the handshake (``asyncio.open_connection(..., ssl=...)`` or
    ``SSLSocket.do_handshake()``); connection refused or unreachable before TLS starts is a
    :class:`~amtterm.errors.ConnectError`, not this. Besides :class:`ssl.SSLError` it accepts the
    resets, EOFs and timeouts a peer causes mid-handshake.

    Args:
        exc: the exception the handshake raised.
        host: the host dialled (for the message).
        port: the port dialled.
        cafile: the CA file the client context was built with, if any.
        legacy: whether the client context already allowed TLS 1.0/1.1.
        plain_port: the device's plain port of the same service, for the hints (16994 for
            redirection, 16992 for WS-Man).

    Returns:
        A :class:`~amtterm.errors.TlsError` to raise ``from exc``.
    """
    where = format_endpoint(host, port)
    reason = str(getattr(exc, "reason", None) or "").upper()

    if isinstance(exc, ssl.SSLCertVerificationError) or reason == "CERTIFICATE_VERIFY_FAILED":
        detail = getattr(exc, "verify_message", None) or "verification failed"
        if cafile is not None:
            return TlsError(
                f"The TLS certificate of {where} is not signed by {cafile} ({detail}): "
                "give the right CA file to -C, or leave -C out to pin the certificate on first use."
            )
        return TlsError(f"The TLS certificate of {where} could not be verified ({detail}).")

    if reason in _VERSION_REASONS:
        if legacy:
            return TlsError(
                f"{where} and this machine share no TLS version even with --tls-legacy: "
                "the local OpenSSL may be built or configured without TLS 1.0/1.1 (see MinProtocol "
                "in openssl.cnf)."
            )
        return TlsError(f"{where} accepts only TLS 1.0/1.1 (old AMT firmware): retry with --tls-legacy.")

    if reason in _NOT_TLS_REASONS:
        return TlsError(f"{where} did not speak TLS: is it the plain port? use -P for port {plain_port}.")

    if reason in _CLIENT_CERT_REASONS:
        return TlsError(
            f"{where} refused the TLS handshake because it wants a client certificate (mutual TLS is "
            "configured on the device): turn it off in the AMT setup or use a console that has one."
        )

    if reason in _CIPHER_REASONS:
        if legacy:
            return TlsError(
                f"{where} and this machine share no TLS cipher suite even with --tls-legacy "
                f"({reason.lower()}): the local OpenSSL may lack the old suites the device needs."
            )
        return TlsError(
            f"{where} refused our TLS cipher suites (old AMT firmware?): retry with --tls-legacy."
        )

    if isinstance(
        exc, ssl.SSLEOFError | ConnectionResetError | ConnectionAbortedError | BrokenPipeError
    ) or reason in {"UNEXPECTED_EOF_WHILE_READING", "EOF"}:
        hint = (
            f"use -P for port {plain_port}"
            if legacy
            else f"retry with --tls-legacy, or use -P for port {plain_port}"
        )
        return TlsError(
            f"{where} closed the connection during the TLS handshake: old AMT firmware or the plain "
            f"port? {hint}."
        )

    if isinstance(exc, TimeoutError):
        return TlsError(
            f"{where} accepted the connection but never answered the TLS handshake: is it the plain "
            f"port? use -P for port {plain_port}."
        )

    detail = reason.lower() or str(exc) or type(exc).__name__
    return TlsError(
        f"The TLS handshake with {where} failed ({detail}): retry with --tls-legacy for old AMT "
        "firmware, or with --debug for details."
    )

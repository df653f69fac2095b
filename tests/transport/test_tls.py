"""TLS layer against a real TLS server on 127.0.0.1: certificates, contexts, pinning, error sentences.

The server is a small blocking accept loop in a thread (it sends real TLS alerts, which is what an
AMT device does); the client side is asyncio, as in ``transport/tcp.py``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from amtterm.errors import ConfigError, TlsError, TlsPinMismatch, TlsUnknownCertificate
from amtterm.transport.known_hosts import KnownHosts, forget
from amtterm.transport.tls import (
    CERT_FILE_NAME,
    KEY_FILE_NAME,
    client_context,
    describe_ssl_error,
    ensure_self_signed,
    fingerprint,
    fingerprint_hex,
    peer_certificate,
    server_context,
)
from amtterm.transport.trust import verify_pin

TIMEOUT = 10.0
MESHCENTRAL_CIPHERS = "RSA+AES:!aNULL:!MD5:!DSS"


# -- a real TLS server ----------------------------------------------------------------------------


class Server:
    """Accepts connections on 127.0.0.1 in a thread; ``context`` may be swapped between connections.

    With a context it does the TLS handshake, sends ``b"AMT"`` and waits for the client to close.
    Without one it plays a plain port: ``plain_reply`` is sent after the first bytes arrive
    (empty: just close).
    """

    def __init__(self, context: ssl.SSLContext | None, plain_reply: bytes = b"") -> None:
        self.context = context
        self.plain_reply = plain_reply
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(TIMEOUT)
                with contextlib.suppress(OSError):  # handshake failures are what some tests want
                    self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        context = self.context
        if context is None:
            conn.recv(4096)
            if self.plain_reply:
                conn.sendall(self.plain_reply)
            return
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"AMT")
            tls.recv(1)  # until the client closes

    def close(self) -> None:
        self._stop.set()
        self._thread.join(TIMEOUT)
        self._listener.close()


@contextlib.contextmanager
def serving(context: ssl.SSLContext | None, plain_reply: bytes = b"") -> Iterator[Server]:
    server = Server(context, plain_reply)
    try:
        yield server
    finally:
        server.close()


@dataclass
class Handshake:
    der: bytes
    version: str
    cipher: str
    greeting: bytes


async def connect(port: int, context: ssl.SSLContext) -> Handshake:
    """Handshake as ``transport/tcp.py`` does, read the server's greeting, close."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"), TIMEOUT
    )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = peer_certificate(ssl_object)
        greeting = await asyncio.wait_for(reader.readexactly(3), TIMEOUT)
        return Handshake(der, ssl_object.version() or "", ssl_object.cipher()[0], greeting)
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), TIMEOUT)


async def failed_handshake(port: int, context: ssl.SSLContext) -> OSError:
    with pytest.raises(OSError) as info:
        await connect(port, context)
    return info.value


def der_of(cert: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(cert.read_text())


def tls10_only(context: ssl.SSLContext) -> ssl.SSLContext:
    """Cap a context at TLS 1.0 (Python warns about choosing TLS 1.0; the test means it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.maximum_version = ssl.TLSVersion.TLSv1
    return context


@pytest.fixture
def device(tmp_path: Path) -> tuple[Path, Path]:
    return ensure_self_signed(tmp_path / "device")


@pytest.fixture
def known(tmp_path: Path) -> KnownHosts:
    return KnownHosts(tmp_path / "config" / "known_hosts")


# -- the certificate --------------------------------------------------------------------------


def test_certificate_is_made_once_and_kept(tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path / "state")
    first = fingerprint(der_of(cert))

    again_cert, again_key = ensure_self_signed(tmp_path / "state", common_name="other-name")

    assert (again_cert, again_key) == (cert, key)
    assert (cert.name, key.name) == (CERT_FILE_NAME, KEY_FILE_NAME)
    assert fingerprint(der_of(again_cert)) == first
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700


def test_certificate_looks_like_amt_provisioning_certificate(device: tuple[Path, Path]) -> None:
    cert = x509.load_pem_x509_certificate(device[0].read_bytes())
    key = cert.public_key()

    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048
    assert cert.subject.rfc4514_string() == "CN=amt-sim"
    assert cert.issuer == cert.subject
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=3640) < lifetime < datetime.timedelta(days=3660)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }


def test_deleted_certificate_is_replaced_by_a_new_one(tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path)
    old = fingerprint(der_of(cert))
    cert.unlink()

    cert, key = ensure_self_signed(tmp_path)

    assert fingerprint(der_of(cert)) != old
    assert key.stat().st_mode & 0o777 == 0o600


def test_fingerprint_forms_match_what_other_tools_print(device: tuple[Path, Path]) -> None:
    der = der_of(device[0])
    digest = x509.load_der_x509_certificate(der).fingerprint(hashes.SHA256())

    assert fingerprint(der) == "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
    assert len(fingerprint(der)) == len("SHA256:") + 43
    assert fingerprint_hex(der) == ":".join(f"{b:02X}" for b in digest)


def test_unreadable_certificate_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "cert.pem"
    bad.write_text("not a certificate")

    with pytest.raises(ConfigError, match="delete both files"):
        server_context(bad, bad)


def test_missing_cafile_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="-C"):
        client_context(cafile=tmp_path / "nope.pem")


# -- contexts ------------------------------------------------------------------------------------


def test_client_context_trusts_nothing_by_itself() -> None:
    plain, legacy = client_context(), client_context(legacy=True)

    assert not plain.check_hostname and plain.verify_mode == ssl.CERT_NONE
    assert plain.minimum_version == ssl.TLSVersion.TLSv1_2
    assert legacy.minimum_version == ssl.TLSVersion.TLSv1
    assert legacy.options & 0x4  # SSL_OP_LEGACY_SERVER_CONNECT: old firmware lacks RFC 5746
    assert not plain.options & 0x4


async def test_client_connects_and_sees_the_device_certificate(device: tuple[Path, Path]) -> None:
    with serving(server_context(*device)) as server:
        result = await connect(server.port, client_context())

    assert result.greeting == b"AMT"
    assert result.der == der_of(device[0])
    assert fingerprint(result.der) == fingerprint(der_of(device[0]))
    assert result.version in {"TLSv1.2", "TLSv1.3"}


async def test_meshcentral_rsa_only_cipher_list_connects(device: tuple[Path, Path]) -> None:
    mesh = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    mesh.check_hostname = False
    mesh.verify_mode = ssl.CERT_NONE
    mesh.set_ciphers(MESHCENTRAL_CIPHERS)
    mesh.maximum_version = ssl.TLSVersion.TLSv1_2

    with serving(server_context(*device)) as server:
        result = await connect(server.port, mesh)

    assert result.version == "TLSv1.2"
    assert result.cipher.startswith("AES")  # RSA key exchange: no ECDHE/DHE prefix


def test_server_asks_for_no_client_certificate(device: tuple[Path, Path]) -> None:
    assert server_context(*device).verify_mode == ssl.CERT_NONE


async def test_legacy_mode_reaches_tls10_only_firmware(device: tuple[Path, Path]) -> None:
    old_firmware = tls10_only(server_context(*device, legacy=True))

    with serving(old_firmware) as server:
        refused = await failed_handshake(server.port, client_context())
        result = await connect(server.port, client_context(legacy=True))

    assert str(describe_ssl_error(refused, "127.0.0.1", server.port)) == (
        f"127.0.0.1:{server.port} accepts only TLS 1.0/1.1 (old AMT firmware): retry with --tls-legacy."
    )
    assert result.version == "TLSv1"
    assert result.greeting == b"AMT"


# -- pinning over a real connection ---------------------------------------------------------------


async def test_trust_on_first_use_then_pin_then_mismatch(
    tmp_path: Path, device: tuple[Path, Path], known: KnownHosts
) -> None:
    questions: list[str] = []

    def ask(answer: bool) -> Callable[[str], bool]:
        def _ask(question: str) -> bool:
            questions.append(question)
            return answer

        return _ask

    with serving(server_context(*device)) as server:
        port = server.port
        der = (await connect(port, client_context())).der
        fp = fingerprint(der)

        # unknown, nobody to ask
        with pytest.raises(TlsUnknownCertificate) as unknown:
            verify_pin(known, "127.0.0.1", port, der, accept_new=False, ask=None)
        assert fp in str(unknown.value)
        assert "--accept-new" in str(unknown.value) and "-C CAFILE" in str(unknown.value)

        # unknown, the user says no: nothing recorded
        with pytest.raises(TlsUnknownCertificate):
            verify_pin(known, "127.0.0.1", port, der, accept_new=False, ask=ask(False))
        assert known.lookup("127.0.0.1", port) is None
        assert questions[-1] == (
            f"The TLS certificate of 127.0.0.1:{port} is not known. Fingerprint {fp}. "
            "Trust it and remember it?"
        )

        # unknown, the user says yes: recorded
        assert verify_pin(known, "127.0.0.1", port, der, accept_new=False, ask=ask(True)) == fp
        assert known.lookup("127.0.0.1", port) == fp

        # second connection: the pin matches, nobody is asked
        asked = len(questions)
        der_again = (await connect(port, client_context())).der
        assert verify_pin(known, "127.0.0.1", port, der_again, accept_new=False, ask=ask(False)) == fp
        assert len(questions) == asked

        # the device gets a new certificate
        device[0].unlink()
        server.context = server_context(*ensure_self_signed(device[0].parent))
        new_der = (await connect(port, client_context())).der
        new_fp = fingerprint(new_der)
        assert new_fp != fp
        with pytest.raises(TlsPinMismatch) as mismatch:
            verify_pin(known, "127.0.0.1", port, new_der, accept_new=True, ask=ask(True))

    message = str(mismatch.value)
    assert fp in message and new_fp in message
    assert f"amtterm known-hosts remove 127.0.0.1:{port}" in message
    assert message.count(". ") == 0  # one sentence
    assert known.lookup("127.0.0.1", port) == fp  # accept_new never overrides a pin

    # the user follows the advice
    assert forget("127.0.0.1", port, path=known.path)
    assert verify_pin(known, "127.0.0.1", port, new_der, accept_new=True, ask=None) == new_fp
    assert known.lookup("127.0.0.1", port) == new_fp


async def test_accept_new_records_without_asking(device: tuple[Path, Path], known: KnownHosts) -> None:
    def never(question: str) -> bool:
        raise AssertionError("asked although --accept-new was given")

    with serving(server_context(*device)) as server:
        der = (await connect(server.port, client_context())).der

    assert verify_pin(known, "127.0.0.1", server.port, der, accept_new=True, ask=never) == fingerprint(der)
    assert known.lookup("127.0.0.1", server.port) == fingerprint(der)


# -- CA file ----------------------------------------------------------------------------------------


async def test_cafile_verifies_the_right_certificate(device: tuple[Path, Path]) -> None:
    with serving(server_context(*device)) as server:
        result = await connect(server.port, client_context(cafile=device[0]))

    assert result.greeting == b"AMT"


async def test_cafile_refuses_a_certificate_it_did_not_sign(
    tmp_path: Path, device: tuple[Path, Path]
) -> None:
    other_ca, _ = ensure_self_signed(tmp_path / "other", common_name="other-ca")

    with serving(server_context(*device)) as server:
        exc = await failed_handshake(server.port, client_context(cafile=other_ca))

    error = describe_ssl_error(exc, "127.0.0.1", server.port, cafile=other_ca)
    assert isinstance(error, TlsError)
    assert str(error).startswith(
        f"The TLS certificate of 127.0.0.1:{server.port} is not signed by {other_ca}"
    )


# -- error sentences from real failures -----------------------------------------------------------


async def test_plain_port_answering_gives_did_not_speak_tls() -> None:
    with serving(None, plain_reply=b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") as server:
        exc = await failed_handshake(server.port, client_context())

    assert str(describe_ssl_error(exc, "127.0.0.1", server.port)) == (
        f"127.0.0.1:{server.port} did not speak TLS: is it the plain port? use -P for port 16994."
    )


async def test_port_closing_during_handshake_suggests_legacy_and_plain() -> None:
    with serving(None) as server:
        exc = await failed_handshake(server.port, client_context())

    message = str(describe_ssl_error(exc, "127.0.0.1", server.port))
    assert message.startswith(f"127.0.0.1:{server.port} closed the connection during the TLS handshake")
    assert "--tls-legacy" in message and "-P" in message


async def test_no_shared_cipher_suggests_legacy(device: tuple[Path, Path]) -> None:
    modern_only = server_context(*device)
    modern_only.set_ciphers("ECDHE+AESGCM")
    modern_only.maximum_version = ssl.TLSVersion.TLSv1_2
    rsa_only = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    rsa_only.check_hostname = False
    rsa_only.verify_mode = ssl.CERT_NONE
    rsa_only.set_ciphers(MESHCENTRAL_CIPHERS)
    rsa_only.maximum_version = ssl.TLSVersion.TLSv1_2

    with serving(modern_only) as server:
        exc = await failed_handshake(server.port, rsa_only)

    assert "retry with --tls-legacy" in str(describe_ssl_error(exc, "127.0.0.1", server.port))


def test_ipv6_endpoints_are_bracketed_in_sentences() -> None:
    exc = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    exc.reason = "WRONG_VERSION_NUMBER"

    assert str(describe_ssl_error(exc, "::1", 16995)).startswith("[::1]:16995 did not speak TLS")


def test_unknown_ssl_error_still_gives_one_sentence() -> None:
    exc = ssl.SSLError(1, "[SSL: SOMETHING_NEW] something new")
    exc.reason = "SOMETHING_NEW"

    message = str(describe_ssl_error(exc, "amt.example", 16995))
    assert message.startswith("The TLS handshake with amt.example:16995 failed (something_new)")
    assert "\n" not in message

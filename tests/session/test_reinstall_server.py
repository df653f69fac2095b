"""The HTTPS image server of ``amtterm reinstall`` on a real loopback TLS socket.

Judged by clients no one here wrote: Python's ssl + http.client and curl, each verifying the
server's certificate with amtterm's CA only, as the firmware does with AMT's trusted roots.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import os
import shutil
import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from amtterm.errors import ConfigError
from amtterm.session.boot_authority import BootAuthority
from amtterm.session.image_server import (
    ImageProgress,
    ImageServer,
    check_image,
    parse_serve_on,
)
from amtterm.transport.local_address import local_address_towards

pytestmark = pytest.mark.timeout(60)

SIZE = 3 * 1024 * 1024 + 123  # more than one chunk, not a multiple of one


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "install image.iso"
    path.write_bytes(os.urandom(SIZE))
    os.utime(path, (1_600_000_000, 1_600_000_000))
    path.chmod(0o444)
    return path


@pytest.fixture
def authority(tmp_path: Path) -> BootAuthority:
    return BootAuthority.load(tmp_path / "state" / "https-boot")


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def fetch(
    url_host: str, port: int, path: str, cafile: Path, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """One GET with Python's ssl verifying the chain and the IP address against the CA."""
    context = ssl.create_default_context(cafile=str(cafile))
    connection = http.client.HTTPSConnection(url_host, port, context=context, timeout=20)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


async def started(
    image: Path, authority: BootAuthority, progress: list[ImageProgress] | None = None
) -> ImageServer:
    server = ImageServer(
        image,
        "127.0.0.1",
        0,
        authority=authority,
        on_progress=progress.append if progress is not None else None,
    )
    await server.start()
    return server


async def test_a_range_request_is_served_with_a_chain_that_verifies(
    image: Path, authority: BootAuthority
) -> None:
    before = fingerprint(image)
    data = image.read_bytes()
    server = await started(image, authority)
    try:
        assert server.url == f"https://127.0.0.1:{server.port}/install%20image.iso"
        status, headers, body = await asyncio.to_thread(
            fetch,
            "127.0.0.1",
            server.port,
            server.path,
            authority.pem_path,
            {"Range": "bytes=1048570-2097160"},
        )
        assert status == 206
        assert headers["content-range"] == f"bytes 1048570-2097160/{SIZE}"
        assert body == data[1048570:2097161]
        status, headers, body = await asyncio.to_thread(
            fetch, "127.0.0.1", server.port, server.path, authority.pem_path, {"Range": "bytes=-100"}
        )
        assert (status, body) == (206, data[-100:])
        status, _, _ = await asyncio.to_thread(
            fetch, "127.0.0.1", server.port, server.path, authority.pem_path, {"Range": f"bytes={SIZE}-"}
        )
        assert status == 416
        status, _, _ = await asyncio.to_thread(
            fetch, "127.0.0.1", server.port, "/other.iso", authority.pem_path, {}
        )
        assert status == 404
        assert not server.progress().complete  # only parts were sent
    finally:
        await server.close()
    assert fingerprint(image) == before


async def test_a_client_trusting_another_ca_is_refused(
    image: Path, authority: BootAuthority, tmp_path: Path
) -> None:
    other = BootAuthority.load(tmp_path / "elsewhere")
    server = await started(image, authority)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.to_thread(fetch, "127.0.0.1", server.port, server.path, other.pem_path, {})
    finally:
        await server.close()


async def test_curl_fetches_the_whole_image_and_a_range_verified_with_the_ca(
    image: Path, authority: BootAuthority, tmp_path: Path
) -> None:
    curl = shutil.which("curl")
    assert curl is not None, "curl is in .ci/run's APT_PACKAGES"
    before = fingerprint(image)
    progress: list[ImageProgress] = []
    server = await started(image, authority, progress)
    whole, part = tmp_path / "whole", tmp_path / "part"
    try:
        for extra, out in (([], whole), (["--range", "10-19"], part)):
            proc = await asyncio.create_subprocess_exec(
                curl,
                "--silent",
                "--show-error",
                "--fail",
                "--cacert",
                str(authority.pem_path),
                *extra,
                "--output",
                str(out),
                server.url,
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await proc.communicate()
            assert proc.returncode == 0, err.decode()
        last = server.progress()
    finally:
        await server.close()
    assert whole.read_bytes() == image.read_bytes()
    assert part.read_bytes() == image.read_bytes()[10:20]
    assert last.complete and last.covered == SIZE and last.requests == 2
    assert last.bytes_sent == SIZE + 10
    assert any(not p.complete and 0 < p.covered < SIZE for p in progress)  # seen while it went
    assert fingerprint(image) == before


async def test_the_ca_is_reused_and_the_server_certificate_names_the_address(
    image: Path, authority: BootAuthority, tmp_path: Path
) -> None:
    again = BootAuthority.load(tmp_path / "state" / "https-boot")
    assert again.der == authority.der
    assert oct(authority.directory.joinpath("ca.key").stat().st_mode & 0o777) == "0o600"
    cert_path, _ = authority.issue("127.0.0.5")
    leaf = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.5"]
    assert leaf.issuer == authority.certificate.subject


async def test_a_port_in_use_is_one_sentence(image: Path, authority: BootAuthority) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ImageServer(image, "127.0.0.1", port, authority=authority)
        with pytest.raises(
            ConfigError, match=rf"^Port {port} on 127.0.0.1 is in use: give a free one with --serve-on\.$"
        ):
            await server.start()


async def test_an_address_not_of_this_machine_is_one_sentence(image: Path, authority: BootAuthority) -> None:
    server = ImageServer(image, "192.0.2.1", 0, authority=authority)  # TEST-NET-1: binding dials nothing
    with pytest.raises(ConfigError, match=r"^Cannot serve the image on 192\.0\.2\.1:0 .*--serve-on\.$"):
        await server.start()


@pytest.mark.parametrize(
    ("make", "sentence"),
    [
        (lambda p: None, "The image {} does not exist; check the path."),
        (lambda p: p.write_bytes(b""), "The image {} is empty."),
        (lambda p: p.mkdir(), "{} is a directory, not an image; give the image file."),
        (lambda p: os.mkfifo(p), "{} is not a regular file; give an ISO or a .efi file."),
    ],
    ids=["missing", "empty", "directory", "fifo"],
)
def test_an_unusable_image_is_one_sentence(tmp_path: Path, make: object, sentence: str) -> None:
    path = tmp_path / "x.efi"
    make(path)  # type: ignore[operator]
    with pytest.raises(ConfigError) as caught:
        check_image(path)
    assert str(caught.value) == sentence.format(path)


def test_serve_on_is_checked_before_anything() -> None:
    assert parse_serve_on("127.0.0.7:8443") == ("127.0.0.7", 8443)
    assert parse_serve_on("[::1]:0") == ("::1", 0)
    for bad in ("8443", "127.0.0.1", "127.0.0.1:http", "host.invalid:80", "127.0.0.1:70000"):
        with pytest.raises(ConfigError, match=r"^--serve-on "):
            parse_serve_on(bad)


def test_the_local_address_towards_a_loopback_device() -> None:
    assert local_address_towards("127.0.0.9") == "127.0.0.1"


async def test_a_firmware_without_elliptic_curves_is_served(image: Path, authority: BootAuthority) -> None:
    """TLS 1.2, RSA key exchange, RSA certificates only: what Debian 12's OVMF offers."""
    server = ImageServer(image, "127.0.0.1", 0, authority=authority, url_host="10.0.2.2")
    await server.start()

    def fetch_as_firmware() -> tuple[str, bytes]:
        context = ssl.create_default_context(cafile=str(authority.pem_path))
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("AES128-GCM-SHA256:AES256-SHA256")
        context.check_hostname = False  # the name is checked below: the URL's host is 10.0.2.2
        connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=20)
        try:
            connection.request("GET", server.path)
            body = connection.getresponse().read()
            sock = connection.sock
            assert isinstance(sock, ssl.SSLSocket)
            cipher = sock.cipher()
            assert cipher is not None
            return cipher[0], body
        finally:
            connection.close()

    try:
        assert server.url.startswith("https://10.0.2.2:")
        cipher, body = await asyncio.to_thread(fetch_as_firmware)
    finally:
        await server.close()
    assert cipher == "AES128-GCM-SHA256" and body == image.read_bytes()
    leaf = x509.load_pem_x509_certificates((authority.directory / "server.pem").read_bytes())[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["10.0.2.2", "127.0.0.1"]

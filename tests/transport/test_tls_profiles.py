"""Each `amtterm sim --amt-version` offers that generation's TLS, as Wireshark's dissector reads it.

AMT before 12 speaks TLS 1.0/1.1 with CBC suites, 12 to 14 adds TLS 1.2 and drops 1.0, 15 to 20
speak TLS 1.2 only, and TLS 1.3 comes with AMT 21 (Intel's AMT SDK, "End of Support of TLS 1.0
and TLS 1.1"). The handshakes below run over real loopback sockets to a separate `amtterm sim`
process on both TLS ports (redirection and WS-Man); every byte that crossed the socket is then
written to a pcap file and handed to `tshark` (Debian's package, in .ci/run), which reports the
ServerHello's version, suite and extensions. The client side also checks what a user notices:
`amtterm sol` / `amtterm power` without --tls-legacy fail with one sentence that names it.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from amtterm.transport.tls import client_context
from tests.support.simproc import SimProcess, amtterm_argv, start_sim

TLS_1_0, TLS_1_1, TLS_1_2, TLS_1_3 = "0x0301", "0x0302", "0x0303", "0x0304"
RENEGOTIATION_INFO, EXTENDED_MASTER_SECRET, SESSION_TICKET, ENCRYPT_THEN_MAC = 65281, 23, 35, 22
SUPPORTED_VERSIONS = 43


def handshake(port: int, *, legacy: bool) -> list[tuple[bool, bytes]]:
    """Run a TLS handshake over a plain loopback socket and keep every byte: (from_server, data)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client_context(legacy=legacy).wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    chunks: list[tuple[bool, bytes]] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        while True:
            try:
                tls.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            data = outgoing.read()
            if data:
                sock.sendall(data)
                chunks.append((False, data))
            if done:
                return chunks
            received = sock.recv(65536)
            if not received:
                raise ConnectionAbortedError(
                    f"the server on {port} closed the connection during the handshake"
                )
            chunks.append((True, received))
            incoming.write(received)


def write_pcap(path: Path, port: int, chunks: list[tuple[bool, bytes]]) -> None:
    """One TCP conversation 127.0.0.1:40000 <-> 127.0.0.1:port, as raw IPv4 packets (linktype 101)."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
    seq = {True: 1, False: 1}
    loopback = socket.inet_aton("127.0.0.1")
    stamp = 0
    for from_server, data in chunks:
        for start in range(0, len(data), 1400):
            piece = data[start : start + 1400]
            src, dst = (port, 40000) if from_server else (40000, port)
            tcp = struct.pack(
                "!HHIIBBHHH", src, dst, seq[from_server], seq[not from_server], 5 << 4, 0x18, 65535, 0, 0
            )
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(piece), 0, 0, 64, 6, 0, loopback, loopback)
            packet = ip + tcp + piece
            stamp += 1
            out += struct.pack("<IIII", 0, stamp, len(packet), len(packet)) + packet
            seq[from_server] += len(piece)
    path.write_bytes(bytes(out))


def server_hello(tmp_path: Path, port: int) -> dict[str, str]:
    """Version, suite and extension types of the ServerHello `tshark` finds in a legacy handshake."""
    pcap = tmp_path / f"handshake-{port}.pcap"
    write_pcap(pcap, port, handshake(port, legacy=True))
    fields = [
        "tls.handshake.version",
        "tls.handshake.ciphersuite",
        "tls.handshake.extension.type",
        "tls.handshake.extensions.supported_version",
    ]
    result = subprocess.run(
        [
            "tshark",
            "-n",
            "-r",
            str(pcap),
            "-d",
            f"tcp.port=={port},tls",
            "-Y",
            "tls.handshake.type == 2",
            "-T",
            "fields",
            "-E",
            "separator=;",
            *[a for f in fields for a in ("-e", f)],
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result
    return dict(zip(["version", "suite", "extensions", "supported"], lines[0].split(";"), strict=True))


CBC_SUITES = {"0xc013", "0xc014", "0x002f", "0x0035"}  # (ECDHE-)RSA with AES-128/256-CBC-SHA


@pytest.fixture(scope="module")
def tshark() -> str:
    path = shutil.which("tshark")
    assert path is not None, "tshark is missing: install Debian's tshark package (bash .ci/run does)"
    return path


@pytest.fixture
def amt11(env: dict[str, str]) -> Iterator[SimProcess]:
    process = start_sim(env, "--amt-version", "11.8", plain=False, wsman=True)
    yield process
    process.stop()


@pytest.mark.parametrize(
    ("amt_version", "version", "tls13"),
    [("11.8", TLS_1_1, False), ("12.0", TLS_1_2, False), ("16.1", TLS_1_2, False), ("21.0", TLS_1_2, True)],
)
def test_each_generation_offers_its_tls(
    tshark: str, env: dict[str, str], tmp_path: Path, amt_version: str, version: str, tls13: bool
) -> None:
    sim = start_sim(env, "--amt-version", amt_version, plain=False, wsman=True)
    try:
        assert sim.tls_port is not None and sim.wsman_tls_port is not None
        hellos = [server_hello(tmp_path, port) for port in (sim.tls_port, sim.wsman_tls_port)]
    finally:
        sim.stop()
    for hello in hellos:
        extensions = {int(e) for e in hello["extensions"].split(",") if e}
        assert hello["version"] == version, hello
        if tls13:
            assert hello["supported"] == TLS_1_3 and SUPPORTED_VERSIONS in extensions, hello
            continue
        assert hello["supported"] == "" and SUPPORTED_VERSIONS not in extensions, hello
        if amt_version == "11.8":
            # CBC only, and none of the extensions old firmware never sends. renegotiation_info
            # stays: OpenSSL always answers it (README, "TLS of the simulated generations").
            assert hello["suite"] in CBC_SUITES, hello
            assert extensions <= {RENEGOTIATION_INFO, 11}, hello
            assert not extensions & {EXTENDED_MASTER_SECRET, SESSION_TICKET, ENCRYPT_THEN_MAC}, hello


def test_amt11_refuses_tls_1_2_clients_on_both_ports(amt11: SimProcess) -> None:
    """A modern client is refused by both TLS ports of the 11.8 profile."""
    for port in (amt11.tls_port, amt11.wsman_tls_port):
        assert port is not None
        with pytest.raises((ssl.SSLError, ConnectionError)):
            handshake(port, legacy=False)


def run(env: dict[str, str], sim: SimProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*amtterm_argv(), *args],
        env=dict(env, AMT_PASSWORD=sim.password),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("amtterm: warning:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_old_firmware_needs_tls_legacy_and_says_so(amt11: SimProcess, env: dict[str, str]) -> None:
    wsman = ["--accept-new", "--wsman-port", str(amt11.wsman_tls_port), "--redir-port", str(amt11.tls_port)]
    sol = run(env, amt11, "sol", "--accept-new", "127.0.0.1", str(amt11.tls_port))
    power = run(env, amt11, "power", "127.0.0.1", "status", *wsman)
    for result in (sol, power):
        assert result.returncode == 1
        sentence = one_sentence(result)
        assert sentence.startswith("amtterm: 127.0.0.1:") and "retry with --tls-legacy" in sentence, sentence

    power = run(env, amt11, "power", "127.0.0.1", "status", "--tls-legacy", *wsman)
    assert power.returncode == 0, power.stderr
    assert power.stdout.startswith("127.0.0.1: "), power.stdout


def test_the_hosts_file_of_an_amt11_sim_works_without_tls_legacy(env: dict[str, str], tmp_path: Path) -> None:
    """`--write-hosts` of old firmware names the plain ports, so the file works as written."""
    hosts = tmp_path / "hosts.toml"
    sim = start_sim(env, "--amt-version", "11.8", "--write-hosts", str(hosts), wsman=True)
    try:
        result = run(env, sim, "power", "status", "--all", "--hosts-file", str(hosts))
    finally:
        sim.stop()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] in {"on", "off"}, result.stdout
    assert "tls = false" in hosts.read_text()

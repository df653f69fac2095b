"""`amtterm reinstall` as a user runs it, against the simulator over loopback.

* AMT 16.1 over TLS WS-Man (TLS 1.2, as that generation speaks): the simulated device runs in
  this process so that the test can watch its trusted-root store while the command runs, with a
  stand-in UEFI firmware behind it that does what the real one does with the boot the device
  hands it: fetch the URL over HTTPS trusting exactly the roots AMT synced to it (Python's ssl
  verifying the chain and the IP address). The real firmware (OVMF) is in tests/real.
* AMT 11.8 (a separate `amtterm sim`): no One Click Recovery, so the ISO goes over IDE-R, and the
  console output shown by the command is the simulated BIOS booting from it.
* Bad input is one sentence each, before anything is started.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import ssl
import subprocess
import threading
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from amtterm.sim.app import RunningSim, SimHost, SimOptions, start_sim
from amtterm.sim.host import HttpsBoot, UefiHost
from tests.redir.eltorito import build_iso
from tests.support.simproc import amtterm_argv, isolated_env
from tests.support.simproc import start_sim as start_sim_process

pytestmark = pytest.mark.timeout(90)

PASSWORD = "Sim-Pass-123!"
REINSTALL = [*amtterm_argv(), "reinstall"]


@dataclass
class StandInFirmware:
    """What a UEFI firmware does with an HTTPS boot: fetch the URL trusting the synced roots, and
    tell the device's event log how it went (through ``report``, the host's boot-event hook)."""

    boots: list[HttpsBoot | None] = field(default_factory=list)
    fetched: bytes | None = None
    error: str | None = None
    report: Callable[[str, str], None] | None = None
    #: PEM the firmware trusts instead of the synced roots (a BIOS that keeps its own list).
    trust: str | None = None

    def set_https_boot(self, boot: HttpsBoot | None) -> None:
        self.boots.append(boot)
        if boot is not None:
            loop = asyncio.get_running_loop()
            threading.Thread(target=self._fetch, args=(boot, loop), daemon=True).start()

    def _fetch(self, boot: HttpsBoot, loop: asyncio.AbstractEventLoop) -> None:
        pem = "".join(
            x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()
            for der in boot.trusted_roots
        )
        try:
            context = ssl.create_default_context(cadata=self.trust or pem or None)
            with urllib.request.urlopen(boot.url, context=context, timeout=20) as response:
                self.fetched = response.read()
        except (OSError, ssl.SSLError, ValueError) as exc:
            self.error = str(exc)
            # The device's event log keys on the words (sim/wsman/eventlog.py): a certificate
            # verification failure reads as "the firmware refused the server certificate".
            event = ("https-boot-failed", f"HTTPS boot failed: {exc}")
        else:
            event = ("https-boot-ok", f"HTTPS boot of {boot.url}")
        if self.report is not None:
            loop.call_soon_threadsafe(self.report, *event)


@dataclass
class Modern:
    sim: RunningSim
    host: SimHost
    firmware: StandInFirmware
    env: dict[str, str]

    def argv(self, image: Path, *extra: str) -> list[str]:
        return [
            *REINSTALL,
            "127.0.0.1",
            "--image",
            str(image),
            "--accept-new",
            "--wsman-port",
            str(self.host.port("wsman", True)),
            "--redir-port",
            str(self.host.port("redirection", True)),
            *extra,
        ]


@pytest.fixture
async def modern(tmp_path: Path) -> AsyncIterator[Modern]:
    """`amtterm sim --amt-version 16.1` in this process, TLS only, with a UEFI firmware stand-in."""
    sim = await start_sim(
        SimOptions(
            redir_port=None,
            redir_tls_port=0,
            wsman_tls_port=0,
            password=PASSWORD,
            amt_version=(16, 1),
            state_dir=tmp_path / "sim",
        )
    )
    host = sim.hosts[0]
    firmware = StandInFirmware(report=host.device.host.on_boot_event)  # type: ignore[attr-defined]
    # The synthetic PC gets a UEFI firmware's one extra duty (UefiHost), nothing else changes.
    host.device.host.set_https_boot = firmware.set_https_boot  # type: ignore[attr-defined]
    assert isinstance(host.device.host, UefiHost)
    try:
        yield Modern(sim, host, firmware, dict(isolated_env(tmp_path), AMT_PASSWORD=PASSWORD))
    finally:
        await sim.close()


def never_fetches(modern: Modern) -> None:
    """A firmware that takes the boot but never fetches (it cannot reach the server, say)."""
    modern.host.device.host.set_https_boot = modern.firmware.boots.append  # type: ignore[attr-defined]


@pytest.fixture
def efi(tmp_path: Path) -> Path:
    path = tmp_path / "boot.efi"
    path.write_bytes(b"MZ" + os.urandom(3_000_000))
    os.utime(path, (1_600_000_000, 1_600_000_000))
    return path


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


async def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


async def test_https_boot_serves_the_image_with_the_ca_in_the_trusted_roots_only_meanwhile(
    modern: Modern, efi: Path
) -> None:
    before = fingerprint(efi)
    state = modern.host.state
    proc = await asyncio.create_subprocess_exec(
        *modern.argv(efi, "--settle", "1", "--timeout", "60"),
        env=modern.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    roots_during: dict[str, bytes] = {}
    communicate = asyncio.ensure_future(proc.communicate())
    while not communicate.done():
        roots_during = roots_during or dict(state.ocr.trusted_roots)
        await asyncio.wait({communicate}, timeout=0.05)
    out, err = (part.decode(errors="replace") for part in communicate.result())
    assert proc.returncode == 0, err
    ca = x509.load_pem_x509_certificate(
        (Path(modern.env["AMTTERM_STATE_DIR"]) / "https-boot" / "ca.pem").read_bytes()
    )
    ca_der = ca.public_bytes(Encoding.DER)
    # During the job: amtterm's CA in AMT's trusted roots, synced to the firmware with the boot.
    assert list(roots_during.values()) == [ca_der]
    [boot] = modern.firmware.boots
    assert boot is not None and boot.trusted_roots == (ca_der,)
    url = boot.url
    assert url.startswith("https://127.0.0.1:") and url.endswith("/boot.efi")
    assert f"Serving {efi} at {url}." in err
    # The firmware got the whole image, verified against that CA.
    assert modern.firmware.error is None
    assert modern.firmware.fetched == efi.read_bytes()
    assert "127.0.0.1 has fetched the whole image (3.0 MB" in err
    # After: the CA gone, the boot settings cleared, OCR off again as it was.
    assert state.ocr.trusted_roots == {}
    assert state.ocr.parameters == "" and state.ocr.boot_service_state == 32768
    assert err.rstrip().splitlines()[-2] == (
        "amtterm: Cleared 127.0.0.1's HTTPS boot settings and removed amtterm's CA from its trusted roots."
    )
    assert "HTTPS [fetched] 3.000 of 3.000 MB (100%)" in err.splitlines()[-1]
    assert "DemoTech BIOS" in out  # the console's SOL output, attached before the reset
    assert "Traceback" not in err
    assert fingerprint(efi) == before


async def test_a_port_in_use_is_one_sentence_and_nothing_is_set(modern: Modern, efi: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = await run(modern.argv(efi, "--serve-on", f"127.0.0.1:{port}"), modern.env)
    assert code == 2
    assert err == f"amtterm: Port {port} on 127.0.0.1 is in use: give a free one with --serve-on.\n"
    assert modern.host.state.ocr.trusted_roots == {} and modern.firmware.boots == []


async def test_the_timeout_cleans_up(modern: Modern, efi: Path) -> None:
    never_fetches(modern)
    code, _, err = await run(modern.argv(efi, "--timeout", "3", "--no-sol"), modern.env)
    assert code == 1, err
    assert "amtterm: Gave up after 3 s (--timeout).\n" in err
    assert "Cleared 127.0.0.1's HTTPS boot settings and removed amtterm's CA" in err
    assert err.endswith("amtterm: 127.0.0.1 did not finish within --timeout 3 s.\n")
    assert modern.host.state.ocr.trusted_roots == {} and modern.host.state.ocr.parameters == ""


@pytest.mark.parametrize(
    ("extra", "sentence"),
    [
        (["--serve-on", "localhost:80"], "--serve-on needs an IP address the device can reach"),
        (["--serve-on", "8443"], "--serve-on takes ADDRESS:PORT"),
        (["--method", "ider"], "boot.efi is a UEFI executable: IDE-R serves only an ISO as its CD-ROM."),
        (["-J", "bastion.invalid"], "Through a jump host the PC cannot reach this machine by itself"),
        (["--method", "bogus"], "The method must be one of auto, https, ider, not 'bogus'."),
    ],
)
def test_bad_options_are_one_sentence_before_any_connection(
    tmp_path: Path, efi: Path, extra: list[str], sentence: str
) -> None:
    env = dict(isolated_env(tmp_path), AMT_PASSWORD=PASSWORD)
    result = subprocess.run(
        [*REINSTALL, "pc.invalid", "--image", str(efi), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and sentence in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("content", "sentence"), [(None, "does not exist; check the path."), (b"", "is empty.")]
)
def test_an_unusable_image_is_one_sentence(tmp_path: Path, content: bytes | None, sentence: str) -> None:
    image = tmp_path / "x.iso"
    if content is not None:
        image.write_bytes(content)
    result = subprocess.run(
        [*REINSTALL, "pc.invalid", "--image", str(image)],
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr == f"amtterm: The ISO image {image} {sentence}\n"  # as `amtterm ider` says


def test_without_ocr_an_iso_goes_over_ider_and_the_console_shows_the_boot(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    iso = tmp_path / "boot.iso"
    iso.write_bytes(build_iso(volume_id="REINSTALL", total_blocks=64))
    before = fingerprint(iso)
    sim = start_sim_process(env, wsman=True, tls=False)  # AMT 11.8
    assert sim.plain_port is not None and sim.wsman_port is not None
    proc = subprocess.Popen(
        [
            *REINSTALL,
            "127.0.0.1",
            "--image",
            str(iso),
            "-P",
            "--redir-port",
            str(sim.plain_port),
            "--wsman-port",
            str(sim.wsman_port),
        ],
        env=dict(env, AMT_PASSWORD=sim.password),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        seen = b""
        while b"El Torito boot image loaded over IDE-R" not in seen:
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, seen
            seen += chunk
        assert b"Booting from IDE-R CD-ROM: REINSTALL" in seen
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        sim.stop()
    lines = err.splitlines()
    assert (
        lines[0]
        == "amtterm: HTTPS boot is not offered: AMT 11.8 has no One Click Recovery; using IDE-R instead."
    )
    assert f"amtterm: Serving {iso} to 127.0.0.1 over IDE-R; stop with Ctrl-C." in lines
    assert any("The machine boots into the IDE-R CD image with its text on SOL now" in line for line in lines)
    assert lines[-1] == "amtterm: interrupted"
    assert "Traceback" not in err
    assert fingerprint(iso) == before


async def test_on_a_terminal_ctrl_close_bracket_ends_the_job_and_cleans_up(modern: Modern, efi: Path) -> None:
    from tests.support.ptyproc import PtyProcess

    never_fetches(modern)
    term = PtyProcess(modern.argv(efi), env=modern.env)
    try:
        await asyncio.to_thread(term.expect, b"The console follows; quit with Ctrl-].", 30)
        await asyncio.to_thread(term.expect, b"DemoTech BIOS", 30)
        assert len(modern.host.state.ocr.trusted_roots) == 1
        term.send(b"\x1d")
        assert await asyncio.to_thread(term.wait, 30) == 0
    finally:
        term.close()
    shown = bytes(term.output)
    assert b"Cleared 127.0.0.1's HTTPS boot settings and removed amtterm's CA" in shown
    assert b"Traceback" not in shown
    assert b"HTTPS [waiting] 0.000 of 3.000 MB (0%)" in shown  # the firmware fetched nothing
    assert modern.firmware.fetched is None and len(modern.firmware.boots) == 1
    assert modern.host.state.ocr.trusted_roots == {} and modern.host.state.ocr.parameters == ""


async def test_ctrl_c_cleans_up(modern: Modern, efi: Path) -> None:
    never_fetches(modern)
    proc = await asyncio.create_subprocess_exec(
        *modern.argv(efi, "--no-sol"),
        env=modern.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    seen = b""
    while b"amtterm: Serving " not in seen:
        line = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert line, seen
        seen += line
    assert len(modern.host.state.ocr.trusted_roots) == 1
    proc.send_signal(signal.SIGINT)
    rest = await asyncio.wait_for(proc.stderr.read(), 30)
    assert await proc.wait() == 130
    err = (seen + rest).decode()
    assert "Cleared 127.0.0.1's HTTPS boot settings and removed amtterm's CA from its trusted roots." in err
    assert err.endswith("amtterm: interrupted\n") and "Traceback" not in err
    assert modern.host.state.ocr.trusted_roots == {} and modern.host.state.ocr.parameters == ""

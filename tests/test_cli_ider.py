"""`amtterm ider` against a real `amtterm sim` process over loopback.

The simulated BIOS reads the El Torito boot records of an ISO built here through IDE-R;
what is checked is what the user sees: the progress lines, the boot line on an attached
SOL console, one sentence for a bad image or a busy device, and an image left untouched.
"""

from __future__ import annotations

import hashlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redir.eltorito import build_iso, floppy_image
from tests.session.test_ider_job import IDER_DISABLED, missing
from tests.support.ptyproc import PtyProcess
from tests.support.simproc import SimProcess, amtterm_argv, start_sim

pytestmark = pytest.mark.timeout(60)


IDER = [*amtterm_argv(), "ider"]


def ider_args(sim: SimProcess, *extra: str) -> list[str]:
    assert sim.plain_port is not None and sim.wsman_port is not None
    return [
        *IDER,
        "127.0.0.1",
        "-P",
        "--redir-port",
        str(sim.plain_port),
        "--wsman-port",
        str(sim.wsman_port),
        *extra,
    ]


def run_ider(env: dict[str, str], sim: SimProcess, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ider_args(sim, *extra),
        env=dict(env, AMT_PASSWORD=sim.password),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def start_ider(env: dict[str, str], sim: SimProcess, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ider_args(sim, *extra),
        env=dict(env, AMT_PASSWORD=sim.password),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )


def wait_for_text(proc: subprocess.Popen[bytes], needle: str, timeout: float) -> str:
    """Read the process's stderr until ``needle`` shows up; return all read so far."""
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
            if needle.encode() in seen:
                return seen.decode()
    raise AssertionError(f"{needle!r} not seen; stderr was: {seen!r}")


def stop(proc: subprocess.Popen[bytes]) -> str:
    """Interrupt ``proc`` as Ctrl-C does and return the rest of its stderr."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    if proc.stderr is None or proc.stderr.closed:
        return ""
    with proc.stderr:
        return proc.stderr.read().decode(errors="replace")


@pytest.fixture
def iso(tmp_path: Path) -> Path:
    path = tmp_path / "boot.iso"
    path.write_bytes(build_iso(volume_id="IDER_TEST", total_blocks=64))
    os.utime(path, (1_600_000_000, 1_600_000_000))
    return path


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.fixture
def watched(env: dict[str, str]) -> Iterator[tuple[SimProcess, PtyProcess]]:
    """A simulator with WS-Man and an `amtterm sol` console on it, past the start of POST."""
    sim = start_sim(env, wsman=True, tls=False)
    assert sim.plain_port is not None
    console = PtyProcess(
        [*amtterm_argv(), "sol", "127.0.0.1", str(sim.plain_port), "-P"],
        env=dict(env, AMT_PASSWORD=sim.password),
    )
    try:
        console.expect(b"BIOS Version", timeout=20)  # powered on with the first console
        yield sim, console
    finally:
        console.send(b"\x1d")
        console.close()
        sim.stop()


def test_boot_serves_the_boot_image_and_the_console_shows_the_ider_boot(
    env: dict[str, str], iso: Path, watched: tuple[SimProcess, PtyProcess]
) -> None:
    before = fingerprint(iso)
    sim, console = watched
    ider = None
    try:
        mark = len(console.output)
        ider = start_ider(env, sim, "--cd", str(iso), "--boot", "--stall-after", "60")
        seen = wait_for_text(ider, "READ(10) LBA 20 x1", timeout=30)
        assert "The machine boots into the IDE-R CD image with its text on SOL now" in seen
        console.expect(b"Booting from IDE-R CD-ROM: IDER_TEST", timeout=30, since=mark)
        console.expect(b"El Torito boot image loaded over IDE-R", timeout=10, since=mark)
        console.expect(b"Booting from Hard Disk", timeout=10, since=mark)  # what the PC does next
        # A second `amtterm ider` is told BUSY, as one sentence.
        busy = run_ider(env, sim, "--cd", str(iso))
        assert busy.returncode != 0
        assert busy.stderr.count("\n") == 1, busy.stderr
        assert "is busy: another console holds its IDE-R session." in busy.stderr
        rest = seen + stop(ider)
        ider = None
        # The BIOS read the volume descriptors, the boot catalog and the boot image: 4 sectors.
        last = [line for line in rest.splitlines() if "IDE-R [" in line][-1]
        assert " 4 sectors" in last, rest
        assert "0.008 MB served" in last, rest
        assert "Traceback" not in rest
    finally:
        if ider is not None:
            stop(ider)
    assert fingerprint(iso) == before


def test_floppy_boot_reads_the_boot_sector_over_ider(
    env: dict[str, str], tmp_path: Path, watched: tuple[SimProcess, PtyProcess]
) -> None:
    floppy = tmp_path / "boot.img"
    floppy.write_bytes(floppy_image())
    before = fingerprint(floppy)
    sim, console = watched
    ider = None
    try:
        mark = len(console.output)
        ider = start_ider(env, sim, "--floppy", str(floppy), "--boot", "--stall-after", "60")
        seen = wait_for_text(ider, "READ(10) LBA 0 x1", timeout=30)
        assert "The machine boots into the IDE-R floppy image with its text on SOL now" in seen
        console.expect(b"Booting from Floppy... (Intel(R) AMT IDE-R)", timeout=30, since=mark)
        console.expect(b"Booting from IDE-R floppy: boot sector loaded over IDE-R", timeout=10, since=mark)
        console.expect(b"Booting from Hard Disk", timeout=10, since=mark)
    finally:
        if ider is not None:
            stop(ider)
    assert fingerprint(floppy) == before


def test_boot_without_consent_is_refused_before_any_ider_session(env: dict[str, str], iso: Path) -> None:
    sim = start_sim(env, "--control-mode", "client", wsman=True, tls=False)
    try:
        result = run_ider(env, sim, "--cd", str(iso), "--boot")
    finally:
        sim.stop()
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr  # no "serving ..." line: nothing was started
    assert "User consent is required" in result.stderr
    assert "'amtterm consent 127.0.0.1 request'" in result.stderr  # the host as typed, not "HOST"


def test_serving_without_boot_waits_for_a_reset_and_leaves_the_image_alone(
    env: dict[str, str], iso: Path
) -> None:
    before = fingerprint(iso)
    sim = start_sim(env, wsman=True, tls=False)
    ider = start_ider(env, sim, "--cd", str(iso), "--now")
    try:
        # Enabled "now": the simulated BIOS reads the boot records at once.
        seen = wait_for_text(ider, "READ(10) LBA 20 x1", timeout=30)
        assert "IDE-R [waiting]" in seen
        seen += stop(ider)
        assert "IDE-R [ended]" in seen
    finally:
        stop(ider)
        sim.stop()
    assert fingerprint(iso) == before


@pytest.mark.parametrize("kind", ["missing", "directory", "odd-size"])
def test_a_bad_image_is_one_sentence_and_no_connection(
    env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    if kind == "missing":
        image, expected = tmp_path / "nope.iso", "does not exist"
    elif kind == "directory":
        image, expected = tmp_path, "is a directory"
    else:
        image = tmp_path / "odd.iso"
        image.write_bytes(build_iso()[:-100])
        expected = "not a whole number of 2048-byte sectors"
    result = subprocess.run(
        [*IDER, "127.0.0.1", "-P", "--redir-port", "9", "--cd", str(image)],
        env=dict(env, AMT_PASSWORD="x"),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert expected in result.stderr
    assert result.stderr.startswith("amtterm: ")


# -- the same refusals as the IDE-R pane (tests/ui/test_ider_pane.py), sentence for sentence --------


def test_boot_refuses_a_missing_image_with_the_panes_sentence(env: dict[str, str], tmp_path: Path) -> None:
    gone = tmp_path / "gone.iso"
    result = subprocess.run(
        [*IDER, "127.0.0.1", "-P", "--redir-port", "9", "--wsman-port", "9", "--cd", str(gone), "--boot"],
        env=dict(env, AMT_PASSWORD="x"),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr == f"amtterm: {missing(gone)}\n"


def test_boot_refuses_a_disabled_listener_with_the_panes_sentence(env: dict[str, str], iso: Path) -> None:
    sim = start_sim(env, wsman=True, tls=False)
    try:
        assert sim.wsman_port is not None
        switched = subprocess.run(
            [
                *amtterm_argv(),
                "redirection",
                "127.0.0.1",
                "disable",
                "-P",
                "--wsman-port",
                str(sim.wsman_port),
            ],
            env=dict(env, AMT_PASSWORD=sim.password),
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        assert switched.returncode == 0, switched.stderr
        result = run_ider(env, sim, "--cd", str(iso), "--boot")
    finally:
        sim.stop()
    assert result.returncode == 1
    assert result.stderr == f"amtterm: {IDER_DISABLED.replace('HOST', '127.0.0.1')}\n"

"""amtterm's RFB client against QEMU's own VNC server: the decoded screen equals QMP's screendump.

A real VNC server that no one here wrote (QEMU 7.2, ``-vnc`` on loopback) shows SeaBIOS's
screen. The machine is paused so the screen holds still; then KvmClient in direct-RFB mode
reads it with ZRLE at 16 bpp (AMT's RGB565), 8 bpp and 32 bpp, and each picture is compared
with ``screendump`` of the same paused screen. Tolerances are the quantisation of each
format: one step of a 5-bit channel (8.2) for RGB565, one step of a 2-bit channel (85) for
RGB332, none for 32 bpp. Last, ``amtterm kvm --vnc --screenshot`` writes the same screen as PNG.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from amtterm.rfb import RGB332, RGB565, RGB888, Encoding, PixelFormat
from amtterm.session import open_rfb
from amtterm.sim.qemu_host import qmp_command
from tests.support.simproc import amtterm_argv, isolated_env

pytestmark = pytest.mark.real


def read_ppm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and RGB bytes of a binary PPM (P6, maxval 255) as QEMU's screendump writes it."""
    data = path.read_bytes()
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P6" and fields[3] == b"255", fields
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[pos + 1 : pos + 1 + width * height * 3]


@pytest.fixture
def qemu(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """QEMU: SeaBIOS, no disk, std VGA, VNC on a free loopback display; yields (QMP path, VNC port)."""
    binary = shutil.which("qemu-system-x86_64")
    if binary is None:
        pytest.fail(
            "qemu-system-x86_64 is missing: install the Debian package qemu-system-x86 (.ci/run does)"
        )
    qmp = tmp_path / "qmp.sock"
    argv = [
        binary,
        "-machine",
        "pc",
        "-accel",
        "tcg",
        "-m",
        "64",
        "-nodefaults",
        "-vga",
        "std",
        "-display",
        "none",
        "-vnc",
        "127.0.0.1:0,to=99",
        "-qmp",
        f"unix:{qmp},server=on,wait=off",
    ]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        port = asyncio.run(_vnc_port(qmp, proc))
        yield qmp, port
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


async def _vnc_port(qmp: Path, proc: subprocess.Popen[bytes]) -> int:
    for _ in range(600):
        if proc.poll() is not None:
            stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            pytest.fail(f"QEMU exited: {stderr}")
        if qmp.exists():
            try:
                answer = await qmp_command(qmp, "query-vnc", timeout=20)
                return int(answer["return"]["service"])
            except (OSError, TimeoutError, KeyError):
                pass
        await asyncio.sleep(0.1)
    pytest.fail("QEMU's QMP socket did not answer within 60 s")


async def _wait_for_text(port: int) -> None:
    """Until SeaBIOS has written something: some pixel of the screen is not black."""
    client = await open_rfb("127.0.0.1", port, pixel_format=RGB888)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        while loop.time() < deadline:
            frame = await client.wait_for_frame(timeout=90)
            if frame.width >= 640 and any(frame.rgb):
                return
            await asyncio.sleep(0.5)
        pytest.fail("SeaBIOS wrote nothing to the screen within 90 s")
    finally:
        await client.close()


async def _capture(port: int, pixel_format: PixelFormat) -> tuple[int, int, bytes, dict[int, int]]:
    client = await open_rfb("127.0.0.1", port, pixel_format=pixel_format)
    try:
        frame = await client.wait_for_frame(timeout=60)
        return frame.width, frame.height, bytes(frame.rgb), dict(client.rfb.rects_by_encoding)
    finally:
        await client.close()


@pytest.mark.timeout(240)
def test_zrle_screen_matches_qemus_screendump(qemu: tuple[Path, int], tmp_path: Path) -> None:
    qmp, port = qemu
    asyncio.run(_wait_for_text(port))
    asyncio.run(qmp_command(qmp, "stop", timeout=20))
    dump = tmp_path / "screen.ppm"
    asyncio.run(qmp_command(qmp, "screendump", timeout=30, arguments={"filename": str(dump)}))
    width, height, expected = read_ppm(dump)
    assert len(set(expected[i : i + 3] for i in range(0, len(expected), 3))) >= 2, (
        "a blank screen proves nothing"
    )

    for pixel_format, tolerance in ((RGB565, 8), (RGB332, 85), (RGB888, 0)):
        got_width, got_height, got, encodings = asyncio.run(_capture(port, pixel_format))
        assert (got_width, got_height) == (width, height)
        assert encodings.get(Encoding.ZRLE, 0) > 0 and Encoding.RAW not in encodings, encodings
        worst = max(abs(a - b) for a, b in zip(got, expected, strict=True))
        assert worst <= tolerance, f"{pixel_format.bits_per_pixel} bpp: a channel is {worst} off"

    # What a user runs: `amtterm kvm --vnc` writes the same screen as a PNG.
    shot = tmp_path / "shot.png"
    command = [*amtterm_argv(), "kvm", "127.0.0.1", str(port), "--vnc", "--screenshot", str(shot)]
    result = subprocess.run(command, env=isolated_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr
    image = Image.open(shot)
    assert image.size == (width, height)
    assert max(abs(a - b) for a, b in zip(image.tobytes(), expected, strict=True)) <= 8

"""`amtterm kvm HOST --screenshot FILE.png` against a loopback KVM device made of our device-role codecs.

The device is the redirection codec in the device role with the AMT-shaped RFB server
behind it (the simulator's KVM is built on the same two); the picture on disk must be
the device's screen at RGB565, and the sentences for a busy device, a device without
KVM, a wrong password and an unwritable file must be amtterm's own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PIL import Image

from amtterm.redir import StartStatus
from tests.support.kvm_device import HEIGHT, PASSWORD, WIDTH, KvmDevice, kvm_device
from tests.support.simproc import amtterm_argv, isolated_env


async def run_amtterm(tmp_path: Path, *words: str, password: str = PASSWORD) -> tuple[int, str]:
    env = isolated_env(tmp_path)
    env["AMT_PASSWORD"] = password
    proc = await asyncio.create_subprocess_exec(
        *amtterm_argv(),
        "kvm",
        *words,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_screenshot_of_the_devices_screen_and_keys_typed_first(tmp_path: Path) -> None:
    device = KvmDevice()
    shot = tmp_path / "screen.png"
    async with kvm_device(device) as port:
        status, said = await run_amtterm(
            tmp_path,
            "127.0.0.1",
            str(port),
            "-P",
            "--screenshot",
            str(shot),
            "--keys",
            "ctrl-alt-del",
            "--settle",
            "0.2",
        )
    assert status == 0, said
    assert said == ""
    image = Image.open(shot)
    assert image.size == (WIDTH, HEIGHT) and image.mode == "RGB"
    # RGB565 on the wire: the device rounds 8 bits to 5 (red, blue) or 6 (green), the console
    # expands them back; no channel moves by more than half a 5-bit step.
    got = image.tobytes()
    assert max(abs(a - b) for a, b in zip(got, bytes(device.screen.rgb), strict=True)) <= 4
    assert got != bytes(device.screen.rgb)  # it did go through RGB565
    assert device.keys == [
        (0xFFE3, True),
        (0xFFE9, True),
        (0xFFFF, True),
        (0xFFFF, False),
        (0xFFE9, False),
        (0xFFE3, False),
    ]


@pytest.mark.asyncio
@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("refuse", "words"),
    [
        (StartStatus.BUSY, "is busy: another console holds its KVM session"),
        (StartStatus.UNSUPPORTED, "refused KVM because it is disabled: run 'amtterm redirection 127.0.0.1"),
        (StartStatus.UNKNOWN_SESSION_TYPE, "does not offer KVM: this machine has none"),
        (StartStatus.ERROR, "needs the user consent code shown on the PC's screen"),
    ],
)
async def test_busy_and_no_kvm_are_one_sentence(tmp_path: Path, refuse: StartStatus, words: str) -> None:
    async with kvm_device(KvmDevice(refuse=refuse)) as port:
        status, said = await run_amtterm(
            tmp_path, "127.0.0.1", str(port), "-P", "--screenshot", str(tmp_path / "x.png")
        )
    assert status == 1
    assert words in said and said.count("\n") == 1 and "Traceback" not in said
    assert not (tmp_path / "x.png").exists()


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_wrong_password_and_unwritable_file(tmp_path: Path) -> None:
    async with kvm_device(KvmDevice()) as port:
        words = ("127.0.0.1", str(port), "-P", "--screenshot", str(tmp_path / "x.png"))
        status, said = await run_amtterm(tmp_path, *words, password="wrong")
    assert status == 1 and "Wrong user name or password for 'admin'" in said
    status, said = await run_amtterm(tmp_path, "127.0.0.1", "--screenshot", str(tmp_path / "no" / "x.png"))
    missing = tmp_path / "no"
    assert status == 2
    assert said == (
        f"amtterm: Cannot write the screenshot {missing / 'x.png'}: the directory {missing} does not exist.\n"
    )
    status, said = await run_amtterm(tmp_path, "127.0.0.1", "--screenshot", str(tmp_path / "x.jpg"))
    assert status == 2 and "must be a .png file" in said


@pytest.mark.asyncio
@pytest.mark.timeout(90)
async def test_a_hang_up_in_the_rfb_handshake_suggests_8_bit_colour(tmp_path: Path) -> None:
    async with kvm_device(KvmDevice(hang_up_at_init=True)) as port:
        status, said = await run_amtterm(
            tmp_path, "127.0.0.1", str(port), "-P", "--screenshot", str(tmp_path / "x.png")
        )
    assert status == 1
    assert said == (
        f"amtterm: 127.0.0.1:{port} closed the KVM connection during the RFB handshake: this machine's "
        "graphics may not support KVM, or its screen needs 8-bit colour (try --bpp 8).\n"
    )

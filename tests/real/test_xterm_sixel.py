"""The KVM view in a real Sixel terminal: Debian's xterm as a VT340 on Xvfb, screenshots of the X display.

`amtterm demo` runs in ``xterm -ti vt340`` (Sixel, 256 colour registers); xdotool types Ctrl-] v
and Ctrl-] B y (reset into BIOS setup) as a user would, and ``xwd`` takes the X display's pixels.
With ``--kvm-graphics auto`` amtterm asks the terminal, hears Sixel, and the BIOS setup's blue
screen is drawn as pixels: its scaled text has grey levels, many colours inside one character
cell. The same run with ``--kvm-graphics halfblock`` is the control: half-blocks (and text) give
every cell at most two colours.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from PIL import Image

# Xvfb, xterm, xdotool and xwd (x11-apps) are installed by .ci/run; without them this test fails.
pytestmark = [pytest.mark.real]

ROOT = Path(__file__).resolve().parents[2]
#: xterm's default font (``fixed``) is 6x13 pixels a cell.
CELL = (6, 13)
#: The KVM view's part of the 120x40 xterm: the left 84 columns, rows 1-36 (the panes are right).
KVM_AREA = (0, 0, 84 * CELL[0], 36 * CELL[1])


@pytest.fixture
def display() -> Iterator[str]:
    """A private Xvfb, 1280x800 at 24 bits, on a display number it picks itself once it listens."""
    ready, tell = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(tell), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(tell,),
    )
    os.close(tell)
    try:
        number = b""
        deadline = time.monotonic() + 30
        while not number.endswith(b"\n"):
            assert time.monotonic() < deadline, "Xvfb did not start"
            if not select.select([ready], [], [], 1)[0]:
                continue
            chunk = os.read(ready, 16)
            assert chunk, "Xvfb exited before it listened"
            number += chunk
        yield f":{int(number)}"
    finally:
        os.close(ready)
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def read_xwd(data: bytes) -> Image.Image:
    """An ``xwd`` dump (ZPixmap, 32 bits a pixel, as Xvfb's 24-bit screen gives) as an RGB image."""
    fields = struct.unpack(">25I", data[:100])
    header_size, width, height = fields[0], fields[4], fields[5]
    byte_order, bits_per_pixel, bytes_per_line, colours = fields[7], fields[11], fields[12], fields[19]
    assert bits_per_pixel == 32, f"xwd gave {bits_per_pixel} bits a pixel"
    start = header_size + 12 * colours
    pixels = data[start : start + bytes_per_line * height]
    mode = "BGRX" if byte_order == 0 else "XRGB"
    return Image.frombuffer("RGB", (width, height), pixels, "raw", mode, bytes_per_line, 1)


def screenshot(display: str) -> Image.Image:
    dump = subprocess.run(
        ["xwd", "-root", "-silent", "-display", display], capture_output=True, check=True, timeout=30
    ).stdout
    return read_xwd(dump).crop(KVM_AREA)


def xdotool(display: str, *args: str) -> None:
    subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=display), check=True, timeout=30)


def blue_share(image: Image.Image) -> float:
    """The share of pixels that are a BIOS blue: the setup's (0, 0, 170) through RGB565 and a
    256-colour palette, or (drawn as text colours) the nearest blue of xterm's palette."""
    blue = sum(count for count, (r, g, b) in image.getcolors(1 << 24) or [] if r < 60 and g < 60 and b > 140)
    return blue / (image.width * image.height)


def busy_cells(image: Image.Image) -> int:
    """Cells with three or more colours, on the cell grid where there are fewest.

    Half-blocks are two colours a cell (top and bottom), and so is the bitmap font's text; Sixel
    pixels of a scaled-down screen are not bound to cells. The grid's offset (xterm's border) is
    tried every way, so the count is the half-block drawing's best case.
    """
    width, height = CELL
    best = None
    for dx in range(width):
        for dy in range(height):
            count = 0
            for top in range(dy, image.height - height + 1, height):
                for left in range(dx, image.width - width + 1, width):
                    cell = image.crop((left, top, left + width, top + height))
                    colours = cell.getcolors(width * height) or []
                    count += len(colours) >= 3
            best = count if best is None else min(best, count)
    assert best is not None
    return best


#: Runs the demo in xterm: its pid (the terminal session's leader) and its exit status beside the log.
WRAPPER = 'echo $$ >"$0.pid"; "$@"; echo "amtterm exit status $?" >>"$0"; sleep 60'


def run_kvm_setup(display: str, env: dict[str, str], graphics: str, log: Path) -> Image.Image:
    """`amtterm demo` in xterm -ti vt340, KVM shown, reset into BIOS setup; the KVM area's pixels."""
    env = dict(env, DISPLAY=display, PYTHONPATH=str(ROOT), LANG="C.UTF-8", LC_ALL="C.UTF-8")
    env.pop("TMUX", None)
    with log.open("wb") as errors:
        return _run_xterm(display, env, graphics, log, errors)


def _run_xterm(display: str, env: dict[str, str], graphics: str, log: Path, errors: IO[bytes]) -> Image.Image:
    xterm = subprocess.Popen(
        [
            "xterm", "-ti", "vt340",
            "-xrm", "XTerm*numColorRegisters: 256",
            "-xrm", "XTerm*maxGraphicSize: 1280x800",
            "-geometry", "120x40+0+0",
            "-e", "sh", "-c", WRAPPER, str(log),
            sys.executable, "-m", "amtterm", "demo", "--kvm-graphics", graphics,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )  # fmt: skip
    try:
        # Keys go to the window under the pointer (no window manager on Xvfb).
        xdotool(display, "mousemove", "200", "200")
        deadline = time.monotonic() + 60
        while len(screenshot(display).getcolors(1 << 24) or []) < 3:  # the console is up
            assert xterm.poll() is None, f"xterm exited: {log.read_text(errors='replace')}"
            assert "exit status" not in log.read_text(errors="replace"), log.read_text(errors="replace")
            assert time.monotonic() < deadline, "amtterm demo did not show in xterm"
            time.sleep(0.3)
        xdotool(display, "key", "ctrl+bracketright")
        xdotool(display, "key", "v")  # the KVM view
        time.sleep(1)
        xdotool(display, "key", "ctrl+bracketright")
        xdotool(display, "key", "shift+b")  # Reset into BIOS setup
        time.sleep(1)
        xdotool(display, "key", "y")  # yes, reset
        deadline = time.monotonic() + 90
        while blue_share(screenshot(display)) < 0.3:
            assert xterm.poll() is None, f"xterm exited: {log.read_text(errors='replace')}"
            assert "exit status" not in log.read_text(errors="replace"), log.read_text(errors="replace")
            assert time.monotonic() < deadline, "no blue setup screen on the KVM view"
            time.sleep(0.5)
        time.sleep(1)  # the whole setup screen drawn
        image = screenshot(display)
        if blue_share(image) < 0.3:  # a notification over the view erased it: repainted within 1 s
            time.sleep(1.5)
            image = screenshot(display)
        image.save(log.with_suffix(".png"))  # for a look when an assertion fails
        return image
    finally:
        # The demo runs in the terminal's own session, led by the sh that wrote its pid: end it
        # there (xterm's SIGHUP alone leaves the demo running).
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.killpg(int(Path(f"{log}.pid").read_text()), signal.SIGKILL)
        xterm.terminate()
        try:
            xterm.wait(10)
        except subprocess.TimeoutExpired:
            xterm.kill()
            xterm.wait()


def test_xterm_vt340_shows_the_kvm_frame_as_sixel_pixels(
    display: str, env: dict[str, str], tmp_path: Path
) -> None:
    image = run_kvm_setup(display, env, "auto", tmp_path / "xterm.log")  # auto: xterm -ti vt340 says Sixel
    assert blue_share(image) > 0.3
    assert len(image.getcolors(1 << 24) or []) > 16  # the scaled text's grey levels
    assert busy_cells(image) > 100
    # The setup's cyan tab bar in its colour: every colour register defined right.
    cyan = sum(count for count, (r, g, b) in image.getcolors(1 << 24) or [] if r < 60 and g > 140 and b > 140)
    assert cyan > 1000


def test_xterm_with_halfblock_forced_draws_two_colours_a_cell(
    display: str, env: dict[str, str], tmp_path: Path
) -> None:
    image = run_kvm_setup(display, env, "halfblock", tmp_path / "xterm.log")
    assert blue_share(image) > 0.3
    assert busy_cells(image) < 5

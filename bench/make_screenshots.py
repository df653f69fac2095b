"""Make the README's screenshots: the console app driven against the in-process simulator.

    .venv/bin/python bench/make_screenshots.py [--out screenshots] [--size 132x40]

Writes SVG (Textual's own screenshots) and, when ``rsvg-convert`` is installed (Debian:
``apt install librsvg2-bin``), a PNG beside each:

* ``post``        POST of the first of two simulated machines, host list and side panes;
* ``bios-setup``  BIOS setup (CP437 box drawing) after F2;
* ``kvm``         the same setup screen on KVM (the PC's graphics in half-blocks, Ctrl-] v);
* ``power``       the Power pane asking before a reset;
* ``light``       the light theme on the setup screen;
* ``bios-blue``   the classic BIOS-blue theme;
* ``help``        the command help behind the prefix key;
* ``ider``        the boot-from-image pane serving an ISO over IDE-R while the console shows the PC
                  booting from it.

Nothing leaves the machine: loopback ports only, a temporary certificate pin file.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.widgets import Input  # noqa: E402

from amtterm.cli.tui import Display, demo_links  # noqa: E402
from amtterm.sim.app import SimOptions, start_sim  # noqa: E402
from amtterm.ui.app import AmtApp  # noqa: E402
from amtterm.ui.screens.confirm import ConfirmScreen  # noqa: E402
from amtterm.ui.screens.console import ConsoleScreen  # noqa: E402
from amtterm.ui.widgets.ider_pane import IderPane  # noqa: E402
from tests.redir.eltorito import build_iso  # noqa: E402

#: Blocks of the screenshot's ISO, and how many of them the simulated OS has read when shot.
ISO_BLOCKS, ISO_READ = 2400, 1100


async def wait_until(pilot: object, check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Let the app run until ``check()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise SystemExit(f"make_screenshots: timed out waiting for {what}")
        await pilot.pause(0.05)  # type: ignore[attr-defined]


async def make(out: Path, size: tuple[int, int]) -> list[Path]:
    """Drive the app through the scenes and save each; returns the SVG files."""
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="amtterm-shots-") as scratch:
        options = SimOptions(
            redir_port=None,
            redir_tls_port=0,
            wsman_port=None,
            wsman_tls_port=0,
            amt_version=(16, 1),
            hosts=2,
            state_dir=Path(scratch) / "state",
        )
        sim = await start_sim(options, log=lambda _: None)
        try:
            links = demo_links(sim, Display(), known_hosts=Path(scratch) / "known_hosts")
            app = AmtApp(links, check_tmux=False, power_poll=0)
            async with app.run_test(size=size, notifications=True) as pilot:
                screen = app.console_screen
                assert isinstance(screen, ConsoleScreen)

                def shows(text: str) -> bool:
                    return text in screen.view().text()

                async def save(name: str) -> None:
                    app.clear_notifications()
                    await pilot.pause(0.3)
                    written.append(Path(app.save_screenshot(f"{name}.svg", str(out))))

                await wait_until(pilot, lambda: shows("Press F2 for Setup"), "POST")

                def info_known() -> bool:
                    return screen.panes_built and screen.info_pane().knows(links[0].name)

                await wait_until(pilot, info_known, "the Info pane")
                await pilot.pause(0.2)
                await save("post")

                await pilot.press("f2")
                await wait_until(pilot, lambda: shows("Setup Utility"), "BIOS setup")
                await pilot.press("right")
                await wait_until(pilot, lambda: shows("CPU Configuration"), "the Advanced menu", timeout=3.0)
                await save("bios-setup")

                await pilot.press("ctrl+right_square_bracket", "v")
                kvm = screen.kvm.views[links[0]]
                await wait_until(
                    pilot, lambda: links[0].kvm.frame_complete and bool(kvm.cells()), "the KVM screen"
                )
                await pilot.pause(1.2)  # a second of frames for the status line's fps
                await save("kvm")
                await pilot.press("ctrl+right_square_bracket", "v")

                await pilot.click("#power-reset")
                await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
                await save("power")
                await pilot.press("n")

                app.set_amt_theme("amtterm-light")
                await save("light")
                app.set_amt_theme("bios-blue")
                await save("bios-blue")
                app.set_amt_theme("amtterm-dark")

                await pilot.press("ctrl+right_square_bracket", "h")
                await pilot.pause(0.2)
                await save("help")
                await pilot.press("escape")
                await pilot.pause(0.2)

                iso = Path(scratch) / "isos" / "debian-12-amd64-netinst.iso"
                iso.parent.mkdir()
                iso.write_bytes(build_iso(volume_id="Debian 12 amd64 n", total_blocks=ISO_BLOCKS))
                pane = screen.query_one(IderPane)
                field = pane.query_one("#ider-cd", Input)
                field.value = str(iso)
                field.cursor_position = len(field.value)
                pane.start(boot=True)
                await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the boot question")
                await pilot.press("y")
                await wait_until(pilot, lambda: shows("Booting from IDE-R CD-ROM"), "the IDE-R boot", 30.0)
                owner = sim.hosts[0].device.ider_owner
                assert owner is not None and owner.ider is not None
                await owner.ider.read(0, ISO_READ)  # as an installer reads its packages
                pane.scroll_visible(animate=False)
                await pilot.pause(0.6)
                await save("ider")
                await app.close_links()
        finally:
            await sim.close()
    return written


def to_png(svg: Path) -> Path | None:
    """Convert with rsvg-convert when it is installed."""
    converter = shutil.which("rsvg-convert")
    if converter is None:
        return None
    png = svg.with_suffix(".png")
    subprocess.run([converter, "--zoom", "1.0", "-o", str(png), str(svg)], check=True)
    return png


def main() -> int:
    """Make every screenshot."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="where to write them")
    parser.add_argument("--size", default="132x40", help="terminal size, COLUMNSxROWS (default 132x40)")
    args = parser.parse_args()
    columns, _, rows = args.size.partition("x")
    args.out.mkdir(parents=True, exist_ok=True)
    svgs = asyncio.run(make(args.out, (int(columns), int(rows))))
    for svg in svgs:
        png = to_png(svg)
        print(
            f"wrote {svg.relative_to(ROOT) if svg.is_relative_to(ROOT) else svg}"
            + (f" and {png.name}" if png else "")
        )
    if shutil.which("rsvg-convert") is None:
        print("rsvg-convert not found (apt install librsvg2-bin): SVG only")
    return 0


if __name__ == "__main__":
    sys.exit(main())

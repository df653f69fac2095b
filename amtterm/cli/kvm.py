"""``amtterm kvm HOST --screenshot FILE.png``: the remote screen over AMT's KVM, as a picture."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amtterm.cli.common import add_connection_options, port, positive_seconds
from amtterm.cli.sol import resolve_cli_sol
from amtterm.errors import ConfigError

if TYPE_CHECKING:
    from amtterm.rfb import Framebuffer
    from amtterm.session import KvmClient

#: Colour depths a user may ask for, as RFB pixel formats (AMT's default is 16).
DEPTHS = (8, 16, 32)


def check_writable(path: Path) -> None:
    """Fail before connecting when ``path`` cannot be written (one sentence)."""
    if path.suffix.lower() != ".png":
        raise ConfigError(f"The screenshot {path} must be a .png file.")
    if path.is_dir():
        raise ConfigError(f"The screenshot {path} is a directory; name a .png file.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"Cannot write the screenshot {path}: the directory {folder} does not exist.")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"Cannot write the screenshot {path}: permission denied.")


def write_png(framebuffer: Framebuffer, path: Path) -> None:
    """Save the screen as PNG (Pillow); an OS error is one sentence."""
    from PIL import Image

    image = Image.frombytes("RGB", (framebuffer.width, framebuffer.height), bytes(framebuffer.rgb))
    try:
        image.save(path, format="PNG")
    except OSError as exc:
        raise ConfigError(f"Cannot write the screenshot {path}: {exc.strerror or exc}.") from None


async def _connect(args: argparse.Namespace) -> KvmClient:
    from amtterm.config import load_hosts
    from amtterm.rfb import BY_DEPTH
    from amtterm.session import open_kvm, open_rfb

    pixel_format = BY_DEPTH[args.bpp]
    if args.vnc:
        if args.port is None:
            raise ConfigError("--vnc needs the VNC server's PORT after HOST (e.g. 5900).")
        return await open_rfb(args.host, args.port, pixel_format=pixel_format)
    entry = load_hosts(args.hosts_file).lookup(args.host)
    endpoint = resolve_cli_sol(args, entry)
    return await open_kvm(endpoint, pixel_format=pixel_format)


async def _kvm(args: argparse.Namespace) -> int:
    from amtterm.rfb import parse_keys

    check_writable(args.screenshot)
    keys = parse_keys(args.keys) if args.keys else []
    client = await _connect(args)
    try:
        framebuffer = await client.wait_for_frame(args.timeout)
        if keys:
            await client.send_keys(keys)
            await asyncio.sleep(args.settle)
            framebuffer = await client.wait_for_frame(args.timeout)
        write_png(framebuffer, args.screenshot)
    finally:
        await client.close()
    return 0


def add_kvm_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``kvm`` sub-command."""
    kvm = sub.add_parser(
        "kvm",
        parents=[common],
        help="the remote screen over KVM: save it as a PNG picture",
        description="Open HOST's KVM session (the redirection port, TLS on 16995 with digest auth, as "
        "amtterm sol), wait until the whole screen has arrived, and save it with --screenshot. "
        "With --vnc, HOST PORT is a plain VNC server instead (QEMU's -vnc), without AMT's preamble.",
    )
    kvm.add_argument("host", help="a name from the hosts file, or an AMT host name or address")
    kvm.add_argument("port", nargs="?", type=port, help="redirection port (default 16995, or 16994 with -P)")
    kvm.add_argument(
        "--screenshot", type=Path, required=True, metavar="FILE.png", help="write the remote screen here"
    )
    kvm.add_argument(
        "--keys",
        metavar="KEYS",
        help="type these keys once the screen has arrived, then take the picture: names and chords "
        "separated by spaces (Enter Esc F1..F12 Up Tab ctrl-alt-del) and quoted text ('\"root\" Enter')",
    )
    kvm.add_argument(
        "--settle",
        type=positive_seconds,
        default=2.0,
        metavar="SECONDS",
        help="after --keys, wait this long for the screen to change (default 2)",
    )
    kvm.add_argument(
        "--bpp",
        type=int,
        choices=DEPTHS,
        default=16,
        help="colour depth to ask for: 16 (AMT's RGB565, default), 8 (large screens), 32",
    )
    kvm.add_argument(
        "--timeout",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="give up when the whole screen has not arrived after this long (default 60)",
    )
    kvm.add_argument("--vnc", action="store_true", help="HOST PORT is a plain VNC server (no AMT session)")
    add_connection_options(kvm)
    kvm.set_defaults(func=_kvm)

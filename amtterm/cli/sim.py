"""``amtterm sim``: run a simulated AMT device on this machine."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from amtterm.cli.common import port_or_off, positive, screen_size, warn
from amtterm.config import PASSWORD_ENV
from amtterm.errors import ConfigError


def _version(text: str) -> tuple[int, int]:
    try:
        major, _, minor = text.partition(".")
        return int(major), int(minor or 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an AMT version: {text!r} (e.g. 11.8 or 16)") from None


async def _sim(args: argparse.Namespace) -> int:
    from amtterm.sim.app import SimOptions, serve

    if args.firmware_roots is not None and not (args.qemu and args.firmware == "uefi"):
        raise ConfigError(
            "--firmware-roots goes with --qemu --firmware uefi (the firmware that does HTTPS boot)."
        )
    if args.password:
        warn("--password puts the password where other users can read it (ps); prefer AMT_PASSWORD.")
    options = SimOptions(
        listen=args.listen,
        redir_port=args.redir_port,
        redir_tls_port=args.redir_tls_port,
        wsman_port=args.wsman_port,
        wsman_tls_port=args.wsman_tls_port,
        user=args.user,
        password=args.password or os.environ.get(PASSWORD_ENV) or None,
        amt_version=args.amt_version,
        power_on=args.power_on,
        columns=args.size[0],
        rows=args.size[1],
        tls_legacy=args.tls_legacy,
        flood_on_attach=args.flood_on_attach,
        qemu=args.qemu,
        qemu_memory=args.qemu_memory,
        sku=args.sku,
        firmware=args.firmware,
        firmware_roots=args.firmware_roots,
        control_mode=args.control_mode,
        hosts=args.hosts,
        lms=args.lms,
        write_hosts=args.write_hosts,
        wsman_delay=max(0.0, args.wsman_delay),
    )
    log = None
    if args.verbose:

        def log(line: str) -> None:
            print(f"amtterm sim: {line}", file=sys.stderr, flush=True)

    return await serve(options, log=log)


def _certificates(text: str) -> tuple[bytes, ...]:
    """The certificates (DER) of a PEM file, for ``--firmware-roots``."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        data = Path(text).read_bytes()
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {text} ({exc.strerror or exc})") from None
    try:
        with warnings.catch_warnings():  # cryptography's notes on odd certificates: not ours to show
            warnings.simplefilter("ignore")
            found = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} holds no PEM certificate") from None
    return tuple(certificate.public_bytes(Encoding.DER) for certificate in found)


def add_sim_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``sim`` sub-command."""
    sim = sub.add_parser(
        "sim",
        parents=[common],
        help="run a simulated AMT device on this machine",
        description="Serve a simulated AMT device: the redirection port (SOL, IDE-R, KVM), plain and TLS, "
        f"with a synthetic PC behind it. Password from {PASSWORD_ENV}; without one a password is "
        "generated and printed.",
    )
    sim.add_argument("--listen", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument(
        "--redir-port", type=port_or_off, default=16994, help="plain port, 0 = any free, off = none"
    )
    sim.add_argument(
        "--redir-tls-port", type=port_or_off, default=16995, help="TLS port, 0 = any free, off = none"
    )
    sim.add_argument("--user", default="admin", help="AMT user name (default admin)")
    sim.add_argument("--password", help=f"password (discouraged: use {PASSWORD_ENV})")
    sim.add_argument(
        "--amt-version",
        type=_version,
        default=(11, 8),
        help="firmware version (default 11.8): 11.x accepts legacy plain auth, 12 and later digest only; "
        "TLS as that generation: 1.0-1.1 before 12, 1.1-1.2 for 12-14, 1.2 for 15-20, 1.2-1.3 from 21",
    )
    sim.add_argument(
        "--power-on",
        choices=["first-console", "start", "off"],
        default="first-console",
        help="when the simulated PC powers on (default: when the first SOL console attaches)",
    )
    sim.add_argument(
        "--size", type=screen_size, default=(80, 25), help="remote screen: 80x25, 80x24 or 100x30"
    )
    sim.add_argument(
        "--tls-legacy",
        action="store_true",
        help="also offer TLS 1.0/1.1 on generations from 12 on (before 12 it is all they offer)",
    )
    sim.add_argument(
        "--flood-on-attach",
        type=int,
        default=0,
        metavar="BYTES",
        help="benchmarks: send each console that starts SOL BYTES of ANSI test output first",
    )
    sim.add_argument(
        "--qemu",
        action="store_true",
        help="the PC is a real QEMU machine (SeaBIOS; its serial port is the SOL console) instead of "
        "the synthetic one; needs qemu-system-x86_64",
    )
    sim.add_argument(
        "--firmware",
        choices=("bios", "uefi"),
        default="bios",
        help="with --qemu: the PC's firmware: bios = SeaBIOS on a pc machine (default), uefi = OVMF on a "
        "q35 machine (Debian package ovmf), which can do One Click Recovery HTTPS boot",
    )
    sim.add_argument(
        "--qemu-memory",
        type=positive,
        default=1024,
        metavar="MB",
        help="memory of the QEMU machine (default 1024: an installer's initrd needs room)",
    )
    sim.add_argument("--wsman-port", type=port_or_off, default=16992, help="WS-Man HTTP port (0 = free, off)")
    sim.add_argument(
        "--wsman-tls-port", type=port_or_off, default=16993, help="WS-Man HTTPS port (0 = free, off)"
    )
    sim.add_argument(
        "--control-mode",
        choices=("admin", "client"),
        default="admin",
        help="client: boot options need user consent, with the code shown on the host's screen",
    )
    sim.add_argument(
        "--firmware-roots",
        type=_certificates,
        metavar="PEM",
        help="with --firmware uefi: the firmware trusts only the CA certificates in this PEM file for "
        "HTTPS boot, not the roots AMT hands it (a BIOS that keeps its own list): to see how a "
        "refused server certificate looks",
    )
    sim.add_argument(
        "--sku",
        choices=("amt", "ism"),
        default="amt",
        help="amt: full Intel AMT with KVM on the redirection ports (default); ism: Intel Standard "
        "Manageability, which has no KVM",
    )
    sim.add_argument(
        "--hosts",
        type=positive,
        default=1,
        metavar="N",
        help="serve N devices on 127.0.0.1, 127.0.0.2, ... (same ports), or on free ports",
    )
    sim.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print what the devices do on stderr: sessions, and with --qemu each QEMU start with its "
        "work directory (QMP, VNC and serial sockets, qemu.log)",
    )
    sim.add_argument(
        "--lms", action="store_true", help="Intel LMS in the host OS: offer soft-off and soft-reset"
    )
    sim.add_argument(
        "--write-hosts", type=Path, metavar="FILE", help="write a hosts file naming the simulated devices"
    )
    sim.add_argument(
        "--wsman-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="benchmarks: answer each WS-Man request this much later, like a busy ME or a far network",
    )
    sim.set_defaults(func=_sim)

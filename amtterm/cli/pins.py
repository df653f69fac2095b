"""``amtterm known-hosts``: list or forget pinned TLS certificates."""

from __future__ import annotations

import argparse
from typing import Any

from amtterm.errors import ConfigError


async def _known_hosts(args: argparse.Namespace) -> int:
    from amtterm.transport.known_hosts import KnownHosts, parse_host_port

    known = KnownHosts.default()
    if args.action == "list":
        for (host, port), fp in known.entries():
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            print(f"{shown} {fp}")
        return 0
    host, port = parse_host_port(args.target, default_port=0)
    if port == 0:  # HOST alone: every port of the device (WS-Man's and SOL's pins alike)
        ports = known.remove_host(host)
        if ports:
            shown = ", ".join(str(number) for number in ports)
            print(
                f"amtterm: forgot the certificates of {args.target} (port {shown}); "
                "the next connection will ask again."
            )
            return 0
        raise ConfigError(f"No pinned certificate for {args.target}.")
    if known.remove(host, port):
        print(f"amtterm: forgot the certificate of {args.target}; the next connection will ask again.")
        return 0
    raise ConfigError(f"No pinned certificate for {args.target}.")


def add_known_hosts_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``known-hosts`` sub-command."""
    kh = sub.add_parser(
        "known-hosts",
        parents=[common],
        help="list or forget pinned TLS certificates",
        description="Pinned device certificates (trust on first use), kept in the config directory.",
    )
    kh_sub = kh.add_subparsers(dest="action", metavar="ACTION", required=True)
    kh_sub.add_parser("list", help="show every pinned certificate")
    remove = kh_sub.add_parser("remove", help="forget the certificates of HOST (every port), or of HOST:PORT")
    remove.add_argument("target", metavar="HOST[:PORT]")
    kh.set_defaults(func=_known_hosts)

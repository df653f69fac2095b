"""The local address this machine would use to reach a device: where to serve it an image.

Only the routing table is asked (a UDP socket's ``connect()`` picks the route and sends nothing),
so this is safe to call for any address, loopback ones in tests included.
"""

from __future__ import annotations

import socket

from amtterm.errors import ConfigError

__all__ = ["local_address_towards"]


def local_address_towards(device: str) -> str:
    """The local address this machine would use to reach ``device`` (an IP address).

    A UDP socket's ``connect()`` only picks the route; it sends nothing.

    Raises:
        ConfigError: no route to the device (one sentence).
    """
    family = socket.AF_INET6 if ":" in device else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((device, 9))
        except OSError as exc:
            raise ConfigError(
                f"No local address reaches {device} ({exc.strerror or exc}): give one with --serve-on."
            ) from None
        return str(probe.getsockname()[0])

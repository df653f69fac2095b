"""The jump-host options every connecting command shares: ``-J/--jump`` and ``--ssh-config``.

    amtterm sol pc42 -J admin@bastion.example.net
    amtterm power pc42 status --jump bastion --jump inner:2222     # two hops, outermost first
    amtterm ider pc42 --cd x.iso -J bastion,inner:2222             # the same, as ssh -J writes it
    amtterm pc42 -J none                                           # ignore the hosts file's jump

``--jump`` on the command line replaces the hosts file's ``jump`` (as ``ssh -J`` replaces
ProxyJump). Users, ports, keys and known_hosts of the jump hosts come from the OpenSSH client
config (``~/.ssh/config``, or ``--ssh-config FILE`` like ``ssh -F``) and the SSH agent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from amtterm.errors import ConfigError
from amtterm.transport.jump import JumpHost, JumpRoute, parse_jumps, route_through

__all__ = ["add_jump_options", "jump_hops", "jump_route"]

JUMP_HELP = (
    "reach the device through this SSH jump host, [USER@]HOST[:PORT]; repeat it or separate hops with "
    "commas, outermost first (like ssh -J); 'none' ignores the hosts file's jump"
)


def add_jump_options(parser: Any) -> None:
    """Add ``-J/--jump`` and ``--ssh-config`` to a parser or an argument group."""
    parser.add_argument("-J", "--jump", action="append", metavar="[USER@]HOST[:PORT]", help=JUMP_HELP)
    parser.add_argument(
        "--ssh-config",
        type=Path,
        metavar="FILE",
        help="OpenSSH client config for the jump hosts (default ~/.ssh/config; like ssh -F)",
    )


def jump_hops(
    cli: Sequence[str] | None, from_file: Sequence[str] = (), *, name: str = "--jump"
) -> tuple[JumpHost, ...]:
    """The hops to use: ``--jump`` when given, else the hosts file's ``jump``.

    Args:
        cli: the ``--jump`` values (None when the option was not given).
        from_file: the host's ``jump`` in the hosts file (already checked there).
        name: what the user wrote ``cli`` as, for the sentence (``jump=`` from Python).

    Raises:
        ConfigError: a ``--jump`` value is malformed.
    """
    try:
        return parse_jumps(cli if cli else from_file)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}.") from None


def jump_route(
    args: object,
    hops: Sequence[JumpHost],
    *,
    ask: Callable[[str], bool] | None,
    timeout: float = 15.0,
) -> JumpRoute | None:
    """The route for ``hops`` with the command's ssh config, or None when there are no hops.

    Args:
        args: the parsed options, or anything else with an ``ssh_config`` attribute
            (:class:`amtterm.expect.ConnectOptions`); None or missing = ``~/.ssh/config``.
        hops: from :func:`jump_hops` (or a resolved target's ``jump``).
        ask: asks about an unknown jump-host key (``StrictHostKeyChecking ask``); None = refuse it.
        timeout: seconds for each SSH step.
    """
    return route_through(hops, config=getattr(args, "ssh_config", None), ask=ask, timeout=timeout)

"""asyncio orchestration of sessions; never imports Textual.

The package's face: everything the console, the commands, sharing, expect and the simulator use
is exported here. The modules behind it load on first use (PEP 562), so ``amtterm sol`` does not
pay for the IDE-R job or the recorder it never touches.

    from amtterm.session import ConsoleHub, HostController, SolClient, open_sol, resolve_sol
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amtterm.session.boot_authority import BootAuthority as BootAuthority
    from amtterm.session.console import (
        ConsoleHub as ConsoleHub,
    )
    from amtterm.session.console import (
        ConsoleSession as ConsoleSession,
    )
    from amtterm.session.console import (
        SessionState as SessionState,
    )
    from amtterm.session.console import (
        SessionStatus as SessionStatus,
    )
    from amtterm.session.console import (
        Subscription as Subscription,
    )
    from amtterm.session.endpoint import (
        SolEndpoint as SolEndpoint,
    )
    from amtterm.session.endpoint import (
        console_config as console_config,
    )
    from amtterm.session.endpoint import (
        open_sol as open_sol,
    )
    from amtterm.session.endpoint import (
        resolve_sol as resolve_sol,
    )
    from amtterm.session.host import (
        TUI as TUI,
    )
    from amtterm.session.host import (
        HostController as HostController,
    )
    from amtterm.session.host import (
        HostProfile as HostProfile,
    )
    from amtterm.session.host import (
        TrustPrompt as TrustPrompt,
    )
    from amtterm.session.ider_job import (
        IderJob as IderJob,
    )
    from amtterm.session.ider_job import (
        IderRequest as IderRequest,
    )
    from amtterm.session.ider_job import (
        Question as Question,
    )
    from amtterm.session.ider_job import (
        Timing as Timing,
    )
    from amtterm.session.ider_job import (
        WsmanBoot as WsmanBoot,
    )
    from amtterm.session.ider_progress import IderProgress as IderProgress
    from amtterm.session.image_server import ImageProgress as ImageProgress
    from amtterm.session.image_server import ImageServer as ImageServer
    from amtterm.session.image_server import parse_serve_on as parse_serve_on
    from amtterm.session.kvm import KvmClient as KvmClient
    from amtterm.session.kvm import open_kvm as open_kvm
    from amtterm.session.kvm import open_rfb as open_rfb
    from amtterm.session.kvm_link import KvmLink as KvmLink
    from amtterm.session.kvm_state import KvmState as KvmState
    from amtterm.session.kvm_state import KvmStats as KvmStats
    from amtterm.session.playback import (
        Cast as Cast,
    )
    from amtterm.session.playback import (
        CastEvent as CastEvent,
    )
    from amtterm.session.playback import (
        Player as Player,
    )
    from amtterm.session.playback import (
        load_cast as load_cast,
    )
    from amtterm.session.recorder import (
        AsciicastWriter as AsciicastWriter,
    )
    from amtterm.session.recorder import (
        ConsoleRecorder as ConsoleRecorder,
    )
    from amtterm.session.recorder import (
        PlainLogWriter as PlainLogWriter,
    )
    from amtterm.session.recorder import (
        Recorder as Recorder,
    )
    from amtterm.session.redirection import RedirectionPump as RedirectionPump
    from amtterm.session.reinstall import METHODS as METHODS
    from amtterm.session.reinstall import HttpsBootOffer as HttpsBootOffer
    from amtterm.session.reinstall import RecoveryService as RecoveryService
    from amtterm.session.reinstall import ReinstallJob as ReinstallJob
    from amtterm.session.reinstall import ReinstallProgress as ReinstallProgress
    from amtterm.session.reinstall import ReinstallRequest as ReinstallRequest
    from amtterm.session.reinstall_wsman import WsmanRecovery as WsmanRecovery
    from amtterm.session.sol import SolClient as SolClient

#: Each exported name -> the module that defines it.
_HOMES: dict[str, str] = {
    "ConsoleHub": "console",
    "ConsoleSession": "console",
    "SessionState": "console",
    "SessionStatus": "console",
    "Subscription": "console",
    "SolEndpoint": "endpoint",
    "console_config": "endpoint",
    "open_sol": "endpoint",
    "resolve_sol": "endpoint",
    "TUI": "host",
    "HostController": "host",
    "HostProfile": "host",
    "TrustPrompt": "host",
    "IderJob": "ider_job",
    "IderRequest": "ider_job",
    "Question": "ider_job",
    "Timing": "ider_job",
    "WsmanBoot": "ider_job",
    "IderProgress": "ider_progress",
    "KvmClient": "kvm",
    "open_kvm": "kvm",
    "open_rfb": "kvm",
    "KvmLink": "kvm_link",
    "KvmState": "kvm_state",
    "KvmStats": "kvm_state",
    "BootAuthority": "boot_authority",
    "ImageProgress": "image_server",
    "ImageServer": "image_server",
    "parse_serve_on": "image_server",
    "Cast": "playback",
    "CastEvent": "playback",
    "Player": "playback",
    "load_cast": "playback",
    "AsciicastWriter": "recorder",
    "ConsoleRecorder": "recorder",
    "PlainLogWriter": "recorder",
    "Recorder": "recorder",
    "RedirectionPump": "redirection",
    "METHODS": "reinstall",
    "HttpsBootOffer": "reinstall",
    "RecoveryService": "reinstall",
    "ReinstallJob": "reinstall",
    "ReinstallProgress": "reinstall",
    "ReinstallRequest": "reinstall",
    "WsmanRecovery": "reinstall_wsman",
    "SolClient": "sol",
}

__all__ = [
    "METHODS",
    "TUI",
    "AsciicastWriter",
    "BootAuthority",
    "Cast",
    "CastEvent",
    "ConsoleHub",
    "ConsoleRecorder",
    "ConsoleSession",
    "HostController",
    "HostProfile",
    "HttpsBootOffer",
    "IderJob",
    "IderProgress",
    "IderRequest",
    "ImageProgress",
    "ImageServer",
    "KvmClient",
    "KvmLink",
    "KvmState",
    "KvmStats",
    "PlainLogWriter",
    "Player",
    "Question",
    "Recorder",
    "RecoveryService",
    "RedirectionPump",
    "ReinstallJob",
    "ReinstallProgress",
    "ReinstallRequest",
    "SessionState",
    "SessionStatus",
    "SolClient",
    "SolEndpoint",
    "Subscription",
    "Timing",
    "TrustPrompt",
    "WsmanBoot",
    "WsmanRecovery",
    "console_config",
    "load_cast",
    "open_kvm",
    "open_rfb",
    "open_sol",
    "parse_serve_on",
    "resolve_sol",
]


def __getattr__(name: str) -> Any:
    """Load the module behind an exported name on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value

"""Sans-IO codec of the AMT redirection protocol (ports 16994/16995).

Stdlib only: no asyncio, no sockets, no clock. This is the package's face: what the session, the
simulator and the commands use is exported here; the modules behind it are its own business.

    connection = RedirectionConnection(ConsoleConfig(user="admin", password=...))
    connection.start(now)
    connection.receive_data(bytes_from_socket, now)      # -> events (``events.SolData``, ...)
    socket.write(connection.data_to_send())
"""

from amtterm.redir import events
from amtterm.redir.connection import ConnectionState, ConsoleConfig, DeviceConfig, RedirectionConnection
from amtterm.redir.constants import (
    REDIRECTION_PORT,
    REDIRECTION_TLS_PORT,
    AuthStatus,
    AuthType,
    IderStartTiming,
    SessionType,
    SolControl,
    SolStatus,
    StartStatus,
)
from amtterm.redir.events import Event
from amtterm.redir.ider import GOOD, IderDrive, Sense
from amtterm.redir.ider_drives import READ_OPCODES, IderDrives, ServedCommand
from amtterm.redir.messages import SolSettings, gap_after
from amtterm.redir.scsi_pages import DriveKind

__all__ = [
    "GOOD",
    "READ_OPCODES",
    "REDIRECTION_PORT",
    "REDIRECTION_TLS_PORT",
    "AuthStatus",
    "AuthType",
    "ConnectionState",
    "ConsoleConfig",
    "DeviceConfig",
    "DriveKind",
    "Event",
    "IderDrive",
    "IderDrives",
    "IderStartTiming",
    "RedirectionConnection",
    "Sense",
    "ServedCommand",
    "SessionType",
    "SolControl",
    "SolSettings",
    "SolStatus",
    "StartStatus",
    "events",
    "gap_after",
]

"""The KVM session start: after authentication an 8-byte 0x40 / 0x41 exchange, then plain RFB.

``shared/protocol/redirection.md`` 7 and ``modern-amt.md`` 2.1: the console's
StartRedirectionSession carries the tag ``KVMR`` with byte 1 = 0x01; after the digest
authentication the console sends ``40 00 00 00 00 00 00 00`` and the firmware answers
``41 00 00 00 00 00 00 00``, immediately followed by the RFB stream on the same socket
(``RFB 004.000\\n`` on AMT 11.8 and 16.1, ``RFB 003.008\\n`` on AMT 12). 0x40 and 0x41
mean something else in an IDE-R session; the session tag decides, so these 8-byte forms
are read before the generic message decoder sees them. Reading byte 1 of 0x41 as a
status, as in IDE-R's 0x41, is an inference: every trace shows 0.
"""

from __future__ import annotations

from amtterm.errors import LocalProtocolError, RemoteProtocolError
from amtterm.redir.constants import MessageType
from amtterm.redir.events import Event, KvmRefused, KvmStarted
from amtterm.redir.state import ConnectionCore, ConnectionState

#: Both messages are 8 bytes long.
KVM_START_SIZE = 8
#: What the console sends after authentication, and what the device answers (7).
KVM_START = bytes((MessageType.START_IDER_REDIRECTION,)) + bytes(7)
KVM_START_REPLY = bytes((MessageType.START_IDER_REDIRECTION_REPLY,)) + bytes(7)


def console_begin(core: ConnectionCore) -> None:
    """Console, authenticated in a KVMR session: send 0x40 and wait for 0x41."""
    core.send_frame(KVM_START)
    core.move_to(ConnectionState.KVM_STARTING)


def console_on_reply(core: ConnectionCore, frame: bytes) -> list[Event]:
    """Console: the device's 8-byte answer to 0x40."""
    if frame[0] != MessageType.START_IDER_REDIRECTION_REPLY:
        core.move_to(ConnectionState.CLOSED)
        raise RemoteProtocolError(
            f"the device answered the KVM start with message type 0x{frame[0]:02X}, not 0x41"
        )
    if frame[1] != 0:
        core.move_to(ConnectionState.CLOSED)
        return [KvmRefused(frame[1])]
    core.move_to(ConnectionState.KVM_ACTIVE)
    return [KvmStarted()]


def device_on_start(core: ConnectionCore, frame: bytes) -> list[Event]:
    """Device, authenticated in a KVMR session: answer the console's 0x40 with 0x41; RFB follows."""
    del frame  # bytes 1-7 carry nothing anyone has seen set
    core.send_frame(KVM_START_REPLY)
    core.move_to(ConnectionState.KVM_ACTIVE)
    return [KvmStarted()]


def send_data(core: ConnectionCore, data: bytes) -> None:
    """Queue RFB bytes for the peer."""
    if core.state is not ConnectionState.KVM_ACTIVE:
        raise LocalProtocolError(f"cannot send KVM data while the connection is {core.state.value}")
    if data:
        core.send_frame(bytes(data))

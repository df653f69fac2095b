"""`amtterm sim` over a loopback socket, against a console that behaves like upstream amtider:
heartbeats off, every 0x44 echoed unchanged, and any 0x45 is a type it cannot parse (6.10, 11)."""

from __future__ import annotations

import socket
import time

import pytest

from amtterm.redir import events as ev
from amtterm.redir.connection import ConsoleConfig, RedirectionConnection
from amtterm.redir.constants import SessionType
from amtterm.redir.ider import IderSettings
from amtterm.redir.ider_drives import IderDrives
from amtterm.redir.messages import Direction, decode_message
from amtterm.redir.scsi import MemoryDevice
from tests.redir.eltorito import boot_image, build_iso
from tests.support.simproc import SimProcess

PING, PONG = 0x44, 0x45
pytestmark = pytest.mark.timeout(60)


def test_the_simulator_keeps_serving_a_console_that_echoes_its_pings(sim: SimProcess) -> None:
    console = RedirectionConnection(
        ConsoleConfig(
            "admin", sim.password, session_type=SessionType.IDER, ider_settings=IderSettings(heartbeat_ms=0)
        )
    )
    drives = IderDrives(console, cd=MemoryDevice(build_iso(boot_image(4096))))
    pings: list[bytes] = []
    started = False
    buffer = b""
    with socket.create_connection(("127.0.0.1", sim.plain_port), timeout=5) as sock:
        sock.settimeout(0.2)
        console.start(time.monotonic())
        deadline = time.monotonic() + 14.0
        while time.monotonic() < deadline and len(pings) < 2:
            for frame in console.frames_to_send():
                if frame[0] != PONG:  # this console answers pings by echoing them (below), never with 0x45
                    sock.sendall(frame)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                data = b""
            else:
                assert data, "the simulator closed the IDE-R session"
            buffer += data
            now = time.monotonic()
            while (decoded := decode_message(buffer, direction=Direction.FROM_DEVICE)) is not None:
                frame, buffer = buffer[: decoded[1]], buffer[decoded[1] :]
                assert frame[0] != PONG, "unknown r->buf 0x45: amtider would end the session here"
                if frame[0] == PING:
                    pings.append(frame)
                    sock.sendall(frame)  # the echo, unchanged
                for event in console.receive_data(frame, now):
                    started = started or isinstance(event, ev.IderStarted)
                    assert not isinstance(event, ev.ConnectionClosed), event
                    drives.handle(event)
            for event in console.handle_timer(now):
                assert not isinstance(event, ev.PeerTimeout | ev.ConnectionClosed), event
    assert started
    # Two idle pings, each echoed: the session outlived the first echo, and no 0x45 ever came.
    assert len(pings) == 2 and pings[0] != pings[1]

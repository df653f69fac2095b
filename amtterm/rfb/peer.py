"""RfbPeer: what the sans-IO client and server share: bytes queued to send, bytes received and not
yet parsed, and the loop that parses them into events."""

from __future__ import annotations

import struct
from collections.abc import Callable

from amtterm.errors import RemoteProtocolError
from amtterm.rfb.events import RfbEvent

__all__ = ["RfbPeer"]


class RfbPeer:
    """The byte handling of one end of an RFB stream; subclasses parse one message a step.

    Args:
        other: the other end as a sentence names it ("VNC server", "VNC client").
    """

    def __init__(self, other: str) -> None:
        self._other = other
        self._buffer = bytearray()
        self._out: list[bytes] = []

    def data_to_send(self) -> bytes:
        """Bytes queued since the last call."""
        out, self._out = b"".join(self._out), []
        return out

    @property
    def closed(self) -> bool:
        """Whether the stream ended or broke."""
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _parse(self, step: Callable[[], list[RfbEvent] | None]) -> list[RfbEvent]:
        """Run ``step`` (one message, or None while it is incomplete) until the buffer runs short.

        Raises:
            RemoteProtocolError: a message breaks RFB; the peer is closed first.
        """
        events: list[RfbEvent] = []
        try:
            while not self.closed:
                found = step()
                if found is None:
                    break
                events += found
        except RemoteProtocolError:
            self._close()
            raise
        except (ValueError, IndexError, struct.error, MemoryError) as error:
            self._close()
            raise RemoteProtocolError(
                f"the {self._other} sent a message amtterm cannot read ({error})"
            ) from None
        return events

    def _take(self, count: int) -> bytes | None:
        """The next ``count`` bytes, taken from the buffer; None while fewer have come."""
        if len(self._buffer) < count:
            return None
        chunk = bytes(self._buffer[:count])
        del self._buffer[:count]
        return chunk

"""KvmState and KvmStats: what a host's KVM session (:mod:`amtterm.session.kvm_link`) tells the console.

Kept apart from the session so that the console can name them without loading RFB before KVM is shown.
"""

from __future__ import annotations

import dataclasses
import enum


class KvmState(enum.Enum):
    """Where a host's KVM session is."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"
    CLOSED = "closed"


@dataclasses.dataclass(frozen=True)
class KvmStats:
    """What the status line shows: frames and kilobytes per second, the screen and its encoding."""

    fps: float
    kbps: float
    width: int
    height: int
    encoding: str

"""The PC behind a simulated AMT device, as the device sees it: a serial port with a power switch.

A host is pure: it opens no sockets, starts no tasks and reads no clock. The device tells it the
time (``now``, float seconds on any monotonic scale) on every call and drives it like this::

    host.power_on(now)
    host.feed(b"\\x1b[OQ", now)             # keys typed by the SOL console (F2)
    data = host.read_output(now, 65536)     # serial bytes produced so far, at most 64 KiB
    wake = host.next_deadline()             # call read_output again by then (None: only on input)

Output is what a PC's firmware and OS write to a serial console: ANSI/VT100 control sequences
and, from the BIOS, CP437 bytes (box drawing, shade blocks), never UTF-8.

Two implementations exist: :class:`amtterm.sim.synthetic.SyntheticHost` (a pure-Python BIOS,
boot loader and shell, the default) and a QEMU-backed host (a real SeaBIOS and OS).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal, Protocol, TypeAlias, runtime_checkable

#: One-time boot overrides a console can ask for (AMT_BootSettingData / CIM_BootSourceSetting):
#: ``bios`` enter setup, ``bios-pause`` stop after POST and wait for a key, ``pxe`` network boot,
#: ``disk`` hard disk, ``cd`` the local optical drive, ``ider-cd`` / ``ider-floppy`` the IDE-R
#: device served by the console.
BootTarget: TypeAlias = Literal["bios", "bios-pause", "pxe", "disk", "cd", "ider-cd", "ider-floppy"]


class IderMedia:
    """What a host's BIOS can see of the IDE-R drive the device offers (set by SimDevice).

    Attributes:
        attached: a console holds an IDE-R session.
        volume_id: the CD's volume id, once the BIOS has read it over IDE-R ("" before).
        bootable: the BIOS found and read an El Torito boot image.
        boot_sectors: that image's sector count (512-byte units).
        error: why the redirected drive is not bootable, or None.
        reports: how many boot reads have finished (one per reset with IDE-R enabled).
        ready: the BIOS's reads since the last reset have finished (the fields above are current).
        drive: the drive those reads were from: ``cd`` or ``floppy``.
    """

    def __init__(self) -> None:
        self.ready = False
        self.drive = "cd"
        self.attached = False
        self.volume_id = ""
        self.bootable = False
        self.boot_sectors = 0
        self.error: str | None = None
        self.reports = 0

    def forget(self) -> None:
        """The session ended: no medium any more."""
        self.ready = False
        self.attached = False
        self.volume_id = ""
        self.bootable = False
        self.boot_sectors = 0
        self.error = None


#: Every valid :data:`BootTarget`, in a stable order (for help texts and validation).
BOOT_TARGETS: Final[tuple[BootTarget, ...]] = (
    "bios",
    "bios-pause",
    "pxe",
    "disk",
    "cd",
    "ider-cd",
    "ider-floppy",
)


def parse_boot_target(value: str | None) -> BootTarget | None:
    """Check a boot override given as text.

    Args:
        value: one of :data:`BOOT_TARGETS`, or None (or "" / "none" / "normal") for a normal boot.

    Returns:
        The target, or None for a normal boot.

    Raises:
        ValueError: the text names no known target; the message lists the valid ones.
    """
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("", "none", "normal"):
        return None
    for target in BOOT_TARGETS:
        if text == target:
            return target
    raise ValueError(f"unknown boot target {value!r}: use one of {', '.join(BOOT_TARGETS)} or none")


@dataclass(frozen=True)
class HttpsBoot:
    """A One Click Recovery UEFI HTTPS boot the device hands the firmware for the next boot.

    Attributes:
        url: the https URL from the boot parameters (TLV type 1), as the admin gave it.
        trusted_roots: DER certificates in AMT's trusted-root store when the boot was started
            (handed to the firmware because TLV type 20 asked to sync them).
        timeout: the HTTPS request timeout in seconds (TLV type 30), or None.
    """

    url: str
    trusted_roots: tuple[bytes, ...] = ()
    timeout: int | None = None


@runtime_checkable
class UefiHost(Protocol):
    """A host whose firmware is UEFI and can boot from an HTTPS URL (One Click Recovery)."""

    def set_https_boot(self, boot: HttpsBoot | None) -> None:
        """Boot from ``boot`` at the next power on or reset (once), or cancel it with None."""
        ...


@runtime_checkable
class Host(Protocol):
    """The simulated PC behind an AMT device (see the module docstring for the calling pattern).

    Every method that takes ``now`` first lets time-driven state catch up to it. Calls with a
    ``now`` earlier than one already seen are treated as happening at the latest time seen.
    """

    @property
    def powered(self) -> bool:
        """Whether the PC is on."""
        ...

    def power_on(self, now: float) -> None:
        """Switch the PC on (no effect when it already is); it starts its POST."""
        ...

    def power_off(self, now: float) -> None:
        """Cut the power: pending output is dropped, keys are ignored until the next power on."""
        ...

    def reset(self, now: float) -> None:
        """Hard reset: restart POST at once (a PC that is off is switched on)."""
        ...

    def set_next_boot(self, target: BootTarget | None) -> None:
        """Set a one-time boot override, consumed by the next power on or reset.

        Args:
            target: a :data:`BootTarget`, or None for a normal boot.
        """
        ...

    def show_message(self, text: str | None) -> None:
        """Draw a centred framed box with ``text`` over the current screen (None removes it)."""
        ...

    def feed(self, keys: bytes, now: float) -> None:
        """Bytes typed by the remote console (as received over SOL); ignored while off."""
        ...

    def read_output(self, now: float, max_bytes: int | None = None) -> bytes:
        """Serial bytes produced since the last call.

        While off this is b"", except that text the PC wrote just before switching itself off
        (an OS shutdown) can still be read once.

        Args:
            now: the current time; time-driven state advances to it first.
            max_bytes: return at most this many bytes and keep the rest queued.
        """
        ...

    def next_deadline(self) -> float | None:
        """When ``read_output`` should next be called, or None when only new input changes anything.

        While output is still queued (a read with ``max_bytes`` left some) this is the latest
        ``now`` seen, i.e. "at once".
        """
        ...


# --------------------------------------------------------------------------------------------
# Output queue shared by host implementations.
#
# A host's output is a FIFO of pieces. A piece is either bytes or an iterator that yields bytes
# when asked (a lazily generated flood), so a 50 MB burst never sits in memory: the iterator is
# only advanced as far as read_output's max_bytes needs.
# --------------------------------------------------------------------------------------------

OutputPiece: TypeAlias = bytes | Iterator[bytes]


class OutputQueue:
    """A FIFO of serial output: bytes and lazily produced byte streams, read in bounded pieces."""

    def __init__(self) -> None:
        self._pieces: deque[OutputPiece] = deque()
        self._head = b""  # the chunk being read, taken from the front piece
        self._pos = 0  # how much of _head has been read

    def write(self, data: bytes) -> None:
        """Queue bytes."""
        if not data:
            return
        last = self._pieces[-1] if self._pieces else None
        if isinstance(last, bytes) and len(last) < 4096:
            self._pieces[-1] = last + data
        else:
            self._pieces.append(bytes(data))

    def write_lazy(self, source: Iterator[bytes]) -> None:
        """Queue a byte stream that is only produced as it is read."""
        self._pieces.append(source)

    def clear(self) -> None:
        """Drop everything queued (a lazy stream is closed if it can be)."""
        for piece in self._pieces:
            close = getattr(piece, "close", None)
            if callable(close):
                close()
        self._pieces.clear()
        self._head = b""
        self._pos = 0

    @property
    def pending(self) -> bool:
        """Whether anything (possibly an unstarted lazy stream) is queued."""
        return self._pos < len(self._head) or bool(self._pieces)

    def read(self, max_bytes: int | None = None) -> bytes:
        """Take queued output.

        Args:
            max_bytes: at most this many bytes (None: everything, lazy streams included).

        Returns:
            The bytes, possibly b"".
        """
        if max_bytes is not None and max_bytes <= 0:
            return b""
        out: list[bytes] = []
        size = 0
        while max_bytes is None or size < max_bytes:
            if self._pos >= len(self._head) and not self._fill():
                break
            end = len(self._head) if max_bytes is None else min(len(self._head), self._pos + max_bytes - size)
            take = self._head if self._pos == 0 and end == len(self._head) else self._head[self._pos : end]
            self._pos = end
            out.append(take)
            size += len(take)
        return out[0] if len(out) == 1 else b"".join(out)

    def _fill(self) -> bool:
        """Move the next non-empty chunk of the front piece into ``_head``; False when empty."""
        while self._pieces:
            piece = self._pieces[0]
            if isinstance(piece, bytes):
                self._pieces.popleft()
                chunk: bytes | None = piece
            else:
                chunk = next(piece, None)
                if chunk is None:
                    self._pieces.popleft()
            if chunk:
                self._head, self._pos = chunk, 0
                return True
        return False

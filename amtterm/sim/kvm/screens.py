"""What a KVM console of the simulated device sees and types into: one screen per device.

:class:`KvmScreen` is what the device's KVM sessions need from the PC behind it:

* :meth:`~KvmScreen.attach` / :meth:`~KvmScreen.detach`: a console starts or stops watching;
  attach returns the :class:`~amtterm.sim.kvm.framebuffer.Framebuffer` to serve;
* :meth:`~KvmScreen.key` / :meth:`~KvmScreen.pointer`: input from the console;
* :meth:`~KvmScreen.output` / :meth:`~KvmScreen.power`: what the device's host driver passes on
  (the PC's serial output, its power state).

:class:`SyntheticScreen` draws the synthetic PC's text console (:mod:`.textscreen`) and types
keys into it as serial bytes (:mod:`.keys`). Until the first console watches, it only keeps the
PC's output since its last reset (at most :data:`BACKLOG` bytes) and draws nothing, so a device
nobody watches pays nothing for KVM. The QEMU-backed screen lives in :mod:`.qemu_screen`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

from amtterm.sim.kvm.font import VgaFont, load_vga_font
from amtterm.sim.kvm.framebuffer import Framebuffer
from amtterm.sim.kvm.keys import KeyTranslator
from amtterm.sim.kvm.qemu_screen import QemuScreen, VncHost
from amtterm.sim.kvm.textscreen import TextScreen

#: Serial output kept for a screen nobody watches yet (the tail of it is drawn at the first attach).
BACKLOG: Final = 256 * 1024
#: ``ESC c``: the full terminal reset a PC's firmware starts with; older output no longer shows.
_RESET: Final = b"\x1bc"


class KvmScreen(Protocol):
    """The PC's screen and keyboard as a KVM console meets them (see the module docstring)."""

    async def attach(self) -> Framebuffer:
        """A console starts watching: the framebuffer to serve (the screen as it is now).

        Raises:
            OSError: the screen cannot be reached (e.g. QEMU's VNC socket).
        """
        ...

    def detach(self) -> None:
        """The console stopped watching."""

    def key(self, keysym: int, down: bool, now: float) -> None:
        """An X keysym pressed or released on the console."""

    def pointer(self, x: int, y: int, buttons: int) -> None:
        """The console's pointer moved (position in pixels, RFB button mask)."""

    def output(self, data: bytes) -> None:
        """Serial output of the PC (a screen drawn from it uses it; others ignore it)."""

    def power(self, powered: bool) -> None:
        """The PC's power state, told on every turn of the device's host driver."""

    async def aclose(self) -> None:
        """Release what the screen holds (connections)."""


class SyntheticScreen:
    """The synthetic PC's text console as a VGA screen.

    Args:
        type_keys: gives typed bytes to the PC (the device's host input); called with the
            bytes and the time.
        columns, rows: the text console's size.
        font: the VGA font; by default read from the system (:func:`load_vga_font`).

    Raises:
        FontMissing: no VGA console font is installed.
    """

    def __init__(
        self,
        type_keys: Callable[[bytes, float], None],
        *,
        columns: int = 80,
        rows: int = 25,
        font: VgaFont | None = None,
    ) -> None:
        self.font = font or load_vga_font()
        self.columns = columns
        self.rows = rows
        self._type = type_keys
        self._keys = KeyTranslator()
        self._backlog = bytearray()
        self._powered = False
        #: The drawn screen, once someone watched.
        self.text: TextScreen | None = None
        self.watchers = 0

    async def attach(self) -> Framebuffer:
        """Start drawing (from the kept output the first time) and return the framebuffer."""
        if self.text is None:
            self.text = TextScreen(self.font, self.columns, self.rows)
            if self._powered:
                self.text.feed(bytes(self._backlog))
            else:
                self.text.blank()
            self._backlog.clear()
        self.watchers += 1
        return self.text.framebuffer

    def detach(self) -> None:
        """One console fewer (the screen keeps being drawn)."""
        self.watchers = max(0, self.watchers - 1)

    def key(self, keysym: int, down: bool, now: float) -> None:
        """Type the key as a serial console would."""
        data = self._keys.key(keysym, down)
        if data:
            self._type(data, now)

    def pointer(self, x: int, y: int, buttons: int) -> None:
        """A text console has no mouse: ignored."""

    def output(self, data: bytes) -> None:
        """Draw the PC's output, or keep it (bounded) until someone watches."""
        if self.text is not None:
            self.text.feed(data)
            return
        reset = data.rfind(_RESET)
        if reset >= 0:
            self._backlog.clear()
            data = data[reset:]
        self._backlog += data
        if len(self._backlog) > BACKLOG:
            del self._backlog[: len(self._backlog) - BACKLOG]

    def power(self, powered: bool) -> None:
        """A PC that lost power shows a black screen."""
        if powered == self._powered:
            return
        self._powered = powered
        if not powered:
            self._backlog.clear()
            if self.text is not None:
                self.text.blank()

    async def aclose(self) -> None:
        """Nothing to release."""


def screen_for(host: object, type_keys: Callable[[bytes, float], None]) -> KvmScreen:
    """The KVM screen of a host: QEMU's own screen for a QEMU-backed PC, else the text console.

    Raises:
        FontMissing: a text console needs a VGA font and none is installed.
    """
    if isinstance(host, VncHost):
        return QemuScreen(host)
    columns = getattr(host, "columns", 80)
    rows = getattr(host, "rows", 25)
    return SyntheticScreen(type_keys, columns=columns, rows=rows)

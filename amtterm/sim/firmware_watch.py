"""Boot events read off a real firmware's serial console (SeaBIOS, OVMF), for the event log.

A QEMU-backed host sees only what the firmware prints; this watcher turns those lines into the
``(kind, text)`` boot events of :mod:`amtterm.sim.wsman.eventlog` (``post``, ``boot-device``,
``boot-failed``, ``os-boot``, ``https-boot-ok``, ``https-boot-failed``), which a host hands to
its ``on_boot_event`` hook. Pure: bytes in, events out; ANSI control sequences are dropped and
lines are bounded (:data:`MAX_LINE`).

Lines recognised (as SeaBIOS 1.16 and Debian's OVMF print them on ``-nographic`` serial):

* SeaBIOS: ``SeaBIOS (version ...)`` -> post; ``Booting from Hard Disk...`` / ``DVD/CD`` /
  ``Floppy`` / ``ROM`` -> the device tried; ``Boot failed: ...`` -> that device failed;
  ``No bootable device.`` -> boot failed; a device tried and not failed by the next line that
  is not a failure -> boot device selected and OS boot.
* OVMF: ``BdsDxe: loading Boot0001 "UEFI QEMU DVD-ROM ..."`` -> the device tried;
  ``BdsDxe: starting Boot0001 ...`` -> boot device selected and OS boot (``"UiApp"``, the
  front page, -> setup); ``BdsDxe: failed to
  load ...`` -> boot failed; ``>>Start HTTP Boot`` -> an HTTPS (or HTTP) boot is tried, and a
  following ``Error: ...`` -> https-boot-failed with the firmware's words.
"""

from __future__ import annotations

import re
from typing import Final

MAX_LINE: Final = 512
_ANSI: Final = re.compile(r"\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[c78=>]")
_SEABIOS_DEVICES: Final = {"hard disk": "disk", "dvd/cd": "cd", "floppy": "floppy", "rom": "pxe"}


def _device_of(label: str) -> str:
    lowered = label.lower()
    if "http" in lowered:
        return "https"
    if "dvd" in lowered or "cd-rom" in lowered or "cdrom" in lowered:
        return "cd"
    if "pxe" in lowered or "network" in lowered:
        return "pxe"
    if "floppy" in lowered:
        return "floppy"
    return "disk"


class FirmwareWatcher:
    """Feed serial output; get the boot events it shows.

    Args:
        cd: the boot device key the machine's CD drive stands for: ``ider-cd`` when that drive
            is the AMT IDE-R drive (as in the QEMU host), else ``cd``.
    """

    def __init__(self, *, cd: str = "cd") -> None:
        self._cd = cd
        self._partial = ""
        self._trying: str | None = None  # a device announced and not yet failed
        self._https = False

    def feed(self, data: bytes) -> list[tuple[str, str]]:
        """The ``(kind, text)`` events of the complete lines in ``data`` (and before)."""
        text = _ANSI.sub("", self._partial + data.decode("latin-1"))
        lines = re.split(r"[\r\n]+", text)
        self._partial = lines.pop()[-MAX_LINE:]
        events: list[tuple[str, str]] = []
        for line in lines:
            events += self._line(line.strip()[:MAX_LINE])
        return events

    def _key(self, device: str) -> str:
        return self._cd if device == "cd" else device

    def _settle(self, failed: bool) -> list[tuple[str, str]]:
        """The device announced before: it booted unless the line now says it failed."""
        device, self._trying = self._trying, None
        if device is None or failed:
            return []
        return [("boot-device", self._key(device)), ("os-boot", self._key(device))]

    def _line(self, line: str) -> list[tuple[str, str]]:
        if not line:
            return []
        if line.startswith("SeaBIOS (version"):
            return [("post", "primary processor initialization: " + line)]
        if line.startswith("Booting from "):
            label = line.removeprefix("Booting from ").rstrip(".").strip()
            events = self._settle(False)
            self._trying = _SEABIOS_DEVICES.get(label.lower(), _device_of(label))
            return events
        if line.startswith("Boot failed") or line.startswith("No bootable device"):
            device = self._key(self._trying or "other")
            self._settle(True)
            return [("boot-failed", f"{device}: {line}")]
        if line.startswith("BdsDxe: loading "):
            return self._settle(False) + self._announce(line)
        if line.startswith("BdsDxe: starting "):
            trying, self._trying = self._trying, None
            if '"UiApp"' in line:  # OVMF's front page: the firmware's setup, not a boot device
                return [("setup", line)]
            device = self._key(trying or _device_of(line))
            return [("boot-device", device), ("os-boot", line)]
        if line.startswith("BdsDxe: failed to load "):
            device = self._key(self._trying or _device_of(line))
            self._trying = None
            if device == "https" or self._https:
                self._https = False
                return [("https-boot-failed", line)]
            return [("boot-failed", f"{device}: {line}")]
        if ">>Start HTTP Boot" in line:
            self._https = True
            return []
        if self._https and line.startswith("Error:"):
            self._https = False
            self._trying = None
            return [("https-boot-failed", line)]
        return (
            self._settle(False) if self._trying is not None and not line.startswith(("iPXE", "Press")) else []
        )

    def _announce(self, line: str) -> list[tuple[str, str]]:
        self._trying = _device_of(line)
        return []

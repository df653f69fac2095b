"""What the synthetic PC is made of, and the BIOS settings it keeps across reboots (its CMOS).

The setup utility edits a copy of :class:`BiosSettings` and writes it back on "save"; POST, the
boot menu and the boot sequence read the saved values (boot order, prompt timeout, fast boot).
:data:`TABS` describes the setup utility's pages; ``setup.py`` draws and navigates them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

#: Devices the PC can boot from (the IDE-R devices only appear through an AMT boot override).
BootDevice: TypeAlias = Literal["disk", "cd", "network"]


@dataclass(frozen=True)
class Hardware:
    """The fixed facts POST, setup and the OS show about this PC."""

    bios_version: str = "2.17.1249"
    bios_date: str = "03/14/2024"
    me_version: str = "11.8.92.4222"
    amt_version: str = "11.8.92"
    cpu: str = "Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz"
    cpu_short: str = "Core(TM) i5-8500 3.00GHz"
    cores: int = 6
    memory_mb: int = 16384
    disk: str = "DEMO SSD 512GB"
    optical: str = "DEMO DVD-RW DRIVE"
    nic: str = "Intel(R) Ethernet Connection I219-LM"
    mac: str = "00:1B:21:A4:5C:3E"
    guid: str = "4C4C4544-0042-3510-8052-B7C04F4D3732"
    hostname: str = "demo-host"
    kernel: str = "6.1.0-21-amd64"

    def device_label(self, device: BootDevice) -> str:
        """How boot menus name a boot device."""
        if device == "network":
            return "UEFI: Network (PXE) IPv4 " + self.nic.split(" Connection ")[-1]
        if device == "cd":
            return "CD/DVD: " + self.optical
        return "Hard Disk: " + self.disk

    @staticmethod
    def short_label(device: BootDevice) -> str:
        """A boot device's name where space is short (setup's value column)."""
        return {"network": "Network (PXE)", "cd": "CD/DVD", "disk": "Hard Disk"}[device]


#: The factory boot order.
DEFAULT_BOOT_ORDER: Final[tuple[BootDevice, ...]] = ("disk", "cd", "network")


@dataclass(frozen=True)
class Option:
    """One setup item: a value picked from ``choices`` (or a special ``kind``).

    Attributes:
        key: where the value lives in :attr:`BiosSettings.values` (or a special key).
        label: the text on the left.
        help: the text in the help panel.
        kind: ``choice`` (pick from ``choices``), ``info`` (read-only, shown from hardware or the
            clock), ``date`` (+/- change the day), ``boot`` (boot order slot ``int(key)``),
            ``action`` (does something on Enter), ``password``, ``section`` (a heading).
        choices: the values of a ``choice`` item; the first is the factory default.
    """

    key: str
    label: str
    help: str = ""
    kind: str = "choice"
    choices: tuple[str, ...] = ()

    @property
    def selectable(self) -> bool:
        """Whether the highlight can rest on this item."""
        return self.kind not in ("info", "section")


_ON_OFF: Final = ("Enabled", "Disabled")
_OFF_ON: Final = ("Disabled", "Enabled")

#: The setup utility's pages, left to right: (tab title, items).
TABS: Final[tuple[tuple[str, tuple[Option, ...]], ...]] = (
    (
        "Main",
        (
            Option("bios_vendor", "BIOS Vendor", kind="info"),
            Option("bios_version", "BIOS Version", kind="info"),
            Option("bios_date", "Build Date", kind="info"),
            Option("me_version", "ME Firmware Version", kind="info"),
            Option("", "", kind="section"),
            Option("cpu", "Processor", kind="info"),
            Option("memory", "Total Memory", kind="info"),
            Option("", "", kind="section"),
            Option("language", "System Language", "Choose the language of the setup utility.",
                   choices=("English", "Francais", "Deutsch", "Espanol")),
            Option("date", "System Date", "Set the date. Use + and - (or Enter) to change the day.",
                   kind="date"),
            Option("time", "System Time", kind="info"),
        ),
    ),
    (
        "Advanced",
        (
            Option("", "CPU Configuration", kind="section"),
            Option("vtx", "Virtualization Technology",
                   "When enabled, a VMM can use the additional hardware capabilities of Intel(R) VT.",
                   choices=_ON_OFF),
            Option("ht", "Hyper-Threading", "Enable or disable Hyper-Threading Technology.",
                   choices=_ON_OFF),
            Option("sata", "SATA Mode Selection", "Select how the SATA controller(s) operate.",
                   choices=("AHCI", "RAID", "IDE")),
            Option("", "Management and Console", kind="section"),
            Option("amt", "Intel(R) AMT", "Enable or disable Intel(R) Active Management Technology.",
                   choices=_ON_OFF),
            Option("console", "Console Redirection", "Send the text screen to the serial port "
                   "(Serial-over-LAN) and read keys from it.", choices=_ON_OFF),
            Option("terminal", "Terminal Type", "Emulation: ANSI extended 8-bit, VT100 7-bit, "
                   "VT100+ adds colours and function keys, VT-UTF8 uses UTF-8.",
                   choices=("VT100+", "VT100", "VT-UTF8", "ANSI")),
            Option("baud", "Bits per second", "Serial port speed; Serial-over-LAN ignores it.",
                   choices=("115200", "57600", "38400", "19200", "9600")),
            Option("wol", "Wake on LAN", "Power on when a magic packet arrives.", choices=_OFF_ON),
        ),
    ),
    (
        "Boot",
        (
            Option("boot_mode", "Boot Mode", "UEFI boots EFI loaders; Legacy boots MBR code.",
                   choices=("UEFI", "Legacy")),
            Option("fast_boot", "Fast Boot", "Skip the memory count and most device checks.",
                   choices=_OFF_ON),
            Option("prompt", "Setup Prompt Timeout", "Seconds to wait for the setup or boot menu key.",
                   choices=("3", "5", "10", "1")),
            Option("", "Boot Option Priorities", kind="section"),
            Option("0", "Boot Option #1", "Sets the system boot order.", kind="boot"),
            Option("1", "Boot Option #2", "Sets the system boot order.", kind="boot"),
            Option("2", "Boot Option #3", "Sets the system boot order.", kind="boot"),
        ),
    ),
    (
        "Security",
        (
            Option("admin_pw", "Administrator Password", "Set the setup administrator password.",
                   kind="password"),
            Option("secure_boot", "Secure Boot", "Only run boot loaders signed by trusted keys.",
                   choices=_ON_OFF),
            Option("tpm", "TPM Device", "Enable or disable the Trusted Platform Module.",
                   choices=_ON_OFF),
            Option("intrusion", "Chassis Intrusion", "Warn at POST when the case was opened.",
                   choices=_OFF_ON),
        ),
    ),
    (
        "Save & Exit",
        (
            Option("save", "Save Changes and Reset", "Save the changes and restart the system.",
                   kind="action"),
            Option("discard", "Discard Changes and Exit", "Leave setup without saving and restart.",
                   kind="action"),
            Option("defaults", "Restore Defaults", "Load the factory defaults for all options.",
                   kind="action"),
            Option("", "Boot Override", kind="section"),
            Option("network", "network", "Boot this device now (the boot order is not changed).",
                   kind="action"),
            Option("cd", "cd", "Boot this device now (the boot order is not changed).", kind="action"),
            Option("disk", "disk", "Boot this device now (the boot order is not changed).",
                   kind="action"),
        ),
    ),
)  # fmt: skip


def default_values() -> dict[str, str]:
    """The factory value of every ``choice`` item."""
    return {item.key: item.choices[0] for _, items in TABS for item in items if item.kind == "choice"}


@dataclass
class BiosSettings:
    """The saved BIOS configuration (it survives reboots of the same PC, not a new PC).

    Attributes:
        values: choice item key -> chosen text.
        boot_order: devices in the order a normal boot tries them.
        date_offset_days: days the user moved the system date away from the clock.
    """

    values: dict[str, str] = field(default_factory=default_values)
    boot_order: list[BootDevice] = field(default_factory=lambda: list(DEFAULT_BOOT_ORDER))
    date_offset_days: int = 0

    def copy(self) -> BiosSettings:
        """An independent copy (setup edits one and saves it back)."""
        return copy.deepcopy(self)

    def restore_defaults(self) -> None:
        """Factory values, factory boot order (the date stays as set)."""
        self.values = default_values()
        self.boot_order = list(DEFAULT_BOOT_ORDER)

    @property
    def prompt_seconds(self) -> float:
        """How long POST waits for the setup or boot menu key."""
        return float(self.values.get("prompt", "3"))

    @property
    def fast_boot(self) -> bool:
        """Whether POST skips the memory count."""
        return self.values.get("fast_boot") == "Enabled"

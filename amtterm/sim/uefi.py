"""UEFI firmware (OVMF) for the QEMU host: its NVRAM, the One Click Recovery HTTPS boot and boot progress.

Debian's ``ovmf`` package is the firmware: ``OVMF_CODE_4M.fd`` read-only and a copy of
``OVMF_VARS_4M.fd`` per machine (its NVRAM). Before QEMU starts, this module writes UEFI variables
into that copy, the way an OS or a BMC hands the firmware a one-time request:

* an HTTPS boot: ``Boot0100``, a load option whose device path is the network card's, an IPv4
  node and a ``Uri(https://...)`` node (as OVMF's HTTP Boot Configuration writes one), and
  ``BootNext`` = 0x0100 (boot it once); the trusted roots go to OVMF through QEMU's fw_cfg file
  ``etc/edk2/https/cacerts`` (an EFI signature list of X.509 certificates), which OVMF turns into
  the TLS CA list its HTTP stack verifies the server with;
* entering setup: ``OsIndications`` with EFI_OS_INDICATIONS_BOOT_TO_FW_UI.

Why not the DHCP route (``bootfile=https://...`` on QEMU's user network): libslirp only adds the
vendor class "HTTPClient" (DHCP option 60) to its offer when the boot file starts with ``http://``,
and OVMF's HttpBootDxe only takes a boot URI from an offer that carries that class; with an
``https://`` boot file OVMF waits for a usable offer forever. A boot option with a URI needs no boot
file in DHCP at all.

The PC's network is QEMU's user network, where 10.0.2.2 is this machine's loopback (127.0.0.1).
:func:`firmware_url` maps an admin's URL to what the PC can reach: a host of ``localhost``,
``127.0.0.1`` becomes ``10.0.2.2``; any other host cannot be reached from the simulated PC.

:class:`BootWatcher` reads the serial text and reports what the firmware says about booting
(``BdsDxe: loading/starting/failed to load Boot####``, the iPXE banner) as ``(kind, text)`` events.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import shutil
import ssl
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

#: Debian's OVMF build (package ``ovmf``): code (read-only pflash) and the NVRAM template.
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
OVMF_PACKAGE_HINT = "install the Debian package ovmf"

#: This machine's loopback as the PC sees it on QEMU's user network.
HOST_ADDRESS = "10.0.2.2"
#: Host names that mean "this machine" in an admin's URL.
LOOPBACK_NAMES = ("localhost", "localhost.localdomain")

#: The load option number used for a one-time HTTPS boot.
HTTPS_BOOT_OPTION = 0x0100
HTTPS_BOOT_DESCRIPTION = "AMT One Click Recovery HTTPS boot"
#: The UEFI machine's network card: a fixed PCI slot and MAC, so that its device path is known.
NIC_SLOT = 2
NIC_MAC = bytes.fromhex("525400123456")

_GLOBAL_VARIABLE = uuid.UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
_CERT_X509 = uuid.UUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
#: Owner of the certificates in the signature list (any GUID; this one names the simulator).
_CERT_OWNER = uuid.UUID("6f6d6174-6d72-4574-a16d-616d74746572")
_AUTH_STORE = uuid.UUID("aaf32c78-947b-439a-a180-2e144ec37792")
_PLAIN_STORE = uuid.UUID("ddcf3616-3275-4164-98b6-fe85707ffe7d")

_ATTR_NV_BS_RT = 0x7
_VARIABLE_DATA = 0x55AA
_VAR_ADDED = 0x3F
_VAR_DELETED = 0xFD
_VAR_IN_DELETED_TRANSITION = 0xFE
_LOAD_OPTION_ACTIVE = 0x1
_OS_INDICATIONS_BOOT_TO_FW_UI = 0x1


def find_ovmf() -> tuple[Path, Path] | None:
    """OVMF's code and NVRAM template, or None when the ``ovmf`` package is not installed."""
    if OVMF_CODE.is_file() and OVMF_VARS.is_file():
        return OVMF_CODE, OVMF_VARS
    return None


def signature_list(certificates: Sequence[bytes]) -> bytes:
    """An EFI signature list (EFI_CERT_X509_GUID) per DER certificate, concatenated.

    This is the format OVMF reads from fw_cfg ``etc/edk2/https/cacerts``.
    """
    out = bytearray()
    for der in certificates:
        entry = _CERT_OWNER.bytes_le + der
        out += _CERT_X509.bytes_le + struct.pack("<III", 28 + len(entry), 0, len(entry)) + entry
    return bytes(out)


def uri_device_path(url: str, nic: bytes | None = None) -> bytes:
    """A device path ending in a ``Uri(url)`` messaging node and the end node.

    Without ``nic``, the short form: the ``Uri`` node alone, which OVMF tries on every network
    card over IPv4, then IPv6. With ``nic`` (the network card's device path, as
    :func:`nic_device_path` makes it), the form OVMF's own HTTP Boot Configuration writes:
    ``nic/IPv4(0.0.0.0,0x0,DHCP,...)/Uri(url)``, IPv4 over that card only, so that a failure is
    not followed by a DHCPv6 wait of about a minute for an address the URL does not use.
    """
    raw = url.encode("ascii")
    prefix = b""
    if nic is not None:
        # IPv4 node (type 3, subtype 12, 27 bytes): all zero = any local address from DHCP.
        prefix = nic + struct.pack("<BBH", 3, 12, 27) + bytes(23)
    return prefix + struct.pack("<BBH", 3, 24, 4 + len(raw)) + raw + b"\x7f\xff\x04\x00"


def nic_device_path(slot: int, mac: bytes) -> bytes:
    """``PciRoot(0x0)/Pci(slot,0x0)/MAC(mac,0x1)``: a PCI Ethernet card on the root bridge."""
    root = struct.pack("<BBHII", 2, 1, 12, 0x0A0341D0, 0)  # ACPI PNP0A03, UID 0
    pci = struct.pack("<BBHBB", 1, 1, 6, 0, slot)
    mac_node = struct.pack("<BBH", 3, 11, 37) + mac.ljust(32, b"\0") + b"\x01"
    return root + pci + mac_node


def load_option(description: str, device_path: bytes) -> bytes:
    """An active EFI_LOAD_OPTION (the data of a ``Boot####`` variable)."""
    return (
        struct.pack("<IH", _LOAD_OPTION_ACTIVE, len(device_path))
        + (description + "\0").encode("utf-16-le")
        + device_path
    )


class VariableStore:
    """The UEFI variables in a copy of OVMF's NVRAM file (``OVMF_VARS_4M.fd``), edited while QEMU is off.

    Only adds variables (after the last one) and marks older ones of the same name deleted, as the
    firmware's own variable driver does; the firmware reclaims the space when it needs it.
    """

    _HEADER = struct.Struct("<HBBIQ16sIII16s")  # AUTHENTICATED_VARIABLE_HEADER, 60 bytes
    _PLAIN_HEADER = struct.Struct("<HBBIII16s")  # VARIABLE_HEADER, 32 bytes

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = bytearray(path.read_bytes())
        if len(self.data) < 0x100 or self.data[0x28:0x2C] != b"_FVH":
            raise ValueError(f"{path} is not an OVMF NVRAM file")
        self._start = struct.unpack_from("<H", self.data, 0x30)[0]
        signature = uuid.UUID(bytes_le=bytes(self.data[self._start : self._start + 16]))
        if signature not in (_AUTH_STORE, _PLAIN_STORE):
            raise ValueError(f"{path} holds no UEFI variable store")
        self._auth = signature == _AUTH_STORE
        self._size = struct.unpack_from("<I", self.data, self._start + 16)[0]

    def _walk(self) -> list[tuple[int, str, uuid.UUID, int]]:
        """(offset, name, vendor GUID, state) of every variable; the last offset is the free space."""
        header = self._HEADER if self._auth else self._PLAIN_HEADER
        found: list[tuple[int, str, uuid.UUID, int]] = []
        offset = self._start + 28
        end = self._start + self._size
        while offset + header.size <= end:
            fields = header.unpack_from(self.data, offset)
            if fields[0] != _VARIABLE_DATA:
                break
            name_size, data_size, guid = fields[-3], fields[-2], fields[-1]
            name_at = offset + header.size
            name = bytes(self.data[name_at : name_at + name_size]).decode("utf-16-le", "replace").rstrip("\0")
            found.append((offset, name, uuid.UUID(bytes_le=guid), fields[1]))
            offset = (name_at + name_size + data_size + 3) & ~3
        found.append((offset, "", _GLOBAL_VARIABLE, 0))
        return found

    def set(self, name: str, data: bytes, guid: uuid.UUID = _GLOBAL_VARIABLE) -> None:
        """Add ``name`` (attributes NV+BS+RT), replacing an existing one.

        Raises:
            ValueError: the store is full.
        """
        *variables, (free, _, _, _) = self._walk()
        for offset, other, other_guid, state in variables:
            live = state in (_VAR_ADDED, _VAR_ADDED & _VAR_IN_DELETED_TRANSITION)
            if live and other == name and other_guid == guid:
                self.data[offset + 2] = state & _VAR_DELETED
        raw_name = (name + "\0").encode("utf-16-le")
        if self._auth:
            header = self._HEADER.pack(
                _VARIABLE_DATA,
                _VAR_ADDED,
                0,
                _ATTR_NV_BS_RT,
                0,
                bytes(16),
                0,
                len(raw_name),
                len(data),
                guid.bytes_le,
            )
        else:
            header = self._PLAIN_HEADER.pack(
                _VARIABLE_DATA, _VAR_ADDED, 0, _ATTR_NV_BS_RT, len(raw_name), len(data), guid.bytes_le
            )
        record = header + raw_name + data
        if free + len(record) > self._start + self._size:
            raise ValueError(f"the UEFI variable store in {self.path} is full")
        self.data[free : free + len(record)] = record

    def delete(self, name: str, guid: uuid.UUID = _GLOBAL_VARIABLE) -> None:
        """Mark the live variable ``name`` deleted (nothing when there is none)."""
        for offset, other, other_guid, state in self._walk()[:-1]:
            if state == _VAR_ADDED and other == name and other_guid == guid:
                self.data[offset + 2] = state & _VAR_DELETED

    def get(self, name: str, guid: uuid.UUID = _GLOBAL_VARIABLE) -> bytes | None:
        """The data of the live variable ``name``, or None."""
        header = self._HEADER if self._auth else self._PLAIN_HEADER
        for offset, other, other_guid, state in self._walk()[:-1]:
            if state == _VAR_ADDED and other == name and other_guid == guid:
                fields = header.unpack_from(self.data, offset)
                start = offset + header.size + fields[-3]
                return bytes(self.data[start : start + fields[-2]])
        return None

    def save(self) -> None:
        """Write the file back."""
        self.path.write_bytes(bytes(self.data))


def new_nvram(path: Path, template: Path = OVMF_VARS) -> None:
    """Give a machine its own NVRAM: a copy of OVMF's empty variable store."""
    shutil.copyfile(template, path)


def request_https_boot(nvram: Path, url: str) -> None:
    """Boot ``url`` once at the next start: ``Boot0100`` with ``Uri(url)`` and ``BootNext``."""
    store = VariableStore(nvram)
    path = uri_device_path(url, nic_device_path(NIC_SLOT, NIC_MAC))
    store.set(f"Boot{HTTPS_BOOT_OPTION:04X}", load_option(HTTPS_BOOT_DESCRIPTION, path))
    store.set("BootNext", struct.pack("<H", HTTPS_BOOT_OPTION))
    store.save()


def boot_order(nvram: Path) -> bytes | None:
    """The NVRAM's ``BootOrder`` (None: OVMF has not written one yet)."""
    return VariableStore(nvram).get("BootOrder")


def restore_boot_order(nvram: Path, order: bytes | None) -> None:
    """Put ``BootOrder`` back as :func:`boot_order` read it (None: remove it, OVMF makes it anew).

    OVMF stores the order QEMU's ``bootindex`` asked for in ``BootOrder``; a one-time override
    done with ``bootindex`` would otherwise stay for every later boot.
    """
    store = VariableStore(nvram)
    if order is None:
        store.delete("BootOrder")
    else:
        store.set("BootOrder", order)
    store.save()


def request_setup(nvram: Path) -> None:
    """Enter the firmware's setup at the next start (OsIndications BOOT_TO_FW_UI)."""
    store = VariableStore(nvram)
    store.set("OsIndications", struct.pack("<Q", _OS_INDICATIONS_BOOT_TO_FW_UI))
    store.save()


def firmware_url(url: str) -> tuple[str | None, str]:
    """The URL as the simulated PC reaches it, or (None, why it cannot).

    On QEMU's user network 10.0.2.2 is this machine's 127.0.0.1: a URL on ``localhost`` or
    ``127.0.0.1`` becomes one on 10.0.2.2 (the server's certificate must name 10.0.2.2, the address the
    PC uses). Every other host is out of the simulated PC's reach.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None, f"{url!r} is not a URL"
    if parts.scheme.lower() != "https":
        return None, f"{url!r} is not an https URL"
    host = (parts.hostname or "").lower()
    if not host:
        return None, f"{url!r} names no server"
    local = host in LOOPBACK_NAMES or host == HOST_ADDRESS
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        local = local or address == ipaddress.ip_address("127.0.0.1")
    if not local:
        return None, (
            f"the simulated PC cannot reach {host}: its network only reaches this machine's 127.0.0.1 "
            f"(as {HOST_ADDRESS})"
        )
    netloc = HOST_ADDRESS + (f":{port}" if port is not None else "")
    if parts.username is not None:
        return None, "a user name in the URL is not passed to the firmware"
    return urlunsplit(("https", netloc, parts.path or "/", parts.query, "")), ""


@dataclass(frozen=True)
class HttpsBootOutcome:
    """What became of a One Click Recovery HTTPS boot.

    Attributes:
        url: the admin's URL.
        ok: the firmware loaded the image and started it.
        sentence: one sentence for the event log / the user ("HTTPS boot started ..." or
            "HTTPS boot failed: ...").
        firmware_url: the URL the firmware was given (None when the boot was not attempted).
        size: the image's size in bytes as the server announced it to the firmware, if it got that far.
    """

    url: str
    ok: bool
    sentence: str
    firmware_url: str | None = None
    size: int | None = None


#: What Debian 12's OVMF offers in its TLS ClientHello (seen on the wire): TLS 1.2 only, RSA or DHE key
#: exchange, RSA certificates (no ECDHE, no ECDSA). A server that only does ECDHE cannot serve it.
OVMF_TLS_CIPHERS = (
    "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA256:DHE-RSA-AES128-SHA256:"
    "DHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA:AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:"
    "AES256-SHA:AES128-SHA"
)
#: Sentence when the server offers nothing the firmware's TLS speaks.
NO_COMMON_CIPHER = (
    "HTTPS boot failed: the server and the firmware have no TLS cipher suite in common "
    "(the firmware speaks TLS 1.2 with RSA or DHE key exchange and RSA certificates)"
)

#: Sentence when the firmware aborted the TLS handshake because no trusted root signed the server's chain.
CERT_REFUSED = "HTTPS boot failed: the firmware refused the server certificate"


async def judge_failure(url: str, firmware: str, roots: Sequence[bytes], timeout: float = 10.0) -> str:
    """Why the firmware could not load ``firmware`` (after it said it failed), as one sentence.

    Connects to the admin's server from this machine with the same trusted roots and the host name the
    firmware checked, to tell a refused certificate from an unreachable server.
    """
    host = "127.0.0.1"  # only URLs on this machine's loopback reach the firmware (firmware_url)
    port = urlsplit(url).port or 443
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # OVMF's TLS stack speaks 1.2 only
    context.set_ciphers(OVMF_TLS_CIPHERS)
    if roots:
        context.load_verify_locations(cadata=b"".join(roots))
    else:
        return "HTTPS boot failed: the firmware has no trusted root certificate to check the server with"
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=urlsplit(firmware).hostname),
            timeout,
        )
    except ssl.SSLCertVerificationError:
        return CERT_REFUSED
    except ssl.SSLError:
        return NO_COMMON_CIPHER
    except (OSError, TimeoutError) as exc:
        return (
            f"HTTPS boot failed: the firmware could not connect to {host}:{port} ({exc.__class__.__name__})"
        )
    writer.close()
    return f"HTTPS boot failed: the firmware could not load {url}"


#: Boot-progress lines OVMF and iPXE write to the serial console.
_BDS = re.compile(r"BdsDxe: (loading|starting|failed to load) (Boot[0-9A-F]{4}) \"([^\"]*)\"(.*)")
_SIZE = re.compile(r"File Size: (\d+) Bytes")
_IPXE = re.compile(r"iPXE \d[\w.+-]* -- Open Source Network Boot Firmware")
_ANSI = re.compile(r"\x1b\[[0-9;=?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[=>c]")


class BootWatcher:
    """Turns the firmware's serial text into boot events ``(kind, text)``.

    Kinds: ``loading``, ``starting``, ``failed`` (OVMF's boot manager, text = the option and its
    description), ``download`` (OVMF's network boot found the image: "File Size: N Bytes"),
    ``ipxe`` (iPXE's banner).
    """

    def __init__(self) -> None:
        self._line = ""

    def feed(self, data: bytes) -> list[tuple[str, str, str]]:
        """Serial bytes; returns ``(kind, option, text)`` for every complete line that is an event."""
        events: list[tuple[str, str, str]] = []
        text = self._line + data.decode("latin-1")
        *lines, self._line = re.split(r"[\r\n]", text)
        if len(self._line) > 4096:
            self._line = self._line[-4096:]
        for raw in lines:
            line = _ANSI.sub("", raw).replace("\b", "").strip()
            if not line:
                continue
            match = _BDS.search(line)
            banner = _IPXE.search(line)
            size = _SIZE.search(line)
            if size:
                events.append(("download", size.group(1), size.group(0)))
            if match:
                kind = "failed" if match.group(1) == "failed to load" else match.group(1)
                events.append((kind, match.group(2), match.group(0)))
            elif banner:
                events.append(("ipxe", "", banner.group(0)))
        return events

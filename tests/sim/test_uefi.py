"""The UEFI host's pure parts: URLs as the PC sees them, OVMF's NVRAM and cacerts formats, boot events."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

import pytest

from amtterm.sim import uefi

X509 = uuid.UUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")


@pytest.mark.parametrize(
    ("url", "seen"),
    [
        ("https://localhost:8443/boot/ipxe.efi", "https://10.0.2.2:8443/boot/ipxe.efi"),
        ("https://127.0.0.1/x.efi?a=1", "https://10.0.2.2/x.efi?a=1"),
        ("HTTPS://LOCALHOST:1/x", "https://10.0.2.2:1/x"),
    ],
)
def test_loopback_urls_become_the_hosts_address_on_the_pcs_network(url: str, seen: str) -> None:
    assert uefi.firmware_url(url) == (seen, "")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://boot.example.invalid/ipxe.efi", "cannot reach boot.example.invalid"),
        ("https://127.0.0.2/ipxe.efi", "cannot reach 127.0.0.2"),
        ("http://localhost/ipxe.efi", "not an https URL"),
        ("https://localhost:99999/x", "not a URL"),
    ],
)
def test_urls_the_pc_cannot_reach_are_named(url: str, why: str) -> None:
    seen, sentence = uefi.firmware_url(url)
    assert seen is None and why in sentence


def test_signature_list_holds_each_certificate_as_x509() -> None:
    data = uefi.signature_list([b"\x30\x03abc", b"\x30\x01z"])
    offset, found = 0, []
    while offset < len(data):
        kind = uuid.UUID(bytes_le=data[offset : offset + 16])
        size, header, entry = struct.unpack_from("<III", data, offset + 16)
        assert kind == X509 and header == 0 and size == 28 + entry
        found.append(data[offset + 28 + 16 : offset + size])  # after the owner GUID
        offset += size
    assert found == [b"\x30\x03abc", b"\x30\x01z"]


def test_https_boot_request_in_a_copy_of_ovmfs_nvram(tmp_path: Path) -> None:
    if uefi.find_ovmf() is None:
        pytest.fail("OVMF is missing: install the Debian package ovmf (.ci/run does)")
    nvram = tmp_path / "vars.fd"
    uefi.new_nvram(nvram)
    uefi.request_https_boot(nvram, "https://10.0.2.2:1/a.efi")
    uefi.request_https_boot(nvram, "https://10.0.2.2:2/b.efi")  # replaces the first
    uefi.request_setup(nvram)
    store = uefi.VariableStore(nvram)
    option = store.get("Boot0100")
    assert option is not None and option.endswith(b"https://10.0.2.2:2/b.efi\x7f\xff\x04\x00")
    # The path: PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400123456,0x1)/IPv4(DHCP)/Uri(...): IPv4 only.
    nic = 12 + 6 + 37
    assert struct.unpack_from("<IH", option) == (1, nic + 27 + 4 + len("https://10.0.2.2:2/b.efi") + 4)
    description = (uefi.HTTPS_BOOT_DESCRIPTION + "\0").encode("utf-16-le")
    path = option[6 + len(description) :]
    assert bytes.fromhex("525400123456") in path[:nic]  # the card QEMU has (its MAC)
    assert path[nic : nic + 4] == bytes([3, 12, 27, 0])  # the IPv4 node, before the Uri node
    assert store.get("BootNext") == b"\x00\x01"
    assert store.get("OsIndications") == struct.pack("<Q", 1)
    assert uefi.OVMF_VARS.read_bytes() != nvram.read_bytes()  # the template is never written


def test_a_file_that_is_no_nvram_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "vars.fd"
    bogus.write_bytes(b"\xff" * 4096)
    with pytest.raises(ValueError, match="not an OVMF NVRAM file"):
        uefi.VariableStore(bogus)


def test_boot_watcher_reads_ovmf_and_ipxe_lines_split_anywhere() -> None:
    text = (
        b"\x1b[2J\x1b[01;01H  File Size: 850528 Bytes\r\n  Downloading...100%"
        b'BdsDxe: loading Boot0100 "AMT One Click Recovery HTTPS boot" from Uri(https://10.0.2.2:1/x)\r\n'
        b'BdsDxe: starting Boot0100 "AMT One Click Recovery HTTPS boot" from Uri(https://10.0.2.2:1/x)\r\n'
        b"iPXE initialising devices...ok\r\n\r\n\x1b[1m\x1b[37m\x1b[40miPXE 1.0.0+git-20190125.36a4c85-5.1"
        b"\x1b[0m\x1b[37m\x1b[40m -- Open Source Network Boot Firmware -- \x1b[0m\x1b[36m\x1b[40mhttp://ipxe.org\r\n"
        b'BdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM QM00005 " from PciRoot(0x0): Not Found\r\n'
    )
    watcher = uefi.BootWatcher()
    events = []
    for index in range(0, len(text), 7):
        events += watcher.feed(text[index : index + 7])
    assert [(kind, option) for kind, option, _ in events] == [
        ("download", "850528"),
        ("loading", "Boot0100"),
        ("starting", "Boot0100"),
        ("ipxe", ""),
        ("failed", "Boot0001"),
    ]
    assert events[3][2] == "iPXE 1.0.0+git-20190125.36a4c85-5.1 -- Open Source Network Boot Firmware"


def test_the_boot_order_is_put_back_as_it_was(tmp_path: Path) -> None:
    """What a one-time bootindex override leaves in OVMF's NVRAM is undone at the next start."""
    if uefi.find_ovmf() is None:
        pytest.fail("OVMF is missing: install the Debian package ovmf (.ci/run does)")
    nvram = tmp_path / "vars.fd"
    uefi.new_nvram(nvram)
    assert uefi.boot_order(nvram) is None  # a fresh store: OVMF makes the order at its first start
    store = uefi.VariableStore(nvram)
    store.set("BootOrder", b"\x02\x00\x01\x00")  # what OVMF stored for "the NIC first"
    store.save()
    uefi.restore_boot_order(nvram, None)
    assert uefi.boot_order(nvram) is None
    uefi.restore_boot_order(nvram, b"\x01\x00\x02\x00")
    assert uefi.boot_order(nvram) == b"\x01\x00\x02\x00"

"""`amtterm reinstall` end to end: a real UEFI firmware fetches the image over HTTPS from it.

Behind `amtterm sim --qemu --firmware uefi --amt-version 16.1` sits Debian's OVMF in QEMU. The
command uploads amtterm's CA to the device's trusted roots over TLS WS-Man, serves Debian's
``/usr/lib/ipxe/ipxe.efi`` and sets the One Click Recovery HTTPS boot; OVMF's own TLS stack checks
the server against the roots the device hands it, fetches the file and starts it: iPXE's banner
on the SOL output the command shows. In QEMU's user network this machine's loopback is 10.0.2.2,
so the command serves on 127.0.0.1 and names 10.0.2.2 in the URL (``--url-host``).

With ``amtterm sim --firmware-roots`` the firmware trusts another CA than the one uploaded (a BIOS
that keeps its own list): OVMF refuses the server's certificate, the device's event log says so,
and the command ends with that sentence and exit status 1, after its clean-up.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.real.test_qemu_uefi import IPXE_EFI, _need_qemu_and_ovmf
from tests.support.https_boot import make_ca
from tests.support.simproc import amtterm_argv, start_sim

pytestmark = pytest.mark.real


def _reinstall(
    env: dict[str, str], *sim_extra: str, settle: str = "20"
) -> subprocess.CompletedProcess[bytes]:
    """``amtterm reinstall`` of ipxe.efi against a UEFI simulator (with ``sim_extra`` options)."""
    sim = start_sim(
        env,
        "--qemu",
        "--firmware",
        "uefi",
        "--amt-version",
        "16.1",
        "--qemu-memory",
        "512",
        *sim_extra,
        plain=False,
        wsman=True,
    )
    try:
        assert sim.tls_port is not None and sim.wsman_tls_port is not None
        return subprocess.run(
            [
                *amtterm_argv(),
                "reinstall",
                "127.0.0.1",
                "--image",
                str(IPXE_EFI),
                "--accept-new",
                "--wsman-port",
                str(sim.wsman_tls_port),
                "--redir-port",
                str(sim.tls_port),
                "--serve-on",
                "127.0.0.1:0",
                "--url-host",
                "10.0.2.2",
                "--settle",
                settle,  # the console is shown until then: time for iPXE to start under TCG
                "--timeout",
                "150",
            ],
            env=dict(env, AMT_PASSWORD=sim.password),
            capture_output=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
    finally:
        sim.stop()


@pytest.mark.timeout(240)
def test_ovmf_https_boots_ipxe_served_by_amtterm_reinstall(env: dict[str, str]) -> None:
    _need_qemu_and_ovmf()
    before = hashlib.sha256(IPXE_EFI.read_bytes()).hexdigest(), IPXE_EFI.stat().st_mtime_ns
    result = _reinstall(env)
    out, err = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    assert result.returncode == 0, err
    size = IPXE_EFI.stat().st_size
    assert "amtterm: Added amtterm's HTTPS boot CA to 127.0.0.1's trusted roots." in err
    assert "at https://10.0.2.2:" in err and "/ipxe.efi." in err
    assert f"HTTPS [fetched] {size / 1e6:.3f} of {size / 1e6:.3f} MB (100%)" in err
    # The device's event log heard of it from the firmware, and the command says so.
    assert "amtterm: 127.0.0.1's event log: booted over UEFI HTTPS." in err
    assert "Cleared 127.0.0.1's HTTPS boot settings and removed amtterm's CA from its trusted roots." in err
    # OVMF booted the option the device wrote, from our URL, and what it fetched runs.
    started = (
        'starting Boot0100 "AMT One Click Recovery HTTPS boot" from PciRoot(0x0)/Pci(0x2,0x0)/'
        "MAC(525400123456,0x1)/IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)/Uri(https://10.0.2.2:"
    )
    assert started in out, out[-3000:]
    assert "iPXE initialising devices" in out, out[-3000:]
    assert "Traceback" not in err
    assert (hashlib.sha256(IPXE_EFI.read_bytes()).hexdigest(), IPXE_EFI.stat().st_mtime_ns) == before


@pytest.mark.timeout(240)
def test_a_firmware_that_trusts_another_ca_refuses_the_server_and_reinstall_says_so(
    env: dict[str, str], tmp_path: Path
) -> None:
    _need_qemu_and_ovmf()
    roots = tmp_path / "bios-roots.pem"
    roots.write_bytes(make_ca("someone else's CA").pem)
    result = _reinstall(env, "--firmware-roots", str(roots))
    out, err = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    assert result.returncode == 1, err
    # OVMF tried our URL and gave up on it; nothing was fetched.
    assert 'failed to load Boot0100 "AMT One Click Recovery HTTPS boot"' in out, out[-3000:]
    assert "iPXE initialising devices" not in out
    assert "HTTPS [fetched]" not in err and "0 requests" in err
    # The command's last words: the event log's sentence, after the clean-up.
    lines = [line for line in err.splitlines() if line.strip()]
    assert (
        lines[-1] == "amtterm: 127.0.0.1: HTTPS boot failed: the firmware refused the server certificate."
    ), err
    assert "Cleared 127.0.0.1's HTTPS boot settings and removed amtterm's CA from its trusted roots." in err
    assert "Traceback" not in err

"""`amtterm reinstall` end to end: a real UEFI firmware fetches the image over HTTPS from it.

Behind `amtterm sim --qemu --firmware uefi --amt-version 16.1` sits Debian's OVMF in QEMU. The
command uploads amtterm's CA to the device's trusted roots over TLS WS-Man, serves Debian's
``/usr/lib/ipxe/ipxe.efi`` and sets the One Click Recovery HTTPS boot; OVMF's own TLS stack checks
the server against the roots the device hands it, fetches the file and starts it: iPXE's banner
on the SOL output the command shows. In QEMU's user network this machine's loopback is 10.0.2.2,
so the command serves on 127.0.0.1 and names 10.0.2.2 in the URL (``--url-host``).
"""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from tests.real.test_qemu_uefi import IPXE_EFI, _need_qemu_and_ovmf
from tests.support.simproc import amtterm_argv, start_sim

pytestmark = pytest.mark.real


@pytest.mark.timeout(300)
def test_ovmf_https_boots_ipxe_served_by_amtterm_reinstall(env: dict[str, str]) -> None:
    _need_qemu_and_ovmf()
    before = hashlib.sha256(IPXE_EFI.read_bytes()).hexdigest(), IPXE_EFI.stat().st_mtime_ns
    sim = start_sim(
        env,
        "--qemu",
        "--firmware",
        "uefi",
        "--amt-version",
        "16.1",
        "--qemu-memory",
        "512",
        plain=False,
        wsman=True,
    )
    try:
        assert sim.tls_port is not None and sim.wsman_tls_port is not None
        result = subprocess.run(
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
                "20",  # the console is shown until then: time for iPXE to start under TCG
                "--timeout",
                "240",
            ],
            env=dict(env, AMT_PASSWORD=sim.password),
            capture_output=True,
            timeout=280,
            stdin=subprocess.DEVNULL,
        )
    finally:
        sim.stop()
    out, err = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    assert result.returncode == 0, err
    size = IPXE_EFI.stat().st_size
    assert "amtterm: Added amtterm's HTTPS boot CA to 127.0.0.1's trusted roots." in err
    assert "at https://10.0.2.2:" in err and "/ipxe.efi." in err
    assert f"HTTPS [fetched] {size / 1e6:.3f} of {size / 1e6:.3f} MB (100%)" in err
    assert "Cleared 127.0.0.1's HTTPS boot settings and removed amtterm's CA from its trusted roots." in err
    # OVMF booted the option the device wrote, from our URL, and what it fetched runs.
    assert 'starting Boot0100 "AMT One Click Recovery HTTPS boot" from Uri(https://10.0.2.2:' in out, out[
        -3000:
    ]
    assert "iPXE initialising devices" in out, out[-3000:]
    assert "Traceback" not in err
    assert (hashlib.sha256(IPXE_EFI.read_bytes()).hexdigest(), IPXE_EFI.stat().st_mtime_ns) == before

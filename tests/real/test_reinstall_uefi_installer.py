"""`amtterm reinstall` end to end with an OS installer: One Click Recovery HTTPS boot of an ISO.

Behind `amtterm sim --qemu --firmware uefi --amt-version 16.1` sits Debian's OVMF in QEMU. The
image is a Debian installer ISO built here from Debian's packages
(:mod:`tests.support.uefi_installer_iso`: the netboot installer's kernel, initrd and
``grubx64.efi`` on an El Torito EFI image, the installer talking on ``ttyS0``). `amtterm reinstall`
serves it over HTTPS with its own CA in the device's trusted roots; OVMF fetches the URL (it ends
in ``.iso``) into a RAM disk over its own TLS, boots it as a CD, GRUB starts the installer, and the
installer's first dialog, "Select a language", appears in the SOL output the command shows.
The ISO file is untouched.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.real.test_qemu_ider import fingerprint, plain_text
from tests.real.test_qemu_uefi import _need_qemu_and_ovmf
from tests.support import uefi_installer_iso
from tests.support.simproc import amtterm_argv, start_sim

pytestmark = pytest.mark.real


@pytest.fixture(scope="session")
def uefi_installer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The UEFI-bootable installer ISO, built once per session."""
    gone = uefi_installer_iso.missing()
    if gone:
        needed = uefi_installer_iso.PACKAGES
        pytest.fail(f"missing {', '.join(gone)}: apt-get install {needed} (.ci/run does)")
    return uefi_installer_iso.build(tmp_path_factory.mktemp("uefi-iso") / "installer.iso")


def _until(proc: subprocess.Popen[bytes], text: str, seconds: float, then: float = 3.0) -> bytes:
    """The command's console output until ``text`` shows in it and ``then`` seconds more (the rest of
    the dialog), or until it ends or time is up."""
    assert proc.stdout is not None
    output = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in plain_text(output[-20000:]):
            deadline = min(deadline, time.monotonic() + then)
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            output += chunk
    return output


@pytest.mark.timeout(560)
def test_ovmf_https_boots_the_debian_installer_iso_served_by_amtterm_reinstall(
    env: dict[str, str], uefi_installer: Path, tmp_path: Path
) -> None:
    _need_qemu_and_ovmf()
    before = fingerprint(uefi_installer)
    sim = start_sim(
        env,
        "--qemu",
        "--firmware",
        "uefi",
        "--amt-version",
        "16.1",
        "--qemu-memory",
        "1024",  # the installer, and OVMF's RAM disk holding the ISO
        plain=False,
        wsman=True,
    )
    try:
        assert sim.tls_port is not None and sim.wsman_tls_port is not None
        errors = tmp_path / "stderr"
        with errors.open("wb") as err_file:
            proc = subprocess.Popen(
                [
                    *amtterm_argv(),
                    "reinstall",
                    "127.0.0.1",
                    "--image",
                    str(uefi_installer),
                    "--accept-new",
                    "--wsman-port",
                    str(sim.wsman_tls_port),
                    "--redir-port",
                    str(sim.tls_port),
                    "--serve-on",
                    "127.0.0.1:0",
                    "--url-host",
                    "10.0.2.2",
                    # Longer than the installer needs to come up from the RAM disk under TCG: the
                    # job ends at Ctrl-C below, as a user would end it once the installer is there.
                    "--settle",
                    "300",
                    "--timeout",
                    "480",
                ],
                env=dict(env, AMT_PASSWORD=sim.password),
                stdout=subprocess.PIPE,
                stderr=err_file,
                stdin=subprocess.DEVNULL,
            )
            output = _until(proc, "Select a language", 480)
            proc.send_signal(signal.SIGINT)  # Ctrl-C: the job cleans up and ends
            rest, _ = proc.communicate(timeout=60)
            output += rest
    finally:
        sim.stop()
    out, err = plain_text(output), errors.read_text(errors="replace")
    assert proc.returncode == 130, err  # ended by Ctrl-C, after its clean-up
    size = uefi_installer.stat().st_size
    assert "amtterm: Added amtterm's HTTPS boot CA to 127.0.0.1's trusted roots." in err
    assert "at https://10.0.2.2:" in err and "/installer.iso." in err
    assert f"HTTPS [fetched] {size / 1e6:.3f} of {size / 1e6:.3f} MB (100%)" in err
    assert "Cleared 127.0.0.1's HTTPS boot settings and removed amtterm's CA from its trusted roots." in err
    started = 'starting Boot0100 "AMT One Click Recovery HTTPS boot" from PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400123456,0x1)/IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)/Uri(https://10.0.2.2:'
    assert started in out, out[-3000:]
    # The installer's kernel ran from the ISO and its first dialog is on the serial console.
    assert "Select a language" in out, out[-3000:]
    assert "English" in out[out.index("Select a language") :], out[-3000:]
    assert "Traceback" not in err
    assert fingerprint(uefi_installer) == before

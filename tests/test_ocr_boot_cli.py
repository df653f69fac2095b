"""`amtterm boot HOST https URL` as a user runs it: a real `amtterm` process, real TLS WS-Man.

The full path (CA upload, HTTPS boot, reset) runs against the simulator's WS-Man server on a
TLS socket with AMT 16.1's TLS profile, in front of a synthetic PC whose firmware can boot over
HTTPS (the UefiHost protocol; the UEFI QEMU host has its own tests). The rules run against a
real `amtterm sim` process: its default hosts are legacy BIOSes without HTTPS boot.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
from pathlib import Path

import pytest

from amtterm.errors import WsmanReturnValueError
from amtterm.sim.host import HttpsBoot
from amtterm.wsman import ocr
from amtterm.wsman.client import WsmanClient
from tests.support.simproc import SimProcess, amtterm_argv, start_sim
from tests.support.uefi_device import PASSWORD, make_ca, start_device

pytestmark = pytest.mark.timeout(90)

URL = "https://127.0.0.1:8443/x.efi"


async def run_amtterm(env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *amtterm_argv(),
        *argv,
        env=dict(env, AMT_PASSWORD=PASSWORD),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_https_boot_with_ca_over_tls_reaches_the_uefi_firmware(
    env: dict[str, str], tmp_path: Path
) -> None:
    ca_der = make_ca(tmp_path / "ca.pem")
    server, port, host = await start_device(tmp_path, tls=True)
    try:
        ca_file = str(tmp_path / "ca.pem")
        wsman = ["--wsman-port", str(port), "--accept-new"]
        code, out, err = await run_amtterm(
            env, "boot", "127.0.0.1", "https", URL, "--ca", ca_file, "--then", "reset", *wsman
        )
        assert code == 0, err
        assert out.splitlines() == [
            "127.0.0.1: added the CA certificate CN=boot server root in AMT's trusted roots "
            "(Intel(r) AMT Certificate: Handle: 1).",
            f"127.0.0.1: The machine boots from {URL} over UEFI HTTPS now: reset. If the firmware cannot "
            "reach or trust the server it boots normally without an error, so watch its console.",
        ]
        assert host.https_boots == [HttpsBoot(URL, (ca_der,), None)]
        # Again: the CA is already trusted (not added twice), the boot is armed again.
        code, out, err = await run_amtterm(
            env, "boot", "127.0.0.1", "https", URL, "--ca", ca_file, "--then", "reset", *wsman
        )
        assert code == 0, err
        assert out.startswith("127.0.0.1: already had the CA certificate CN=boot server root")
        assert host.https_boots == [HttpsBoot(URL, (ca_der,), None)] * 2
        assert list(server.state.ocr.trusted_roots.values()) == [ca_der]
        # --json: one document; without --then the boot waits for the next power on or reset
        code, out, err = await run_amtterm(
            env, "boot", "127.0.0.1", "https", URL, "--ca", ca_file, "--json", *wsman
        )
        assert code == 0, err
        data = json.loads(out)
        assert (data["url"], data["power"], data["parameters"]) == (URL, None, 2)
        assert (
            data["ca"]["instance_id"] == "Intel(r) AMT Certificate: Handle: 1"
            and data["ca"]["added"] is False
        )
        assert server.state.boot.source == "Intel(r) AMT: Force OCR UEFI HTTPS Boot"
    finally:
        await server.close()


async def test_the_device_refuses_ocr_settings_over_plain_http_but_not_over_tls(tmp_path: Path) -> None:
    plain, plain_port, _ = await start_device(tmp_path, tls=False)
    secure, secure_port, _ = await start_device(tmp_path, tls=True)
    try:
        async with WsmanClient(
            "127.0.0.1", user="admin", password=PASSWORD, tls=False, port=plain_port
        ) as client:
            with pytest.raises(WsmanReturnValueError, match="refused to turn One Click Recovery on"):
                await ocr.set_ocr(client, True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # a throw-away certificate; pinning has its own tests
        async with WsmanClient(
            "127.0.0.1", user="admin", password=PASSWORD, port=secure_port, verify=context
        ) as client:
            assert await ocr.set_ocr(client, True) == 32769
    finally:
        await plain.close()
        await secure.close()


def run(env: dict[str, str], sim: SimProcess, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*amtterm_argv(), *argv],
        env=dict(env, AMT_PASSWORD=sim.password, AMT_BOOT_HTTP_PASSWORD="pw"),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def refused(result: subprocess.CompletedProcess[str], words: str, code: int = 1) -> None:
    """One sentence on stderr, nothing on stdout; exit 1 for the device's refusal, 2 for bad input."""
    assert result.returncode == code, result.stdout
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert words in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("version", "extra", "words"),
    [
        ("11.8", ["--tls-legacy"], "needs AMT 16 or later; this device runs AMT 11.8.0"),
        ("12.0", [], "needs AMT 16 or later; this device runs AMT 12.0.0"),
    ],
)
def test_before_amt_16_there_is_no_one_click_recovery(
    env: dict[str, str], version: str, extra: list[str], words: str
) -> None:
    sim = start_sim(env, "--amt-version", version, *extra, plain=False, wsman=True)
    try:
        wsman = ["--accept-new", "--wsman-port", str(sim.wsman_tls_port), *extra]
        refused(run(env, sim, "boot", "127.0.0.1", "https", URL, "--then", "reset", *wsman), words)
    finally:
        sim.stop()


def test_amt_16_rules_one_sentence_each(env: dict[str, str], tmp_path: Path) -> None:
    make_ca(tmp_path / "ca.pem")
    sim = start_sim(env, "--amt-version", "16.1", plain=False, wsman=True)
    try:
        tls = ["--accept-new", "--wsman-port", str(sim.wsman_tls_port)]
        plain = ["-P", "--wsman-port", str(sim.wsman_port)]
        refused(run(env, sim, "boot", "127.0.0.1", "https", URL, *plain), "needs WS-Management over TLS")
        # The simulator's default PC is a legacy BIOS: no HTTPS boot, and the CA is not uploaded.
        refused(
            run(env, sim, "boot", "127.0.0.1", "https", URL, "--ca", str(tmp_path / "ca.pem"), *tls),
            "does not offer UEFI HTTPS boot",
        )
        refused(
            run(env, sim, "boot", "127.0.0.1", "https", "http://127.0.0.1/x.efi", *tls),
            "The boot URL must start with https://",
            code=2,
        )
        refused(run(env, sim, "boot", "127.0.0.1", "https", *tls), "Give the boot URL", code=2)
        refused(
            run(env, sim, "boot", "127.0.0.1", "https", URL, "--sol", *tls), "--sol goes with bios", code=2
        )
        refused(
            run(env, sim, "boot", "127.0.0.1", "pxe", URL, *tls),
            "a URL goes with 'boot 127.0.0.1 https URL' only, not with pxe.",
            code=2,
        )
        refused(
            run(env, sim, "boot", "127.0.0.1", "https", URL, "--ca", str(tmp_path / "none.pem"), *tls),
            "Cannot read the CA file",
            code=2,
        )
        refused(
            run(env, sim, "boot", "127.0.0.1", "https", "https://" + "u" * 17 + "@h/x.efi", *tls),
            "The HTTP user name is 17 bytes; AMT takes at most 16.",
            code=2,
        )
    finally:
        sim.stop()

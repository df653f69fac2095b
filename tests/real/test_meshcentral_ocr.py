"""One Click Recovery from MeshCentral's WS-Man stack against the simulator's device, over TLS.

MeshCentral's own code (``amt/amt-wsman-comm.js``, ``amt-wsman.js``, ``amt-xml.js``, ``amt.js``,
from ``tests/node/node_modules``) writes the envelopes: it adds a trusted root, reads the
certificates back (AMT spells the flag ``TrustedRootCertficate``), switches OCR on, and then does
what MeshCentral's ``amtmanager.js`` does for an OCR boot: ChangeBootOrder with no source, a Put
of the boot settings it read (read-only fields removed, the UEFI parameters set), SetBootConfigRole,
ChangeBootOrder to ``Force OCR UEFI HTTPS Boot``, reset. The parameters are the bytes MeshCentral
recorded from MeshCommander 0.8.6 talking to a real AMT. Judged by what the PC's firmware is handed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import shutil
import ssl
from pathlib import Path
from typing import Any

import pytest

from amtterm.sim.host import HttpsBoot
from amtterm.transport import tls as tlsmod
from tests.support.uefi_device import PASSWORD, make_ca, start_device

pytestmark = [pytest.mark.real, pytest.mark.timeout(90)]

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
DRIVER = NODE_DIR / "meshcommander.js"
MESHCENTRAL = NODE_DIR / "node_modules" / "meshcentral"

# MeshCommander 0.8.6's parameters as MeshCentral's amt-ocr module records them from a real AMT:
# URL, sync root CA = 0, the server certificate's SHA-256, timeout 60 s.
MESHCOMMANDER_URL = "https://10.151.137.198:4135/4411145227495581"
MESHCOMMANDER_PARAMS = bytes.fromhex(
    "8680" "0100" "2c000000" + MESHCOMMANDER_URL.encode().hex()
    + "8680" "1400" "01000000" "00"
    + "8680" "1700" "20000000" "ac8adfe3809dc66990040fdaac53765e369c0242f2a789327b57c072d5dd2677"
    + "8680" "1e00" "02000000" "3c00"
)  # fmt: skip
READ_ONLY = (
    "WinREBootEnabled",
    "UEFILocalPBABootEnabled",
    "UEFIHTTPSBootEnabled",
    "SecureBootControlEnabled",
    "BootguardStatus",
    "OptionsCleared",
    "BIOSLastStatus",
    "UefiBootParametersArray",
    "RPEEnabled",
)


class Stack:
    """MeshCentral's WS-Man stack in node: one command in, its one reply out."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, port: int, pin: str) -> Stack:
        node = shutil.which("node")
        assert node, "node is not installed: .ci/run installs Node.js (apt nodejs) when it is missing"
        assert (MESHCENTRAL / "package.json").is_file(), f"run 'npm ci' in {NODE_DIR} (.ci/run does)"
        process = await asyncio.create_subprocess_exec(
            node,
            str(DRIVER),
            "wsman",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--tls",
            "--pin",
            pin,
            cwd=NODE_DIR,
            env={"AMT_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        stack = cls(process)
        assert await stack._next() == {"event": "state", "state": 3}
        return stack

    async def _next(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        assert line, "the node driver ended"
        event: dict[str, Any] = json.loads(line)
        return event

    async def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send one command; return its reply (status and responses)."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()
        while (event := await self._next())["event"] != "reply":
            pass
        return event

    async def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def body(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["status"] == 200, reply
    result: dict[str, Any] = reply["responses"]["Body"]
    return result


async def test_meshcentral_sets_a_one_click_recovery_boot_the_firmware_receives(tmp_path: Path) -> None:
    ca_der = make_ca(tmp_path / "ca.pem")
    server, port, host = await start_device(tmp_path, tls=True)
    cert_path, _ = tlsmod.ensure_self_signed(tmp_path / "device")  # the device's, made by start_device
    device_cert = ssl.PEM_cert_to_DER_cert(cert_path.read_text())
    stack = await Stack.start(port, hashlib.sha256(device_cert).hexdigest())
    try:
        blob = base64.b64encode(ca_der).decode()
        added = body(
            await stack.ask(
                {
                    "exec": [
                        "AMT_PublicKeyManagementService",
                        "AddTrustedRootCertificate",
                        {"CertificateBlob": blob},
                    ]
                }
            )
        )
        assert added["ReturnValue"] == 0, added
        listed = await stack.ask({"enum": ["AMT_PublicKeyCertificate"]})
        [certificate] = listed["responses"]["AMT_PublicKeyCertificate"]["responses"]
        assert certificate["TrustedRootCertficate"] is True and certificate["X509Certificate"] == blob
        assert certificate["InstanceID"] == "Intel(r) AMT Certificate: Handle: 1"

        switched = body(
            await stack.ask({"exec": ["CIM_BootService", "RequestStateChange", {"RequestedState": 32769}]})
        )
        assert switched["ReturnValue"] == 0

        settings = body(
            await stack.ask({"get": "AMT_BootSettingData"})
        )  # the instance, as amtmanager uses it
        assert settings["UEFIHTTPSBootEnabled"] is True
        for name in READ_ONLY:
            settings.pop(name, None)
        settings.update(
            BIOSPause=False,
            BIOSSetup=False,
            EnforceSecureBoot=False,
            BootMediaIndex=0,
            UefiBootParametersArray=base64.b64encode(MESHCOMMANDER_PARAMS).decode(),
            UefiBootNumberOfParams=4,
        )
        assert body(await stack.ask({"bootorder": None}))["ReturnValue"] == 0
        assert (await stack.ask({"put": ["AMT_BootSettingData", settings]}))["status"] == 200
        assert body(await stack.ask({"role": 1}))["ReturnValue"] == 0
        assert (
            body(await stack.ask({"bootorder": "Intel(r) AMT: Force OCR UEFI HTTPS Boot"}))["ReturnValue"]
            == 0
        )
        assert host.https_boots == []
        assert body(await stack.ask({"power": 10}))["ReturnValue"] == 0
        # sync root CA was 0 in MeshCommander's parameters: the firmware gets no roots
        assert host.https_boots == [HttpsBoot(MESHCOMMANDER_URL, (), 60)]
    finally:
        await stack.close()
        await server.close()

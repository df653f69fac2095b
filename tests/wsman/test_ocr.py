"""One Click Recovery: the client's calls against the simulator's WS-Man service in memory.

The host behind the device is a recording fake that implements the UefiHost protocol (a real
UEFI QEMU host is tested elsewhere); the service and the client are the real ones.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import pytest

from amtterm.errors import ConfigError, WsmanFault, WsmanRefused, WsmanReturnValueError
from amtterm.sim.host import HttpsBoot, UefiHost
from amtterm.sim.wsman import service
from amtterm.sim.wsman.state import DeviceState
from amtterm.wsman import ocr
from amtterm.wsman.envelope import build_put
from amtterm.wsman.operations import get_instance
from amtterm.wsman.resources import AMT_BOOT_SETTING_DATA, SOURCE_OCR_HTTPS, resource_uri
from amtterm.wsman.uefi_params import UefiParam, UefiParamError, to_base64
from tests.wsman.conftest import Cert, Clock, FakeHost

URL = "https://127.0.0.1:8443/x.efi"


@dataclass
class FakeUefiHost(FakeHost):
    """A recording host whose firmware can boot over HTTPS."""

    https_boots: list[HttpsBoot | None] = field(default_factory=list)

    def set_https_boot(self, boot: HttpsBoot | None) -> None:
        self.https_boots.append(boot)
        self.calls.append("https")


class Link:
    """An in-memory transport to the service that says whether it stands for TLS."""

    def __init__(self, state: DeviceState, tls: bool | None = True) -> None:
        self.state = state
        self.clock = Clock()
        self.actions: list[str] = []
        self._tls = tls
        if tls is not None:
            self.tls = tls

    async def __call__(self, body: str) -> str:
        start = body.index("<wsa:Action>") + len("<wsa:Action>")
        self.actions.append(body[start : body.index("</wsa:Action>")].rsplit("/", 1)[-1])
        return service.handle(body, self.state, self.clock(), tls=self._tls is not False)[1]


def make(version: str = "16.1.25", *, uefi: bool = True, tls: bool | None = True) -> tuple[Link, FakeHost]:
    host = FakeUefiHost() if uefi else FakeHost()
    state = DeviceState(host=host, amt_version=version, digest_realm="Digest:" + "AB" * 16)
    return Link(state, tls), host


async def test_amt_16_with_uefi_firmware_offers_https_boot_with_ocr_off() -> None:
    link, host = make()
    assert isinstance(host, UefiHost)
    support = await ocr.ocr_support(link)
    assert support.major == 16 and support.tls is True
    assert support.https_capable and support.https_enabled and support.https_source
    assert support.boot_service_state == 32768 and not support.ocr_enabled
    assert support.problem is None


async def test_https_boot_with_ca_reaches_the_firmware_on_reset(cert: Cert) -> None:
    link, host = make()
    assert isinstance(host, FakeUefiHost)
    root = await ocr.add_trusted_root(link, cert.cert_path.read_bytes())
    assert root.added and root.instance_id == "Intel(r) AMT Certificate: Handle: 1"
    assert root.reference.selectors == {"InstanceID": root.instance_id}
    assert root.der == cert.der

    link.actions.clear()
    result = await ocr.set_https_boot(link, URL, then="reset")
    assert result.power == "reset" and result.ocr_switched_on and result.parameters == 2
    assert URL in result.message
    # the order real consoles use, after the reads
    sets = [a for a in link.actions if a not in ("Get", "Enumerate", "Pull")]
    assert sets == [
        "RequestStateChange",
        "ChangeBootOrder",
        "Put",
        "SetBootConfigRole",
        "ChangeBootOrder",
        "RequestPowerStateChange",
    ]
    assert host.https_boots == [HttpsBoot(URL, (cert.der,), None)]
    assert host.calls[-2:] == ["https", "reset:None"]
    # the boot consumed the one-time settings, parameters included
    after = await get_instance(link, AMT_BOOT_SETTING_DATA)
    assert after.integer("UefiBootNumberOfParams") == 0
    assert link.state.boot.source is None
    await ocr.set_https_boot(link, URL)  # armed again, for the next boot only
    assert (await ocr.ocr_support(link)).ocr_enabled


async def test_amt_17_sends_the_timeout_and_credentials_stay_out_of_the_url() -> None:
    link, host = make("17.0.5")
    assert isinstance(host, FakeUefiHost)
    await ocr.set_https_boot(link, "https://me:pw@127.0.0.1/x.efi", then="reset", timeout=30)
    assert host.https_boots == [HttpsBoot("https://127.0.0.1/x.efi", (), 30)]


async def test_remote_platform_erase_stays_on_when_ocr_is_switched_on() -> None:
    link, _ = make()
    link.state.ocr.boot_service_state = 32770
    await ocr.set_https_boot(link, URL)
    assert link.state.ocr.boot_service_state == 32771


async def test_without_then_the_boot_waits_and_clear_undoes_it() -> None:
    link, host = make()
    assert isinstance(host, FakeUefiHost)
    result = await ocr.set_https_boot(link, URL)
    assert result.power is None and "on the next boot" in result.message
    assert link.state.boot.source == SOURCE_OCR_HTTPS
    await ocr.clear_https_boot(link)
    assert link.state.boot.source is None and link.state.ocr.parameters == ""
    assert link.state.boot.role == 32768
    assert host.https_boots == []


@pytest.mark.parametrize(
    ("version", "uefi", "tls", "words"),
    [
        ("11.8.50", True, True, "needs AMT 16 or later; this device runs AMT 11.8.50"),
        ("12.0.20", True, True, "needs AMT 16 or later; this device runs AMT 12.0.20"),
        ("16.1.25", True, False, "needs WS-Management over TLS"),
        ("16.1.25", False, True, "does not offer UEFI HTTPS boot"),
    ],
)
async def test_each_rule_is_one_sentence_and_nothing_is_set(
    version: str, uefi: bool, tls: bool, words: str
) -> None:
    link, host = make(version, uefi=uefi, tls=tls)
    with pytest.raises(WsmanRefused) as caught:
        await ocr.set_https_boot(link, URL, then="reset")
    assert words in str(caught.value)
    assert str(caught.value).count(". ") == 0
    assert {a for a in link.actions} <= {"Get", "Enumerate", "Pull"}
    assert host.calls == []


async def test_bios_switch_off_is_named() -> None:
    link, _ = make()
    link.state.ocr.bios_https_enabled = False
    with pytest.raises(WsmanRefused, match="disabled in this machine's BIOS setup"):
        await ocr.set_https_boot(link, URL)


async def test_a_plain_http_url_is_refused_before_any_request() -> None:
    link, _ = make()
    with pytest.raises(UefiParamError, match="must start with https://"):
        await ocr.set_https_boot(link, "http://127.0.0.1/x.efi")
    assert link.actions == []


async def test_the_device_itself_refuses_ocr_over_plain_http() -> None:
    link, _ = make(tls=None)  # the client cannot tell; the device can
    link._tls = False
    with pytest.raises(WsmanReturnValueError, match="refused to turn One Click Recovery on"):
        await ocr.set_https_boot(link, URL)
    link.state.ocr.boot_service_state = 32769
    with pytest.raises(WsmanFault, match="accepted over TLS only"):
        await ocr.set_https_boot(link, URL)


async def test_device_checks_parameters_a_console_puts() -> None:
    link, _ = make()
    bad = to_base64([UefiParam(1, b"http://127.0.0.1/x.efi"), UefiParam(20, b"\x01")])
    values = {"InstanceID": "Intel(r) AMT:BootSettingData 0", "UefiBootParametersArray": bad}
    request = build_put(resource_uri(AMT_BOOT_SETTING_DATA), {**values, "UefiBootNumberOfParams": 2})
    status, reply = service.handle(request, link.state, 0.0)
    assert status == 400 and "must start with https://" in reply
    good = to_base64([UefiParam(1, URL.encode()), UefiParam(20, b"\x01")])
    request = build_put(
        resource_uri(AMT_BOOT_SETTING_DATA),
        {**values, "UefiBootParametersArray": good, "UefiBootNumberOfParams": 3},
    )
    status, reply = service.handle(request, link.state, 0.0)
    assert status == 400 and "says 3 but" in reply


async def test_trusted_roots_duplicates_removal_and_the_limit(cert: Cert) -> None:
    link, _ = make()
    first = await ocr.add_trusted_root(link, cert.der)
    again = await ocr.add_trusted_root(link, cert.cert_path.read_bytes())
    assert (again.instance_id, again.added) == (first.instance_id, False)
    assert [r.instance_id for r in await ocr.trusted_roots(link)] == [first.instance_id]
    await ocr.remove_trusted_root(link, first.instance_id)
    assert await ocr.trusted_roots(link) == []
    with pytest.raises(WsmanFault, match="InvalidSelectors"):
        await ocr.remove_trusted_root(link, first.instance_id)
    link.state.ocr.max_trusted_roots = 0
    with pytest.raises(WsmanReturnValueError, match="store of trusted root certificates is full"):
        await ocr.add_trusted_root(link, cert.der)


async def test_device_refuses_a_blob_that_is_no_certificate() -> None:
    link, _ = make()
    blob = base64.b64encode(b"not a certificate").decode()
    body = (
        '<p:AddTrustedRootCertificate_INPUT xmlns:p="'
        + resource_uri("AMT_PublicKeyManagementService")
        + f'"><p:CertificateBlob>{blob}</p:CertificateBlob></p:AddTrustedRootCertificate_INPUT>'
    )
    from amtterm.wsman.envelope import build_request

    uri = resource_uri("AMT_PublicKeyManagementService")
    _, reply = service.handle(build_request(f"{uri}/AddTrustedRootCertificate", uri, body), link.state, 0.0)
    assert "<g:ReturnValue>2063</g:ReturnValue>" in reply


def test_a_file_that_is_no_certificate_is_one_sentence() -> None:
    with pytest.raises(ConfigError, match=r"^The CA file is not an X.509 certificate \(PEM or DER\)\.$"):
        ocr.certificate_der(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")


async def test_support_as_json_says_what_stops_it() -> None:
    link, _ = make("12.0.20")
    data = (await ocr.ocr_support(link)).to_json()
    assert data["amt_version"] == "12.0.20" and data["ocr_enabled"] is False
    assert data["problem"] == (
        "One Click Recovery (UEFI HTTPS boot) needs AMT 16 or later; this device runs AMT 12.0.20."
    )
    link, _ = make()
    assert await ocr.enable_ocr(link) == 32769
    assert (await ocr.ocr_support(link)).to_json()["ocr_enabled"] is True
    assert await ocr.set_ocr(link, False) == 32768

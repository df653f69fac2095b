"""ReinstallJob's order and clean-up, with a stand-in for One Click Recovery over WS-Man.

The stand-in plays the device and its firmware: the roots added are what it trusts, and the
HTTPS boot fetches the URL set with Python's ssl verifying against exactly those roots, over a
real loopback TLS socket. (The job against ``amtterm sim`` over WS-Man is in
tests/test_cli_reinstall.py.)
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from amtterm.errors import AmtError, ConfigError, WsmanRefused
from amtterm.session import reinstall
from amtterm.session.boot_authority import BootAuthority
from amtterm.session.image_server import ImageProgress
from amtterm.session.reinstall import HttpsBootOffer, ReinstallJob, ReinstallRequest, image_kind
from amtterm.wsman.bootwatch import BootOutcome
from amtterm.wsman.eventlog import Event

pytestmark = pytest.mark.timeout(60)

OFFERED = HttpsBootOffer(True)


class Device:
    """One Click Recovery as the job sees it; the firmware fetches the URL with the roots added."""

    def __init__(
        self, offer: HttpsBootOffer = OFFERED, *, fetch: bool = True, firmware_roots: bytes | None = None
    ) -> None:
        self.offer = offer
        self.fetch = fetch
        #: PEM the firmware trusts instead of the roots added (a BIOS with its own list).
        self.firmware_roots = firmware_roots
        #: The event log: what the firmware reported, oldest first.
        self.log: list[BootOutcome] = [BootOutcome("disk", True, "an old boot")]
        #: What the log gets at the reset, before the firmware's own word.
        self.at_reset: list[BootOutcome] = []
        self.log_error: Exception | None = None
        self.roots: dict[str, bytes] = {}
        self.url: str | None = None
        self.calls: list[str] = []
        self.fetched: bytes | None = None
        self.refuse: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def https_boot_offer(self) -> HttpsBootOffer:
        self.calls.append("offer")
        return self.offer

    async def add_trusted_root(self, der: bytes) -> str:
        self.calls.append("add root")
        if self.refuse == "add root":
            raise WsmanRefused("The device refused the CA certificate.")
        handle = f"Handle: {len(self.roots) + 1}"
        self.roots[handle] = der
        return handle

    async def remove_trusted_root(self, handle: str) -> None:
        self.calls.append("remove root")
        del self.roots[handle]

    async def set_https_boot(self, url: str) -> str:
        self.calls.append("boot")
        if self.refuse == "boot":
            raise WsmanRefused("User consent is required.")
        self.url = url
        self.log += self.at_reset
        if self.fetch:
            self._task = asyncio.ensure_future(asyncio.to_thread(self._firmware, url))
        return f"The machine boots from {url} over UEFI HTTPS now: reset."

    def _firmware(self, url: str) -> None:
        pem = "".join(
            x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()
            for der in self.roots.values()
        )
        if self.firmware_roots is not None:
            pem = self.firmware_roots.decode()
        context = ssl.create_default_context(cadata=pem)
        try:
            with urllib.request.urlopen(url, context=context, timeout=20) as response:
                self.fetched = response.read()
        except urllib.error.URLError as exc:
            assert isinstance(exc.reason, ssl.SSLCertVerificationError), exc
            self.log.append(
                verdict("https-boot-failed", "HTTPS boot failed: the firmware refused the server certificate")
            )
        else:
            self.log.append(verdict("https-boot-ok", "booted over UEFI HTTPS"))

    async def read_boot_log(self) -> object:
        self.calls.append("read log")
        if self.log_error is not None:
            raise self.log_error
        return len(self.log)

    async def boot_outcome(self, before: object) -> BootOutcome | None:
        assert isinstance(before, int)
        return self.log[before] if len(self.log) > before else None

    async def clear_https_boot(self) -> None:
        self.calls.append("clear")
        self.url = None


def verdict(kind: str, text: str) -> BootOutcome:
    """The verdict on one new event of ``kind`` saying ``text``."""
    event = Event(0, kind, text, "https", "BIOS", "monitor", "00" * 21)
    return BootOutcome("https", kind == "https-boot-ok", text, (event,))


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "boot.efi"
    path.write_bytes(b"MZ" + bytes(range(256)) * 4000)
    return path


@pytest.fixture
def authority(tmp_path: Path) -> BootAuthority:
    return BootAuthority.load(tmp_path / "ca")


def job_for(
    request: ReinstallRequest,
    device: Device | None,
    authority: BootAuthority,
    said: list[str],
    **extra: object,
) -> ReinstallJob:
    return ReinstallJob(
        request,
        name="pc42",
        device="127.0.0.1",
        recovery=device,
        authority=authority,
        on_message=said.append,
        **extra,  # type: ignore[arg-type]
    )


async def test_the_firmware_fetches_the_image_then_everything_is_undone(
    image: Path, authority: BootAuthority
) -> None:
    device, said = Device(), []
    progress: list[object] = []
    attached: list[str] = []

    async def attach() -> None:
        attached.append(str(device.calls))

    job = job_for(
        ReinstallRequest(image, settle=0.5, timeout=30),
        device,
        authority,
        said,
        before_boot=attach,
        on_progress=progress.append,
    )
    await job.run()
    assert job.state == "ended"
    assert device.fetched == image.read_bytes()
    assert device.calls == ["offer", "add root", "boot", "clear", "remove root"]
    assert attached == ["['offer', 'add root']"]  # SOL attached before the reset, after the CA
    assert device.roots == {} and device.url is None
    assert job.url is not None and job.url.startswith("https://127.0.0.1:")
    last = progress[-1]
    assert isinstance(last, ImageProgress) and last.complete
    assert any("has fetched the whole image" in s for s in said), said
    assert said[-1] == "Cleared pc42's HTTPS boot settings and removed amtterm's CA from its trusted roots."
    assert image_kind(image) == "efi"


async def test_the_event_log_says_the_firmware_refused_the_certificate_and_the_job_fails_with_it(
    image: Path, authority: BootAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reinstall, "LOG_POLL", 0.05)
    other = BootAuthority.load(image.parent / "someone-else")
    device, said = Device(firmware_roots=other.certificate.public_bytes(Encoding.PEM)), []
    job = job_for(ReinstallRequest(image, settle=0.5, timeout=30), device, authority, said, boot_log=device)
    with pytest.raises(AmtError) as raised:
        await job.run()
    assert str(raised.value) == "pc42: HTTPS boot failed: the firmware refused the server certificate."
    assert job.state == "failed" and device.fetched is None
    # The log was read before the boot, and everything was undone before the sentence.
    assert device.calls == ["offer", "add root", "read log", "boot", "clear", "remove root"]
    assert device.roots == {} and device.url is None
    assert said[-1] == "Cleared pc42's HTTPS boot settings and removed amtterm's CA from its trusted roots."


async def test_the_event_log_confirms_the_boot_and_the_job_ends_when_the_image_is_fetched(
    image: Path, authority: BootAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reinstall, "LOG_POLL", 0.05)
    device, said = Device(), []
    job = job_for(ReinstallRequest(image, settle=0.5, timeout=30), device, authority, said, boot_log=device)
    await job.run()
    assert job.state == "ended" and device.fetched == image.read_bytes()
    assert "pc42's event log: booted over UEFI HTTPS." in said
    assert job.outcome is not None and job.outcome.happened


async def test_a_log_that_says_the_pc_booted_its_disk_fails_the_job_once_no_request_came(
    image: Path, authority: BootAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reinstall, "LOG_POLL", 0.05)
    monkeypatch.setattr(reinstall, "DOUBT_GRACE", 0.5)
    device, said = Device(fetch=False), []
    device.at_reset.append(verdict("boot-device", "booted the hard disk, not the UEFI HTTPS"))
    job = job_for(ReinstallRequest(image, timeout=30), device, authority, said, boot_log=device)
    with pytest.raises(AmtError, match=r"^pc42: booted the hard disk, not the UEFI HTTPS\.$"):
        await job.run()
    assert device.calls[-2:] == ["clear", "remove root"] and device.roots == {}


async def test_a_log_that_says_another_device_is_overruled_by_the_firmware_fetching(
    image: Path, authority: BootAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A firmware may log the network as its boot device for an HTTPS boot: the bytes decide."""
    monkeypatch.setattr(reinstall, "LOG_POLL", 0.05)
    monkeypatch.setattr(reinstall, "DOUBT_GRACE", 3.0)
    device, said = Device(fetch=False), []
    device.at_reset.append(verdict("boot-device", "booted the network (PXE), not the UEFI HTTPS"))
    job = job_for(ReinstallRequest(image, settle=0.3, timeout=30), device, authority, said, boot_log=device)
    task = asyncio.ensure_future(job.run())
    while device.url is None:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # the log's word is in
    await asyncio.to_thread(device._firmware, device.url)
    await task
    assert job.state == "ended" and device.fetched == image.read_bytes()


async def test_an_unreadable_event_log_is_said_once_and_the_bytes_served_decide(
    image: Path, authority: BootAuthority
) -> None:
    device, said = Device(), []
    device.log_error = WsmanRefused(
        "The device refused to read its event log (AMT_MessageLog ReturnValue 1)."
    )
    job = job_for(ReinstallRequest(image, settle=0.5, timeout=30), device, authority, said, boot_log=device)
    await job.run()
    assert job.state == "ended" and job.outcome is None
    assert (
        "Not following pc42's event log (the device refused to read its event log (AMT_MessageLog "
        "ReturnValue 1)): the job judges the boot by the bytes served only." in said
    )


async def test_stop_undoes_everything(image: Path, authority: BootAuthority) -> None:
    device, said = Device(fetch=False), []
    job = job_for(ReinstallRequest(image), device, authority, said)
    task = asyncio.ensure_future(job.run())
    while job.state != "serving":
        await asyncio.sleep(0.01)
    await job.stop()
    await task
    assert job.state == "stopped"
    assert device.calls[-2:] == ["clear", "remove root"] and device.roots == {}


async def test_the_timeout_undoes_everything(image: Path, authority: BootAuthority) -> None:
    device, said = Device(fetch=False), []
    job = job_for(ReinstallRequest(image, timeout=0.3), device, authority, said)
    await job.run()
    assert job.state == "timed out"
    assert "Gave up after 0.3 s (--timeout)." in said
    assert device.calls[-2:] == ["clear", "remove root"] and device.roots == {}


async def test_a_refused_root_starts_nothing_more(image: Path, authority: BootAuthority) -> None:
    device, said = Device(), []
    device.refuse = "add root"
    job = job_for(ReinstallRequest(image), device, authority, said)
    with pytest.raises(WsmanRefused):
        await job.run()
    assert device.calls == ["offer", "add root"]
    assert job.state == "failed" and job.server is None


async def test_a_refused_boot_removes_the_root(image: Path, authority: BootAuthority) -> None:
    device, said = Device(), []
    device.refuse = "boot"
    job = job_for(ReinstallRequest(image), device, authority, said)
    with pytest.raises(WsmanRefused, match="consent"):
        await job.run()
    assert device.calls == ["offer", "add root", "boot", "clear", "remove root"]
    assert device.roots == {}


async def test_https_not_offered(image: Path, authority: BootAuthority) -> None:
    device = Device(HttpsBootOffer(False, "AMT 11.8 has no One Click Recovery"))
    job = job_for(ReinstallRequest(image, method="https"), device, authority, [])
    with pytest.raises(
        ConfigError, match=r"^HTTPS boot is not offered: AMT 11\.8 has no One Click Recovery\.$"
    ):
        await job.run()
    # auto with a .efi: IDE-R cannot take it either, one sentence
    job = job_for(ReinstallRequest(image), device, authority, [])
    with pytest.raises(ConfigError, match=r"IDE-R cannot serve .*boot\.efi \(it serves only an ISO\)\.$"):
        await job.run()
    assert device.calls == ["offer", "offer"]


def test_ider_takes_only_an_iso(image: Path) -> None:
    with pytest.raises(ConfigError, match=r"boot\.efi is a UEFI executable: IDE-R serves only an ISO"):
        ReinstallRequest(image, method="ider").check()


async def test_the_image_is_only_read(image: Path, authority: BootAuthority) -> None:
    before = hashlib.sha256(image.read_bytes()).hexdigest(), image.stat().st_mtime_ns
    image.chmod(0o444)
    await job_for(ReinstallRequest(image, settle=0.2, timeout=30), Device(), authority, []).run()
    assert (hashlib.sha256(image.read_bytes()).hexdigest(), image.stat().st_mtime_ns) == before

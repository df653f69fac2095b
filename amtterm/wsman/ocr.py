"""One Click Recovery (OCR): UEFI HTTPS boot of an image the admin serves, AMT 16 and later.

What a device offers (modern-amt.md §1.2; MPS ``getAMTFeatures``): OCR is on when
``CIM_BootService.EnabledState`` is 32769 or 32771; an HTTPS boot is usable when the
``Intel(r) AMT: Force OCR UEFI HTTPS Boot`` source exists, ``AMT_BootCapabilities.ForceUEFIHTTPSBoot``
is true and the BIOS has it enabled (``AMT_BootSettingData.UEFIHTTPSBootEnabled``). Consoles
talk OCR only over TLS (DMT docs; MeshCommander offers it only then).

Order of an HTTPS boot (DMT MPS ``bootOptions.ts``, the order real consoles use):

1. refuse early, changing nothing: AMT < 16, WS-Man not on TLS, capability or source missing,
   BIOS switch off, URL not https, consent missing, ``then=on`` while on;
2. turn OCR on if it is off (RequestStateChange 32769, or 32771 when RPE is on, so RPE stays);
3. Get AMT_BootSettingData; ChangeBootOrder with no source; Put it with UseIDER, BIOSSetup,
   UseSOL cleared, BootMediaIndex 0, the TLV list (URL, sync-root-CA = 1, the timeout on
   AMT > 16, user/password from ``user:pass@`` in the URL); SetBootConfigRole(1);
   ChangeBootOrder(the OCR HTTPS source);
4. power on (2) or reset (10) when asked.

The HTTPS server's root CA must be in AMT's trusted roots for the firmware to trust the server
(sync-root-CA hands them over): :func:`add_trusted_root` (``AMT_PublicKeyManagementService.
AddTrustedRootCertificate``), listed with :func:`trusted_roots` and removed with
:func:`remove_trusted_root` (a WS-Transfer Delete of the ``AMT_PublicKeyCertificate``).
A device that cannot reach or trust the server boots normally and reports nothing, so a caller
must check that the boot happened.
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from amtterm.errors import ConfigError, WsmanMalformedReply, WsmanRefused, WsmanReturnValueError
from amtterm.wsman import boot as wsboot
from amtterm.wsman import envelope, parse
from amtterm.wsman.envelope import EndpointReference, Value
from amtterm.wsman.operations import (
    UNREADABLE,
    Transport,
    enumerate_instances,
    get_instance,
    invoke,
    put_instance,
    request_power_state,
)
from amtterm.wsman.resources import (
    ACTION_DELETE,
    AMT_BOOT_CAPABILITIES,
    AMT_BOOT_SETTING_DATA,
    AMT_PUBLIC_KEY_CERTIFICATE,
    AMT_PUBLIC_KEY_MANAGEMENT_SERVICE,
    BOOT_ROLE_NEXT_SINGLE_USE,
    BOOT_ROLE_NOT_NEXT,
    BOOT_SERVICE_OCR_ON,
    BOOT_SERVICE_OCR_RPE_OFF,
    BOOT_SERVICE_OCR_RPE_ON,
    BOOT_SERVICE_RPE_ON,
    CIM_BOOT_SERVICE,
    CIM_BOOT_SOURCE_SETTING,
    CIM_SOFTWARE_IDENTITY,
    SOURCE_OCR_BOOT_OPTION,
    SOURCE_OCR_HTTPS,
    PowerState,
    resource_uri,
)
from amtterm.wsman.results import _Json
from amtterm.wsman.uefi_params import HttpsBootParams, https_boot_params, read_https_boot, to_base64

#: First AMT major version with One Click Recovery (CSME 16, 12th-generation Core).
MIN_OCR_VERSION: Final = 16
#: From this major version on the HTTPS timeout parameter (30) is sent (MeshCommander: AMT > 16).
MIN_TIMEOUT_VERSION: Final = 17
#: AMT_PublicKeyCertificate.X509Certificate is a uint8[4100] (go-wsman-messages publickey types).
MAX_CERTIFICATE_BYTES: Final = 4100
#: ReturnValues of AddTrustedRootCertificate (AMT-STATUS codes, AMT SDK status header).
STATUS_MAX_LIMIT_REACHED: Final = 0x17
STATUS_DUPLICATE: Final = 0x80A
STATUS_INVALID_CERT: Final = 0x80F


# -- what the device offers ------------------------------------------------------------------------
@dataclass(frozen=True)
class OcrSupport(_Json):
    """What a device offers for One Click Recovery, read by :func:`ocr_support`.

    Attributes:
        amt_version: CIM_SoftwareIdentity ``AMT`` VersionString, or None if unreadable.
        major: its major number (0 if unknown).
        tls: the WS-Man link is TLS (None: the transport does not say).
        https_capable: AMT_BootCapabilities.ForceUEFIHTTPSBoot.
        https_enabled: AMT_BootSettingData.UEFIHTTPSBootEnabled (the BIOS switch).
        https_source: the ``Force OCR UEFI HTTPS Boot`` source instance exists.
        boot_options: InstanceIDs of the ``Force OCR UEFI Boot Option N`` sources (PBA, WinRE).
        boot_service_state: CIM_BootService.EnabledState (32768 off, 32769 OCR, 32770 RPE,
            32771 both), or None.
    """

    amt_version: str | None
    major: int
    tls: bool | None
    https_capable: bool
    https_enabled: bool
    https_source: bool
    boot_options: tuple[str, ...]
    boot_service_state: int | None

    @property
    def ocr_enabled(self) -> bool:
        """OCR is switched on in CIM_BootService."""
        return self.boot_service_state in (BOOT_SERVICE_OCR_ON, BOOT_SERVICE_OCR_RPE_ON)

    @property
    def rpe_enabled(self) -> bool:
        """Remote Platform Erase is switched on in CIM_BootService."""
        return self.boot_service_state in (BOOT_SERVICE_RPE_ON, BOOT_SERVICE_OCR_RPE_ON)

    @property
    def problem(self) -> str | None:
        """The sentence of the first rule that rules an HTTPS boot out, or None when it is usable."""
        if self.major < MIN_OCR_VERSION:
            runs = f"runs AMT {self.amt_version}" if self.amt_version else "did not tell its AMT version"
            return (
                f"One Click Recovery (UEFI HTTPS boot) needs AMT {MIN_OCR_VERSION} or later; "
                f"this device {runs}."
            )
        if self.tls is False:
            return (
                "One Click Recovery needs WS-Management over TLS; connect over HTTPS "
                "(port 16993, without -P)."
            )
        if not self.https_capable:
            return (
                "This machine's firmware does not offer UEFI HTTPS boot "
                "(AMT_BootCapabilities.ForceUEFIHTTPSBoot is false)."
            )
        if not self.https_source:
            return (
                f"The device lists no '{SOURCE_OCR_HTTPS}' boot source, so it cannot boot over "
                "HTTPS; check that One Click Recovery is supported by this machine's BIOS."
            )
        if not self.https_enabled:
            return (
                "UEFI HTTPS boot is disabled in this machine's BIOS setup "
                "(UEFIHTTPSBootEnabled is false); enable HTTP(S) boot there first."
            )
        return None

    @property
    def https_usable(self) -> bool:
        """An HTTPS boot can be set (OCR itself may still be off: :func:`set_https_boot` turns it on)."""
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        """The fields, plus ``ocr_enabled``, ``rpe_enabled`` and ``problem``."""
        data = super().to_json()
        data.update(ocr_enabled=self.ocr_enabled, rpe_enabled=self.rpe_enabled, problem=self.problem)
        return data


def _tls_of(transport: Transport) -> bool | None:
    tls = getattr(transport, "tls", None)
    return tls if isinstance(tls, bool) else None


def _major(version: str | None) -> int:
    head = (version or "").split(".", 1)[0].strip()
    return int(head) if head.isdigit() else 0


async def ocr_support(transport: Transport) -> OcrSupport:
    """Read what the device offers for OCR (a part it refuses reads as "not offered").

    Raises:
        AuthError, ConnectError, TlsError, WsmanTimeout: as for any request.
    """
    version: str | None = None
    with contextlib.suppress(*UNREADABLE):
        identities = await enumerate_instances(transport, CIM_SOFTWARE_IDENTITY)
        version = next((i.text("VersionString") for i in identities if i.text("InstanceID") == "AMT"), None)
    capable = enabled = False
    with contextlib.suppress(*UNREADABLE):
        capable = bool((await get_instance(transport, AMT_BOOT_CAPABILITIES)).boolean("ForceUEFIHTTPSBoot"))
    with contextlib.suppress(*UNREADABLE):
        enabled = bool((await get_instance(transport, AMT_BOOT_SETTING_DATA)).boolean("UEFIHTTPSBootEnabled"))
    sources: list[str] = []
    with contextlib.suppress(*UNREADABLE):
        sources = [
            i.text("InstanceID") or "" for i in await enumerate_instances(transport, CIM_BOOT_SOURCE_SETTING)
        ]
    state: int | None = None
    with contextlib.suppress(*UNREADABLE):
        state = (await get_instance(transport, CIM_BOOT_SERVICE)).integer("EnabledState")
    return OcrSupport(
        amt_version=version,
        major=_major(version),
        tls=_tls_of(transport),
        https_capable=capable,
        https_enabled=enabled,
        https_source=SOURCE_OCR_HTTPS in sources,
        boot_options=tuple(s for s in sources if s.startswith(SOURCE_OCR_BOOT_OPTION)),
        boot_service_state=state,
    )


def check_https_boot(support: OcrSupport) -> None:
    """Raise :class:`WsmanRefused` with the sentence of the first rule ``support`` breaks."""
    problem = support.problem
    if problem is not None:
        raise WsmanRefused(problem)


async def set_ocr(transport: Transport, enabled: bool = True, *, state: int | None = None) -> int:
    """Switch OCR on or off in CIM_BootService, keeping Remote Platform Erase as it is.

    Args:
        transport: the device.
        enabled: the wanted OCR switch.
        state: the current EnabledState if already read (saves a Get).

    Returns:
        The EnabledState now (nothing is sent when it already is as wanted).

    Raises:
        WsmanReturnValueError: the device refused (the BIOS or MEBx does not allow OCR).
    """
    if state is None:
        state = (await get_instance(transport, CIM_BOOT_SERVICE)).integer("EnabledState")
    rpe = state in (BOOT_SERVICE_RPE_ON, BOOT_SERVICE_OCR_RPE_ON)
    ocr = state in (BOOT_SERVICE_OCR_ON, BOOT_SERVICE_OCR_RPE_ON)
    if ocr == enabled and state is not None:
        return state
    wanted = {
        (True, True): BOOT_SERVICE_OCR_RPE_ON,
        (True, False): BOOT_SERVICE_OCR_ON,
        (False, True): BOOT_SERVICE_RPE_ON,
        (False, False): BOOT_SERVICE_OCR_RPE_OFF,
    }[(enabled, rpe)]

    def explain(value: int) -> str:
        what = "turn One Click Recovery on" if enabled else "turn One Click Recovery off"
        return (
            f"The device refused to {what} (CIM_BootService RequestStateChange {wanted}, "
            f"ReturnValue {value}); the BIOS must allow it."
        )

    await invoke(transport, CIM_BOOT_SERVICE, "RequestStateChange", {"RequestedState": wanted}, explain)
    return wanted


async def enable_ocr(transport: Transport, *, state: int | None = None) -> int:
    """Switch OCR on (RequestStateChange 32769, or 32771 when RPE is on); see :func:`set_ocr`."""
    return await set_ocr(transport, True, state=state)


# -- trusted root certificates ---------------------------------------------------------------------
@dataclass(frozen=True)
class TrustedRoot(_Json):
    """A root certificate in AMT's store (an AMT_PublicKeyCertificate instance).

    Attributes:
        instance_id: its InstanceID, e.g. ``Intel(r) AMT Certificate: Handle: 2``.
        subject: the Subject as AMT reports it ("" if not given).
        der: the certificate (DER), b"" if the device did not list it.
        added: True when the call added it, False when it was already there.
    """

    instance_id: str
    subject: str = ""
    der: bytes = b""
    added: bool = False

    @property
    def reference(self) -> EndpointReference:
        """The EPR of the instance (what AddTrustedRootCertificate returns as CreatedCertificate)."""
        return EndpointReference(resource_uri(AMT_PUBLIC_KEY_CERTIFICATE), {"InstanceID": self.instance_id})

    def to_json(self) -> dict[str, object]:
        """JSON-ready: the certificate as base64."""
        return {
            "instance_id": self.instance_id,
            "subject": self.subject,
            "certificate": base64.b64encode(self.der).decode("ascii"),
            "added": self.added,
        }


def certificate_der(data: bytes) -> bytes:
    """The DER form of one X.509 certificate given as PEM or DER.

    Raises:
        ConfigError: not a certificate, or larger than AMT stores (4100 bytes).
    """
    try:
        if b"-----BEGIN" in data:
            der = x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
        else:
            der = x509.load_der_x509_certificate(data).public_bytes(Encoding.DER)
    except ValueError:
        raise ConfigError("The CA file is not an X.509 certificate (PEM or DER).") from None
    if len(der) > MAX_CERTIFICATE_BYTES:
        raise ConfigError(
            f"The CA certificate is {len(der)} bytes; AMT stores certificates of at most "
            f"{MAX_CERTIFICATE_BYTES} bytes."
        )
    return der


def _decode_der(text: str | None) -> bytes:
    if not text:
        return b""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except ValueError:
        return b""


async def trusted_roots(transport: Transport) -> list[TrustedRoot]:
    """The trusted root certificates in AMT's store (AMT_PublicKeyCertificate with
    ``TrustedRootCertficate`` true; AMT spells the property that way)."""
    roots = []
    for item in await enumerate_instances(transport, AMT_PUBLIC_KEY_CERTIFICATE):
        trusted = item.boolean("TrustedRootCertficate")
        if trusted is None:
            trusted = item.boolean("TrustedRootCertificate")
        if not trusted:
            continue
        roots.append(
            TrustedRoot(
                instance_id=item.text("InstanceID") or "",
                subject=item.text("Subject") or "",
                der=_decode_der(item.text("X509Certificate")),
            )
        )
    return roots


async def add_trusted_root(transport: Transport, certificate: bytes) -> TrustedRoot:
    """Add a root CA to AMT's trusted roots (AddTrustedRootCertificate); one already there is kept.

    Args:
        transport: the device.
        certificate: the certificate, PEM or DER.

    Returns:
        The instance: ``added`` is False when the same certificate was already trusted.

    Raises:
        ConfigError: not a certificate, or too large.
        WsmanReturnValueError: the store is full, or the device refused the certificate.
    """
    der = certificate_der(certificate)
    for root in await trusted_roots(transport):
        if root.der == der:
            return root
    blob = base64.b64encode(der).decode("ascii")
    explain = {
        STATUS_MAX_LIMIT_REACHED: (
            "AMT's store of trusted root certificates is full; remove one you no longer need "
            "(they are AMT_PublicKeyCertificate instances) and try again."
        ),
        STATUS_INVALID_CERT: "The device refused the CA certificate as invalid (AMT-STATUS 0x80f).",
    }
    try:
        output = await invoke(
            transport,
            AMT_PUBLIC_KEY_MANAGEMENT_SERVICE,
            "AddTrustedRootCertificate",
            {"CertificateBlob": blob},
            lambda value: explain.get(
                value,
                f"The device refused the CA certificate (AddTrustedRootCertificate ReturnValue {value}).",
            ),
        )
    except WsmanReturnValueError as exc:
        if exc.return_value != STATUS_DUPLICATE:
            raise
        for root in await trusted_roots(transport):
            if root.der == der:
                return root
        raise
    created = output.reference("CreatedCertificate")
    instance = created.selectors.get("InstanceID") if created is not None else None
    if not instance:
        raise WsmanMalformedReply("The device's reply to AddTrustedRootCertificate names no certificate.")
    subject = x509.load_der_x509_certificate(der).subject.rfc4514_string()
    return TrustedRoot(instance_id=instance, subject=subject, der=der, added=True)


async def remove_trusted_root(transport: Transport, instance_id: str) -> None:
    """Delete one AMT_PublicKeyCertificate (a trusted root) by its InstanceID.

    Raises:
        WsmanFault: the device refused (no such certificate, or one in use).
    """
    request = envelope.build_request(
        ACTION_DELETE, resource_uri(AMT_PUBLIC_KEY_CERTIFICATE), selectors={"InstanceID": instance_id}
    )
    parse.parse_reply(await transport(request))


# -- the HTTPS boot --------------------------------------------------------------------------------
@dataclass(frozen=True)
class HttpsBootResult(_Json):
    """What :func:`set_https_boot` did.

    Attributes:
        url: the boot URL (credentials taken out).
        parameters: how many UEFI boot parameters were stored.
        ocr_switched_on: OCR was off and was turned on.
        power: ``on``, ``reset`` or None (armed for the next boot).
        message: one sentence for the user.
    """

    url: str
    parameters: int
    ocr_switched_on: bool
    power: str | None
    message: str


def https_setting_values(current: dict[str, Value], params_base64: str, count: int) -> dict[str, Value]:
    """The AMT_BootSettingData to Put for an HTTPS boot: every option cleared (as for a boot
    source), progress events on, the UEFI parameters set; read-only fields are not sent."""
    values = wsboot.boot_setting_values(current, "clear", False)
    values["ForcedProgressEvents"] = True
    values["UefiBootParametersArray"] = params_base64
    values["UefiBootNumberOfParams"] = count
    return dict(sorted(values.items()))


async def set_https_boot(
    transport: Transport,
    url: str,
    *,
    then: str | None = None,
    timeout: int | None = None,
    support: OcrSupport | None = None,
) -> HttpsBootResult:
    """Arm a one-time UEFI HTTPS boot from ``url`` (module docstring for the order), then power.

    Args:
        transport: the device (a :class:`~amtterm.wsman.client.WsmanClient` says whether it is TLS).
        url: ``https://[user:password@]server[:port]/path.efi``.
        then: ``on`` (refused when on), ``reset`` (powers on when off) or None.
        timeout: the HTTPS timeout in seconds for AMT > 16 (None: 0, the firmware's default).
        support: :func:`ocr_support`'s answer if already read.

    Raises:
        UefiParamError: the URL or credentials break a rule (before anything is sent).
        ConfigError: unknown ``then``.
        WsmanRefused: the device does not offer it (:attr:`OcrSupport.problem`), consent missing,
            or ``then=on`` while on.
        WsmanFault / WsmanReturnValueError: the device refused a step.
    """
    https_boot_params(url, timeout=timeout)  # the URL's rules first, before any request
    if then not in (None, "on", "reset"):
        raise ConfigError(f"Unknown power step {then!r} after boot; use 'on' or 'reset'.")
    if support is None:
        support = await ocr_support(transport)
    check_https_boot(support)
    is_on = await wsboot.check_boot(transport, "https", then=then)
    send_timeout = (timeout or 0) if support.major >= MIN_TIMEOUT_VERSION else None
    params = https_boot_params(url, timeout=send_timeout)
    settings = read_https_boot(params)
    assert settings is not None
    switched = False
    if not support.ocr_enabled:
        await set_ocr(transport, True, state=support.boot_service_state)
        switched = True

    current = await get_instance(transport, AMT_BOOT_SETTING_DATA)
    read: dict[str, Value] = {name: current.text(name) for name in current.properties}
    await wsboot.change_boot_order(transport, None)
    await put_instance(
        transport, AMT_BOOT_SETTING_DATA, https_setting_values(read, to_base64(params), len(params))
    )
    await wsboot.set_boot_config_role(transport, BOOT_ROLE_NEXT_SINGLE_USE)
    await wsboot.change_boot_order(transport, SOURCE_OCR_HTTPS)

    power: str | None = None
    if then is not None:
        power = "reset" if is_on else "on"
        await request_power_state(
            transport, int(PowerState.MASTER_BUS_RESET if is_on else PowerState.ON), power
        )
    return HttpsBootResult(settings.url, len(params), switched, power, _message(settings, power))


def _message(settings: HttpsBootParams, power: str | None) -> str:
    when = {None: "on the next boot", "on": "now: powered on", "reset": "now: reset"}[power]
    return (
        f"The machine boots from {settings.url} over UEFI HTTPS {when}. If the firmware cannot reach "
        "or trust the server it boots normally without an error, so watch its console."
    )


async def clear_https_boot(transport: Transport) -> None:
    """Undo :func:`set_https_boot` if no boot consumed it: no source, no parameters, not armed."""
    current = await get_instance(transport, AMT_BOOT_SETTING_DATA)
    read: dict[str, Value] = {name: current.text(name) for name in current.properties}
    await wsboot.change_boot_order(transport, None)
    values = wsboot.boot_setting_values(read, "clear", False)
    values["UefiBootParametersArray"] = ""
    values["UefiBootNumberOfParams"] = 0
    await put_instance(transport, AMT_BOOT_SETTING_DATA, dict(sorted(values.items())))
    with contextlib.suppress(WsmanReturnValueError):
        await wsboot.set_boot_config_role(transport, BOOT_ROLE_NOT_NEXT)

"""One Click Recovery on the simulated device: AMT 16+ with a UEFI host (modern-amt.md §1.2).

Which devices offer it: AMT 16 or later *and* a host whose firmware can boot over HTTPS, i.e.
one that implements :class:`amtterm.sim.host.UefiHost` (the UEFI QEMU host). The synthetic host
and the SeaBIOS QEMU host are legacy BIOSes without HTTPS boot, so for them
``AMT_BootCapabilities.ForceUEFIHTTPSBoot`` and ``AMT_BootSettingData.UEFIHTTPSBootEnabled`` are
false and the ``Force OCR UEFI HTTPS Boot`` source is not listed, as on a real PC whose BIOS
lacks it. The BIOS switch itself is :attr:`OcrState.bios_https_enabled` (a test hook).

Rules (the refusals are this simulator's reading of the sources; no public capture shows them):

* Over plain HTTP WS-Man every OCR setting is refused: RequestStateChange and ChangeBootOrder
  to an OCR source answer ReturnValue 2, a Put of AMT_BootSettingData carrying UEFI boot
  parameters is an InternalError fault. Trusted roots may be added over either.
* ``CIM_BootService.RequestStateChange``: 32768..32771 only (else 5); turning OCR on needs HTTPS
  boot support, turning RPE on needs ``PlatformErase`` (0 here, so only a test that sets the
  state can have RPE on, and keep it), else 2.
* A Put of AMT_BootSettingData stores ``UefiBootParametersArray`` / ``UefiBootNumberOfParams``
  after checking them as :func:`amtterm.wsman.uefi_params.validate_params` does (InternalError,
  AMT-STATUS 36 = invalid parameter, otherwise); leaving them out clears them.
* ChangeBootOrder to the OCR HTTPS source: 4 when the source is not listed; 2 when OCR is off,
  the BIOS switch is off, no URL is stored, or a source-exclusive option is set.
* At the next power on / reset with that source and role 1 the host gets
  ``set_https_boot(HttpsBoot(url, trusted roots if TLV 20 says so, timeout))``; the
  parameters are then consumed with the rest of the one-time boot settings.
* AddTrustedRootCertificate takes one DER X.509 certificate of at most 4100 bytes (else
  0x80F invalid certificate), not one already stored (0x80A duplicate), and at most
  ``OcrState.max_trusted_roots`` (0x17 limit reached). Each is an AMT_PublicKeyCertificate
  ``Intel(r) AMT Certificate: Handle: N``; a Delete of it removes it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from cryptography import x509

from amtterm.errors import WsmanMalformedReply
from amtterm.sim.host import HttpsBoot, UefiHost
from amtterm.sim.wsman.replies import Properties
from amtterm.sim.wsman.rules import INVALID_PARAMETER, INVALID_REFERENCE, OK, REFUSED, DeviceFault
from amtterm.wsman.envelope import EndpointReference
from amtterm.wsman.parse import Instance
from amtterm.wsman.resources import (
    AMT_PUBLIC_KEY_CERTIFICATE,
    BOOT_ROLE_NEXT_SINGLE_USE,
    BOOT_SERVICE_OCR_ON,
    BOOT_SERVICE_OCR_RPE_OFF,
    BOOT_SERVICE_OCR_RPE_ON,
    BOOT_SERVICE_RPE_ON,
    NS_ADDRESSING,
    PUBLIC_KEY_SERVICE_NAME,
    SOURCE_OCR_HTTPS,
    SYSTEM_NAME,
    resource_uri,
)
from amtterm.wsman.uefi_params import (
    UefiParamError,
    from_base64,
    read_https_boot,
    validate_params,
)

if TYPE_CHECKING:
    from amtterm.sim.wsman.state import DeviceState

MIN_VERSION: Final = 16
MAX_CERTIFICATE_BYTES: Final = 4100
STATUS_MAX_LIMIT_REACHED: Final = 0x17
STATUS_DUPLICATE: Final = 0x80A
STATUS_INVALID_CERT: Final = 0x80F
CERTIFICATE_PREFIX: Final = "Intel(r) AMT Certificate: Handle: "
_INTERNAL: Final = "The service cannot comply with the request due to internal processing errors."


def offered(state: DeviceState) -> bool:
    """AMT 16+: the OCR classes, fields and methods exist."""
    return state.major_version >= MIN_VERSION


def https_capable(state: DeviceState) -> bool:
    """The firmware can boot over HTTPS: AMT 16+ and a :class:`UefiHost` behind the device."""
    return offered(state) and isinstance(state.host, UefiHost)


def ocr_on(state: DeviceState) -> bool:
    """CIM_BootService has OCR switched on."""
    return state.ocr.boot_service_state in (BOOT_SERVICE_OCR_ON, BOOT_SERVICE_OCR_RPE_ON)


# -- instances -----------------------------------------------------------------------------------
def capabilities(state: DeviceState) -> dict[str, bool | int]:
    """The AMT_BootCapabilities flags this module decides."""
    return {"ForceUEFIHTTPSBoot": https_capable(state)}


def setting_data(state: DeviceState, props: Properties) -> Properties:
    """AMT_BootSettingData with the OCR fields filled in (AMT 16+)."""
    values = dict(props)
    if offered(state):
        values["UEFIHTTPSBootEnabled"] = https_capable(state) and state.ocr.bios_https_enabled
        values["UefiBootNumberOfParams"] = state.ocr.parameter_count
        if state.ocr.parameters:
            values["UefiBootParametersArray"] = state.ocr.parameters
    return sorted(values.items(), key=lambda pair: pair[0])


def boot_sources(state: DeviceState) -> list[Properties]:
    """The OCR CIM_BootSourceSetting instances: the HTTPS one when the firmware has HTTPS boot."""
    if not https_capable(state):
        return []
    return [
        [
            ("BIOSBootString", "UEFI HTTPS boot"),
            ("BootString", ""),
            ("ElementName", "Intel(r) AMT: Boot Source"),
            ("FailThroughSupported", 2),
            ("InstanceID", SOURCE_OCR_HTTPS),
            ("StructuredBootString", "CIM:Network:2"),
        ]
    ]


def boot_service(state: DeviceState, props: Properties) -> Properties:
    """CIM_BootService with EnabledState: the OCR/RPE switch on AMT 16+, 2 (enabled) before."""
    state_value = state.ocr.boot_service_state if offered(state) else 2
    return sorted([*props, ("EnabledState", state_value)], key=lambda pair: pair[0])


def public_key_service(state: DeviceState) -> Properties:
    """AMT_PublicKeyManagementService, the service AddTrustedRootCertificate is invoked on."""
    return [
        ("CreationClassName", "AMT_PublicKeyManagementService"),
        ("ElementName", "Intel(r) AMT Certificate Store Service"),
        ("EnabledState", 5),
        ("Name", PUBLIC_KEY_SERVICE_NAME),
        ("SystemCreationClassName", "CIM_ComputerSystem"),
        ("SystemName", SYSTEM_NAME),
    ]


def certificates(state: DeviceState) -> list[Properties]:
    """The AMT_PublicKeyCertificate instances: the trusted roots (AMT misspells the flag)."""
    items: list[Properties] = []
    for instance, der in state.ocr.trusted_roots.items():
        certificate = x509.load_der_x509_certificate(der)
        items.append(
            [
                ("ElementName", "Intel(r) AMT Certificate"),
                ("InstanceID", instance),
                ("Issuer", certificate.issuer.rfc4514_string()),
                ("ReadOnlyCertificate", False),
                ("Subject", certificate.subject.rfc4514_string()),
                ("TrustedRootCertficate", True),
                ("X509Certificate", base64.b64encode(der).decode("ascii")),
            ]
        )
    return items


# -- methods -------------------------------------------------------------------------------------
def request_state_change(state: DeviceState, args: Instance, now: float) -> int:
    """CIM_BootService.RequestStateChange: the OCR / RPE switch."""
    try:
        requested = args.integer("RequestedState")
    except WsmanMalformedReply:
        requested = None
    if not offered(state):
        return REFUSED
    if requested is None or not BOOT_SERVICE_OCR_RPE_OFF <= requested <= BOOT_SERVICE_OCR_RPE_ON:
        return INVALID_PARAMETER
    if not state.request_tls:
        return REFUSED
    wants_ocr = requested in (BOOT_SERVICE_OCR_ON, BOOT_SERVICE_OCR_RPE_ON)
    wants_rpe = requested in (BOOT_SERVICE_RPE_ON, BOOT_SERVICE_OCR_RPE_ON)
    had_rpe = state.ocr.boot_service_state in (BOOT_SERVICE_RPE_ON, BOOT_SERVICE_OCR_RPE_ON)
    if (wants_ocr and not https_capable(state)) or (wants_rpe and not had_rpe):  # PlatformErase is 0
        return REFUSED
    state.ocr.boot_service_state = requested
    return OK


def change_boot_order(state: DeviceState, source: str, exclusive_set: bool) -> int:
    """ChangeBootOrder to a source that is not a classic one: the OCR HTTPS source, or unknown."""
    if source != SOURCE_OCR_HTTPS or not https_capable(state):
        return INVALID_REFERENCE
    if (
        not state.request_tls
        or not ocr_on(state)
        or not state.ocr.bios_https_enabled
        or not state.ocr.parameters
        or exclusive_set
    ):
        return REFUSED
    state.boot.source = source
    return OK


def read_put(state: DeviceState, values: dict[str, str]) -> tuple[str, int] | None:
    """The UEFI parameters of a Put of AMT_BootSettingData, checked; None when not offered.

    Raises:
        DeviceFault: over plain HTTP, or parameters AMT would refuse.
    """
    if not offered(state):
        return None
    text = "".join(values.get("UefiBootParametersArray", "").split())
    raw_count = values.get("UefiBootNumberOfParams", "").strip() or "0"
    try:
        count = int(raw_count)
    except ValueError:
        raise DeviceFault("SchemaValidationError", "UefiBootNumberOfParams must be a number.") from None
    if not text and count == 0:
        return "", 0
    if not state.request_tls:
        raise DeviceFault("InternalError", "One Click Recovery parameters are accepted over TLS only.")
    try:
        validate_params(from_base64(text), count=count)
    except UefiParamError as exc:
        raise DeviceFault("InternalError", f"{_INTERNAL} {exc}", "AMT-STATUS 36") from None
    return text, count


def store_put(state: DeviceState, checked: tuple[str, int] | None) -> None:
    """Store what :func:`read_put` accepted."""
    if checked is not None:
        state.ocr.parameters, state.ocr.parameter_count = checked


def arm_host(state: DeviceState) -> None:
    """Before a boot: hand the host its HTTPS boot if the one-time settings ask for one."""
    boot = state.boot
    if boot.role != BOOT_ROLE_NEXT_SINGLE_USE:
        return
    params = from_base64(state.ocr.parameters) if state.ocr.parameters else ()
    state.ocr.parameters, state.ocr.parameter_count = "", 0  # consumed with the one-time settings
    if boot.source != SOURCE_OCR_HTTPS:
        return
    settings = read_https_boot(params)
    host = state.host
    if settings is None or not ocr_on(state) or not isinstance(host, UefiHost):
        return
    if state.ocr.firmware_roots is not None:
        roots = state.ocr.firmware_roots  # a BIOS that keeps its own list
    else:
        roots = tuple(state.ocr.trusted_roots.values()) if settings.sync_root_ca else ()
    https = HttpsBoot(settings.url, roots, settings.timeout or None)
    state.ocr.boots.append(https)
    host.set_https_boot(https)


def add_trusted_root(state: DeviceState, args: Instance, now: float) -> Properties:
    """AMT_PublicKeyManagementService.AddTrustedRootCertificate: outputs CreatedCertificate."""
    try:
        der = base64.b64decode("".join((args.text("CertificateBlob") or "").split()), validate=True)
        x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        return [("ReturnValue", STATUS_INVALID_CERT)]
    if not der or len(der) > MAX_CERTIFICATE_BYTES:
        return [("ReturnValue", STATUS_INVALID_CERT)]
    roots = state.ocr.trusted_roots
    if der in roots.values():
        return [("ReturnValue", STATUS_DUPLICATE)]
    if len(roots) >= state.ocr.max_trusted_roots:
        return [("ReturnValue", STATUS_MAX_LIMIT_REACHED)]
    instance = f"{CERTIFICATE_PREFIX}{state.ocr.next_handle}"
    state.ocr.next_handle += 1
    roots[instance] = der
    created = EndpointReference(
        resource_uri(AMT_PUBLIC_KEY_CERTIFICATE), {"InstanceID": instance}, NS_ADDRESSING
    )
    return [("CreatedCertificate", created), ("ReturnValue", OK)]


def delete(state: DeviceState, class_name: str, selectors: dict[str, str]) -> None:
    """WS-Transfer Delete: only of a stored AMT_PublicKeyCertificate.

    Raises:
        DeviceFault: another class (ActionNotSupported) or no such certificate (InvalidSelectors).
    """
    if class_name != AMT_PUBLIC_KEY_CERTIFICATE:
        raise DeviceFault("ActionNotSupported", "The action is not supported by the service.")
    instance = selectors.get("InstanceID", "")
    if instance not in state.ocr.trusted_roots:
        raise DeviceFault("InvalidSelectors", "The Selectors for the resource are not valid.")
    del state.ocr.trusted_roots[instance]


#: Methods with outputs beyond ReturnValue: (class, method) -> outputs.
METHODS: Final[dict[tuple[str, str], Callable[[DeviceState, Instance, float], Properties]]] = {
    ("AMT_PublicKeyManagementService", "AddTrustedRootCertificate"): add_trusted_root,
}

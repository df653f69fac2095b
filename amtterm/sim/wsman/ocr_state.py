"""What a simulated AMT 16+ device keeps for One Click Recovery (the rules are in ``ocr.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

#: CIM_BootService.EnabledState with OCR and RPE off (modern-amt.md §1.2).
OCR_RPE_OFF: Final = 32768
#: Trusted roots this simulated device stores (an assumption: no public source gives AMT's
#: number; AddTrustedRootCertificate answers AMT-STATUS 0x17 MAX_LIMIT_REACHED beyond it).
MAX_TRUSTED_ROOTS: Final = 16


@dataclass
class OcrState:
    """One Click Recovery state of a simulated device.

    Attributes:
        boot_service_state: CIM_BootService.EnabledState: 32768 off, 32769 OCR, 32770 RPE, 32771 both.
        bios_https_enabled: the BIOS setup switch "HTTPS boot" (UEFIHTTPSBootEnabled); only
            meaningful when the host's firmware can boot over HTTPS (a test hook).
        parameters: the stored UefiBootParametersArray (base64) and its count.
        parameter_count: UefiBootNumberOfParams.
        trusted_roots: InstanceID -> DER of each AddTrustedRootCertificate, in order.
        next_handle: the number of the next certificate handle.
        max_trusted_roots: how many roots the store takes.
        boots: the HTTPS boots handed to the host so far (for tests and the log).
        firmware_roots: the firmware's own trusted roots (DER), used for HTTPS boot instead of
            AMT's (``amtterm sim --firmware-roots``: a BIOS that does not take AMT's roots); None:
            the firmware takes AMT's, as the sync-root-CA parameter asks.
    """

    boot_service_state: int = OCR_RPE_OFF
    bios_https_enabled: bool = True
    parameters: str = ""
    parameter_count: int = 0
    trusted_roots: dict[str, bytes] = field(default_factory=dict)
    next_handle: int = 1
    max_trusted_roots: int = MAX_TRUSTED_ROOTS
    boots: list[object] = field(default_factory=list)
    firmware_roots: tuple[bytes, ...] | None = None

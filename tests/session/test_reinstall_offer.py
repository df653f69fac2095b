"""What the reinstall job makes of the OCR client's support summary: yes, or why not as a clause."""

from __future__ import annotations

import dataclasses

from amtterm.session.reinstall_wsman import offer_of
from amtterm.wsman.ocr import OcrSupport

MODERN = OcrSupport(
    amt_version="16.1.25",
    major=16,
    tls=True,
    https_capable=True,
    https_enabled=True,
    https_source=True,
    boot_options=(),
    boot_service_state=32768,
)


def test_offered() -> None:
    assert offer_of(MODERN).offered


def test_reasons_read_as_one_sentence_after_the_job_s_words() -> None:
    def reason(**changes: object) -> str:
        offer = offer_of(dataclasses.replace(MODERN, **changes))  # type: ignore[arg-type]
        assert not offer.offered
        return f"HTTPS boot is not offered: {offer.reason}; using IDE-R instead."

    assert reason(amt_version="11.8.92", major=11) == (
        "HTTPS boot is not offered: AMT 11.8 has no One Click Recovery; using IDE-R instead."
    )
    assert reason(tls=False).startswith("HTTPS boot is not offered: One Click Recovery needs WS-Management")
    assert reason(https_capable=False).startswith(
        "HTTPS boot is not offered: this machine's firmware does not offer UEFI HTTPS boot"
    )
    assert "UEFI HTTPS boot is disabled in this machine's BIOS setup" in reason(https_enabled=False)

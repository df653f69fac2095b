"""The one certificate check: a hosts-file pin, a CA file, or known_hosts, and one sentence on a mismatch."""

from __future__ import annotations

from pathlib import Path

import pytest

from amtterm.errors import TlsPinMismatch
from amtterm.transport.known_hosts import KnownHosts
from amtterm.transport.tls import fingerprint
from amtterm.transport.trust import TlsOptions, check_certificate

CERT = b"the device's certificate (any bytes hash the way DER does)"
OTHER = b"a certificate somebody else made"
FP = fingerprint(CERT)


def test_a_hosts_file_pin_is_compared_and_known_hosts_never_touched(tmp_path: Path) -> None:
    pins = tmp_path / "known_hosts"
    tls = TlsOptions(pin=FP, pin_name="pc42", known_hosts=pins, accept_new=True)
    trusted = check_certificate(CERT, "10.0.0.42", 16995, tls)
    assert (trusted.fingerprint, trusted.how) == (FP, "hosts file pin")
    with pytest.raises(TlsPinMismatch) as mismatch:
        check_certificate(OTHER, "10.0.0.42", 16993, tls)
    assert str(mismatch.value) == (
        f"The TLS certificate of pc42 (10.0.0.42) has changed (pinned {FP} by tls_pin in the hosts file, "
        f"presented {fingerprint(OTHER)}): if the device was re-provisioned or given a new certificate on "
        "purpose, edit tls_pin of pc42 in the hosts file and connect again, otherwise someone may be in "
        "the middle."
    )
    assert not pins.exists()


def test_a_pin_holds_beside_a_ca_file_and_a_ca_file_alone_needs_no_pin(tmp_path: Path) -> None:
    pins = tmp_path / "known_hosts"
    with pytest.raises(TlsPinMismatch, match=r"edit tls_pin of 10\.0\.0\.42 in the hosts file"):
        check_certificate(OTHER, "10.0.0.42", 16995, TlsOptions(cafile=tmp_path / "ca.pem", pin=FP))
    assert TlsOptions(cafile=tmp_path / "ca.pem", pin=FP).pin_source == "hosts file"
    alone = TlsOptions(cafile=tmp_path / "ca.pem", known_hosts=pins)
    assert alone.pin_source == "CA file"
    assert check_certificate(OTHER, "10.0.0.42", 16995, alone).how == "CA"
    assert not pins.exists()


def test_known_hosts_pins_on_first_use_then_compares(tmp_path: Path) -> None:
    pins = tmp_path / "known_hosts"
    tls = TlsOptions(known_hosts=pins, accept_new=True)
    assert tls.pin_source == "known_hosts"
    assert check_certificate(CERT, "10.0.0.42", 16995, tls).how == "newly pinned"
    assert check_certificate(CERT, "10.0.0.42", 16995, tls).how == "pinned"
    assert KnownHosts(pins).lookup("10.0.0.42", 16995) == FP
    with pytest.raises(TlsPinMismatch, match=r"amtterm known-hosts remove 10\.0\.0\.42:16995 and connect"):
        check_certificate(OTHER, "10.0.0.42", 16995, tls)

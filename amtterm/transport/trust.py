"""How a device's TLS certificate is trusted, and the one check of it.

Every connection amtterm makes over TLS (SOL, IDE-R, the console, WS-Management) hands the
certificate the device presented to :func:`check_certificate`, which applies one rule:

* a ``tls_pin`` from the hosts file (:attr:`TlsOptions.pin`): the fingerprint must equal it;
  known_hosts is neither read nor written. With a CA file as well, both must hold;
* else a CA file (``-C``, or the hosts file's ``cafile``): the handshake verified the chain;
* else trust on first use in known_hosts under ``HOST:PORT`` (:func:`verify_pin`): a pin must
  match; an unknown certificate is pinned with ``accept_new``, asked about with ``ask``, or refused.

A certificate that differs from its pin is :class:`~amtterm.errors.TlsPinMismatch` with the one
sentence of :func:`pin_mismatch`: both fingerprints and the fix, which depends on where the pin
lives (``amtterm known-hosts remove HOST:PORT``, or editing ``tls_pin`` in the hosts file).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from amtterm.errors import TlsPinMismatch, TlsUnknownCertificate
from amtterm.transport.known_hosts import KnownHosts, endpoint_key
from amtterm.transport.tls import fingerprint

__all__ = ["PinSource", "TlsOptions", "Trusted", "check_certificate", "pin_mismatch", "verify_pin"]

#: Where the expected certificate comes from: the hosts file's ``tls_pin``, a CA file, known_hosts.
PinSource = Literal["hosts file", "CA file", "known_hosts"]
#: How a certificate was trusted (the doctor's words key on these).
How = Literal["hosts file pin", "CA", "pinned", "newly pinned"]


@dataclass(frozen=True)
class TlsOptions:
    """How to trust a device's TLS certificate.

    Attributes:
        cafile: verify the chain against this CA file (the handshake does it).
        legacy: allow TLS 1.0/1.1 and legacy renegotiation (old AMT firmware).
        accept_new: pin an unknown certificate without asking (like ssh's accept-new).
        ask: asks the user a yes/no question about an unknown certificate; None = nobody to ask.
        known_hosts: the pin file; None = the default in the user's config dir.
        pin: the expected fingerprint (``SHA256:...``, the hosts file's ``tls_pin``); replaces
            known_hosts.
        pin_name: the hosts-file name whose ``tls_pin`` :attr:`pin` is, for the sentence.
    """

    cafile: Path | None = None
    legacy: bool = False
    accept_new: bool = False
    ask: Callable[[str], bool] | None = None
    known_hosts: Path | None = None
    pin: str | None = None
    pin_name: str | None = None

    @property
    def pin_source(self) -> PinSource:
        """What the certificate is checked against (a ``tls_pin`` wins, also beside a CA file)."""
        if self.pin is not None:
            return "hosts file"
        return "CA file" if self.cafile is not None else "known_hosts"


@dataclass(frozen=True)
class Trusted:
    """A certificate that passed :func:`check_certificate`.

    Attributes:
        fingerprint: its ``SHA256:...``.
        how: ``hosts file pin``, ``CA``, ``pinned`` (known_hosts had it) or ``newly pinned``.
    """

    fingerprint: str
    how: How


class CertificateQuestion(str):
    """The question about an unknown certificate: its text, and what it is about as fields (so a
    console can ask once per device and fingerprint without reading the sentence)."""

    host: str
    port: int
    fingerprint: str

    def __new__(cls, text: str, *, host: str, port: int, fingerprint: str) -> CertificateQuestion:
        question = super().__new__(cls, text)
        question.host, question.port, question.fingerprint = host, port, fingerprint
        return question


def pin_mismatch(
    host: str, port: int, pinned: str, presented: str, *, hosts_entry: str | None = None
) -> TlsPinMismatch:
    """The one sentence for a certificate that differs from its pin.

    Args:
        host: the address dialled.
        port: the port dialled (a known_hosts pin is per ``HOST:PORT``; a ``tls_pin`` per host).
        pinned: the expected fingerprint.
        presented: the fingerprint the device showed.
        hosts_entry: the hosts-file name whose ``tls_pin`` it is; None for a known_hosts pin.

    Returns:
        The error to raise.
    """
    if hosts_entry is None:
        where = endpoint_key(host, port)
        device, source = where, "in known_hosts"
        fix = f"forget the old one with amtterm known-hosts remove {shlex.quote(where)}"
    else:
        device = hosts_entry if hosts_entry == host else f"{hosts_entry} ({host})"
        source = "by tls_pin in the hosts file"
        fix = f"edit tls_pin of {hosts_entry} in the hosts file"
    return TlsPinMismatch(
        f"The TLS certificate of {device} has changed (pinned {pinned} {source}, presented {presented}): "
        f"if the device was re-provisioned or given a new certificate on purpose, {fix} and connect "
        "again, otherwise someone may be in the middle.",
        host=host,
        port=port,
        pinned=pinned,
        presented=presented,
        in_known_hosts=hosts_entry is None,
    )


def check_certificate(der: bytes, host: str, port: int, tls: TlsOptions) -> Trusted:
    """Check the certificate a device presented, by the rule at the top of this module.

    Call it after the handshake and before a single byte of the protocol (or a credential) is
    sent.

    Args:
        der: the certificate in DER form.
        host: the address dialled (the known_hosts key; also through jump hosts).
        port: the port dialled.
        tls: the trust choice of the connection.

    Returns:
        The fingerprint and how it was trusted.

    Raises:
        TlsPinMismatch: the certificate differs from the hosts file's or known_hosts' pin.
        TlsUnknownCertificate: not pinned, and neither accepted nor trusted when asked.
        ConfigError: the pin file cannot be read or written.
    """
    fp = fingerprint(der)
    if tls.pin is not None:
        if fp != tls.pin:
            raise pin_mismatch(host, port, tls.pin, fp, hosts_entry=tls.pin_name or host)
        return Trusted(fp, "hosts file pin")
    if tls.cafile is not None:
        return Trusted(fp, "CA")  # the handshake verified the chain already
    known = KnownHosts(tls.known_hosts)
    before = known.lookup(host, port)
    verify_pin(known, host, port, der, accept_new=tls.accept_new, ask=tls.ask)
    return Trusted(fp, "pinned" if before == fp else "newly pinned")


def verify_pin(
    known: KnownHosts,
    host: str,
    port: int,
    der: bytes,
    *,
    accept_new: bool,
    ask: Callable[[str], bool] | None,
) -> str:
    """Trust on first use: check the certificate against its known_hosts pin.

    * pinned and equal: accepted;
    * pinned and different: :class:`~amtterm.errors.TlsPinMismatch`, whatever ``accept_new`` says;
    * not pinned and ``accept_new``: pinned now and accepted;
    * not pinned and ``ask`` given: ``ask(question)``; True pins it, False raises
      :class:`~amtterm.errors.TlsUnknownCertificate`;
    * not pinned, nobody to ask: :class:`~amtterm.errors.TlsUnknownCertificate`.

    Args:
        known: the pin file.
        host: the host as dialled (the pin is per host and port).
        port: the port as dialled.
        der: the device's certificate in DER form.
        accept_new: pin an unknown certificate without asking (``--accept-new``).
        ask: a yes/no question to the user, e.g. a TUI dialog or a terminal prompt; None when
            there is no one to ask (not a terminal, a script).

    Returns:
        The certificate's fingerprint, ``"SHA256:..."``.

    Raises:
        TlsPinMismatch: the device's certificate differs from the pinned one.
        TlsUnknownCertificate: the certificate is not pinned and was not accepted.
        ConfigError: the pin file cannot be read or written.
    """
    fp = fingerprint(der)
    where = endpoint_key(host, port)
    pinned = known.lookup(host, port)
    if pinned == fp:
        return fp
    if pinned is not None:
        raise pin_mismatch(host, port, pinned, fp)
    if accept_new:
        known.add(host, port, fp)
        return fp
    if ask is not None:
        question = CertificateQuestion(
            f"The TLS certificate of {where} is not known. Fingerprint {fp}. Trust it and remember it?",
            host=host,
            port=port,
            fingerprint=fp,
        )
        if ask(question):
            known.add(host, port, fp)
            return fp
        raise TlsUnknownCertificate(
            f"The TLS certificate of {where} ({fp}) was not trusted, so nothing was recorded: connect "
            "again to be asked again."
        )
    raise TlsUnknownCertificate(
        f"The TLS certificate of {where} ({fp}) is not known yet and there is nobody to ask: re-run "
        "with --accept-new to trust and remember it, or with -C CAFILE to verify it against a CA."
    )

"""The known_hosts pin file and the config/state directories it lives in (pure, no sockets)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from amtterm.errors import ConfigError, TlsPinMismatch, TlsUnknownCertificate
from amtterm.paths import config_dir, state_dir
from amtterm.transport.known_hosts import KnownHosts, endpoint_key, forget, parse_host_port
from amtterm.transport.tls import fingerprint
from amtterm.transport.trust import verify_pin

CERT_A = b"certificate A (any bytes hash the same way DER does)"
CERT_B = b"certificate B"
FP_A = fingerprint(CERT_A)
FP_B = fingerprint(CERT_B)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config"
    monkeypatch.setenv("AMTTERM_CONFIG_DIR", str(directory))
    return directory


@pytest.fixture
def known(config: Path) -> KnownHosts:
    return KnownHosts.default()


# -- directories ------------------------------------------------------------------------------------


def test_directories_follow_overrides_then_xdg_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("AMTTERM_CONFIG_DIR", "AMTTERM_STATE_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert config_dir(create=False) == tmp_path / "home" / ".config" / "amtterm"
    assert state_dir(create=False) == tmp_path / "home" / ".local" / "state" / "amtterm"

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    assert config_dir(create=False) == tmp_path / "xdg-config" / "amtterm"
    assert state_dir(create=False) == tmp_path / "xdg-state" / "amtterm"

    monkeypatch.setenv("AMTTERM_CONFIG_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("AMTTERM_STATE_DIR", str(tmp_path / "s"))
    assert config_dir(create=False) == tmp_path / "c"
    assert state_dir(create=False) == tmp_path / "s"
    assert not (tmp_path / "c").exists()


def test_directories_are_created_private_on_demand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTTERM_CONFIG_DIR", str(tmp_path / "deep" / "config"))
    monkeypatch.setenv("AMTTERM_STATE_DIR", str(tmp_path / "state"))

    for directory in (config_dir(), state_dir()):
        assert directory.is_dir()
        assert directory.stat().st_mode & 0o777 == 0o700


def test_directory_blocked_by_a_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("AMTTERM_STATE_DIR", str(tmp_path / "file" / "state"))

    with pytest.raises(ConfigError, match="Cannot create the directory"):
        state_dir()


def test_default_pin_file_is_in_the_config_dir(config: Path, known: KnownHosts) -> None:
    assert known.path == config / "known_hosts"
    assert KnownHosts().path == config / "known_hosts"


# -- the file -------------------------------------------------------------------------------------


def test_add_lookup_remove(known: KnownHosts) -> None:
    assert known.lookup("amt1.example", 16995) is None

    known.add("amt1.example", 16995, FP_A)
    known.add("amt1.example", 16993, FP_B)

    assert known.lookup("AMT1.Example.", 16995) == FP_A  # names compare like DNS does
    assert known.lookup("amt1.example", 16993) == FP_B  # each port has its own pin
    assert known.entries() == [(("amt1.example", 16995), FP_A), (("amt1.example", 16993), FP_B)]
    assert known.remove("amt1.example", 16995) is True
    assert known.remove("amt1.example", 16995) is False
    assert known.lookup("amt1.example", 16995) is None
    assert known.lookup("amt1.example", 16993) == FP_B


def test_new_file_is_private_and_explains_itself(config: Path, known: KnownHosts) -> None:
    known.add("10.0.0.5", 16995, FP_A)

    text = known.path.read_text()
    assert known.path.stat().st_mode & 0o777 == 0o600
    assert config.stat().st_mode & 0o777 == 0o700
    assert text.startswith("# ")
    assert "amtterm known-hosts remove HOST:PORT" in text
    assert text.endswith(f"10.0.0.5:16995 {FP_A}\n")


def test_malformed_lines_are_skipped_but_never_lost(known: KnownHosts) -> None:
    known.path.parent.mkdir(parents=True)
    original = (
        b"# my devices\n"
        b"\n"
        b"this line is not an entry\n"
        b"lab-1:16995 SHA256:too-short\n"
        b"lab-2 " + FP_A.encode() + b"\n"  # no port
        b"\xff\xfe not utf-8 at all\n"
        b"lab-3:16995 " + FP_A.encode() + b"   # trailing comment\n"
        b"lab-4:99999 " + FP_A.encode() + b"\n"  # port out of range
    )
    known.path.write_bytes(original)

    assert known.lookup("lab-3", 16995) == FP_A
    assert known.lookup("lab-1", 16995) is None
    assert [key for key, _ in known.entries()] == [("lab-3", 16995)]

    known.add("lab-9", 16995, FP_B)
    assert known.path.read_bytes() == original + f"lab-9:16995 {FP_B}\n".encode()

    assert known.remove("lab-9", 16995)
    assert known.path.read_bytes() == original


def test_replacing_a_pin_keeps_its_place_and_drops_duplicates(known: KnownHosts) -> None:
    known.path.parent.mkdir(parents=True)
    known.path.write_text(f"first:16995 {FP_A}\ntwin:16995 {FP_A}\nlast:16995 {FP_A}\ntwin:16995 {FP_B}\n")

    assert known.lookup("twin", 16995) == FP_A  # the first line wins, as in OpenSSH

    known.add("twin", 16995, FP_B)

    assert known.path.read_text() == f"first:16995 {FP_A}\ntwin:16995 {FP_B}\nlast:16995 {FP_A}\n"


def test_rewrite_is_atomic(known: KnownHosts, monkeypatch: pytest.MonkeyPatch) -> None:
    known.add("a", 16995, FP_A)
    before = known.path.read_bytes()
    inode = known.path.stat().st_ino

    known.add("b", 16995, FP_B)
    assert known.path.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in known.path.parent.iterdir()) == ["known_hosts"]  # no temp left

    before = known.path.read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch, pytest.raises(ConfigError, match="No space left on device"):
        patch.setattr(os, "replace", broken_replace)
        known.add("c", 16995, FP_A)

    assert known.path.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in known.path.parent.iterdir()) == ["known_hosts"]


def test_ipv6_hosts_are_bracketed_and_canonical(known: KnownHosts) -> None:
    known.add("::1", 16995, FP_A)
    known.add("[2001:DB8::0017]", 16993, FP_B)

    lines = known.path.read_text().splitlines()
    assert f"[::1]:16995 {FP_A}" in lines
    assert f"[2001:db8::17]:16993 {FP_B}" in lines
    assert known.lookup("[::1]", 16995) == FP_A
    assert known.lookup("0:0:0:0:0:0:0:1", 16995) == FP_A
    assert known.lookup("2001:db8::17", 16993) == FP_B
    assert (("::1", 16995), FP_A) in known.entries()


def test_unreadable_file_is_a_config_error(known: KnownHosts) -> None:
    known.path.mkdir(parents=True)  # a directory where the file should be

    with pytest.raises(ConfigError, match="Cannot read the TLS pins"):
        known.lookup("a", 16995)


def test_add_refuses_what_is_not_a_fingerprint(known: KnownHosts) -> None:
    with pytest.raises(ValueError):
        known.add("a", 16995, "SHA1:abc")
    assert not known.path.exists()


def test_forget_uses_the_default_file(known: KnownHosts) -> None:
    known.add("gone.example", 16995, FP_A)

    assert forget("gone.example", 16995) is True
    assert forget("gone.example", 16995) is False


# -- host:port as typed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amt.example", ("amt.example", 16995)),
        ("AMT.example:16993", ("amt.example", 16993)),
        ("192.0.2.1:623", ("192.0.2.1", 623)),
        ("[::1]:16994", ("::1", 16994)),
        ("[::1]", ("::1", 16995)),
        ("fe80::1", ("fe80::1", 16995)),
    ],
)
def test_parse_host_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("text", ["host:port", "host:0", "host:70000", "[::1", "[::1]x", ":16995", "a b:1"])
def test_parse_host_port_rejects_with_a_sentence(text: str) -> None:
    with pytest.raises(ConfigError, match="Cannot read"):
        parse_host_port(text)


def test_parse_host_port_can_require_the_port() -> None:
    with pytest.raises(ConfigError, match="give the port"):
        parse_host_port("amt.example", default_port=None)


def test_endpoint_key() -> None:
    assert endpoint_key("Amt.Example", 16995) == "amt.example:16995"
    assert endpoint_key("::1", 16995) == "[::1]:16995"
    with pytest.raises(ValueError):
        endpoint_key("a", 0)


# -- verify_pin -------------------------------------------------------------------------------------


def test_verify_pin_every_branch(known: KnownHosts) -> None:
    with pytest.raises(TlsUnknownCertificate, match="--accept-new"):
        verify_pin(known, "h", 16995, CERT_A, accept_new=False, ask=None)
    with pytest.raises(TlsUnknownCertificate, match="not trusted"):
        verify_pin(known, "h", 16995, CERT_A, accept_new=False, ask=lambda question: False)
    assert not known.path.exists()

    assert verify_pin(known, "h", 16995, CERT_A, accept_new=True, ask=None) == FP_A
    assert verify_pin(known, "h", 16995, CERT_A, accept_new=False, ask=None) == FP_A

    with pytest.raises(TlsPinMismatch) as mismatch:
        verify_pin(known, "h", 16995, CERT_B, accept_new=True, ask=lambda question: True)
    assert str(mismatch.value) == (
        f"The TLS certificate of h:16995 has changed (pinned {FP_A} in known_hosts, presented {FP_B}): "
        "if the device was re-provisioned or given a new certificate on purpose, forget the old one "
        "with amtterm known-hosts remove h:16995 and connect again, otherwise someone may be in the middle."
    )
    assert known.lookup("h", 16995) == FP_A


def test_mismatch_command_for_ipv6_survives_the_shell(known: KnownHosts) -> None:
    known.add("::1", 16995, FP_A)

    with pytest.raises(TlsPinMismatch) as mismatch:
        verify_pin(known, "::1", 16995, CERT_B, accept_new=False, ask=None)

    assert "amtterm known-hosts remove '[::1]:16995'" in str(mismatch.value)


def test_pin_file_written_by_another_process_is_seen(known: KnownHosts) -> None:
    other = KnownHosts(known.path)
    other.add("shared", 16995, FP_A)

    assert known.lookup("shared", 16995) == FP_A
    os.remove(known.path)
    assert known.lookup("shared", 16995) is None


def test_remove_host_forgets_every_port_of_one_device(known: KnownHosts) -> None:
    known.add("amt1.example", 16995, FP_A)
    known.add("amt1.example", 16993, FP_A)
    known.add("amt2.example", 16995, FP_B)

    assert known.remove_host("AMT1.example") == [16993, 16995]
    assert known.remove_host("amt1.example") == []
    assert known.entries() == [(("amt2.example", 16995), FP_B)]


def test_known_hosts_remove_without_a_port_forgets_the_whole_device(
    known: KnownHosts, capsys: pytest.CaptureFixture[str]
) -> None:
    from amtterm.cli.main import main

    known.add("amt1.example", 16995, FP_A)
    known.add("amt1.example", 16993, FP_A)
    assert main(["known-hosts", "remove", "amt1.example"]) == 0
    assert "16993, 16995" in capsys.readouterr().out
    assert known.entries() == []
    assert main(["known-hosts", "remove", "amt1.example:16995"]) != 0  # nothing left to forget

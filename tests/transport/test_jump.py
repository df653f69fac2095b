"""Jump-host specs as ``ssh -J`` takes them, and the hosts file's ``jump`` key."""

from __future__ import annotations

from pathlib import Path

import pytest

from amtterm.config import parse_hosts
from amtterm.errors import ConfigError
from amtterm.transport.jump import JumpHost, JumpRoute, parse_jump, parse_jumps
from amtterm.wsman.target import resolve_target


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("bastion", JumpHost("bastion")),
        ("admin@bastion.example.net", JumpHost("bastion.example.net", user="admin")),
        ("admin@bastion:2222", JumpHost("bastion", 2222, "admin")),
        ("10.0.0.1:22", JumpHost("10.0.0.1", 22)),
        ("[2001:db8::7]:2222", JumpHost("2001:db8::7", 2222)),
        ("ops@[::1]", JumpHost("::1", user="ops")),
        ("2001:db8::7", JumpHost("2001:db8::7")),
        ("ssh://admin@bastion:2200", JumpHost("bastion", 2200, "admin")),
        ("first.last@corp@bastion", JumpHost("bastion", user="first.last@corp")),
    ],
)
def test_specs_parse_like_ssh_j(spec: str, expected: JumpHost) -> None:
    assert parse_jump(spec) == expected


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("", "needs a host name"),
        ("@bastion", "user name"),
        ("bastion:0", "port"),
        ("bastion:ssh", "port"),
        ("bastion:70000", "port"),
        ("[::1", "IPv6"),
        ("[::1]x", "IPv6"),
        ("bad host", "needs a host name"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_jump(spec)


def test_repeated_and_comma_separated_hops_keep_their_order() -> None:
    hops = parse_jumps(["a,b@c:2", "d"])
    assert [str(hop) for hop in hops] == ["a", "b@c:2", "d"]
    assert str(JumpRoute(hops)) == "a,b@c:2,d"
    assert str(JumpHost("::1", 22, "x")) == "x@[::1]:22"


def test_none_switches_jumps_off_and_cannot_be_mixed() -> None:
    assert parse_jumps(["none"]) == ()
    with pytest.raises(ValueError, match="cannot be combined"):
        parse_jumps(["none,bastion"])


def test_hosts_file_jump_is_checked_and_the_command_line_wins(tmp_path: Path) -> None:
    path = tmp_path / "hosts.toml"
    hosts = parse_hosts('[hosts.pc]\naddress = "10.1.1.1"\njump = ["ops@bastion:2222", "inner"]\n', path)
    entry = hosts.lookup("pc")
    assert resolve_target(entry).jump == (JumpHost("bastion", 2222, "ops"), JumpHost("inner"))
    assert resolve_target(entry, jump=["other"]).jump == (JumpHost("other"),)
    assert resolve_target(entry, jump=["none"]).jump == ()
    single = parse_hosts('[hosts.pc]\naddress = "10.1.1.1"\njump = "bastion"\n', path)
    assert resolve_target(single.lookup("pc")).jump == (JumpHost("bastion"),)
    with pytest.raises(ConfigError, match=r"hosts\.toml: hosts\.pc\.jump is not a jump host list"):
        parse_hosts('[hosts.pc]\naddress = "10.1.1.1"\njump = ["bastion:notaport"]\n', path)
    with pytest.raises(ConfigError, match="--jump: "):
        resolve_target(entry, jump=["a:b:c:"])

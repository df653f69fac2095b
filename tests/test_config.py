"""The hosts file: names, defaults, credential references, and one clear sentence per mistake."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from amtterm.config import HostEntry, load_hosts, parse_hosts, stored_password
from amtterm.errors import ConfigError
from amtterm.wsman.target import resolve_target

PIN = "SHA256:" + "x" * 43
FILE = Path("/home/u/.config/amtterm/hosts.toml")


def test_a_full_entry_with_defaults() -> None:
    hosts = parse_hosts(
        f"""
[defaults]
user = "ops"
password_env = "LAB_PW"
fkeys = "alternate"

[hosts.pc42]
address = "pc42.example.net"
tls_pin = "{PIN}"
wsman_port = 16993
redir_port = 16995
amt_version = 16.1
screen = "100x30"
encoding = "CP437"
cafile = "ca.pem"
jump = ["bastion.example.net"]

[hosts.old-pc]
address = "10.0.0.7"
user = "admin"
tls = false
password_command = "pass show amt/old-pc"
""",
        FILE,
    )
    assert hosts.names == ["pc42", "old-pc"]
    pc42 = hosts.lookup("pc42")
    assert pc42 == HostEntry(
        name="pc42",
        address="pc42.example.net",
        user="ops",
        password_env="LAB_PW",
        tls_pin=PIN,
        cafile=FILE.parent / "ca.pem",
        wsman_port=16993,
        redir_port=16995,
        amt_version="16.1",
        screen=(100, 30),
        encoding="cp437",
        fkeys="alternate",
        jump=("bastion.example.net",),
        from_file=True,
    )
    old = hosts.lookup("old-pc")
    assert (old.user, old.tls, old.password_command, old.fkeys) == (
        "admin",
        False,
        "pass show amt/old-pc",
        "alternate",
    )
    # Anything else is an address.
    assert hosts.lookup("192.0.2.9") == HostEntry(name="192.0.2.9", address="192.0.2.9")


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        (
            '[hosts.a]\naddress = "x"\nadress = "y"\n',
            "hosts.a.adress is not a known key (did you mean address?).",
        ),
        (
            '[hosts.a]\naddress = "x"\npassword = "hunter2"\n',
            "hosts.a.password is not allowed: keep passwords out",
        ),
        (
            '[hosts.a]\naddress = "x"\nwsman_port = 70000\n',
            "hosts.a.wsman_port must be a port number from 1 to 65535",
        ),
        ('[hosts.a]\naddress = "x"\ntls = "yes"\n', "hosts.a.tls must be true or false, not 'yes'."),
        ('[hosts.a]\naddress = "x"\ntls_pin = "abc"\n', "hosts.a.tls_pin must be a fingerprint like SHA256:"),
        (
            '[hosts.a]\naddress = "x"\nscreen = "80x50"\n',
            "hosts.a.screen must be one of 80x25, 80x24, 100x30",
        ),
        ('[hosts.a]\naddress = "x"\nfkeys = "f"\n', "hosts.a.fkeys must be one of intel, alternate, vt100+"),
        ('[hosts.a]\naddress = "x"\npassword_env = "$PW"\n', "hosts.a.password_env must be the NAME of an"),
        ('[hosts.a]\naddress = "x"\njump = [1]\n', "hosts.a.jump must be a list of host names"),
        (
            '[hosts.a]\naddress = "x"\namt_version = "sixteen"\n',
            'hosts.a.amt_version must be an AMT version like "16.1"',
        ),
        ('[hosts.a]\nuser = "admin"\n', 'hosts.a has no address: add address = "<host name or IP>".'),
        ('[defaults]\naddress = "x"\n', "defaults.address belongs to one host, not to [defaults]."),
        ('[hosts."my pc"]\naddress = "x"\n', "hosts.my pc has a name that is hard to type"),
        ('[host.a]\naddress = "x"\n', "host is not a known section (use [defaults] and [hosts.NAME])."),
        ("[hosts.a]\naddress = \n", "is not valid TOML: Invalid value (at line 2, column 11)."),
    ],
)
def test_each_mistake_is_one_sentence_naming_file_and_key(text: str, sentence: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_hosts(text, FILE)
    message = str(caught.value)
    assert message.startswith(str(FILE))
    assert sentence in message
    assert "\n" not in message


def test_missing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTTERM_CONFIG_DIR", str(tmp_path / "config"))
    default = load_hosts()  # the default file may be absent: HOST is then an address
    assert (default.exists, default.names, default.path) == (False, [], tmp_path / "config" / "hosts.toml")
    with pytest.raises(ConfigError, match="does not exist: check --hosts-file"):
        load_hosts(tmp_path / "elsewhere.toml")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "hosts.toml").write_text('[hosts.pc]\naddress = "10.1.1.1"\n')
    assert load_hosts().lookup("pc").address == "10.1.1.1"


def test_credential_references() -> None:
    entry = HostEntry(name="pc", address="pc", password_env="PC_PW")
    assert stored_password(entry, environ={"PC_PW": "s3cret"}) == "s3cret"
    with pytest.raises(
        ConfigError, match=r"keeps the password of pc in \$PC_PW, but that variable is not set"
    ):
        stored_password(entry, environ={})
    assert stored_password(HostEntry(name="a", address="a"), environ={}) is None

    script = f"{sys.executable} -c \"print('from-command'); print('second line')\""
    command = HostEntry(name="pc", address="pc", password_command=script)
    cache: dict[str, str] = {}
    assert stored_password(command, environ={}, cache=cache) == "from-command"
    assert cache == {script: "from-command"}
    failing = HostEntry(
        name="pc", address="pc", password_command=f"{sys.executable} -c 'raise SystemExit(3)'"
    )
    with pytest.raises(ConfigError, match=r"The password_command of pc failed with exit status 3\."):
        stored_password(failing, environ={})
    missing = HostEntry(name="pc", address="pc", password_command="/nonexistent/pw-tool")
    with pytest.raises(ConfigError, match="Cannot run the password_command of pc"):
        stored_password(missing, environ={})


def test_command_line_options_win_over_the_file() -> None:
    entry = HostEntry(
        name="pc", address="10.0.0.5", user="ops", tls=True, wsman_port=1993, redir_port=1995, tls_pin=PIN
    )
    target = resolve_target(entry)
    assert (target.user, target.tls, target.wsman_port, target.redir_port, target.tls_pin) == (
        "ops",
        True,
        1993,
        1995,
        PIN,
    )
    plain = resolve_target(entry, user="admin", plain=True)
    assert (plain.user, plain.tls, plain.wsman_port, plain.redir_port, plain.tls_pin) == (
        "admin",
        False,
        16992,
        16994,
        None,
    )
    assert resolve_target(entry, wsman_port=4000).wsman_port == 4000
    bare = resolve_target(HostEntry(name="10.0.0.9", address="10.0.0.9"))
    assert (bare.user, bare.tls, bare.wsman_port, bare.redir_port) == ("admin", True, 16993, 16995)

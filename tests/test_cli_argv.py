"""`amtterm OPTIONS HOST` is `amtterm tui OPTIONS HOST`: option values are not taken for the host."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import pytest

from amtterm.cli.main import _parse, build_parser
from amtterm.cli.tui import tui_argv
from tests.support.simproc import amtterm_argv


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def parse(*argv: str) -> argparse.Namespace:
    """What main() makes of the words (without running anything)."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return _parse(parser, action.choices, tui_argv(argv, action.choices))


# -- tui_argv alone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-J", "bastion", "pc42"], ["-J", "bastion", "tui", "pc42"]),
        (["--jump", "a,b", "-J", "c", "pc42"], ["--jump", "a,b", "-J", "c", "tui", "pc42"]),
        (["--hosts-file", "lab.toml", "pc42", "pc43"], ["--hosts-file", "lab.toml", "tui", "pc42", "pc43"]),
        (["--debug", "pc42"], ["--debug", "tui", "pc42"]),
        (["--accept-new", "pc42"], ["--accept-new", "tui", "pc42"]),
        (["--jump=bastion", "pc42"], ["--jump=bastion", "tui", "pc42"]),  # the value inside the word
        (["-Jbastion", "pc42"], ["-Jbastion", "tui", "pc42"]),
        (["-PJ", "bastion", "pc42"], ["-PJ", "bastion", "tui", "pc42"]),  # -P, then -J and its value
        (["-J", "sol", "pc42"], ["-J", "sol", "tui", "pc42"]),  # a jump host that is named like a command
        (["--theme", "x", "--prefix", "C-a", "pc42"], ["--theme", "x", "--prefix", "C-a", "tui", "pc42"]),
        (["pc42", "-J", "bastion"], ["tui", "pc42", "-J", "bastion"]),
    ],
)
def test_options_before_the_host_stay_options(argv: list[str], expected: list[str]) -> None:
    assert tui_argv(argv, commands()) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug", "power", "pc42", "status"],
        ["-J", "bastion", "sol", "pc42"],
        ["tui", "-J", "bastion", "pc42"],
        ["--version"],
        ["--debug"],
        [],
    ],
)
def test_sub_commands_and_no_host_are_left_alone(argv: list[str]) -> None:
    assert tui_argv(argv, commands()) == argv


@pytest.mark.parametrize("argv", [["-J", "bastion"], ["--prefix", "x"], ["--debug", "--prefix", "C-a"]])
def test_console_options_without_a_host_are_the_consoles(argv: list[str]) -> None:
    """No host, but the console's options: the console's parser reads them (and says what is wrong)."""
    assert tui_argv(argv, commands()) == ["tui", *argv]


def test_a_bad_prefix_without_a_host_is_the_prefix_sentence(env: dict[str, str]) -> None:
    done = subprocess.run(
        [*amtterm_argv(), "--prefix", "x"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].endswith(
        "argument --prefix: the prefix 'x' would take a plain key from the remote; add ctrl+ or alt+"
    ), done.stderr


def test_which_options_take_a_value_comes_from_the_tui_parser() -> None:
    tui = argparse.ArgumentParser()
    tui.add_argument("--zone")
    tui.add_argument("--quiet", action="store_true")
    own = {"tui": tui, "sol": argparse.ArgumentParser()}
    assert tui_argv(["--zone", "eu", "pc42"], own) == ["--zone", "eu", "tui", "pc42"]
    assert tui_argv(["--quiet", "pc42"], own) == ["--quiet", "tui", "pc42"]
    # Names only: no parser to ask, so no value is skipped (the first plain word is the host).
    assert tui_argv(["--zone", "eu", "pc42"], {"tui", "sol"}) == ["--zone", "tui", "eu", "pc42"]


# -- what main() parses -----------------------------------------------------------------------------


def test_main_parses_options_before_the_host_as_the_consoles() -> None:
    args = parse("-J", "bastion", "--hosts-file", "lab.toml", "--debug", "pc42", "--theme", "bios-blue")
    assert args.command == "tui" and args.hosts == ["pc42"]
    assert args.jump == ["bastion"] and args.hosts_file == Path("lab.toml")
    assert args.debug and args.theme == "bios-blue"
    power = parse("--debug", "power", "pc42", "status")
    assert power.command == "power" and power.words == ["pc42", "status"] and power.debug
    sol = parse("-J", "bastion", "sol", "pc42")
    assert sol.command == "sol" and sol.host == "pc42" and sol.jump == ["bastion"]


def test_amtterm_jump_before_the_host_reaches_the_console(env: dict[str, str], tmp_path: Path) -> None:
    """The real command: parsing passes, the hosts file is read, and the console asks for a terminal."""
    hosts = tmp_path / "hosts.toml"
    hosts.write_text('[hosts.pc42]\naddress = "127.0.0.1"\n')
    argv = [*amtterm_argv(), "-J", "bastion", "--hosts-file", str(hosts), "--accept-new", "pc42"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("amtterm: The console needs a terminal"), done.stderr
    assert "usage:" not in done.stderr

"""The console's parts without a simulator: themes, commands, the command line, key pacing."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import pytest

from amtterm.cli import tui as cli_tui
from amtterm.errors import ConfigError
from amtterm.redir.connection import ConsoleConfig
from amtterm.session.console import SessionState
from amtterm.session.host import PACE_GAP, PACE_LINE_GAP, HostController, HostProfile, TrustPrompt
from amtterm.terminal.keynames import describe_key, parse_prefix
from amtterm.ui.commands import COMMANDS, find_command
from amtterm.ui.themes import DEFAULT_THEME, load_themes, next_theme, parse_theme, pick_theme

# -- themes -----------------------------------------------------------------------------------------


def test_shipped_themes_give_app_colours_and_a_terminal_palette(tmp_path: Path) -> None:
    themes, problems = load_themes(tmp_path)
    assert problems == []
    assert {"amtterm-dark", "amtterm-light", "bios-blue"} <= set(themes)
    assert pick_theme(themes, None).name == DEFAULT_THEME
    assert themes["bios-blue"].palette.default_background == "#0000aa"
    assert themes["amtterm-light"].textual.dark is False
    for theme in themes.values():
        assert len(theme.palette.ansi) == 16


def test_user_themes_add_and_replace_and_a_broken_one_is_skipped_with_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "midnight.toml").write_text(
        'label = "Midnight"\n[app]\nprimary = "#123456"\n[terminal]\nbackground = "#101010"\n'
    )
    (tmp_path / "bios-blue.toml").write_text('name = "bios-blue"\n[app]\nprimary = "#00ff00"\n')
    (tmp_path / "broken.toml").write_text('[app]\nprimary = "not a colour"\n')
    (tmp_path / "notes.txt").write_text("not a theme")
    themes, problems = load_themes(tmp_path)
    assert themes["midnight"].label == "Midnight"
    assert themes["midnight"].palette.default_background == "#101010"
    assert (
        themes["bios-blue"].source.endswith("bios-blue.toml")
        and "amtterm/themes" not in themes["bios-blue"].source
    )
    assert len(problems) == 1 and "broken.toml" in problems[0] and "skipped" in problems[0]
    assert next_theme(themes, "midnight").name == "amtterm-dark"  # wraps around


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("nonsense = 1\n[app]\nprimary = '#000000'", "unknown keys"),
        ("[app]\nbackground = '#000000'", "needs at least primary"),
        ("[app]\nprimary = '#000000'\nshiny = '#111111'", "unknown colours"),
        ("[app]\nprimary = '#000000'\n[terminal]\ncolors = ['#000000']", "[terminal] is wrong"),
        ("[app\n", "not valid TOML"),
    ],
)
def test_theme_errors_are_one_sentence(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_theme(text, "x.toml", "x")
    assert needle in str(info.value)


def test_unknown_theme_names_the_known_ones(tmp_path: Path) -> None:
    themes, _ = load_themes(tmp_path)
    with pytest.raises(ConfigError, match="amtterm-light"):
        pick_theme(themes, "neon")


# -- commands ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("ctrl+]", "ctrl+right_square_bracket"),
        ("C-]", "ctrl+right_square_bracket"),
        ("^]", "ctrl+right_square_bracket"),
        ("ctrl-a", "ctrl+a"),
        ("Ctrl+A", "ctrl+a"),
        ("ctrl+right_square_bracket", "ctrl+right_square_bracket"),
        ("f12", "f12"),
        ("alt+x", "alt+x"),
    ],
)
def test_prefix_keys_people_write(text: str, key: str) -> None:
    assert parse_prefix(text) == key


@pytest.mark.parametrize("text", ["a", "]", "", "ctrl+", "ctrl+no such key!"])
def test_prefix_keys_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_prefix(text)


def test_every_command_has_a_unique_key_and_a_help_line() -> None:
    keys = [key for command in COMMANDS for key in command.keys]
    assert len(keys) == len(set(keys))
    assert all(command.help for command in COMMANDS)
    assert find_command("q") is not None and find_command("q").action == "quit"  # type: ignore[union-attr]
    assert find_command("shift+n") is find_command("N")
    assert describe_key("ctrl+right_square_bracket") == "Ctrl-]"
    assert describe_key("slash") == "/"


# -- the command line -------------------------------------------------------------------------------


def test_amtterm_host_means_amtterm_tui_host() -> None:
    commands = {"sol", "sim", "demo", "tui", "power"}
    assert cli_tui.tui_argv(["pc42"], commands) == ["tui", "pc42"]
    assert cli_tui.tui_argv(["--debug", "pc42", "--theme", "bios-blue"], commands) == [
        "--debug", "tui", "pc42", "--theme", "bios-blue",
    ]  # fmt: skip
    assert cli_tui.tui_argv(["power", "pc42", "on"], commands) == ["power", "pc42", "on"]
    assert cli_tui.tui_argv(["--version"], commands) == ["--version"]
    assert cli_tui.tui_argv([], commands) == []


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_tui.add_tui_arguments(parser)
    return parser.parse_args(argv)


def test_tui_options_and_hosts_file_defaults() -> None:
    args = parse("pc42", "--prefix", "C-a", "--screen", "100x30", "--fkeys", "vt100+")
    assert args.hosts == ["pc42"] and args.prefix == "ctrl+a"
    display = cli_tui.Display.from_args(args)
    assert display.screen == (100, 30) and display.key_mode == "vt100+" and display.encoding == "auto"
    with pytest.raises(SystemExit):
        parse("pc42", "--screen", "90x40")


async def test_tui_without_a_host_says_how_to_name_one(tmp_path: Path) -> None:
    args = parse("--hosts-file", str(tmp_path / "hosts.toml"))
    (tmp_path / "hosts.toml").write_text("")
    with pytest.raises(ConfigError, match="Name a host"):
        await cli_tui.run_tui(args)


async def test_tui_without_a_terminal_points_to_amtterm_sol(tmp_path: Path) -> None:
    (tmp_path / "hosts.toml").write_text("")
    args = parse("pc42", "--hosts-file", str(tmp_path / "hosts.toml"))
    with pytest.raises(ConfigError, match="amtterm sol"):  # pytest's stdin is not a terminal
        await cli_tui.run_tui(args)


def test_demo_arguments() -> None:
    parser = argparse.ArgumentParser()
    cli_tui.add_demo_arguments(parser)
    args = parser.parse_args(["--hosts", "3", "--theme", "bios-blue", "--no-panes"])
    assert args.hosts == 3 and args.theme == "bios-blue" and args.no_panes


# -- key pacing -------------------------------------------------------------------------------------


class FakeClient:
    """Stands in for a started SolClient: records writes with their times, never sends output."""

    power_on = True
    firmware_version = (16, 1)

    def __init__(self) -> None:
        self.writes: list[tuple[float, bytes]] = []
        self.closed = asyncio.Event()
        self.power_listeners: list[object] = []

    async def read(self) -> bytes:
        await self.closed.wait()
        return b""

    async def write(self, data: bytes) -> None:
        self.writes.append((time.monotonic(), data))

    async def close(self) -> None:
        self.closed.set()


def fake_link() -> tuple[HostController, FakeClient]:
    client = FakeClient()

    async def opener() -> FakeClient:
        return client

    profile = HostProfile("pc", "127.0.0.1", 16995, None, ConsoleConfig(user="admin", password="x"))
    return HostController(profile, opener=opener), client  # type: ignore[arg-type]


async def test_typed_text_is_paced_and_a_key_waits_its_turn() -> None:
    link, client = fake_link()
    link.start()
    try:
        for _ in range(100):
            if link.status.state is SessionState.CONNECTED:
                break
            await asyncio.sleep(0.01)
        link.send_paced([b"admin", b"pass\r", b"more"])
        link.send_key(b"\x1b")
        for _ in range(200):
            if len(client.writes) == 4:
                break
            await asyncio.sleep(0.01)
        data = [chunk for _, chunk in client.writes]
        assert data == [b"admin", b"pass\r", b"more", b"\x1b"]
        times = [at for at, _ in client.writes]
        assert times[1] - times[0] >= PACE_GAP * 0.9
        assert times[2] - times[1] >= PACE_LINE_GAP * 0.9  # longer after a line
    finally:
        await link.close()
    assert link.closed and link.status.state is SessionState.CLOSED


async def test_keys_while_disconnected_are_counted_not_kept() -> None:
    link, _ = fake_link()
    link.start()
    await link.stop()
    link.send_key(b"a")
    link.send_paced([b"bc", b"de"])
    for _ in range(100):
        if link.dropped == 3:
            break
        await asyncio.sleep(0.01)
    assert link.dropped == 3
    await link.close()


def test_trust_prompt_refuses_then_approves_the_same_question() -> None:
    trust = TrustPrompt()
    asked: list[str] = []
    trust.listeners.append(asked.append)
    assert trust("Fingerprint SHA256:abc. Trust it?") is False
    assert trust("Fingerprint SHA256:abc. Trust it?") is False
    assert asked == ["Fingerprint SHA256:abc. Trust it?"] and trust.pending == asked
    trust.approve("Fingerprint SHA256:abc. Trust it?")
    assert trust.pending == []
    assert trust("Fingerprint SHA256:abc. Trust it?") is True
    assert trust("Fingerprint SHA256:other. Trust it?") is False

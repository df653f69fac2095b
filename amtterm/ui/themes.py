"""Themes: Textual colours for the app and the 16-colour palette of the remote screen, from TOML.

Three ship with amtterm (``amtterm/themes/*.toml``, package data): ``amtterm-dark`` (the
default), ``amtterm-light`` and ``bios-blue``. Users add their own as ``*.toml`` files in
``<config dir>/themes/`` (``~/.config/amtterm/themes``); a user theme with the name of a built-in
one replaces it. The format::

    name = "midnight"            # what --theme and the theme command call it (default: file name)
    label = "Midnight"           # shown in the UI (default: the name)
    dark = true

    [app]                        # Textual theme colours; primary is required
    primary = "#3d8fd1"
    background = "#101418"       # also: secondary accent foreground surface panel boost
                                 #       warning error success

    [terminal]                   # the remote screen (see TerminalPalette.from_mapping)
    colors = ["#000000", ...]    # 16 colours; or black = "...", bright_red = "...", color9 = ...
    foreground = "#aaaaaa"
    background = "#000000"

A broken user theme never stops the console: it is skipped and reported in one sentence.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from textual.theme import Theme

from amtterm import paths
from amtterm.errors import ConfigError
from amtterm.ui.widgets.emulator import VGA_PALETTE, TerminalPalette

DEFAULT_THEME: Final = "amtterm-dark"
#: Textual theme fields a theme file may set in [app].
APP_COLOURS: Final = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "warning",
    "error",
    "success",
)


@dataclass(frozen=True)
class AmtTheme:
    """One theme: the Textual theme and the terminal palette that goes with it.

    Attributes:
        name: the theme's name (``--theme``).
        label: what the UI calls it.
        textual: the Textual theme (registered under ``name``).
        palette: the remote screen's colours.
        source: the file it came from.
    """

    name: str
    label: str
    textual: Theme
    palette: TerminalPalette
    source: str


def user_themes_dir() -> Path:
    """``<config dir>/themes``, where users put their own theme files."""
    return paths.config_dir(create=False) / "themes"


def parse_theme(text: str, source: str, default_name: str) -> AmtTheme:
    """Parse one theme file's text.

    Args:
        text: the TOML text.
        source: where it came from (for messages).
        default_name: the name when the file gives none (its stem).

    Raises:
        ConfigError: not TOML, unknown keys, a missing primary colour, or a bad colour.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The theme {source} is not valid TOML: {exc}.") from None
    unknown = sorted(set(data) - {"name", "label", "dark", "app", "terminal"})
    if unknown:
        raise ConfigError(
            f"The theme {source} has unknown keys ({', '.join(unknown)}): use name, label, dark, "
            "[app] and [terminal]."
        )
    name = _text(data.get("name", default_name), "name", source)
    label = _text(data.get("label", name), "label", source)
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ConfigError(f"The theme {source}: dark must be true or false, not {dark!r}.")
    app = _table(data.get("app", {}), "app", source)
    bad = sorted(set(app) - set(APP_COLOURS))
    if bad:
        raise ConfigError(
            f"The theme {source}: [app] has unknown colours ({', '.join(bad)}); "
            f"known: {', '.join(APP_COLOURS)}."
        )
    if "primary" not in app:
        raise ConfigError(f'The theme {source}: [app] needs at least primary = "#rrggbb".')
    colours = {key: _text(value, f"app.{key}", source) for key, value in app.items()}
    textual = Theme(
        name=name,
        dark=dark,
        primary=colours["primary"],
        secondary=colours.get("secondary"),
        accent=colours.get("accent"),
        foreground=colours.get("foreground"),
        background=colours.get("background"),
        surface=colours.get("surface"),
        panel=colours.get("panel"),
        boost=colours.get("boost"),
        warning=colours.get("warning"),
        error=colours.get("error"),
        success=colours.get("success"),
    )
    try:
        textual.to_color_system()  # parse every colour now, not when the theme is applied
    except Exception as exc:  # Textual raises ColorParseError
        raise ConfigError(f"The theme {source}: a colour in [app] does not parse ({exc}).") from None
    terminal = _table(data.get("terminal", {}), "terminal", source)
    try:
        palette = TerminalPalette.from_mapping(terminal, VGA_PALETTE)
    except ValueError as exc:
        raise ConfigError(f"The theme {source}: [terminal] is wrong: {exc}.") from None
    return AmtTheme(name, label, textual, palette, source)


def _text(value: Any, key: str, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"The theme {source}: {key} must be a non-empty string, not {value!r}.")
    return value.strip()


def _table(value: Any, key: str, source: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"The theme {source}: [{key}] must be a table.")
    return value


def builtin_theme_files() -> list[tuple[str, str, str]]:
    """The shipped theme files as (source, stem, text), sorted by name."""
    folder = resources.files("amtterm") / "themes"
    out: list[tuple[str, str, str]] = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".toml"):
            out.append(
                (f"amtterm/themes/{entry.name}", entry.name.removesuffix(".toml"), entry.read_text("utf-8"))
            )
    return out


def load_themes(user_dir: Path | None = None) -> tuple[dict[str, AmtTheme], list[str]]:
    """Every theme: the shipped ones, then the user's (which may replace a shipped one).

    Args:
        user_dir: where user themes live; :func:`user_themes_dir` when None.

    Returns:
        The themes by name (shipped first, in name order, then the user's), and one sentence
        per user theme file that could not be used.
    """
    themes: dict[str, AmtTheme] = {}
    for source, stem, text in builtin_theme_files():
        theme = parse_theme(text, source, stem)
        themes[theme.name] = theme
    problems: list[str] = []
    folder = user_dir if user_dir is not None else user_themes_dir()
    for path in _toml_files(folder):
        try:
            theme = parse_theme(path.read_text("utf-8"), str(path), path.stem)
        except ConfigError as exc:
            problems.append(f"{exc} It was skipped.")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"Cannot read the theme {path} ({exc}); it was skipped.")
            continue
        themes[theme.name] = theme
    return themes, problems


def _toml_files(folder: Path) -> Iterable[Path]:
    try:
        return sorted(path for path in folder.iterdir() if path.suffix == ".toml" and path.is_file())
    except OSError:
        return []


def pick_theme(themes: Mapping[str, AmtTheme], name: str | None) -> AmtTheme:
    """The theme called ``name`` (the default when None).

    Raises:
        ConfigError: no theme has that name (the sentence lists the known ones).
    """
    wanted = name or DEFAULT_THEME
    theme = themes.get(wanted)
    if theme is None:
        raise ConfigError(
            f"No theme called {wanted!r}: use one of {', '.join(themes)} "
            f"(or add {wanted}.toml to {user_themes_dir()})."
        )
    return theme


def next_theme(themes: Mapping[str, AmtTheme], current: str) -> AmtTheme:
    """The theme after ``current`` in order (wrapping), for the theme command."""
    names = list(themes)
    index = names.index(current) if current in names else -1
    return themes[names[(index + 1) % len(names)]]

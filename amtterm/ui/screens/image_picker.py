"""Choosing an image file for IDE-R: a directory tree of images, and path completion for an Input.

:class:`ImagePickerScreen` is a modal directory tree that lists only directories and image files
(``.iso``, ``.img``, ``.ima``); Enter on a file picks it, Backspace goes up one directory, Esc
cancels. It is made of keys and plain characters only, so it works over SSH and inside tmux.

:class:`PathSuggester` completes a path typed into an Input the way a shell does: the rest of
the first matching directory or image file is shown dimmed, and Right (or End) accepts it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import DirectoryTree, Static

#: File name endings of images the pickers offer (compared in lower case).
IMAGE_SUFFIXES: tuple[str, ...] = (".iso", ".img", ".ima")
#: Directory entries looked at for one completion (a huge directory is not read to its end).
COMPLETION_SCAN = 5000


def is_image(path: Path) -> bool:
    """Whether ``path``'s name ends like an image file."""
    return path.name.lower().endswith(IMAGE_SUFFIXES)


def complete_path(value: str) -> str | None:
    """The first directory or image file whose path starts with ``value``, as typed plus the rest.

    ``~`` is understood but kept as typed; hidden entries are offered only once a ``.`` is typed.
    Directories end in ``/``. Returns None when nothing matches or ``value`` is empty.
    """
    if not value:
        return None
    cut = value.rfind("/") + 1
    typed_dir, stem = value[:cut], value[cut:]
    where = Path(os.path.expanduser(typed_dir)) if typed_dir else Path(".")
    matches: list[tuple[bool, str]] = []
    try:
        with os.scandir(where) as entries:
            for count, entry in enumerate(entries):
                if count >= COMPLETION_SCAN:
                    break
                name = entry.name
                if not name.startswith(stem) or (name.startswith(".") and not stem.startswith(".")):
                    continue
                try:
                    directory = entry.is_dir()
                except OSError:
                    continue
                if directory or name.lower().endswith(IMAGE_SUFFIXES):
                    matches.append((not directory, name + ("/" if directory else "")))
    except OSError:
        return None
    if not matches:
        return None
    _, name = min(matches)  # directories first, then by name
    completed = typed_dir + name
    return completed if completed != value else None


class PathSuggester(Suggester):
    """Suggests the completion of a typed path (directories and image files)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        """The completed path, or None."""
        return complete_path(value)


class ImageTree(DirectoryTree):
    """A DirectoryTree of directories and image files only (no hidden entries)."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Keep directories and images."""
        shown = []
        for path in paths:
            if path.name.startswith("."):
                continue
            try:
                if path.is_dir() or is_image(path):
                    shown.append(path)
            except OSError:
                continue
        return shown


class ImagePickerScreen(ModalScreen[Path | None]):
    """Pick an image file; the result is its path, or None when cancelled.

    Args:
        title: what is being chosen, e.g. "CD image for pc42".
        start: where to start: a file's directory, a directory, or the working directory.
    """

    CSS_PATH = "image_picker.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", show=False),
        Binding("backspace", "parent", "parent directory", show=False),
    ]

    def __init__(self, title: str, start: Path | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.start = self._start_dir(start)

    @staticmethod
    def _start_dir(start: Path | None) -> Path:
        candidate = Path(os.path.expanduser(str(start))) if start is not None else Path.cwd()
        for place in (candidate, *candidate.parents):
            if place.is_dir():
                return place.resolve()
        return Path.cwd()

    def compose(self) -> ComposeResult:
        """Title, the directory shown, the tree, the keys."""
        with Vertical(id="picker"):
            yield Static(self.title_text, id="picker-title")
            yield Static(str(self.start), id="picker-dir")
            yield ImageTree(self.start, id="picker-tree")
            yield Static("Enter: open / choose · Backspace: parent directory · Esc: cancel", id="picker-keys")

    def on_mount(self) -> None:
        """The tree takes the keyboard."""
        self.query_one(ImageTree).focus()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        """A file was chosen."""
        event.stop()
        self.dismiss(Path(event.path))

    def action_parent(self) -> None:
        """Show the parent directory."""
        tree = self.query_one(ImageTree)
        current = Path(tree.path).resolve()
        if current.parent != current:
            tree.path = current.parent
            self.query_one("#picker-dir", Static).update(str(current.parent))

    def action_cancel(self) -> None:
        """Nothing chosen."""
        self.dismiss(None)

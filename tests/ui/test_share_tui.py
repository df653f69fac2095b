"""Sharing from the console (Ctrl-] S, Ctrl-] K) and watching a share in AttachApp, through Pilot.

The viewer of the first test is amtterm's own SSH client (:class:`ShareClient`, asyncssh) in the
same event loop; what it receives is read through pyte at its window size, as a terminal would.
The real OpenSSH client is the viewer in ``tests/real/test_share_ssh.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import asyncssh
import pyte
import pytest

from amtterm.session.console import ConsoleHub
from amtterm.share.client import ShareAddress, ShareClient
from amtterm.share.keys import AuthorizedKeys, load_host_key
from amtterm.share.screen import ShareScreen
from amtterm.share.server import ShareServer
from amtterm.ui.attach import AttachApp
from amtterm.ui.widgets.statusline import StatusLine
from tests.ui.appsim import running_app

F10 = b"\x1b[OY"


@pytest.fixture(scope="module")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-state")


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Private config and state directories, with a viewer key authorized; returns the key."""
    monkeypatch.setenv("AMTTERM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AMTTERM_STATE_DIR", str(tmp_path / "state"))
    key = asyncssh.generate_private_key("ssh-ed25519", comment="carol")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "share_authorized_keys").write_bytes(key.export_public_key())
    path = tmp_path / "id_carol"
    key.write_private_key(path)
    return path


class Window:
    """What a viewer's terminal shows of the bytes a ShareClient receives."""

    def __init__(self, client: ShareClient, cols: int, rows: int) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.task = asyncio.create_task(self._read(client))

    async def _read(self, client: ShareClient) -> None:
        async for chunk in client.output():
            self.stream.feed(chunk)

    def text(self) -> str:
        return "\n".join(self.screen.display)


async def until(
    check: Callable[[], bool], what: str, pause: Callable[[], object], timeout: float = 10
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pause()  # type: ignore[misc]


async def test_console_shares_its_host_and_hands_the_keyboard(sim_state: Path, dirs: Path) -> None:
    async with running_app(sim_state, dirs.parent) as run:
        await run.wait_text("Press F2 for Setup")
        await run.pilot.press("f2")
        await run.wait_text("Setup Utility")
        await run.command("S")
        assert any("ssh -p" in note for note in run.notes())
        server = run.screen.sharing.server(run.link)
        assert server is not None and server.address is not None
        host, port = server.address
        assert host == "127.0.0.1"

        client = await ShareClient.connect(
            ShareAddress(host, port), identities=[dirs], accept_new=True, size=(90, 27)
        )
        window = Window(client, 90, 27)
        try:
            pause = lambda: run.pilot.pause(0.05)  # noqa: E731
            await until(lambda: "Setup Utility" in window.text(), "the redrawn setup screen", pause)
            await until(lambda: "watching: carol" in window.text(), "the viewer's status line", pause)
            status = run.screen.query_one(StatusLine)
            await until(lambda: "1 watching" in str(status.render()), "the owner's status line", pause)
            assert any("carol is watching" in note for note in run.notes())

            # Read-only: F10 goes nowhere.
            client.write(F10)
            await run.pilot.pause(0.8)
            assert "Save configuration and exit?" not in run.view.text()

            client.write(b"\x1dk")
            await until(lambda: any("carol asks" in n for n in run.notes()), "the request", pause)
            await run.command("K")
            assert run.link.hub.keyboard == "ssh:carol"
            client.write(F10)
            await run.wait_text("Save configuration and exit?")
            # The owner's keys are held back (and said so) while carol types.
            await run.pilot.press("escape")
            await run.pilot.pause(0.3)
            assert "Save configuration and exit?" in run.view.text()
            assert any("keyboard is with carol" in note for note in run.notes())
            await run.command("K")
            assert run.link.hub.keyboard == "tui"
            await run.pilot.press("escape")
            await run.wait_for(
                lambda: "Save configuration and exit?" not in run.view.text(), "the popup to close"
            )

            await run.command("S")  # stop sharing: the viewer is let go
            await asyncio.wait_for(window.task, 5)
            assert run.screen.sharing.server(run.link) is None
        finally:
            window.task.cancel()
            await client.close()


async def test_attach_app_shows_a_share_and_asks_for_the_keyboard(dirs: Path) -> None:
    hub = ConsoleHub()
    hub.grant_keyboard("owner")
    typed: list[bytes] = []

    async def sink(data: bytes) -> None:
        typed.append(data)

    hub.attach_sink(sink)
    notes: list[str] = []
    server = ShareServer(
        hub,
        owner="owner",
        owner_name="dave (owner)",
        title="pc42",
        host_key=load_host_key(),
        authorized=AuthorizedKeys.load(dirs.parent / "config" / "share_authorized_keys"),
        screen=ShareScreen(80, 25),
    )
    server.listeners.append(notes.append)
    host, port = await server.start()
    try:
        await hub.publish(b"\x1b[2J\x1b[5;10HHello from the BIOS")
        client = await ShareClient.connect(ShareAddress(host, port), identities=[dirs], accept_new=True)
        app = AttachApp(client)
        async with app.run_test(size=(100, 31)) as pilot:
            pause = lambda: pilot.pause(0.05)  # noqa: E731
            await until(lambda: "Hello from the BIOS" in app.view.text(), "the shared screen", pause)
            await until(lambda: "keyboard: dave (owner)" in app.view.text(), "the status line", pause)
            # The share draws for the widget's own size (told after the app has its layout).
            await until(lambda: app.view.screen_size == (100, 30), "the window size", pause)
            # Centred: 2 rows down (29 rows above the status line) and 10 columns in.
            await until(lambda: app.view.lines()[6].startswith(" " * 19 + "Hello"), "centring", pause)
            await pilot.press("x")
            await pilot.pause(0.3)
            assert typed == []  # read-only
            await pilot.press("ctrl+right_square_bracket", "k")
            await until(lambda: any("carol asks" in note for note in notes), "the request", pause)
            server.give(server.viewers[0])
            await until(lambda: "you have the keyboard" in app.view.text(), "the hand-off", pause)
            await pilot.press("x", "f2")
            await until(lambda: b"".join(typed) == b"x\x1b[OQ", "the keys at the hub", pause)
            await pilot.press("ctrl+right_square_bracket", "q")
            await until(lambda: not server.viewers, "carol to leave", pause)
        await client.close()
    finally:
        await server.close()
    assert hub.keyboard == "owner"

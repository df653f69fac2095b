"""`amtterm replay FILE` in the terminal widget: a recording of the synthetic BIOS, played back."""

from __future__ import annotations

from pathlib import Path

from amtterm.session.playback import load_cast
from amtterm.session.recorder import AsciicastWriter
from amtterm.sim.synthetic import SyntheticHost
from amtterm.ui.replay import ReplayApp

F2 = b"\x1b[OQ"


def record_bios(path: Path) -> Path:
    """POST, F2, the setup screen: the synthetic PC's bytes through the recorder, on a fake clock."""
    now = [0.0]
    cast = AsciicastWriter.open(path, clock=lambda: now[0], title="amtterm sim")
    host = SyntheticHost()
    host.power_on(0.0)
    cast.marker("power on")
    now[0] = 2.0
    cast.output(host.read_output(2.0))
    host.feed(F2, 2.0)
    cast.input(F2)  # not recorded (no record_input), and never replayed anyway
    now[0] = 2.5
    cast.marker("next boot: BIOS setup requested")
    now[0] = 4.0
    cast.output(host.read_output(4.0))
    cast.close()
    return path


def widget_text(app: ReplayApp) -> str:
    view = app.view
    return "\n".join(
        "".join(segment.text for segment in view.render_line(y)) for y in range(view.size.height)
    )


async def test_replay_shows_the_recorded_screen_and_its_markers(tmp_path: Path) -> None:
    cast = load_cast(record_bios(tmp_path / "bios.cast"))
    app = ReplayApp(cast, speed=64, title="bios.cast")
    async with app.run_test(size=(120, 32)) as pilot:
        for _ in range(200):
            if app.player.finished:
                break
            await pilot.pause(0.02)
        assert app.player.finished
        await pilot.pause()
        shown = widget_text(app)
        assert "Setup Utility" in shown and "Save & Exit" in shown
        assert "╔" in shown and "║" in shown  # CP437 frames, drawn as recorded
        assert "Press F2 for Setup" not in app.view.text()  # the last screen, not the first
        assert app.view.screen_size == (80, 25)
        markers = str(app.query_one("#markers").render())
        assert "power on" in markers and "next boot: BIOS setup requested" in markers
        assert "end" in app.status_text()
        await pilot.press("q")
    assert app.return_code == 0


async def test_pause_holds_the_screen_and_n_plays_to_the_next_marker(tmp_path: Path) -> None:
    cast = load_cast(record_bios(tmp_path / "bios.cast"))
    app = ReplayApp(cast, speed=1)
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.press("space")
        assert app.player.paused and "paused" in app.status_text()
        await pilot.pause(0.2)
        assert [event.data for event in app.markers_seen] == ["power on"]  # at 0 s, before the pause
        assert "DemoTech" not in app.view.text()  # POST comes at 2 s: held by the pause
        await pilot.press("n")  # POST and the next marker at once, still paused after it
        await pilot.pause(0.3)
        assert [event.data for event in app.markers_seen] == ["power on", "next boot: BIOS setup requested"]
        assert "Press F2 for Setup" in app.view.text() or "Entering Setup" in app.view.text()
        assert not app.player.finished  # still paused before the setup screen
        await pilot.press("plus", "plus")
        assert app.player.speed == 4
        await pilot.press("e")
        for _ in range(100):
            if app.player.finished:
                break
            await pilot.pause(0.02)
        assert "Save & Exit" in app.view.text()
        await pilot.press("q")


def test_truncated_recording_plays_up_to_the_cut(tmp_path: Path) -> None:
    path = record_bios(tmp_path / "cut.cast")
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # the last event cut in the middle
    cast = load_cast(path)
    assert cast.truncated == len(text.splitlines())
    assert [event.data for event in cast.markers] == ["power on", "next boot: BIOS setup requested"]

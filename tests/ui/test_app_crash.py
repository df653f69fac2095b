"""A bug inside the app ends it with one sentence, not a traceback, unless --debug."""

from __future__ import annotations

import io

from rich.console import Console

from amtterm.ui.app import AmtApp
from tests.ui.test_app_parts import fake_link


class Boom(RuntimeError):
    pass


class BrokenApp(AmtApp):
    def on_mount(self) -> None:
        raise Boom("a bug in the app")


async def _run_broken(debug: bool) -> str:
    link, _client = fake_link()
    app = BrokenApp([link], check_tmux=False, power_poll=0)
    app.show_tracebacks = debug
    out = io.StringIO()
    app.error_console = Console(file=out, width=120)
    await app.run_async(headless=True)
    await app.close_links()
    assert app.return_code == 1
    return out.getvalue()


async def test_a_bug_ends_the_app_with_one_sentence() -> None:
    text = await _run_broken(debug=False)
    assert "Traceback" not in text
    assert "amtterm: internal error: Boom: a bug in the app (run with --debug for details)" in text


async def test_debug_shows_the_traceback() -> None:
    text = await _run_broken(debug=True)
    assert "Traceback" in text

"""amtterm.expect and `amtterm expect` against a real `amtterm sim` process on loopback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from amtterm.errors import AmtError, AuthError, ExpectTimeout
from amtterm.expect import connect
from tests.support.simproc import SimProcess, amtterm_argv


def expect_cli(
    sim: SimProcess, env: dict[str, str], *steps: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    run_env = dict(env, AMT_PASSWORD=password or sim.password)
    argv = [*amtterm_argv(), "expect", "-P", "127.0.0.1", str(sim.plain_port), *steps]
    return subprocess.run(argv, env=run_env, capture_output=True, text=True, timeout=60)


# -- the Python API ---------------------------------------------------------------------------


async def test_wait_for_post_send_f2_and_see_bios_setup(sim: SimProcess) -> None:
    async with connect("127.0.0.1", sim.plain_port, plain=True, password=sim.password) as console:
        found = await console.expect("Press F2", timeout=20)
        assert found.where == "screen"
        assert found.row is not None and console.screen_lines()[found.row].find("Press F2") == found.column
        await console.send_keys("F2")
        found = await console.expect(["Boot Menu Selection", "Save & Exit"], timeout=15)
        assert found.index == 1 and found.text == "Save & Exit"
        screen = console.screen_text()
        assert "Setup Utility" in screen
        assert "╔" in screen and "║" in screen  # CP437 frames decoded as the BIOS meant them
        assert len(console.screen_lines()) == 25 and len(console.screen_lines()[0]) == 80
        # A regex may read the screen; the BIOS version sits on the Main tab.
        version = await console.expect(re.compile(r"BIOS Version\s+(\S+)"), timeout=5)
        assert version.match.group(1)


async def test_timeout_names_what_was_awaited_and_shows_the_screen(sim: SimProcess) -> None:
    async with connect("127.0.0.1", sim.plain_port, plain=True, password=sim.password) as console:
        await console.expect("Press F2", timeout=20)
        with pytest.raises(ExpectTimeout) as caught:
            await console.expect("Windows Boot Manager", timeout=0.5)
    error = caught.value
    assert isinstance(error, AmtError) and error.exit_status == 3
    assert error.sentence.startswith('Timed out after 0.5 s waiting for "Windows Boot Manager" on 127.0.0.1:')
    assert "\n" not in error.sentence
    assert "The screen's last lines:" in str(error)
    assert any("DemoTech" in row for row in error.screen)


async def test_wrong_password_is_the_usual_sentence(sim: SimProcess) -> None:
    with pytest.raises(AuthError, match=r"^Wrong user name or password for 'admin' on 127\.0\.0\.1:"):
        await connect("127.0.0.1", sim.plain_port, plain=True, password="not-the-password")


async def test_tls_with_a_pin_on_first_use(sim: SimProcess, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    # The default sim is AMT 11.8, which speaks only TLS 1.0/1.1: --tls-legacy reaches it.
    options = {"password": sim.password, "known_hosts": known, "tls_legacy": True}
    with pytest.raises(AmtError, match="--accept-new"):
        await connect("127.0.0.1", sim.tls_port, **options)
    async with connect("127.0.0.1", sim.tls_port, accept_new=True, **options) as console:
        await console.expect("Press F2", timeout=20)
    assert known.read_text().strip()


# -- the command line -------------------------------------------------------------------------


def test_cli_waits_sends_and_prints_the_screen(sim: SimProcess, env: dict[str, str]) -> None:
    done = expect_cli(sim, env, "--wait", "Press F2", "--send", "F2", "--wait", "Save & Exit", "--screen")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "Setup Utility" in done.stdout and "Save & Exit" in done.stdout
    assert "Press F2" not in done.stdout


def test_cli_timeout_is_one_sentence_and_status_3(sim: SimProcess, env: dict[str, str]) -> None:
    done = expect_cli(sim, env, "--wait", "Operating System Not Found", "--timeout", "1")
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith('amtterm: Timed out after 1 s waiting for "Operating System Not Found" on ')
    assert "Traceback" not in done.stderr


def test_cli_wrong_password(sim: SimProcess, env: dict[str, str]) -> None:
    done = expect_cli(sim, env, "--wait", "Press F2", password="not-the-password")
    assert done.returncode == 1
    assert done.stderr.startswith("amtterm: Wrong user name or password for 'admin' on 127.0.0.1:")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_cli_script_file(sim: SimProcess, env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "setup.txt"
    script.write_text("# into BIOS setup\ntimeout 20\nwait Press F2\nsend F2\nwait-re Save\\s&\\sExit\n")
    record = tmp_path / "run.cast"
    done = expect_cli(sim, env, "--script", str(script), "--record", str(record), "--record-input")
    assert done.returncode == 0, done.stderr
    cast = record.read_text()
    assert "Save & Exit" in cast and '"i", "\\u001b[OQ"' in cast  # the screen, and F2 (intel) typed
    assert sim.password not in cast


def test_cli_bad_steps_fail_before_connecting(env: dict[str, str], tmp_path: Path) -> None:
    bad_script = tmp_path / "bad.txt"
    bad_script.write_text("wait Press F2\npress F2\n")
    cases = (
        (["--send", "F13"], "--send F13: 'F13' is not a key"),
        (["--wait-re", "(unclosed"], "is not a regular expression"),
        (["--script", str(tmp_path / "missing.txt")], "No script at"),
        (["--script", str(bad_script)], "bad.txt line 2 is not a step"),
        ([], "Nothing to do"),
    )
    for steps, words in cases:
        # Port 9 (discard) on loopback: nothing listens, so connecting would be a different sentence.
        argv = [*amtterm_argv(), "expect", "-P", "127.0.0.1", "9", *steps]
        done = subprocess.run(
            argv, env=dict(env, AMT_PASSWORD="x"), capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 2, (steps, done.stderr)
        assert done.stderr.startswith("amtterm: ") and words in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1


# -- the README's example ---------------------------------------------------------------------


def readme_example() -> str:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Automation", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the README's Automation section has no Python example"
    return match.group(1)


def test_readme_pytest_example_runs(sim: SimProcess, env: dict[str, str], tmp_path: Path) -> None:
    config = Path(env["AMTTERM_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "hosts.toml").write_text(
        f'[hosts.pc42]\naddress = "127.0.0.1"\ntls = false\nredir_port = {sim.plain_port}\n'
    )
    (tmp_path / "test_bios.py").write_text(readme_example())
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bios.py"],
        cwd=tmp_path,
        env=dict(env, AMT_PASSWORD=sim.password),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout

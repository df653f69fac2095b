"""`amtterm sol --record` on a real terminal against `amtterm sim`, then `amtterm replay` of the file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.ptyproc import PtyProcess
from tests.support.simproc import SimProcess, amtterm_argv

F2_VT100 = b"\x1bOQ"


def read_cast(path: Path) -> tuple[dict[str, Any], list[list[Any]]]:
    header, *events = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    assert isinstance(header, dict)
    return header, events


def record_session(argv: list[str], env: dict[str, str], password: str | None = None) -> PtyProcess:
    term = PtyProcess([*amtterm_argv(), "sol", *argv], env=env)
    try:
        if password is not None:
            term.expect(b"AMT password for", timeout=20)
            term.send(password.encode() + b"\r")
        term.expect(b"Press F2", timeout=20)
        term.send(F2_VT100)
        term.expect(b"Save & Exit", timeout=10)
        term.send(b"\r~.")
        assert term.wait(10) == 0
    finally:
        term.close()
    assert b"Traceback" not in term.output
    return term


def test_record_then_replay(sim: SimProcess, env: dict[str, str], tmp_path: Path) -> None:
    cast = tmp_path / "bios.cast"
    log = tmp_path / "bios.log"
    record_session(
        ["-P", "127.0.0.1", str(sim.plain_port), "--record", str(cast), "--log", str(log)],
        dict(env, AMT_PASSWORD=sim.password),
    )
    header, events = read_cast(cast)
    assert header["version"] == 2
    assert (header["width"], header["height"]) == (80, 25)
    assert isinstance(header["timestamp"], int)
    assert header["env"]["TERM"]
    times = [event[0] for event in events]
    assert times == sorted(times)
    assert {event[1] for event in events} <= {"o", "m"}  # no keystrokes unless asked
    output = "".join(event[2] for event in events if event[1] == "o")
    assert "Press F2" in output
    assert "Save & Exit" in output
    assert "╔" in output or "═" in output  # the BIOS's CP437 frames, readable in asciinema
    assert "\ufffd" not in output
    assert sim.password not in cast.read_text()
    text = log.read_text()
    assert "Press F2" in text and "Save & Exit" in text and "\x1b" not in text
    assert sim.password not in text

    played = subprocess.run(
        [*amtterm_argv(), "replay", str(cast), "--speed", "100", "--max-wait", "0.5"],
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert played.returncode == 0, played.stderr
    assert b"Press F2" in played.stdout
    assert b"Save & Exit" in played.stdout


def test_record_input_keeps_keys_but_never_the_typed_password(
    sim: SimProcess, env: dict[str, str], tmp_path: Path
) -> None:
    cast = tmp_path / "keys.cast"
    record_session(
        ["-P", "-u", "admin", "127.0.0.1", str(sim.plain_port), "--record", str(cast), "--record-input"],
        env,
        password=sim.password,
    )
    _, events = read_cast(cast)
    typed = "".join(event[2] for event in events if event[1] == "i")
    assert F2_VT100.decode() in typed
    assert sim.password not in cast.read_text()


def run_replay(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*amtterm_argv(), "replay", str(path)], env=env, capture_output=True, text=True, timeout=30
    )


def test_replay_markers_on_stderr(env: dict[str, str], tmp_path: Path) -> None:
    cast = tmp_path / "m.cast"
    cast.write_text(
        '{"version": 2, "width": 80, "height": 25}\n[0.1, "m", "power off"]\n[0.2, "o", "hello"]\n'
        '[0.3, "i", "typed"]\n'
    )
    done = run_replay(cast, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello"
    assert "[marker: power off]" in done.stderr


def test_replay_missing_or_malformed_file_is_one_sentence(env: dict[str, str], tmp_path: Path) -> None:
    bad_json = tmp_path / "notjson.cast"
    bad_json.write_text("this is not json\n")
    v1 = tmp_path / "v1.cast"
    v1.write_text('{"version": 1, "width": 80, "height": 25, "stdout": []}\n')
    bad_event = tmp_path / "event.cast"
    bad_event.write_text('{"version": 2, "width": 80, "height": 25}\n[0.1, "o"]\n')
    for path, words in (
        (tmp_path / "missing.cast", "No recording"),
        (bad_json, "not an asciicast"),
        (v1, "version 2"),
        (bad_event, "line 2"),
    ):
        done = run_replay(path, env)
        assert done.returncode != 0
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("amtterm: ") and words in done.stderr
        assert "Traceback" not in done.stderr


def test_power_off_is_a_marker(env: dict[str, str], tmp_path: Path) -> None:
    from tests.support.simproc import start_sim

    sim = start_sim(env, "--amt-version", "16.1", "--lms", tls=False, wsman=True)
    cast = tmp_path / "power.cast"
    try:
        run_env = dict(env, AMT_PASSWORD=sim.password)
        term = PtyProcess(
            [*amtterm_argv(), "sol", "-P", "127.0.0.1", str(sim.plain_port), "--record", str(cast)],
            env=run_env,
        )
        try:
            term.expect(b"Press F2", timeout=20)
            power = [*amtterm_argv(), "power", "-P", "--wsman-port", str(sim.wsman_port)]
            power += ["127.0.0.1", "soft-off"]
            done = subprocess.run(power, env=run_env, capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, done.stderr
            term.expect(b"[amtterm: the machine is powered off]", timeout=20)
            term.send(b"\x1d")
            assert term.wait(10) == 0
        finally:
            term.close()
    finally:
        sim.stop()
    _, events = read_cast(cast)
    assert [event[2] for event in events if event[1] == "m"] == ["power on", "power off"]


def test_replay_on_a_terminal_plays_in_the_widget(env: dict[str, str], tmp_path: Path) -> None:
    cast = tmp_path / "w.cast"
    cast.write_text(
        '{"version": 2, "width": 80, "height": 25}\n[0.1, "m", "power on"]\n'
        '[0.2, "o", "\\u001b[2J\\u001b[5;10H\\u2554\\u2550 Setup Utility \\u2550\\u2557"]\n'
    )
    term = PtyProcess([*amtterm_argv(), "replay", str(cast)], env=env, cols=120, rows=32)
    try:
        term.expect(b"Setup Utility", timeout=30)
        term.expect(b"Markers", timeout=10)
        term.expect(b"power on", timeout=10)
        term.send(b"q")
        assert term.wait(10) == 0
    finally:
        term.close()
    assert b"Traceback" not in term.output


def test_replay_of_a_cut_off_recording_plays_what_is_there(env: dict[str, str], tmp_path: Path) -> None:
    cast = tmp_path / "cut.cast"
    cast.write_text('{"version": 2, "width": 80, "height": 25}\n[0.1, "o", "hello"]\n[0.2, "o", "wor')
    done = run_replay(cast, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello"
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("amtterm: warning: ") and "cut off at line 3" in done.stderr

"""`amtterm sol` as a user runs it: a real terminal (pty), real TLS, against `amtterm sim`."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.support.ptyproc import PtyProcess
from tests.support.simproc import SimProcess, amtterm_argv

F2_VT100 = b"\x1bOQ"


def sol_argv(*args: str) -> list[str]:
    return [*amtterm_argv(), "sol", *args]


def known_hosts(env: dict[str, str]) -> Path:
    return Path(env["AMTTERM_CONFIG_DIR"]) / "known_hosts"


def test_tls_digest_console_shows_post_and_setup(sim_modern: SimProcess, env: dict[str, str]) -> None:
    """AMT 16 profile: TLS on the TLS port, digest auth, a new certificate pinned with --accept-new."""
    port = str(sim_modern.tls_port)
    term = PtyProcess(
        sol_argv("127.0.0.1", port, "--accept-new"), env=dict(env, AMT_PASSWORD=sim_modern.password)
    )
    try:
        term.expect(b"Press F2", timeout=20)
        term.send(F2_VT100)
        term.expect(b"Save & Exit", timeout=10)
        # The BIOS draws its frames in CP437; the default (auto) shows them as frames in UTF-8.
        assert "╔".encode() in term.output or "═".encode() in term.output
        assert b"\xc9" not in term.output and b"\xcd" not in term.output
        term.send(b"\r~.")
        assert term.wait(10) == 0
    finally:
        term.close()
    assert b"Traceback" not in term.output
    pins = known_hosts(env).read_text()
    assert f"127.0.0.1:{port} SHA256:" in pins


def test_charset_raw_passes_the_bios_bytes_through(sim: SimProcess, env: dict[str, str]) -> None:
    """``--charset raw``: the old behaviour, CP437 bytes untouched, as classic amtterm."""
    term = PtyProcess(
        sol_argv("-P", "--charset", "raw", "127.0.0.1", str(sim.plain_port)),
        env=dict(env, AMT_PASSWORD=sim.password),
    )
    try:
        term.expect(b"Press F2", timeout=20)
        term.send(F2_VT100)
        term.expect(b"Save & Exit", timeout=10)
        assert b"\xc9" in term.output or b"\xcd" in term.output
        assert "═".encode() not in term.output
        term.send(b"\x1d")
        assert term.wait(10) == 0
    finally:
        term.close()


def test_pinned_certificate_is_used_silently_and_a_changed_one_refused(
    sim_modern: SimProcess, env: dict[str, str]
) -> None:
    port = sim_modern.tls_port
    run_env = dict(env, AMT_PASSWORD=sim_modern.password)
    first = PtyProcess(sol_argv("127.0.0.1", str(port), "--accept-new"), env=run_env)
    try:
        first.expect(b"Press F2", timeout=20)
        first.send(b"\x1d")
        assert first.wait(10) == 0
    finally:
        first.close()
    # Second time: pinned, no question asked even on a terminal. The PC kept running
    # meanwhile (a serial console shows only what comes next): Enter makes it answer.
    second = PtyProcess(sol_argv("127.0.0.1", str(port)), env=run_env)
    try:
        deadline = time.monotonic() + 30
        while b"login:" not in second.drain(1.0) and time.monotonic() < deadline:
            second.send(b"\r")
        assert b"login:" in second.output
        assert b"not known" not in second.output
        second.send(b"\x1d")
        assert second.wait(10) == 0
    finally:
        second.close()
    # Someone swapped the certificate: the pin no longer matches.
    path = known_hosts(env)
    path.write_text(f"127.0.0.1:{port} SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n")
    result = subprocess.run(sol_argv("127.0.0.1", str(port)), env=run_env, capture_output=True, timeout=30)
    assert result.returncode != 0
    err = result.stderr.decode()
    assert err.count("\n") == 1, err
    assert "changed" in err or "mismatch" in err.lower()
    assert f"amtterm known-hosts remove 127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_unknown_certificate_asked_on_the_terminal(sim_modern: SimProcess, env: dict[str, str]) -> None:
    term = PtyProcess(
        sol_argv("127.0.0.1", str(sim_modern.tls_port)), env=dict(env, AMT_PASSWORD=sim_modern.password)
    )
    try:
        term.expect(b"[y/N]", timeout=20)
        assert b"SHA256:" in term.output
        term.send(b"y\r")
        term.expect(b"Press F2", timeout=20)
        term.send(b"\x1d")
        assert term.wait(10) == 0
    finally:
        term.close()
    assert "SHA256:" in known_hosts(env).read_text()


def test_password_prompt_on_the_terminal(sim: SimProcess, env: dict[str, str]) -> None:
    term = PtyProcess(sol_argv("-P", "-u", "admin", "127.0.0.1", str(sim.plain_port)), env=env)
    try:
        term.expect(b"AMT password for admin@127.0.0.1", timeout=20)
        term.send(sim.password.encode() + b"\r")
        term.expect(b"Press F2", timeout=20)
        term.send(b"\x1d")
        assert term.wait(10) == 0
    finally:
        term.close()
    assert sim.password.encode() not in term.output


def test_piped_stdin_and_stdout_for_scripts(sim: SimProcess, env: dict[str, str]) -> None:
    """No terminal: LF typed in a script is sent as Enter (CR); output is the raw byte stream."""
    proc = subprocess.Popen(
        sol_argv("-P", "127.0.0.1", str(sim.plain_port)),
        env=dict(env, AMT_PASSWORD=sim.password),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin and proc.stdout
    out = bytearray()
    import os
    import select

    def read_until(needle: bytes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in out:
            assert time.monotonic() < deadline, f"{needle!r} not in {bytes(out)[-1500:]!r}"
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, f"EOF before {needle!r}"
                out.extend(chunk)

    try:
        read_until(b"Press F2", 20)
        proc.stdin.write(F2_VT100)
        proc.stdin.flush()
        read_until(b"Save & Exit", 10)
        proc.stdin.close()
        proc.wait(15)
        err = proc.stderr.read() if proc.stderr else b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe:
                pipe.close()
    assert proc.returncode == 0, err
    assert b"Traceback" not in err


def test_two_consoles_second_one_is_told_busy(sim: SimProcess, env: dict[str, str]) -> None:
    run_env = dict(env, AMT_PASSWORD=sim.password)
    first = PtyProcess(sol_argv("-P", "127.0.0.1", str(sim.plain_port)), env=run_env)
    try:
        first.expect(b"Press F2", timeout=20)
        result = subprocess.run(
            sol_argv("-P", "127.0.0.1", str(sim.plain_port)), env=run_env, capture_output=True, timeout=30
        )
        err = result.stderr.decode()
        assert result.returncode == 1
        assert err.count("\n") == 1 and "busy" in err, err
        # The first console is unharmed and still answers.
        first.send(F2_VT100)
        first.expect(b"Save & Exit", timeout=10)
        first.send(b"\x1d")
        assert first.wait(10) == 0
    finally:
        first.close()
    # Once the first has left, the slot is free again.
    again = PtyProcess(sol_argv("-P", "127.0.0.1", str(sim.plain_port)), env=run_env)
    try:
        time.sleep(1.0)
        again.send(b"\x1b[C")  # Right: the setup screen moves to the next tab and redraws
        again.expect(b"\x1b[", timeout=20)
        again.send(b"\x1d")
        assert again.wait(10) == 0
    finally:
        again.close()


def test_power_changes_are_announced_and_hosts_file_names_work(env: dict[str, str], tmp_path: Path) -> None:
    """A hosts-file name opens the console; an OS shutdown (soft-off) is announced on it,
    and power on brings POST back on the same console."""
    from tests.support.simproc import start_sim

    sim = start_sim(env, "--amt-version", "16.1", "--lms", tls=False, wsman=True)
    try:
        hosts = tmp_path / "hosts.toml"
        hosts.write_text(
            f'[hosts.lab-pc]\naddress = "127.0.0.1"\nuser = "admin"\npassword_env = "LAB_PW"\n'
            f"tls = false\nredir_port = {sim.plain_port}\nwsman_port = {sim.wsman_port}\n"
        )
        run_env = dict(env, LAB_PW=sim.password)
        term = PtyProcess(sol_argv("--hosts-file", str(hosts), "lab-pc"), env=run_env)
        try:
            term.expect(b"Press F2", timeout=20)
            power = [*amtterm_argv(), "power", "--hosts-file", str(hosts), "lab-pc"]
            done = subprocess.run(
                [*power, "soft-off"], env=run_env, capture_output=True, text=True, timeout=30
            )
            assert done.returncode == 0, done.stderr
            term.expect(b"[amtterm: the machine is powered off]", timeout=20)
            done = subprocess.run([*power, "on"], env=run_env, capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, done.stderr
            term.expect(b"[amtterm: the machine is powered on]", timeout=20)
            mark = len(term.output)
            term.expect(b"Press F2", timeout=20, since=mark)  # POST again, on the same console
            term.send(b"\x1d")
            assert term.wait(10) == 0
        finally:
            term.close()
    finally:
        sim.stop()

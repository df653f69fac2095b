"""`amtterm share` with the real OpenSSH client as the viewer, against a real `amtterm sim` process.

The owner runs `amtterm share` on a pseudo-terminal; colleagues run `/usr/bin/ssh -p PORT
127.0.0.1` on theirs, with throw-away keys made by `ssh-keygen` (never the user's ~/.ssh).
To keep the PC at its POST prompt for as long as a test needs, the owner first resets it with
the AMT "bios-pause" boot option (`amtterm boot ... bios-pause --then reset`), as a person
would who wants to walk a colleague into BIOS setup.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real.test_jump_cli import closed_cleanly, forwarded_to, one_sentence
from tests.support.ptyproc import PtyProcess
from tests.support.sharing import Share, Viewer, authorize, make_key, start_share
from tests.support.simproc import SimProcess, amtterm_argv, start_sim
from tests.support.sshd import SshClientFiles, Sshd, closed_port

pytestmark = pytest.mark.real

F2 = b"\x1b[OQ"  # Intel convention (ESC [ O Q)
F10 = b"\x1b[OY"
PAUSED = "Boot paused by a remote"
SETUP = "Save & Exit"
SAVE_POPUP = "Save configuration and exit?"


@pytest.fixture
def wsman_sim(env: dict[str, str]) -> Iterator[SimProcess]:
    """The simulator with WS-Man on plain HTTP, so that a test can set the next boot."""
    process = start_sim(env, wsman=True)
    yield process
    process.stop()


def pause_at_post(env: dict[str, str], sim: SimProcess, share: Share) -> None:
    """Reset the PC with the bios-pause option: POST stays at its prompt until a key comes."""
    share.owner.expect(b"Press F2", timeout=30)
    command = [*amtterm_argv(), "boot", "-P", "--wsman-port", str(sim.wsman_port), "127.0.0.1"]
    result = subprocess.run(
        [*command, "bios-pause", "--then", "reset"],
        env=dict(env, AMT_PASSWORD=sim.password),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    share.owner.expect(PAUSED.encode(), timeout=30)


def test_viewer_watches_read_only_until_given_the_keyboard(
    env: dict[str, str], wsman_sim: SimProcess, tmp_path: Path
) -> None:
    alice = make_key(tmp_path, "alice")
    share = start_share(env, wsman_sim, authorize(tmp_path, alice))
    viewer = None
    try:
        pause_at_post(env, wsman_sim, share)
        # Attached late: the POST screen is not drawn again by the PC, so seeing it is the redraw.
        viewer = Viewer(env, tmp_path, alice, share.port, cols=100, rows=30)
        window = viewer.wait_text(PAUSED)
        assert "F2 for Setup" in window and "DemoTech BIOS Version" in window
        # Centred in a 100x30 window: 10 columns to the left of the 80-column screen.
        row = next(line for line in window.splitlines() if PAUSED in line)
        assert row.index(PAUSED) == 10 + 1
        status = viewer.status()
        assert "watching: alice" in status and "read-only" in status
        share.owner.expect(b"alice is watching", timeout=10)

        # Read-only: F2 goes nowhere, the PC stays paused at POST.
        mark = len(share.owner.output)
        viewer.send(F2)
        viewer.wait_text("read-only: your keys were not sent")
        share.owner.drain(1.5)
        assert b"Entering Setup" not in share.owner.output[mark:]
        assert SETUP not in viewer.text() and PAUSED in viewer.text()

        # The viewer asks, the owner gives (~g: to whoever asked), F2 opens BIOS setup.
        viewer.send(b"\x1dk")
        share.owner.expect(b"alice asks for the keyboard", timeout=10)
        share.owner.send(b"~g")
        share.owner.expect(b"The keyboard is with alice", timeout=10)
        viewer.wait_text("you have the keyboard")
        viewer.send(F2)
        viewer.wait_text(SETUP, timeout=15)
        share.owner.expect(SETUP.encode(), timeout=10)

        # The owner takes it back (~t): the viewer's F10 no longer reaches setup.
        share.owner.send(b"~t")
        share.owner.expect(b"You have the keyboard again", timeout=10)
        viewer.wait_text("read-only")
        mark = len(share.owner.output)
        viewer.send(F10)
        share.owner.drain(1.5)
        assert SAVE_POPUP.encode() not in share.owner.output[mark:]
        assert SAVE_POPUP not in viewer.text()
        # ... while the owner's own F10 does.
        share.owner.send(F10)
        viewer.wait_text(SAVE_POPUP, timeout=10)

        viewer.send(b"\x1dq")
        assert viewer.proc.wait(10) == 0
        share.owner.expect(b"alice left", timeout=10)
        assert share.stop() == 0
    finally:
        if viewer is not None:
            viewer.close()
        share.owner.close()
    assert wsman_sim.password.encode() not in (viewer.proc.output if viewer else b"")


def test_unknown_key_is_refused(env: dict[str, str], sim: SimProcess, tmp_path: Path) -> None:
    alice, mallory = make_key(tmp_path, "alice"), make_key(tmp_path, "mallory")
    share = start_share(env, sim, authorize(tmp_path, alice))
    try:
        stranger = Viewer(env, tmp_path, mallory, share.port)
        try:
            assert stranger.proc.wait(15) != 0
        finally:
            stranger.close()
        assert b"Permission denied" in stranger.proc.output
        assert b"Press F2" not in stranger.proc.output and b"POST" not in stranger.proc.output
        assert b"mallory" not in share.owner.output
        assert share.stop() == 0
    finally:
        share.owner.close()


def test_two_viewers_see_the_same_screen_and_each_other(
    env: dict[str, str], sim: SimProcess, tmp_path: Path
) -> None:
    alice, bob = make_key(tmp_path, "alice"), make_key(tmp_path, "bob")
    share = start_share(env, sim, authorize(tmp_path, alice, bob))
    viewers: list[Viewer] = []
    try:
        share.owner.expect(b"Press F2", timeout=30)
        viewers.append(Viewer(env, tmp_path, alice, share.port, cols=80, rows=26))
        viewers[0].wait_text("watching: alice")
        viewers.append(Viewer(env, tmp_path, bob, share.port, cols=80, rows=26))
        for viewer in viewers:
            viewer.wait_text("watching: alice, bob")
        share.owner.expect(b"bob is watching (2 watching)", timeout=10)
        # The PC boots on by itself: both windows follow it to the same screen.
        for viewer in viewers:
            viewer.wait_text("login:", timeout=30)
        screens = [viewer.text().splitlines()[:25] for viewer in viewers]
        assert screens[0] == screens[1]
        # A window change: the smaller window is redrawn, status line on its new last row.
        viewers[1].resize(60, 15)
        viewers[1].wait_text("login:")
        assert "keyboard: " in viewers[1].status()
        viewers[0].send(b"\x1dq")
        viewers[1].wait_text("watching: bob")
        assert share.stop() == 0
        assert viewers[1].proc.wait(10) == 0
        assert b"The owner stopped sharing" in viewers[1].proc.output
    finally:
        for viewer in viewers:
            viewer.close()
        share.owner.close()


def test_host_key_is_the_same_across_restarts(env: dict[str, str], sim: SimProcess, tmp_path: Path) -> None:
    alice = make_key(tmp_path, "alice")
    authorized = authorize(tmp_path, alice)
    fingerprints = []
    listen: list[str] = []
    for strict in ("accept-new", "yes"):  # the second ssh must find the key it pinned the first time
        share = start_share(env, sim, authorized, *listen)
        listen = ["--listen", f"127.0.0.1:{share.port}"]  # the next run: the same port, as a person would
        try:
            fingerprints.append(share.fingerprint)
            viewer = Viewer(env, tmp_path, alice, share.port, strict=strict)
            try:
                viewer.wait_text("watching: alice")
                viewer.send(b"\x1dq")
                assert viewer.proc.wait(10) == 0
            finally:
                viewer.close()
            assert share.stop() == 0
        finally:
            share.owner.close()
    assert fingerprints[0] == fingerprints[1]
    assert (tmp_path / "state" / "share" / "ssh_host_ed25519_key").exists()


def test_amtterm_attach_asks_about_the_host_key_once(
    env: dict[str, str], sim: SimProcess, tmp_path: Path
) -> None:
    erin = make_key(tmp_path, "erin")
    share = start_share(env, sim, authorize(tmp_path, erin))
    try:
        argv = [*amtterm_argv(), "attach", f"ssh://127.0.0.1:{share.port}", "-i", str(erin)]
        first = PtyProcess(argv, env=env, cols=100, rows=32)
        try:
            first.expect(share.fingerprint.encode(), timeout=20)  # asked, with the printed fingerprint
            first.send(b"y\r")
            first.expect(b"watching: erin", timeout=20)
            first.send(b"\x1dq")
            assert first.wait(10) == 0
        finally:
            first.close()
        again = PtyProcess(argv, env=env, cols=100, rows=32)
        try:
            again.expect(b"watching: erin", timeout=20)
            assert b"Trust it?" not in again.output
            again.send(b"\x1dq")
            assert again.wait(10) == 0
        finally:
            again.close()
        assert share.stop() == 0
    finally:
        share.owner.close()


def test_viewer_sees_post_through_a_share_whose_console_goes_through_a_jump_host(
    env: dict[str, str], wsman_sim: SimProcess, jump_a: Sshd, ssh_client: SshClientFiles, tmp_path: Path
) -> None:
    ssh_client.trust(jump_a)
    alice = make_key(tmp_path, "alice")
    via = ["--ssh-config", str(ssh_client.config), "--jump", jump_a.spec]
    share = start_share(ssh_client.env(env), wsman_sim, authorize(tmp_path, alice), *via)
    viewer = None
    try:
        pause_at_post(env, wsman_sim, share)
        viewer = Viewer(env, tmp_path, alice, share.port)
        window = viewer.wait_text(PAUSED)
        assert "F2 for Setup" in window and "watching: alice" in window
        # The console came through the jump host: sshd forwarded to the simulator's port.
        assert forwarded_to(jump_a, int(wsman_sim.plain_port or 0))
        viewer.send(b"\x1dq")
        assert viewer.proc.wait(10) == 0
        assert share.stop() == 0
    finally:
        if viewer is not None:
            viewer.close()
        share.owner.close()
    assert b"Traceback" not in share.owner.output
    assert closed_cleanly(jump_a)


def test_share_takes_the_hosts_file_jump_and_says_when_it_is_down(
    env: dict[str, str], sim: SimProcess, tmp_path: Path
) -> None:
    # A direct connection would work (the simulator is on loopback): only the jump can fail it.
    hosts, down = tmp_path / "hosts.toml", closed_port()
    hosts.write_text(
        f'[hosts.lab]\naddress = "127.0.0.1"\ntls = false\nredir_port = {sim.plain_port}\n'
        f'jump = ["127.0.0.1:{down}"]\n'
    )
    authorized = authorize(tmp_path, make_key(tmp_path, "alice"))
    argv = [*amtterm_argv(), "share", "lab", "--hosts-file", str(hosts), "--authorized-keys", str(authorized)]
    result = subprocess.run(
        argv,
        env=dict(env, AMT_PASSWORD=sim.password),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    text = one_sentence(result)
    assert f"@127.0.0.1:{down} refused the connection: is sshd running there" in text
    assert "sharing" not in result.stderr

"""POST and the BIOS setup utility, as a user watching the serial console sees them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.sim.console import DOWN, ENTER, ESC, F1, F2, F9, F10, LEFT, RIGHT, UP, Console

Make = Callable[..., Console]
PROMPT = "Press F2 for Setup, F12 for Boot Menu"


def enter_setup(con: Console) -> None:
    con.advance(1.0)
    con.press(F2)
    con.wait_for("Setup Utility", timeout=5)


def item_row(con: Console, label: str) -> str:
    """The setup row whose item label is ``label`` (not a mention in the help panel)."""
    for line in con.screen.display:
        if line.startswith(f"║ {label}"):
            return str(line)
    raise AssertionError(f"no item {label!r} on screen:\n{con.text()}")


def highlighted(con: Console, text: str) -> bool:
    y, x = con.find(text)
    return con.cell(y, x).bg == "white"


class TestPost:
    def test_post_screen_counts_memory_and_shows_the_prompt(self, booted: Make) -> None:
        con = booted(vendor="Contoso")
        assert "Contoso BIOS Version" in con.text()
        seen: list[str] = []
        for _ in range(14):
            con.advance(0.1)
            seen += [line.strip() for line in con.screen.display if "Memory" in line]
        counts = {line for line in seen if "MB" in line}
        assert len(counts) >= 5, seen  # the count went up in visible steps over about a second
        assert "16384 MB OK" in con.text()
        con.advance(0.3)
        text = con.text()
        assert "Intel(R) Core(TM) i5-8500" in text
        assert "Intel(R) AMT" in text and "Serial-over-LAN" in text
        assert PROMPT in text

    def test_prompt_stays_about_three_seconds_then_the_disk_boots(self, booted: Make) -> None:
        con = booted()
        con.advance(1.7)
        assert PROMPT in con.text()
        con.advance(2.7)
        assert PROMPT in con.text()
        con.wait_for("Booting from Hard Disk", timeout=1.0)
        con.wait_for("GNU GRUB", timeout=2.0)

    def test_post_uses_shade_blocks_and_no_utf8(self, booted: Make) -> None:
        con = booted()
        con.advance(2.0)
        assert b"\xb2\xb1\xb0" in con.raw  # ▓▒░ as single CP437 bytes
        with pytest.raises(UnicodeDecodeError):
            bytes(con.raw).decode("utf-8")

    @pytest.mark.parametrize(
        "f2",
        [b"\x1b[OQ", b"\x1bOQ", b"\x1b2", b"\x1b[12~"],
        ids=["intel", "vt100plus", "alternate", "xterm"],
    )
    def test_f2_in_every_convention_enters_setup(self, booted: Make, f2: bytes) -> None:
        con = booted()
        con.advance(0.5)
        con.send(f2)
        assert "Entering Setup..." in con.text()
        con.wait_for("Setup Utility", timeout=2.0)
        assert "System Language" in con.text()

    def test_delete_enters_setup_too(self, booted: Make) -> None:
        con = booted()
        con.send(b"\x1b[3~")
        con.wait_for("Setup Utility", timeout=3.0)

    def test_bios_pause_waits_for_a_key(self, console: Make) -> None:
        con = console()
        con.host.set_next_boot("bios-pause")
        con.power_on()
        con.advance(30)
        assert "Press any key to continue" in con.text()
        assert "GRUB" not in con.text()
        con.send(b" ")
        con.wait_for("GNU GRUB", timeout=3)


class TestSetupScreen:
    def test_frame_tabs_and_legend(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        rows = con.rows
        assert con.cell(2, 0).data == "╔" and con.cell(2, 79).data == "╗"
        assert con.cell(rows - 3, 0).data == "╚" and con.cell(rows - 3, 79).data == "╝"
        assert con.cell(2, 53).data == "╤" and con.cell(rows - 3, 53).data == "╧"
        assert con.cell(10, 0).data == "║" and con.cell(10, 53).data == "│"
        assert b"\xc9" in con.raw and b"\xbb" in con.raw and b"\xc8" in con.raw and b"\xbc" in con.raw
        tabs = con.row(1)
        for tab in ("Main", "Advanced", "Boot", "Security", "Save & Exit"):
            assert tab in tabs
        legend = con.row(rows - 2) + con.row(rows - 1)
        for text in ("F1 Help", "Esc Exit", "F10 Save and Exit", "Enter Select", "Up/Dn", "Lt/Rt"):
            assert text in legend
        assert con.cell(10, 20).bg == "blue"
        assert "Choose the language" in con.text()  # help panel for the highlighted item

    def test_up_down_move_the_highlight(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        assert highlighted(con, "System Language")
        con.press(DOWN)
        assert highlighted(con, "System Date") and not highlighted(con, "System Language")
        con.press(UP)
        assert highlighted(con, "System Language") and not highlighted(con, "System Date")

    def test_left_right_switch_tabs(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        con.press(RIGHT)
        y, x = con.find(" Advanced ")
        assert con.cell(y, x + 1).bg == "blue" and con.cell(y, x + 1).bold
        assert con.cell(*con.find(" Main ")).bg == "cyan"
        assert highlighted(con, "Virtualization Technology")
        con.press(LEFT, LEFT)
        assert "Save Changes and Reset" in con.text()

    def test_enter_opens_a_popup_and_picks_a_value(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        con.press(RIGHT, DOWN, ENTER)
        y, x = con.find("═ Hyper-Threading ═")
        assert con.cell(y + 1, x + 2).bg == "blue"  # "Enabled", the current value, highlighted
        con.press(DOWN, ENTER)
        assert "═ Hyper-Threading ═" not in con.text()
        assert "[Disabled]" in item_row(con, "Hyper-Threading")

    def test_plus_and_minus_step_a_value(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        con.press(b"+")
        assert "[Francais]" in con.text()
        con.press(b"-", b"-")
        assert "[Espanol]" in con.text()

    def test_the_clock_ticks(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        before = item_row(con, "System Time")
        con.advance(2.0)
        assert item_row(con, "System Time") != before
        assert "[Sat 06/01/2024]" in con.text()

    def test_f1_shows_help(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        con.press(F1)
        assert "General Help" in con.text() and "Save and exit" in con.text()
        con.press(ENTER)
        assert "General Help" not in con.text()

    def test_ctrl_l_redraws_the_whole_page(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        before = con.text()
        start = len(con.raw)
        con.send(b"\x0c")
        redraw = bytes(con.raw[start:])
        assert b"\x1b[2J" in redraw and b"Setup Utility" in redraw
        assert con.text() == before


class TestEscAndExit:
    def test_lone_esc_opens_the_exit_popup_only_after_the_timeout(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        con.send(ESC)
        con.advance(0.1)
        assert "Exit without saving?" not in con.text()
        con.advance(0.3)
        assert "Exit without saving?" in con.text()

    def test_esc_followed_quickly_by_more_bytes_is_a_key_sequence(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        con.send(ESC)
        con.advance(0.1)
        con.send(b"[B")
        con.advance(1.0)
        assert "Exit without saving?" not in con.text()
        assert highlighted(con, "System Date")

    def test_exit_without_saving_discards_and_reboots(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        con.press(b"+", ESC)
        assert "[ Yes ]" in con.text()
        con.press(ENTER)
        con.wait_for(PROMPT, timeout=3)
        assert con.host.settings.values["language"] == "English"

    def test_answering_no_stays_in_setup(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        con.press(ESC, RIGHT, ENTER)
        assert "Exit without saving?" not in con.text()
        assert "System Language" in con.text()

    def test_f10_saves_reboots_to_post_and_the_setting_persists(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        con.press(RIGHT, DOWN, b"+", F10)
        assert "Save configuration and exit?" in con.text()
        boots = con.host.boot_count
        con.press(ENTER)
        assert con.host.boot_count == boots + 1
        con.wait_for(PROMPT, timeout=3)
        assert "BIOS Version" in con.text()
        con.press(F2)
        con.wait_for("Setup Utility", timeout=3)
        con.press(RIGHT)
        assert "[Disabled]" in item_row(con, "Hyper-Threading")

    def test_f9_restores_defaults(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        con.press(b"+", F9, ENTER)
        assert "[English]" in con.text()

    def test_boot_order_change_makes_the_next_boot_try_pxe_first(self, booted: Make) -> None:
        con = booted()
        enter_setup(con)
        con.press(RIGHT, RIGHT, DOWN, DOWN, DOWN)
        assert highlighted(con, "Boot Option #1")
        con.press(ENTER)
        assert "UEFI: Network (PXE)" in con.text()
        con.press(DOWN, DOWN, ENTER)
        assert "[Network (PXE)]" in item_row(con, "Boot Option #1")
        assert "[Hard Disk]" in item_row(con, "Boot Option #3")  # the two swapped places
        con.press(F10, ENTER)
        con.wait_for("Intel(R) Boot Agent", timeout=10)
        con.wait_for("PXE-E51", timeout=10)
        con.wait_for("Booting from CD-ROM...", timeout=5)
        con.wait_for("GNU GRUB", timeout=10)

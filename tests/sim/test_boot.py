"""Boot paths: the boot menu, AMT boot overrides, PXE and CD fallbacks, the boot loader, power."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from amtterm.sim.host import Host
from amtterm.sim.synthetic import SyntheticHost
from tests.sim.console import CTRL_ALT_DEL, DOWN, ENTER, ESC, F12, UP, Console

Make = Callable[..., Console]
PROMPT = "Press F2 for Setup, F12 for Boot Menu"


def open_boot_menu(con: Console, f12: bytes = F12) -> None:
    con.advance(1.0)
    con.press(f12)
    con.wait_for("Please select boot device:", timeout=3)


def test_synthetic_host_is_a_host() -> None:
    assert isinstance(SyntheticHost(), Host)


class TestBootMenu:
    @pytest.mark.parametrize("f12", [b"\x1b[O[", b"\x1bO[", b"\x1b@", b"\x1b[24~"])
    def test_f12_opens_a_framed_device_list(self, booted: Make, f12: bytes) -> None:
        con = booted()
        open_boot_menu(con, f12)
        text = con.text()
        for entry in ("UEFI: Network (PXE)", "CD/DVD", "Hard Disk: DEMO SSD 512GB", "Enter Setup"):
            assert entry in text
        y, x = con.find("╔")
        assert con.cell(y, x + 1).data == "═"
        assert "╗" in con.row(y) and "╚" in text and "╝" in text

    def test_arrows_move_and_enter_boots_the_cd_then_falls_back(self, booted: Make) -> None:
        con = booted()
        open_boot_menu(con)
        y, x = con.find("UEFI: Network (PXE)")
        assert con.cell(y, x).bg == "blue"
        con.press(DOWN)
        assert con.cell(y, x).bg == "white"
        y, x = con.find("CD/DVD")
        assert con.cell(y, x).bg == "blue"
        con.press(ENTER)
        assert "Booting from CD-ROM..." in con.text()
        con.wait_for("No bootable medium found", timeout=3)
        con.wait_for("Booting from Hard Disk", timeout=3)
        con.wait_for("GNU GRUB", timeout=3)

    def test_enter_setup_entry(self, booted: Make) -> None:
        con = booted()
        open_boot_menu(con)
        con.press(UP, ENTER)
        con.wait_for("Setup Utility", timeout=2)

    def test_esc_boots_normally(self, booted: Make) -> None:
        con = booted()
        open_boot_menu(con)
        con.press(ESC)
        con.wait_for("GNU GRUB", timeout=3)


class TestBootOverride:
    def test_bios_enters_setup_without_keys_once(self, console: Make) -> None:
        con = console()
        con.host.set_next_boot("bios")
        assert con.host.next_boot == "bios"
        con.power_on()
        assert con.host.next_boot is None
        con.wait_for("Setup Utility", timeout=5)
        con.press(ESC, ENTER)  # exit without saving: reboot
        con.wait_for(PROMPT, timeout=3)
        con.wait_for("GNU GRUB", timeout=6)  # the override was used up

    def test_pxe_shows_the_boot_agent_waits_for_dhcp_and_falls_to_disk(self, console: Make) -> None:
        con = console()
        con.host.set_next_boot("pxe")
        con.power_on()
        con.wait_for("Intel(R) Boot Agent", timeout=10)
        con.wait_for("CLIENT MAC ADDR: 00 1B 21 A4 5C 3E", timeout=1)
        con.wait_for("DHCP.", timeout=2)
        con.advance(2.0)
        assert "PXE-E51" not in con.text()
        dots = con.text().count(".")
        con.advance(1.0)
        assert con.text().count(".") > dots  # still waiting, visibly
        con.wait_for("PXE-E51: No DHCP or proxy DHCP offers were received.", timeout=3)
        con.wait_for("PXE-M0F: Exiting Intel Boot Agent.", timeout=2)
        con.wait_for("Booting from Hard Disk", timeout=2)
        con.wait_for("GNU GRUB", timeout=2)

    @pytest.mark.parametrize(
        ("target", "first", "failure"),
        [
            ("cd", "Booting from CD-ROM...", "CD-ROM: No bootable medium found."),
            ("ider-cd", "Booting from CD-ROM... (Intel(R) AMT IDE-R)", "IDE-R CD-ROM: No bootable medium"),
            (
                "ider-floppy",
                "Booting from Floppy... (Intel(R) AMT IDE-R)",
                "IDE-R floppy: No bootable medium",
            ),
        ],
    )
    def test_removable_targets_report_no_medium_and_fall_back(
        self, console: Make, target: str, first: str, failure: str
    ) -> None:
        con = console()
        con.host.set_next_boot(target)  # type: ignore[arg-type]
        con.power_on()
        con.wait_for(first, timeout=6)
        assert failure not in con.text()
        con.wait_for(failure, timeout=3)
        con.wait_for("GNU GRUB", timeout=3)

    def test_disk_override_skips_a_changed_boot_order(self, console: Make) -> None:
        con = console()
        con.host.settings.boot_order = ["network", "cd", "disk"]
        con.host.set_next_boot("disk")
        con.power_on()
        con.wait_for("GNU GRUB", timeout=6)
        assert "Boot Agent" not in con.text()

    def test_unknown_target_is_refused(self) -> None:
        with pytest.raises(ValueError):
            SyntheticHost().set_next_boot("usb")  # type: ignore[arg-type]

    def test_reset_consumes_the_override(self, booted: Make) -> None:
        con = booted()
        con.advance(2)
        con.host.set_next_boot("bios")
        con.host.reset(con.now)
        con.pump()
        con.wait_for("Setup Utility", timeout=5)
        assert con.host.next_boot is None


class TestBootLoader:
    def test_countdown_boots_the_first_entry(self, booted: Make) -> None:
        con = booted()
        con.wait_for("GNU GRUB", timeout=6)
        assert "executed automatically in 5s" in con.text()
        con.advance(2.0)
        assert "executed automatically in 3s" in con.text()
        con.wait_for("Booting `Demo Linux'", timeout=4)
        con.wait_for("Linux version", timeout=2)
        con.wait_for("demo-host login:", timeout=10)

    def test_arrow_stops_the_countdown_and_selects(self, booted: Make) -> None:
        con = booted()
        con.wait_for("GNU GRUB", timeout=6)
        con.press(DOWN)
        assert "executed automatically" not in con.text()
        y, x = con.find("Demo Linux (recovery mode)")
        assert con.cell(y, x).bg == "white" and con.cell(y, x).fg == "black"
        con.advance(20)
        assert "GNU GRUB" in con.text()
        con.press(ENTER)
        con.wait_for("Booting `Demo Linux (recovery mode)'", timeout=2)

    def test_firmware_settings_entry_reboots_into_setup(self, booted: Make) -> None:
        con = booted()
        con.wait_for("GNU GRUB", timeout=6)
        con.press(DOWN, DOWN, DOWN, ENTER)
        con.wait_for("Setup Utility", timeout=5)

    def test_memtest_entry_shows_an_error(self, booted: Make) -> None:
        con = booted()
        con.wait_for("GNU GRUB", timeout=6)
        con.press(DOWN, DOWN, ENTER)
        assert "error: file `/boot/memtest86+x64.efi' not found." in con.text()
        con.press(b" ")
        assert "GNU GRUB" in con.text()


class TestPower:
    def test_power_off_silences_everything(self, booted: Make) -> None:
        con = booted()
        con.advance(1.0)
        con.host.power_off(con.now)
        assert not con.host.powered
        assert con.host.read_output(con.now) == b""
        assert con.host.next_deadline() is None
        con.host.feed(b"\x1b[OQ hello\r", con.now)
        con.advance(60)
        assert con.host.read_output(con.now) == b""

    def test_power_off_drops_unread_output(self, booted: Make) -> None:
        con = booted()
        con.host.feed(b"\x1b[OQ", con.now + 1)
        con.host.power_off(con.now + 5)
        assert con.host.read_output(con.now + 5) == b""

    def test_power_on_again_starts_post_from_the_top(self, booted: Make) -> None:
        con = booted()
        con.advance(3.0)
        con.host.power_off(con.now)
        con.advance(5)
        con.power_on()
        assert con.raw.count(b"\x1bc") == 2
        assert "BIOS Version" in con.text()
        assert "Memory Test" not in con.text()

    def test_power_on_twice_changes_nothing(self, booted: Make) -> None:
        con = booted()
        con.advance(1.0)
        con.host.power_on(con.now)
        assert con.host.boot_count == 1

    def test_reset_of_a_powered_off_host_switches_it_on(self, console: Make) -> None:
        con = console()
        con.host.reset(0.0)
        assert con.host.powered

    def test_ctrl_alt_del_reboots(self, booted: Make) -> None:
        con = booted()
        con.wait_for("GNU GRUB", timeout=6)
        con.press(CTRL_ALT_DEL)
        assert con.host.boot_count == 2
        assert "BIOS Version" in con.text()

    def test_next_deadline_follows_the_timeline(self, booted: Make) -> None:
        con = booted()
        due = con.host.next_deadline()
        assert due is not None and 0 < due <= 0.5
        con.send(b"\x1b")
        due = con.host.next_deadline()
        assert due is not None and due <= 0.25


class TestMessage:
    def test_message_box_over_setup_survives_repaints_and_goes_away(self, console: Make) -> None:
        con = console()
        con.host.set_next_boot("bios")
        con.power_on()
        con.wait_for("Setup Utility", timeout=5)
        con.host.show_message("User consent code\n482 913")
        con.pump()
        y, x = con.find("482 913")
        assert con.cell(y, x).bg == "red"
        assert "╔" in con.row(y - 2) and "╝" in con.row(y + 1)
        con.press(DOWN)
        assert "482 913" in con.text()
        con.host.show_message(None)
        con.pump()
        assert "482 913" not in con.text()
        assert "System Language" in con.text()

    def test_message_on_scrolling_text_is_drawn_and_blanked(self, shell: Make) -> None:
        con = shell()
        con.host.show_message("Consent 123 456")
        con.pump()
        assert "Consent 123 456" in con.text()
        con.host.show_message(None)
        con.pump()
        assert "Consent" not in con.text()
        con.send(b"echo ok\r")
        assert "ok" in con.text()

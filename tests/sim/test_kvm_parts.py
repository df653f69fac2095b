"""The parts of the simulator's KVM, one at a time: font, keys, tiles, text screen, WS-Man rules."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from amtterm.sim.kvm.font import FontMissing, load_vga_font, parse_psf
from amtterm.sim.kvm.framebuffer import Framebuffer
from amtterm.sim.kvm.keys import KeyTranslator
from amtterm.sim.kvm.textscreen import VGA_PALETTE, TextScreen
from amtterm.sim.synthetic.keys import KeyDecoder, KeyName
from amtterm.sim.wsman import service
from amtterm.sim.wsman.kvm import KvmSettings
from amtterm.sim.wsman.state import DeviceState
from amtterm.wsman import envelope
from amtterm.wsman.resources import resource_uri

# -- font ---------------------------------------------------------------------------------------


def psf2(glyphs: list[bytes], table: list[str] | None = None) -> bytes:
    header = struct.pack("<8I", 0x864AB572, 0, 32, 1 if table else 0, len(glyphs), 16, 16, 8)
    data = header + b"".join(glyphs)
    if table:
        data += b"".join(chars.encode() + b"\xff" for chars in table)
    return data


def test_a_psf2_font_without_a_table_is_in_cp437_order() -> None:
    glyphs = [bytes([i]) * 16 for i in range(256)]
    font = parse_psf(psf2(glyphs), cell_width=8)
    assert font.rows("A") == (0x41,) * 16
    assert font.rows("═") == (0xCD,) * 16  # CP437 0xCD


def test_the_ninth_column_repeats_the_eighth_only_for_line_drawing() -> None:
    glyphs = [bytes([0xFF]) * 16 for _ in range(256)]
    font = parse_psf(psf2(glyphs), cell_width=9)
    assert font.rows("═")[0] == 0x1FF  # 0xCD joins the next cell
    assert font.rows("A")[0] == 0x1FE  # a letter keeps the gap


def test_a_psf2_unicode_table_maps_characters_and_missing_blocks_are_drawn() -> None:
    glyphs = [bytes([0x00]) * 16, bytes([0x18]) * 16]
    font = parse_psf(psf2(glyphs, ["?", "Ab"]), cell_width=8)
    assert font.rows("b") == (0x18,) * 16 and font.rows("A") == (0x18,) * 16
    assert font.rows("█") == (0xFF,) * 16  # not in the font: drawn from its geometry
    assert font.rows("€") == font.rows("?")


def test_not_a_font_and_a_missing_font_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a PC Screen Font"):
        parse_psf(b"hello world, not a font")
    with pytest.raises(FontMissing, match="Cannot read the console font"):
        load_vga_font(path=tmp_path / "none.psf.gz")
    with pytest.raises(FontMissing) as caught:
        load_vga_font(dirs=[tmp_path])
    message = str(caught.value)
    assert "install the Debian package console-data" in message and "\n" not in message


def test_the_system_font_is_the_vga_font() -> None:
    font = load_vga_font()
    assert font.cell_width == 9 and font.has("═") and font.has("A")
    assert font.rows("A") != font.rows("B")


# -- keys ---------------------------------------------------------------------------------------


def typed(events: list[tuple[int, bool]]) -> bytes:
    translator = KeyTranslator()
    return b"".join(translator.key(keysym, down) for keysym, down in events)


def test_keysyms_become_what_a_serial_console_sends() -> None:
    assert typed([(0xFFBF, True), (0xFFBF, False)]) == b"\x1bOQ"  # F2, once (release types nothing)
    assert typed([(0xFF0D, True)]) == b"\r"
    assert typed([(0xFF52, True)]) == b"\x1b[A"
    assert typed([(ord("a"), True), (ord("Z"), True)]) == b"aZ"
    assert typed([(0xFFE3, True), (ord("c"), True), (0xFFE3, False), (ord("c"), True)]) == b"\x03c"
    cad = [(0xFFE3, True), (0xFFE9, True), (0xFFFF, True)]
    assert typed(cad) == b"\x1bR\x1br\x1bR"


def test_the_synthetic_bios_understands_the_translated_keys() -> None:
    keysyms = {0xFF1B: KeyName.ESC, 0xFFBE: KeyName.F1, 0xFFC9: KeyName.F12, 0xFF54: KeyName.DOWN}
    for keysym, name in keysyms.items():
        decoder = KeyDecoder()
        keys = decoder.feed(KeyTranslator().key(keysym, True), 0.0) + decoder.flush(10.0)
        assert [key.name for key in keys] == [name], keysym


# -- tiles and the text screen ------------------------------------------------------------------


def test_a_720x400_screen_is_12x7_tiles_with_smaller_edges() -> None:
    fb = Framebuffer(720, 400)
    tiles = fb.tiles()
    assert len(tiles) == 84
    assert tiles[11] == (704, 0, 16, 64) and tiles[-1] == (704, 384, 16, 16)
    seen = fb.versions()
    fb.damage(60, 10, 10, 10)  # straddles the first two tiles
    assert fb.changed_since(seen) == [0, 1]
    assert fb.changed_since(None) == list(range(84))


def test_one_character_redraws_one_cell_in_its_colours() -> None:
    screen = TextScreen(load_vga_font())
    fb = screen.framebuffer
    screen.feed(b"\x1b[2J\x1b[H")
    seen = fb.versions()
    screen.feed(b"\x1b[1;31;44m\xdb")  # bold red on blue: a full block in bright red
    assert fb.changed_since(seen) == [0]
    assert fb.pixel(0, 0) == VGA_PALETTE[12]  # light red (bold = the bright half)
    assert fb.pixel(8, 0) == VGA_PALETTE[12]  # a block character fills the 9th column too (0xDB)
    assert fb.pixel(0, 400 - 1) == VGA_PALETTE[0]
    assert "█" in screen.text()


# -- WS-Man -------------------------------------------------------------------------------------


def settings_put(state: DeviceState, **values: object) -> tuple[int, str]:
    body = {"InstanceID": "Intel(r) KVM Redirection Settings", **values}
    request = envelope.build_put(resource_uri("IPS_KVMRedirectionSettingData"), body)  # type: ignore[arg-type]
    return service.handle(request, state, 0.0)


def test_kvm_settings_rules() -> None:
    state = DeviceState(amt_version="16.1.25", kvm=KvmSettings())
    status, reply = settings_put(state, Is5900PortEnabled=True)
    assert status == 400 and "not supported" in reply  # AMT 16 dropped port 5900
    status, reply = settings_put(state, RFBPassword="short")
    assert status == 400 and "8 characters" in reply
    status, reply = settings_put(state, RFBPassword="Pa55w0r!", SessionTimeout=15)
    assert status == 200 and "Pa55w0r!" not in reply and "<g:SessionTimeout>15</g:SessionTimeout>" in reply
    old = DeviceState(amt_version="11.8.50", kvm=KvmSettings())
    assert settings_put(old, Is5900PortEnabled=True)[0] == 200 and old.kvm and old.kvm.port_5900
    client = DeviceState(kvm=KvmSettings(), control_mode="client")
    status, reply = settings_put(client, OptInPolicy=False)
    assert status == 400 and "AccessDenied" in reply


def test_kvm_request_state_change_takes_2_and_3_only() -> None:
    state = DeviceState(kvm=KvmSettings())
    uri = resource_uri("CIM_KVMRedirectionSAP")
    for requested, value in ((7, 5), (3, 0), (2, 0)):
        request = envelope.build_invoke(uri, "RequestStateChange", {"RequestedState": requested})
        status, reply = service.handle(request, state, 0.0)
        assert status == 200 and f"<g:ReturnValue>{value}</g:ReturnValue>" in reply
    assert state.kvm is not None and state.kvm.enabled and state.kvm.requested_state == 2

"""The simulator's BIOS side (amtterm.sim.ider_host): the 6.12 scripts, block reads, odd media."""

from __future__ import annotations

import pytest

from amtterm.redir import events as ev
from amtterm.redir.constants import IderStartTiming
from amtterm.redir.ider import IderDrive
from amtterm.redir.scsi import MemoryDevice, ScsiResult
from amtterm.sim.ider_host import Command, CommandResult, Script, Wait
from amtterm.sim.ider_scripts import BootReport, cd_boot_script
from tests.redir.eltorito import boot_image, build_iso, filler, floppy_image
from tests.redir.ider_pipe import IderPipe


def test_cd_script_issues_the_6_12_commands_in_order() -> None:
    pipe = IderPipe(cd=MemoryDevice(build_iso())).start()
    opcodes = [result.cdb[0] for result in pipe.host.log]
    assert opcodes == [0x00, 0x00, 0x12, 0x46, 0x5A, 0x43, 0x4A, 0x1E, 0x25, 0x28, 0x28, 0x28, 0x28]
    lbas = [int.from_bytes(r.cdb[2:6], "big") for r in pipe.host.log if r.cdb[0] == 0x28]
    assert lbas == [16, 17, 19, 20]
    report = pipe.host.report
    assert report is not None and report.bootable and report.boot_image == boot_image()
    assert all(sense == (0, 0, 0) for sense in report.probes.values())


def test_floppy_boot() -> None:
    pipe = IderPipe(floppy=MemoryDevice(floppy_image(), 512), drive=IderDrive.FLOPPY).start()
    report = pipe.host.report
    assert report is not None and report.bootable
    assert report.block_count == 2880 and report.block_size == 512
    assert report.boot_image[:14] == b"AMTTERM FLOPPY" and report.boot_image[510:] == b"\x55\xaa"
    assert [r.cdb[0] for r in pipe.host.log] == [0x00, 0x00, 0x23, 0x25, 0x5A, 0x28]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"cd": None}, "there is no medium in the drive"),
        ({"cd": MemoryDevice(build_iso(bootable=False))}, "not bootable: no El Torito boot record at LBA 17"),
        ({"cd": MemoryDevice(bytes(2048 * 40))}, "no ISO 9660 primary volume descriptor at LBA 16"),
        ({"cd": MemoryDevice(bytes(512 * 40), 512)}, "the CD reports 512-byte blocks, not 2048"),
        (
            {"floppy": MemoryDevice(floppy_image(signature=False), 512), "drive": IderDrive.FLOPPY},
            "the floppy's first sector has no boot signature (0x55 0xAA)",
        ),
    ],
    ids=["no-medium", "no-boot-record", "not-iso", "wrong-blocks", "no-signature"],
)
def test_unbootable_media_are_reported(kwargs: dict[str, object], error: str) -> None:
    pipe = IderPipe(**kwargs).start()  # type: ignore[arg-type]
    assert pipe.host.report is not None and pipe.host.report.error == error
    assert not pipe.host.report.bootable


def test_damaged_catalog() -> None:
    iso = bytearray(build_iso())
    iso[19 * 2048 + 28] ^= 0xFF  # break the validation checksum
    pipe = IderPipe(cd=MemoryDevice(bytes(iso))).start()
    assert (
        pipe.host.report is not None and pipe.host.report.error == "the El Torito validation entry is damaged"
    )


def test_floppy_emulation_boot_reads_the_first_sector_only() -> None:
    pipe = IderPipe(
        cd=MemoryDevice(build_iso(boot_image(1474560 // 64), media_type=2, sector_count=1))
    ).start()
    report = pipe.host.report
    assert report is not None and report.bootable and report.media_type == 2 and len(report.boot_image) == 512


def test_a_drive_that_becomes_ready_after_a_while() -> None:
    """02/04/01 (becoming ready) makes the BIOS pause 0.5 s and ask again; time is injected."""
    not_ready = [2]

    def serve(event: ev.Event) -> None:
        if isinstance(event, ev.IderCommand) and event.opcode == 0 and not_ready[0]:
            not_ready[0] -= 1
            pipe.drives.answer(event, ScsiResult(sense=(2, 4, 1)))
        else:
            pipe.drives.handle(event)

    pipe = IderPipe(cd=MemoryDevice(build_iso()), serve=serve)
    pipe.start()
    assert pipe.host.report is None and pipe.host.next_timer_at() == 0.5
    pipe.run_until(5.0)
    assert pipe.host.report is not None and pipe.host.report.bootable
    assert [r.sense for r in pipe.host.log[:3]] == [(2, 4, 1), (2, 4, 1), (6, 0x28, 0)]


def test_block_reads_after_the_boot_for_an_nbd_export() -> None:
    pipe = IderPipe(cd=MemoryDevice(build_iso(total_blocks=200))).start()
    first = pipe.host.read(100, 3)
    second = pipe.host.read(199, 2)  # past the end
    pipe.pump()
    assert first.result is not None and first.result.data == filler(100) + filler(101) + filler(102)
    assert second.result is not None and second.result.sense == (5, 0x21, 0)


def test_reads_wait_for_the_drive_and_end_with_the_session() -> None:
    pipe = IderPipe(cd=MemoryDevice(build_iso()), timing=IderStartTiming.ON_RESET).start()
    pending = pipe.host.read(30, 1)
    pipe.pump()
    assert pending.result is None  # the PC has not reset yet: nothing is sent
    finished: list[CommandResult | None] = []
    pending.callbacks.append(finished.append)
    pipe.console.close()
    pipe.pump()
    assert pending.cancelled and finished == [None]
    assert pipe.host.read(1, 1).cancelled


def test_a_reset_during_the_boot_restarts_the_script() -> None:
    pipe = IderPipe(cd=MemoryDevice(build_iso())).start()
    pipe.host.host_reset(2.0)
    pipe.pump()
    tests = [r for r in pipe.host.log if r.cdb[0] == 0]
    assert len(tests) == 4 and tests[2].sense == (6, 0x28, 0)
    assert pipe.host.report is not None and pipe.host.report.bootable


def test_a_custom_script_with_a_wait() -> None:
    def script() -> Script:
        first = yield Command(bytes(6))
        yield Wait(3.0)
        second = yield Command(bytes(6))
        assert first is not None and second is not None
        report = BootReport(IderDrive.CD)
        report.probes = {0: first.sense, 1: second.sense}
        return report

    pipe = IderPipe(cd=MemoryDevice(build_iso()), script=script).start()
    assert pipe.host.report is None and pipe.host.next_timer_at() == 3.0
    pipe.run_until(3.0)
    assert pipe.host.report is not None and pipe.host.report.probes == {0: (6, 0x28, 0), 1: (0, 0, 0)}


def test_cd_script_without_probes() -> None:
    pipe = IderPipe(cd=MemoryDevice(build_iso()), script=lambda: cd_boot_script(probe=False)).start()
    assert [r.cdb[0] for r in pipe.host.log] == [0x00, 0x00, 0x25, 0x28, 0x28, 0x28, 0x28]

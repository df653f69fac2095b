"""Whole IDE-R conversations in memory: console codec + IderDrives <-> device codec + BIOS IderHost."""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import pytest

from amtterm.redir import events as ev
from amtterm.redir.connection import ConnectionState
from amtterm.redir.constants import IderFeature, IderStartTiming
from amtterm.redir.ider import IderDrive
from amtterm.redir.messages import (
    AtaRegisters,
    IderCommandEndResponse,
    IderDataFromHost,
    IderDataToHost,
    IderDisableEnableFeatures,
    IderGetDataFromHost,
    StartIderRedirectionReply,
)
from amtterm.redir.scsi import DriveKind, MemoryDevice
from amtterm.session.images import ImageDevice
from amtterm.sim.ider_host import Command, Script, read10
from amtterm.sim.ider_scripts import BootReport
from tests.redir.eltorito import BOOT_LBA, boot_image, build_iso, filler
from tests.redir.ider_pipe import IderPipe, console_at_ider_starting

S = ConnectionState
H = bytes.fromhex
ISO = build_iso(boot_image(20000))


@pytest.mark.parametrize("chunk", [None, 1], ids=["whole", "bytewise"])
def test_start_and_negotiation_as_in_9_2(chunk: int | None) -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO), timing=IderStartTiming.ON_RESET, chunk=chunk).start()
    console = pipe.ider_frames("C")
    device = pipe.ider_frames("D")
    # 6.3: MeshCommander's exact 0x40, sequence 0; 6.5: set state "on reboot" + enable, sequence 1.
    assert console[0] == H("40 00 00 00 00 00 00 00 30 75 00 00 20 4e 01 00 00 00")
    assert console[1] == H("48 00 00 00 01 00 00 00 03 09 00 00 00")
    # 6.4: 0x41 sequence 0, buffers 8192, byte 21 = 0, IANA 343; 0x49 done, sequence 1.
    assert device[0] == StartIderRedirectionReply(firmware_version=(11, 8)).encode()
    assert device[1] == H("49 00 00 00 01 00 00 00 03 01 00 00 00")
    started = next(e for e in pipe.console_events if isinstance(e, ev.IderStarted))
    assert (started.read_buffer, started.write_buffer, started.feature_byte, started.oem_iana) == (
        8192,
        8192,
        0,
        343,
    )
    assert ev.IderDevicesEnabled(0x09) in pipe.console_events
    assert ev.IderStartRequested(30000, 0, 20000, 1) in pipe.device_events
    assert ev.IderStateSet(0x09, accepted=True) in pipe.device_events
    assert pipe.console.state is pipe.device.state is S.IDER_ACTIVE
    # "On reset": the BIOS waits for the PC to reset before it touches the drive.
    assert pipe.host.phase == "waiting-for-reset" and pipe.served == []
    pipe.host.host_reset(1.0)
    pipe.pump()
    assert pipe.host.report is not None and pipe.host.report.bootable


@pytest.mark.parametrize("chunk", [None, 1], ids=["whole", "bytewise"])
def test_bios_boots_an_el_torito_iso(chunk: int | None) -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO), chunk=chunk).start()
    report = pipe.host.report
    assert report is not None and report.error is None
    assert (report.block_count, report.block_size, report.volume_id) == (64, 2048, "AMTTERM_TEST")
    assert (report.catalog_lba, report.boot_lba, report.boot_sectors) == (19, BOOT_LBA, 40)
    assert report.boot_image == boot_image(20000).ljust(20480, b"\x00")
    # 9.2: 0x46 first, answered 0x47; then the commands; the first TEST UNIT READY sees the reset.
    kinds = [frame[0] for _, frame in pipe.wire if frame[0] >= 0x46 and frame[0] not in (0x48, 0x49)]
    assert kinds[:3] == [0x46, 0x47, 0x50]
    assert pipe.served[0].sense == (6, 0x28, 0) and pipe.served[1].ok
    assert pipe.host.log[0].sense == (6, 0x28, 0)


def test_every_device_message_is_numbered_without_gaps_and_so_is_the_console() -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO)).start()
    pipe.console.close()
    pipe.pump()
    for side in "CD":
        sequences = [struct.unpack_from("<I", frame, 4)[0] for frame in pipe.ider_frames(side)]
        assert sequences == list(range(len(sequences))), side


def test_reads_are_chunked_by_the_read_buffer_with_meshcommander_registers() -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO)).start()
    chunks = [m for m in pipe.messages("C") if isinstance(m, IderDataToHost)]
    boot = chunks[-3:]  # 20480 bytes: 8192 + 8192 + 4096
    assert [len(c.data) for c in boot] == [8192, 8192, 4096]
    assert [c.attributes for c in boot] == [0x00, 0x00, 0x02]
    for chunk in boot:
        assert chunk.input_registers == AtaRegisters(0xB5, 0, 0x02, 0, len(chunk.data), 0xB0, 0x58)
    assert boot[0].output_registers == AtaRegisters()
    assert boot[-1].output_registers == AtaRegisters(0x85, 0, 0x03, 0, 0, 0xB0, 0x50)
    assert all(len(c.data) <= 8192 for c in chunks)


def test_a_dma_read_sets_attribute_bit_0_and_no_byte_count() -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO)).start()
    pipe.device.send_ider_command(read10(30, 5), IderDrive.CD, dma=True)
    pipe.pump()
    chunks = [m for m in pipe.messages("C") if isinstance(m, IderDataToHost)][-2:]
    assert [c.attributes for c in chunks] == [0x01, 0x03]
    assert all(c.input_registers.mask == 0xB4 and c.input_registers.byte_count == 0 for c in chunks)
    done = pipe.device_events[-1]
    assert isinstance(done, ev.IderCommandCompleted) and done.ok
    assert done.data == b"".join(filler(lba) for lba in range(30, 35))


def test_a_smaller_read_buffer_gives_smaller_chunks() -> None:
    from amtterm.redir.connection import DeviceConfig
    from tests.redir.pipe import PASSWORD, USER

    pipe = IderPipe(cd=MemoryDevice(ISO), device_config=DeviceConfig({USER: PASSWORD}, ider_read_buffer=3000))
    pipe.start()
    assert pipe.host.report is not None and pipe.host.report.bootable
    assert max(len(m.data) for m in pipe.messages("C") if isinstance(m, IderDataToHost)) == 3000


def test_check_condition_register_fill_as_in_6_8() -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO)).start()
    pipe.device.send_ider_command(bytes((0xFF,)), IderDrive.CD)
    pipe.pump()
    status = pipe.messages("C")[-1]
    assert isinstance(status, IderCommandEndResponse) and status.attributes == 0x02
    assert status.output_registers == AtaRegisters(0x87, 0x50, 0x03, 0, 0, 0xB0, 0x51)
    assert (status.sense_key, status.asc, status.ascq) == (5, 0x20, 0)


@pytest.mark.parametrize(
    ("cdb", "drive", "sense"),
    [
        (bytes(6), IderDrive.FLOPPY, (0x02, 0x3A, 0)),  # no floppy image
        (bytes((0xD8,)), IderDrive.CD, (0x05, 0x20, 0)),  # unknown opcode
        (read10(64, 1), IderDrive.CD, (0x05, 0x21, 0)),  # beyond the last block
        (read10(60, 8), IderDrive.CD, (0x05, 0x21, 0)),  # runs past the end
        (bytes((0x12, 1, 0x80, 0, 36, 0)), IderDrive.CD, (0x05, 0x24, 0)),  # INQUIRY asking for a VPD page
        (
            bytes((0x5A, 0, 0x05, 0, 0, 0, 0, 0, 0xFF, 0)),
            IderDrive.CD,
            (0x05, 0x24, 0),
        ),  # floppy page on a CD
        (bytes((0x43, 0, 5, 0, 0, 0, 0, 0, 0x20, 0)), IderDrive.CD, (0x05, 0x24, 0)),  # TOC format 5
        (bytes((0x15, 0, 0, 0, 0, 0)), IderDrive.CD, (0x05, 0x20, 0)),  # MODE SELECT(6)
    ],
)
def test_sense_data_for_every_error_case(cdb: bytes, drive: IderDrive, sense: tuple[int, int, int]) -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO)).start()
    pipe.device.send_ider_command(cdb, drive)
    pipe.pump()
    done = pipe.device_events[-1]
    assert isinstance(done, ev.IderCommandCompleted)
    assert done.sense == sense and done.status == 0x51 and not done.ok and done.data == b""


def test_a_write_is_taken_then_refused_and_the_image_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "boot.iso"
    path.write_bytes(ISO)
    path.chmod(0o444)  # a read-only file opens fine: the image is never opened for writing
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    image = ImageDevice.open(path, DriveKind.CD)

    def script() -> Script:
        result = yield Command(bytes(6))
        result = yield Command(struct.pack(">BBIBHB", 0x2A, 0, 40, 0, 5, 0), data_out=b"\xee" * 5 * 2048)
        assert result is not None
        report = BootReport(IderDrive.CD)
        report.probes[0x2A] = result.sense
        return report

    pipe = IderPipe(cd=image, script=script).start()
    image.close()
    assert pipe.host.report is not None and pipe.host.report.probes[0x2A] == (0x07, 0x27, 0)
    asks = [m for m in pipe.messages("C") if isinstance(m, IderGetDataFromHost)]
    assert [a.transfer_bytes for a in asks] == [8192, 2048]
    assert asks[0].input_registers == AtaRegisters(0xB5, 0, 0, 0, 8192, 0xB0, 0x58)
    sent = [m for m in pipe.messages("D") if isinstance(m, IderDataFromHost)]
    assert sum(len(m.data) for m in sent) == 5 * 2048
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert os.stat(path).st_mode & 0o777 == 0o444


def test_reset_reply_waits_until_the_command_in_flight_is_answered() -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO), serve=False, timing=IderStartTiming.ON_RESET).start()
    pipe.device.send_ider_command(read10(30, 2), IderDrive.CD)
    pipe.device.send_ider_reset(3)
    pipe.pump()
    command = next(e for e in pipe.console_events if isinstance(e, ev.IderCommand))
    assert ev.IderReset(3) in pipe.console_events
    assert [f[0] for f in pipe.console.frames_to_send()] == []  # 0x47 deferred
    pipe.console.send_ider_data(b"x" * 5000, last=False)
    assert [f[0] for f in pipe.console.frames_to_send()] == []  # less than one chunk: held back
    pipe.console.send_ider_data(b"y" * 5000)
    frames = pipe.console.frames_to_send()
    assert [f[0] for f in frames] == [0x54, 0x54, 0x47]
    assert [f[3] for f in frames[:2]] == [0x00, 0x02]
    assert command.is_cd and command.opcode == 0x28


def test_feature_queries() -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO), timing=IderStartTiming.ON_RESET).start()
    pipe.console.request_ider_features(IderFeature.GET_SUPPORTED)
    pipe.console.request_ider_features(IderFeature.GET_STATE)
    pipe.pump()
    assert pipe.console_events[-2:] == [
        ev.IderFeatureReport(IderFeature.GET_SUPPORTED, 1),
        ev.IderFeatureReport(IderFeature.GET_STATE, 2),
    ]
    pipe.console.request_ider_features(IderFeature.SET_STATE, 0x18)  # disable
    pipe.console.request_ider_features(IderFeature.GET_STATE)
    pipe.pump()
    assert pipe.console_events[-2:] == [
        ev.IderDevicesEnabled(0x18),
        ev.IderFeatureReport(IderFeature.GET_STATE, 0),
    ]
    assert ev.IderStateSet(0x18, accepted=True) in pipe.device_events and not pipe.host.enabled


def test_gracefully_is_rejected_while_a_host_command_is_in_progress() -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO), serve=False, timing=IderStartTiming.ON_RESET).start()
    pipe.device.send_ider_command(bytes(6), IderDrive.CD)
    pipe.pump()
    pipe.console.request_ider_features(IderFeature.SET_STATE, 0x11)
    pipe.pump()
    assert pipe.console_events[-1] == ev.IderEnableRejected(0)
    assert ev.IderStateSet(0x11, accepted=False) in pipe.device_events


def test_device_error_is_reported_and_the_session_goes_on() -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO)).start()
    pipe.device.send_ider_error(2)
    pipe.pump()
    assert pipe.console_events[-1] == ev.IderError(2, b"\x00\x00")
    assert pipe.console.state is S.IDER_ACTIVE


def test_console_ends_with_0x42_0x43_0x12() -> None:
    pipe = IderPipe(cd=MemoryDevice(ISO)).start()
    pipe.console.close()
    pipe.pump()
    assert [f[0] for _, f in pipe.wire[-3:]] == [0x42, 0x43, 0x12]
    assert pipe.console_events[-1] == ev.ConnectionClosed("the IDE-R session ended")
    assert ev.IderEndRequested() in pipe.device_events and ev.SessionEndRequested() in pipe.device_events
    assert pipe.console.state is pipe.device.state is S.CLOSED
    assert pipe.host.phase == "stopped"


def test_device_refusal_of_ider_closes_with_0x12() -> None:
    console = console_at_ider_starting()
    assert console.state is S.IDER_STARTING
    assert console.receive_data(StartIderRedirectionReply(status=1).encode(), 0.0) == [ev.IderRefused(1)]
    assert console.frames_to_send() == [H("12 00 00 00")]
    assert console.state.value == "closed"


def test_disable_and_get_state_travel_as_9_byte_and_13_byte_messages() -> None:
    assert len(IderDisableEnableFeatures(IderFeature.GET_STATE).encode()) == 9
    assert len(IderDisableEnableFeatures(IderFeature.SET_STATE, 0x19).encode()) == 13

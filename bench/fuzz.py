"""Fuzz what a hostile device (or NBD client) can feed amtterm: mutated bytes, no crash allowed.

Targets, each fed mutations of real traffic recorded from our own codecs and the simulator:

* ``redir-console``: the redirection codec in the console role, fed a device's whole
  conversation (start, digest auth, SOL data, controls), mutated, in random pieces, with timer
  ticks in between;
* ``redir-device``: the same codec in the device role, fed a console's conversation;
* ``frames``: the record and TLV decoders under it: ``decode_message`` (both directions) and
  the length-prefixed auth elements (``decode_elements``);
* ``scsi``: the ATAPI/SCSI command handler of IDE-R, with mutated CDBs, CD and floppy, with
  and without a medium;
* ``nbd``: the simulator's NBD server, a whole client session (handshake, options, requests)
  per case;
* ``wsman``: the WS-Management parsers (replies from the simulator, requests from our
  builders), mutated as text and as bytes;
* ``uefi-params``: the One Click Recovery TLV decoder and its validation (what the simulator
  runs on a console's ``UefiBootParametersArray``), fed mutated parameter lists, raw and base64.

A case passes when the code under test returns, or raises one of the errors it documents for
bad input (a one-sentence :class:`~amtterm.errors.AmtError`; for NBD, dropping the client),
within a second, and its output stays bounded. Anything else is a finding: the target, the
seed and the input in hex are printed, and the exit status is 1.

    .venv/bin/python bench/fuzz.py                    # 120,000 cases, about a minute
    .venv/bin/python bench/fuzz.py --cases 3500       # the small profile .ci/run runs
    .venv/bin/python bench/fuzz.py --target nbd --cases 50000 --seed 7

Deterministic for a given ``--seed``; no network, no files but a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import random
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtterm.errors import AmtError, LocalProtocolError  # noqa: E402
from amtterm.redir import events as ev  # noqa: E402
from amtterm.redir.connection import ConsoleConfig, DeviceConfig, RedirectionConnection, Role  # noqa: E402
from amtterm.redir.framing import BOTH_DIRECTIONS, decode_elements  # noqa: E402
from amtterm.redir.messages import decode_message  # noqa: E402
from amtterm.redir.scsi import MemoryDevice, ScsiState, handle  # noqa: E402
from amtterm.redir.scsi_pages import DriveKind  # noqa: E402
from amtterm.sim import nbd  # noqa: E402
from amtterm.wsman import envelope, parse, uefi_params  # noqa: E402
from amtterm.wsman.resources import resource_uri  # noqa: E402

USER, PASSWORD = "admin", "Fuzz-Pass-1!"
CASE_SECONDS = 1.0  # a case that runs longer is a hang
MAX_OUTPUT = 4 * 1024 * 1024  # bytes a single case may make the code under test send
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF]


def zeros(n: int) -> bytes:
    """A deterministic 'random' source for the codecs: the conversation replays byte for byte."""
    return bytes(n)


# --------------------------------------------------------------------------------------------
# Mutations


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """One to eight stacked mutations of ``data``."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        choice = rng.randrange(9)
        pos = rng.randrange(len(out) + 1)
        if choice == 0 and out:  # flip bits
            out[min(pos, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1 and out:  # a random byte
            out[min(pos, len(out) - 1)] = rng.randrange(256)
        elif choice == 2:  # insert random bytes
            out[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif choice == 3 and out:  # delete a run
            del out[pos : pos + rng.randint(1, 32)]
        elif choice == 4 and out:  # duplicate a run
            end = min(len(out), pos + rng.randint(1, 64))
            out[pos:pos] = out[pos:end]
        elif choice == 5:  # an interesting integer, 1, 2 or 4 bytes, either byte order
            size = rng.choice((1, 2, 4))
            value = rng.choice(INTERESTING) & ((1 << (8 * size)) - 1)
            packed = value.to_bytes(size, rng.choice(("little", "big")))
            out[pos : pos + size] = packed
        elif choice == 6:  # truncate
            del out[pos:]
        elif choice == 7 and pool:  # splice in a piece of another seed
            other = rng.choice(pool)
            start = rng.randrange(len(other) + 1)
            out[pos:pos] = other[start : start + rng.randint(1, 64)]
        elif choice == 8:  # repeat the whole thing (endless data, cut short)
            out += out[: rng.randint(0, 256)]
    return bytes(out)


def pieces(rng: random.Random, data: bytes, boundaries: tuple[int, ...] = ()) -> list[bytes]:
    """Split ``data`` at random points (and at ``boundaries``), as TCP may deliver it."""
    cuts = sorted({*(rng.randrange(len(data) + 1) for _ in range(rng.randint(0, 6))), *boundaries})
    cuts = [cut for cut in cuts if 0 < cut < len(data)]
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


# --------------------------------------------------------------------------------------------
# Seeds: real conversations from our own codecs


def conversation() -> tuple[bytes, bytes, tuple[int, ...]]:
    """One whole SOL session between our console and our device.

    Returns:
        The console's bytes, the device's bytes, and where the console's frames end (a device
        answers "session requested" between frames, so its input is cut there too).
    """
    console = RedirectionConnection(ConsoleConfig(USER, PASSWORD), random_bytes=zeros)
    device = RedirectionConnection(
        DeviceConfig({USER: PASSWORD}, realm="Digest:" + "0" * 32), random_bytes=zeros
    )
    sent: dict[str, bytearray] = {"C": bytearray(), "D": bytearray()}
    ends: list[int] = []
    device.start(0.0)
    console.start(0.0)

    def pump() -> None:
        moved = True
        while moved:
            moved = False
            for frame in console.frames_to_send():
                moved = True
                sent["C"] += frame
                ends.append(len(sent["C"]))
                for event in device.receive_data(frame, 0.0):
                    if isinstance(event, ev.SessionRequested):
                        device.accept_session()
            for frame in device.frames_to_send():
                moved = True
                sent["D"] += frame
                console.receive_data(frame, 0.0)

    pump()
    device.send_sol_data(b"\x1b[2J\x1b[1;1HBIOS Setup\r\n" * 4)
    console.send_sol_data(b"\x1b[B\r")
    pump()
    return bytes(sent["C"]), bytes(sent["D"]), tuple(ends)


def wsman_seeds() -> list[str]:
    """Replies of the simulator's WS-Man service and the requests our builders write."""
    from amtterm.sim.synthetic import SyntheticHost
    from amtterm.sim.wsman import service
    from amtterm.sim.wsman.state import DeviceState

    state = DeviceState(host=SyntheticHost())
    requests = [
        envelope.build_get(resource_uri("AMT_GeneralSettings")),
        envelope.build_get(resource_uri("CIM_AssociatedPowerManagementService")),
        envelope.build_get(resource_uri("CIM_SoftwareIdentity")),
        envelope.build_enumerate(resource_uri("CIM_SoftwareIdentity")),
        envelope.build_get(resource_uri("CIM_NoSuchClass")),
    ]
    replies = [service.handle(request, state, 0.0)[1] for request in requests]
    return requests + replies


# --------------------------------------------------------------------------------------------
# Targets


@dataclass
class Target:
    """A fuzz target: seeds to mutate and one case to run."""

    name: str
    seeds: list[bytes]
    run: Callable[[random.Random, bytes], None]
    pool: list[bytes] = field(default_factory=list)


class Finding(Exception):
    """The code under test broke a rule (crashed, hung, or grew its output without bound)."""


def drive_codec(
    conn: RedirectionConnection, rng: random.Random, data: bytes, boundaries: tuple[int, ...] = ()
) -> None:
    accept = conn.role is Role.DEVICE
    now = 0.0
    out = 0
    try:
        for piece in pieces(rng, data, boundaries):
            for event in conn.receive_data(piece, now):
                if accept and isinstance(event, ev.SessionRequested):
                    conn.accept_session()
            out += sum(len(frame) for frame in conn.frames_to_send())
            if rng.random() < 0.2:
                now += rng.choice((0.5, 5.0, 30.0))
                conn.handle_timer(now)
        conn.receive_data(b"", now)  # EOF
    except LocalProtocolError as exc:
        raise Finding(f"our own side broke a rule while answering the peer: {exc}") from exc
    except AmtError:
        pass  # the one-sentence outcome of bad input
    if out > MAX_OUTPUT:
        raise Finding(f"the codec sent {out} bytes in answer to {len(data)}")


def console_case(rng: random.Random, data: bytes) -> None:
    conn = RedirectionConnection(ConsoleConfig(USER, PASSWORD), random_bytes=zeros)
    conn.start(0.0)
    conn.frames_to_send()
    drive_codec(conn, rng, data)


def device_case(rng: random.Random, data: bytes) -> None:
    conn = RedirectionConnection(
        DeviceConfig({USER: PASSWORD}, realm="Digest:" + "0" * 32), random_bytes=zeros
    )
    conn.start(0.0)
    drive_codec(conn, rng, data, CONSOLE_FRAME_ENDS)


def frames_case(rng: random.Random, data: bytes) -> None:
    with contextlib.suppress(AmtError):
        decode_elements(data, "fuzzed auth data")
    for direction in BOTH_DIRECTIONS:
        buf = data
        while buf:
            try:
                decoded = decode_message(buf, direction=direction)
            except AmtError:
                break
            if decoded is None:
                break
            _message, used = decoded
            if used <= 0:
                raise Finding("decode_message consumed no bytes")
            buf = buf[used:]


SCSI_SEEDS = [
    bytes.fromhex(cdb.ljust(24, "0"))
    for cdb in (
        "00",  # TEST UNIT READY
        "03000000120000",  # REQUEST SENSE
        "120000002400",  # INQUIRY
        "1a003f00ff00",  # MODE SENSE(6)
        "5a003f0000000000ff00",  # MODE SENSE(10)
        "1b00000002",  # START STOP UNIT, eject
        "1e00000001",  # PREVENT ALLOW
        "23000000000000000ffc",  # READ FORMAT CAPACITIES
        "25",  # READ CAPACITY
        "2800000000100000000100",  # READ(10)
        "a8000000001000000001",  # READ(12)
        "2b0000000010",  # SEEK
        "43000000000000000ffc",  # READ TOC
        "46000000000000000800",  # GET CONFIGURATION
        "4a010000100000000800",  # GET EVENT STATUS NOTIFICATION
        "9e10000000000000000000000020",  # READ CAPACITY(16)
        "ac000000000000000000",  # GET PERFORMANCE
        "2a00000000100000000100",  # WRITE(10)
    )
]
MEDIA = {
    DriveKind.CD: MemoryDevice(bytes(2048 * 32), 2048),
    DriveKind.FLOPPY: MemoryDevice(bytes(512 * 64), 512),
}


def scsi_case(rng: random.Random, data: bytes) -> None:
    kind = rng.choice((DriveKind.CD, DriveKind.FLOPPY))
    state = ScsiState(kind)
    medium = MEDIA[kind] if rng.random() < 0.8 else None
    for cdb in (data[i : i + 12] for i in range(0, max(len(data), 1), 12)):
        result = handle(cdb.ljust(12, b"\x00")[:12] if rng.random() < 0.9 else cdb, medium, state)
        if len(result.data) > 65536 * 2048:
            raise Finding(f"a CDB made {len(result.data)} bytes of data")


class _Sink:
    """The writer side of one NBD connection: counts what the server sends."""

    def __init__(self) -> None:
        self.sent = 0
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent += len(data)
        if self.sent > MAX_OUTPUT:
            raise Finding(f"the NBD server sent {self.sent} bytes")

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    async def wait_closed(self) -> None:
        return None


class _Blocks:
    async def size(self) -> int:
        return 1 << 20

    async def read(self, offset: int, length: int) -> bytes:
        return bytes(length)


NBD_SERVER = nbd.NbdServer(_Blocks())
LOOPS: list[asyncio.AbstractEventLoop] = []  # the one event loop of a run (see run())


def nbd_client_bytes() -> list[bytes]:
    opt = nbd.OPTION_MAGIC
    flags = struct.pack(">I", nbd.FLAG_FIXED_NEWSTYLE | nbd.FLAG_NO_ZEROES)
    go = struct.pack(">QII", opt, nbd.OPT_GO, 6) + struct.pack(">IH", 0, 0)
    info = struct.pack(">QII", opt, nbd.OPT_INFO, 8) + struct.pack(">IHH", 0, 1, nbd.INFO_BLOCK_SIZE)
    listing = struct.pack(">QII", opt, nbd.OPT_LIST, 0)
    unknown = struct.pack(">QII", opt, 5, 0)  # STARTTLS
    name = struct.pack(">QII", opt, nbd.OPT_EXPORT_NAME, 0)

    def req(kind: int, offset: int, length: int, payload: bytes = b"") -> bytes:
        return struct.pack(">IHHQQI", nbd.REQUEST_MAGIC, 0, kind, 7, offset, length) + payload

    requests = (
        req(nbd.CMD_READ, 0, 4096)
        + req(nbd.CMD_READ, 1 << 20, 512)
        + req(nbd.CMD_WRITE, 0, 4, b"abcd")
        + req(nbd.CMD_FLUSH, 0, 0)
        + req(nbd.CMD_TRIM, 0, 512)
        + req(nbd.CMD_CACHE, 0, 512)
        + req(nbd.CMD_DISC, 0, 0)
    )
    return [
        flags + listing + info + unknown + go + requests,
        flags + name + requests,
        flags + struct.pack(">QII", opt, nbd.OPT_ABORT, 0),
    ]


def nbd_case(rng: random.Random, data: bytes) -> None:
    async def session() -> None:
        reader = asyncio.StreamReader()
        for piece in pieces(rng, data):
            reader.feed_data(piece)
        reader.feed_eof()
        sink = _Sink()
        await NBD_SERVER._client(reader, sink)  # type: ignore[arg-type]
        if not sink.closed:
            raise Finding("the NBD server left a connection open after the client's EOF")

    LOOPS[0].run_until_complete(session())


WSMAN_PARSERS: list[Callable[[str], Any]] = [
    parse.parse_reply,
    lambda text: parse.parse_instance(text, "AMT_GeneralSettings"),
    parse.parse_enumerate,
    parse.parse_pull,
    lambda text: parse.parse_output(text, "RequestPowerStateChange"),
    parse.parse_request,
]


def wsman_case(rng: random.Random, data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    if rng.random() < 0.3:  # structure-aware: a tag, an entity or a DOCTYPE in a random place
        pos = rng.randrange(len(text) + 1)
        extra = rng.choice(("<x>", "</x>", "&amp;", "&lol;", "<!DOCTYPE a>", "<![CDATA[", "<?pi?>", "\x00"))
        text = text[:pos] + extra + text[pos:]
    for parser in WSMAN_PARSERS:
        with contextlib.suppress(AmtError):
            parser(text)


def uefi_param_seeds() -> list[bytes]:
    """Parameter lists a console sends: an HTTPS boot with every optional entry, and a plain one."""
    full = uefi_params.https_boot_params("https://u:pw@boot.example.invalid:8443/x.efi", timeout=60)
    plain = uefi_params.https_boot_params("https://10.0.2.2/ipxe.efi")
    return [uefi_params.encode_params(full), uefi_params.encode_params(plain)]


def uefi_params_case(rng: random.Random, data: bytes) -> None:
    with contextlib.suppress(uefi_params.UefiParamError):
        params = uefi_params.decode_params(data)
        uefi_params.read_https_boot(params)
        uefi_params.validate_params(params, count=len(params))
    text = base64.b64encode(data).decode() if rng.random() < 0.5 else data.decode("latin-1")
    with contextlib.suppress(uefi_params.UefiParamError):
        uefi_params.from_base64(text)


CONSOLE_BYTES, DEVICE_BYTES, CONSOLE_FRAME_ENDS = conversation()


def targets(only: str | None) -> list[Target]:
    console_bytes, device_bytes = CONSOLE_BYTES, DEVICE_BYTES
    wsman = [seed.encode() for seed in wsman_seeds()]
    frame_seeds = [console_bytes, device_bytes, bytes.fromhex("0303") + b"abc" + b"\x00"]
    all_targets = [
        Target("redir-console", [device_bytes], console_case, frame_seeds),
        Target("redir-device", [console_bytes], device_case, frame_seeds),
        Target("frames", frame_seeds, frames_case, frame_seeds),
        Target("scsi", SCSI_SEEDS, scsi_case, SCSI_SEEDS),
        Target("nbd", nbd_client_bytes(), nbd_case, nbd_client_bytes()),
        Target("wsman", wsman, wsman_case, wsman),
        Target("uefi-params", uefi_param_seeds(), uefi_params_case, uefi_param_seeds()),
    ]
    return [t for t in all_targets if only is None or t.name == only]


# --------------------------------------------------------------------------------------------
# Runner


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Finding(f"a case ran longer than {CASE_SECONDS:g} s")


def run(cases: int, seed: int, only: str | None) -> int:
    """Run ``cases`` cases spread over the targets; return the number of findings."""
    chosen = targets(only)
    per_target = max(1, cases // len(chosen))
    previous = signal.signal(signal.SIGALRM, _alarm)
    LOOPS.append(asyncio.new_event_loop())
    try:
        findings = _run(chosen, per_target, seed)
    finally:
        LOOPS.pop().close()
        signal.signal(signal.SIGALRM, previous)
    print(f"total {per_target * len(chosen)} cases, {findings} findings")
    return findings


def _run(chosen: list[Target], per_target: int, seed: int) -> int:
    findings = 0
    for target in chosen:
        rng = random.Random(f"{seed}:{target.name}")
        started = time.monotonic()
        for number in range(per_target):
            data = mutate(rng, rng.choice(target.seeds), target.pool)
            case_rng = random.Random(f"{seed}:{target.name}:{number}")
            signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
            try:
                target.run(case_rng, data)
            except Exception as exc:  # every escape is a finding: that is the point
                findings += 1
                print(
                    f"FINDING {target.name} case {number} (--seed {seed}): {type(exc).__name__}: {exc}\n"
                    f"  input: {data.hex()}",
                    flush=True,
                )
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        took = time.monotonic() - started
        print(f"{target.name:14} {per_target:8d} cases  {took:6.1f} s", flush=True)
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=120_000, help="cases in all (default 120000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--target",
        choices=["redir-console", "redir-device", "frames", "scsi", "nbd", "wsman", "uefi-params"],
        help="fuzz only this target",
    )
    args = parser.parse_args(argv)
    return 1 if run(args.cases, args.seed, args.target) else 0


if __name__ == "__main__":
    sys.exit(main())

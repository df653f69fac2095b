"""``--record FILE`` / ``--log FILE`` for the full-screen console (``amtterm HOST``, ``tui``, ``demo``).

    amtterm pc42 --record pc42.cast                   # asciicast v2 of the console, with markers
    amtterm tui pc42 pc43 --record "{host}.cast"      # one file per host
    amtterm tui pc42 pc43 --record session.cast       # session-pc42.cast, session-pc43.cast

Each host's console is recorded on its own (its own screen size and encoding). Keys are kept only
with ``--record-input``; the password is asked before the screen opens, so it never reaches a
recording. Markers: power on / off as the device reports it, the console connecting and
disconnecting, and each power and boot action sent from the panes (see
:meth:`amtterm.session.host.HostController.mark`).

Wiring (amtterm.cli.tui): ``add_recording_arguments(parser)``, then
``attach_recorders(args, links)`` once the links exist and before the app starts.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from amtterm.cli.common import warn
from amtterm.errors import AmtError

if TYPE_CHECKING:
    from amtterm.session import ConsoleRecorder, HostController

HOST_FIELD = "{host}"


def add_recording_arguments(parser: argparse.ArgumentParser) -> None:
    """The recording options of the full-screen console."""
    group = parser.add_argument_group("recording")
    group.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="record each console as asciicast v2 (amtterm replay FILE); with several hosts, {host} in "
        "FILE is the host's name (else it is added before the suffix)",
    )
    group.add_argument(
        "--record-input",
        action="store_true",
        help="also record the keys typed (off by default; never the password)",
    )
    group.add_argument(
        "--log", type=Path, metavar="FILE", help="write each console as plain text (escapes stripped)"
    )


def host_path(path: Path, host: str, many: bool) -> Path:
    """The file of one host: ``{host}`` replaced, or ``-HOST`` before the suffix when several hosts
    share one name."""
    if HOST_FIELD in path.name:
        return path.with_name(path.name.replace(HOST_FIELD, host))
    if not many:
        return path
    return path.with_name(f"{path.stem}-{host}{path.suffix}")


def open_recorder(
    link: HostController, record: Path | None, log: Path | None, *, record_input: bool, many: bool
) -> ConsoleRecorder:
    """The recorder of one host's console.

    Raises:
        ConfigError: a file cannot be written.
    """
    from amtterm.session import AsciicastWriter, ConsoleRecorder, PlainLogWriter

    profile = link.profile
    encoding = profile.encoding if profile.encoding in ("cp437", "utf-8") else "auto"
    cast = None
    if record is not None:
        cast = AsciicastWriter.open(
            host_path(record, link.name, many),
            width=profile.screen[0],
            height=profile.screen[1],
            encoding=encoding,
            record_input=record_input,
            title=f"amtterm {link.name}",
        )
    try:
        plain = PlainLogWriter.open(host_path(log, link.name, many), encoding=encoding) if log else None
    except AmtError:
        if cast is not None:
            cast.close()
        raise
    return ConsoleRecorder(cast, plain)


def attach_recorders(args: argparse.Namespace, links: Sequence[HostController]) -> None:
    """Give every host a recorder when ``--record`` or ``--log`` asks for one.

    Raises:
        ConfigError: a file cannot be written (those already opened are closed again).
    """
    record: Path | None = getattr(args, "record", None)
    log: Path | None = getattr(args, "log", None)
    record_input = bool(getattr(args, "record_input", False))
    if record is None and log is None:
        if record_input:
            warn("--record-input does nothing without --record FILE.")
        return
    many = len(links) > 1
    opened: list[ConsoleRecorder] = []
    try:
        for link in links:
            opened.append(open_recorder(link, record, log, record_input=record_input, many=many))
    except AmtError:
        for recorder in opened:
            recorder.close()
        raise
    for link, recorder in zip(links, opened, strict=True):
        link.record(recorder)


def open_console_recorder(args: argparse.Namespace, charset: str, *, title: str) -> ConsoleRecorder | None:
    """The --record / --log files as one recorder, or None. Opened after the password prompt,
    and keys are kept only with --record-input: a password never lands in a recording."""
    from amtterm.session import AsciicastWriter, ConsoleRecorder, PlainLogWriter

    if args.record is None and args.log is None:
        if args.record_input:
            warn("--record-input does nothing without --record FILE.")
        return None
    encoding = args.record_encoding or (charset if charset in ("cp437", "utf-8") else "auto")
    cast = log = None
    try:
        if args.record is not None:
            cast = AsciicastWriter.open(
                args.record, encoding=encoding, record_input=args.record_input, title=title
            )
        if args.log is not None:
            log = PlainLogWriter.open(args.log, encoding=encoding)
    except AmtError:
        if cast is not None:
            cast.close()
        raise
    return ConsoleRecorder(cast, log)

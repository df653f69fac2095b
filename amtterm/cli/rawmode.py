"""Raw console mode: the remote serial console on this terminal, like classic amtterm.

Remote bytes go to stdout as UTF-8 text, read by the one decoder the console uses
(:class:`~amtterm.terminal.decoder.StreamDecoder`): ``auto`` (the default) guesses CP437
or UTF-8 from the stream, so BIOS frames show as frames; ``cp437`` and ``utf-8`` fix it;
``raw`` passes the bytes through untouched, as classic amtterm. Local keys go to the
remote. Escapes, as users of amtterm and ssh expect:

    Ctrl-]        quit at once
    ~.            quit (only right after Enter, or at the start)
    ~~            send one ~
    ~?            list these escapes

Enter is sent as CR by default (what BIOSes want); ``--enter crlf`` or ``lf``
change it. With stdin not a terminal (a script), LF is sent as the chosen Enter;
at end of input the session lingers until the remote has been quiet for ``linger``
seconds (its answer to the last line arrives), then ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import sys
import termios
import tty
from typing import Any

from amtterm.errors import SessionClosed
from amtterm.session import Recorder, SolClient
from amtterm.terminal.decoder import terminal_converter
from amtterm.terminal.escape import ENTER_BYTES, KeyFilter


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _settle(future: asyncio.Future[int], signum: int) -> None:
    if not future.done():
        future.set_result(signum)


async def _read_in_thread(fd: int, queue: asyncio.Queue[bytes]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            chunk = await loop.run_in_executor(None, os.read, fd, 65536)
        except OSError:
            chunk = b""
        await queue.put(chunk)
        if not chunk:
            return


async def run_raw(
    client: SolClient,
    *,
    enter: str = "cr",
    charset: str = "auto",
    stdin_fd: int | None = None,
    stdout_fd: int | None = None,
    recorder: Recorder | None = None,
    linger: float = 1.0,
) -> int:
    """Connect local stdin/stdout to a started SolClient until either side ends.

    At end of input (not at a quit key) the session stays until the remote has sent nothing for
    ``linger`` seconds since the last byte either way, so that a script gets the answer to what it
    typed; 0 ends at once.

    A ``recorder`` gets every chunk of output, the keys sent (it decides whether to keep
    them) and a marker at each power change; the caller closes it.

    Returns:
        0, or 128 + the signal's number when SIGTERM or SIGHUP ended it (the terminal restored).

    Raises:
        AmtError: the session broke; the terminal is restored first.
    """
    loop = asyncio.get_running_loop()
    in_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    out_fd = sys.stdout.fileno() if stdout_fd is None else stdout_fd
    is_tty = os.isatty(in_fd)
    keys = KeyFilter(enter=ENTER_BYTES[enter], translate_lf=not is_tty)
    convert = terminal_converter(charset)
    saved = termios.tcgetattr(in_fd) if is_tty else None
    stdin_queue: asyncio.Queue[bytes] = asyncio.Queue()

    def on_stdin() -> None:
        try:
            chunk = os.read(in_fd, 4096)
        except OSError:
            chunk = b""
        stdin_queue.put_nowait(chunk)
        if not chunk:
            loop.remove_reader(in_fd)

    last_activity = [loop.time()]  # the last byte to or from the remote

    async def pump_output() -> None:
        while True:
            chunk = await client.read()
            if not chunk:
                return
            last_activity[0] = loop.time()
            if recorder is not None:
                recorder.output(chunk)
            # Take whatever else is already waiting, then one blocking write in a
            # thread: a slow terminal slows the reader, it never loses bytes.
            await loop.run_in_executor(None, _write_all, out_fd, convert(chunk))

    async def pump_input() -> bool:
        """Send the keys; True when a quit key ended it, False at end of input."""
        while True:
            chunk = await stdin_queue.get()
            if not chunk:
                return False
            remote, quit_now, local = keys.feed(chunk)
            if local:
                await loop.run_in_executor(None, _write_all, out_fd, local)
            if remote:
                if recorder is not None:
                    recorder.input(remote)
                await client.write(remote)
                last_activity[0] = loop.time()
            if quit_now:
                return True

    first_report = [client.power_on is None]

    def on_power(powered: bool) -> None:
        # The first report is news only when it says "off"; later ones always are.
        # On stderr, so that a script's captured console output stays the host's own bytes.
        first, first_report[0] = first_report[0], False
        if recorder is not None:
            recorder.power(powered)
        if first and powered:
            return
        note = "the machine is powered on" if powered else "the machine is powered off"
        with contextlib.suppress(OSError):
            os.write(sys.stderr.fileno(), f"\r\n[amtterm: {note}]\r\n".encode())

    client.power_listeners.append(on_power)
    if client.power_on is False:
        on_power(False)
    reader_added = False
    handled: list[int] = []
    mode = os.fstat(in_fd).st_mode
    try:
        if saved is not None:
            tty.setraw(in_fd)
        if not stat.S_ISREG(mode):
            try:
                loop.add_reader(in_fd, on_stdin)
                reader_added = True
            except (PermissionError, ValueError):
                pass  # epoll cannot watch this kind of file (/dev/null): read it in a thread
        thread_reader = None if reader_added else asyncio.create_task(_read_in_thread(in_fd, stdin_queue))
        out_task = asyncio.create_task(pump_output())
        in_task = asyncio.create_task(pump_input())
        # SIGTERM or SIGHUP end the session the orderly way: the terminal is restored below.
        signalled: asyncio.Future[int] = loop.create_future()
        for signum in ENDING_SIGNALS:
            loop.add_signal_handler(signum, _settle, signalled, signum)
            handled.append(signum)
        waits: set[asyncio.Future[Any]] = {out_task, in_task, signalled}
        finished, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        device_gone = out_task in finished and in_task not in finished and not signalled.done()
        if signalled.done():
            await client.close(timeout=0.5)
        elif in_task in finished:
            if not in_task.result():
                # End of input: the answer to the last line is still on its way.
                while not out_task.done():
                    quiet = loop.time() - last_activity[0]
                    if quiet >= linger:
                        break
                    await asyncio.wait({out_task}, timeout=linger - quiet)
            await client.close()
            # Let the tail of the output reach the terminal.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(out_task, 2.0)
        out_task.cancel()
        in_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await out_task
        with contextlib.suppress(asyncio.CancelledError):
            await in_task
        if thread_reader is not None:
            thread_reader.cancel()  # a thread blocked in read() ends with the process
        if device_gone:
            if os.isatty(out_fd):
                _write_all(out_fd, b"\r\n")  # the sentence starts on a line of its own
            # The device ended the session (stopped, reset, unplugged): say so, never exit 0 in silence.
            raise SessionClosed(
                f"{client.target} ended the Serial-over-LAN session: the device went away "
                "(stopped, reset or off the network)."
            )
        return 128 + signalled.result() if signalled.done() else 0
    finally:
        for handled_signal in handled:
            loop.remove_signal_handler(handled_signal)
        if reader_added:
            loop.remove_reader(in_fd)
        if saved is not None:
            termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)

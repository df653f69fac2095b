"""The IDE-R pane: serve an ISO / floppy image to the host on screen, and boot from it.

What ``amtterm ider HOST --cd ISO [--floppy IMG] [--boot] [--now|--on-reset]`` does, in the
side column: two path fields (completed as you type, or picked in a directory tree with ``…``),
when the drives appear (at the next reset, or now), "Boot from it (SOL)" (serve, set the
one-time IDE-R boot with SOL over WS-Man, reset; after a confirmation), "Serve only" and Stop.
While it serves, the pane shows the phase, a bar of how much of the image the PC has read,
MB served, MB/s, sectors, the ETA of the read in flight and a stall warning; the console keeps
showing the SOL screen, since IDE-R is a second redirection session beside it.

The pane only presents: what the user asks for it posts as a message
(:class:`IderPane.ServeRequested`, :class:`IderPane.StopRequested`, :class:`IderPane.BrowseRequested`),
and the console screen runs the one IDE-R flow, :class:`~amtterm.session.ider_job.IderJob` (the
same as ``amtterm ider``'s), with the pane's dialog as its question. The job is kept on the
host's :class:`~amtterm.session.host.HostController`, so it goes on while another host is shown, and
the pane paints it. Every failure (a bad image, busy on another console, listener disabled, wrong
password) is the flow's one sentence in the pane's message line, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, ProgressBar, Select, Static

from amtterm.errors import ConfigError
from amtterm.session import HostController, IderJob, IderProgress, IderRequest, Timing
from amtterm.ui.screens.image_picker import PathSuggester
from amtterm.ui.widgets.ordered_input import OrderedInput
from amtterm.ui.widgets.pane_base import Pane, PaneRequest

#: (label, timing) of the start-timing choices.
TIMING_CHOICES: tuple[tuple[str, Timing], ...] = (("at the next reset", "on-reset"), ("now", "now"))
#: The image fields by drive (``cd``, ``floppy``) and their browse buttons.
IMAGE_FIELDS = {"cd": "#ider-cd", "floppy": "#ider-floppy"}
BROWSE_BUTTONS = {"ider-browse-cd": "cd", "ider-browse-floppy": "floppy"}
#: Seconds between repaints of the figures while a job runs.
REPAINT_SECONDS = 0.25
PHASE_STYLE = {
    "connecting": "bold yellow",
    "waiting": "bold cyan",
    "serving": "bold green",
    "stalled": "bold red",
    "idle": "bold cyan",
    "ended": "dim",
    "stopped": "dim",
    "failed": "bold red",
}


def image_path(text: str) -> Path | None:
    """The path typed in a field (``~`` expanded), or None when it is empty."""
    text = text.strip()
    return Path(os.path.expanduser(text)) if text else None


def figures(progress: IderProgress, image_bytes: int) -> list[str]:
    """The lines under the bar: served, rate and sectors, ETA, stall."""
    lines = [
        f"{progress.bytes_served / 1e6:.1f} MB served, {progress.mb_per_s:.2f} MB/s",
        f"{progress.sectors_served} sectors in {progress.commands} commands",
    ]
    if progress.eta_seconds is not None:
        lines.append(f"ETA {progress.eta_seconds:.0f} s for this read")
    elif progress.phase == "serving" and progress.mb_per_s > 0 and 0 < progress.coverage < 1 and image_bytes:
        rest = image_bytes * (1 - progress.coverage) / (progress.mb_per_s * 1e6)
        lines.append(f"rest of the image: ~{rest:.0f} s at this rate")
    return lines


def phase_line(job: IderJob) -> Text:
    """``● serving  READ(10) LBA 20 x1``, or the job's state before / after the session."""
    progress = job.progress
    phase = job.state if progress is None or job.state != "serving" else progress.phase
    words = {
        "connecting": "connecting",
        "waiting": "waiting: the PC has not asked for anything yet",
        "serving": "serving",
        "stalled": "STALLED",
        "idle": "idle",
        "ended": "session ended",
        "stopped": "stopped",
        "failed": "failed",
    }
    line = Text()
    line.append("● ", PHASE_STYLE.get(phase, "bold"))
    line.append(words.get(phase, phase), PHASE_STYLE.get(phase, "bold"))
    names = " + ".join(path.name for path in (job.request.cd, job.request.floppy) if path is not None)
    if names and phase in ("connecting", "serving", "stalled", "idle"):
        line.append(f" {names}")
    if progress is not None and progress.last_command and phase in ("serving", "stalled", "idle"):
        line.append(f"\nlast: {progress.last_command}", "dim")
    return line


class IderPane(Pane):
    """Serve images over IDE-R to the bound host, with live progress."""

    BORDER_TITLE = "IDE-R"

    class ServeRequested(PaneRequest["IderPane"]):
        """Serve ``request``'s images to ``host`` (and, with ``request.boot``, boot from them)."""

        def __init__(self, pane: IderPane, host: HostController, request: IderRequest) -> None:
            super().__init__(pane, host)
            self.request = request

    class StopRequested(PaneRequest["IderPane"]):
        """End ``host``'s IDE-R session."""

    class BrowseRequested(PaneRequest["IderPane"]):
        """Pick the ``drive``'s image (``cd`` or ``floppy``) in a directory tree from ``start``."""

        def __init__(self, pane: IderPane, host: HostController, drive: str, start: Path | None) -> None:
            super().__init__(pane, host)
            self.drive = drive
            self.start = start

    DEFAULT_CSS = """
    IderPane .path-row { height: 1; }
    IderPane .path-row Input { width: 1fr; }
    IderPane .path-row Button { margin: 0 0 0 1; min-width: 3; }
    IderPane #ider-timing { width: 1fr; }
    IderPane #ider-boot { width: 1fr; margin-top: 1; }
    IderPane #ider-bar-row { height: 1; margin-top: 1; }
    IderPane #ider-bar-label { width: auto; color: $text-muted; }
    IderPane #ider-bar { width: 1fr; }
    IderPane #ider-bar Bar { width: 1fr; }
    IderPane #ider-stall { color: $warning; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._painted: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        """Image fields, timing, the actions, then the progress."""
        yield Static("CD image (.iso):")
        with Horizontal(classes="path-row"):
            yield OrderedInput(
                placeholder="path; Right completes", id="ider-cd", suggester=PathSuggester(), compact=True
            )
            yield Button("…", id="ider-browse-cd", compact=True, tooltip="choose the ISO in a directory tree")
        yield Static("Floppy image (optional):")
        with Horizontal(classes="path-row"):
            yield OrderedInput(placeholder="path", id="ider-floppy", suggester=PathSuggester(), compact=True)
            yield Button("…", id="ider-browse-floppy", compact=True, tooltip="choose the floppy image")
        yield Static("Drives appear:")
        yield Select(
            [(label, timing) for label, timing in TIMING_CHOICES],
            value="on-reset",
            allow_blank=False,
            id="ider-timing",
            compact=True,
        )
        yield Button("Boot from it (SOL)", id="ider-boot", variant="primary", compact=True)
        with Horizontal(classes="buttons"):
            yield Button("Serve only", id="ider-serve", compact=True)
            yield Button("Stop", id="ider-stop", variant="error", compact=True)
        yield Static(id="ider-phase")
        with Horizontal(id="ider-bar-row"):
            yield Static("read ", id="ider-bar-label")
            yield ProgressBar(total=100, show_eta=False, id="ider-bar")
        yield Static(id="ider-figures")
        yield Static(id="ider-stall")
        yield Static(classes="message")

    def on_mount(self) -> None:
        """Keep the figures of a running job current."""
        self.set_interval(REPAINT_SECONDS, self.show_progress)
        self.show_link()

    # -- painting ---------------------------------------------------------------------------

    def show_link(self) -> None:
        """Buttons, fields and figures for the bound host's job (or its absence)."""
        self._painted = None
        self.show_progress()

    def _enable(self, busy: bool) -> None:
        link = self.link
        self.query_one("#ider-boot", Button).disabled = busy or link is None or link.service is None
        self.query_one("#ider-serve", Button).disabled = busy or link is None
        self.query_one("#ider-stop", Button).disabled = not busy
        for field in ("#ider-cd", "#ider-floppy", "#ider-browse-cd", "#ider-browse-floppy", "#ider-timing"):
            self.query_one(field).disabled = busy

    def show_progress(self) -> None:
        """Repaint phase, bar and figures when they changed."""
        if not self.is_mounted:
            return
        job = self.link.ider if self.link is not None else None
        key = (job, None if job is None else job.state, None if job is None else job.progress)
        if key == self._painted:
            return
        self._painted = key
        self._enable(job is not None and not job.finished)
        bar = self.query_one("#ider-bar", ProgressBar)
        bar_row = self.query_one("#ider-bar-row")
        phase = self.query_one("#ider-phase", Static)
        lines = self.query_one("#ider-figures", Static)
        stall = self.query_one("#ider-stall", Static)
        if job is None:
            phase.update(Text("Not serving.", "dim"))
            bar_row.display = False
            lines.update("")
            stall.update("")
            return
        phase.update(phase_line(job))
        progress = job.progress
        bar_row.display = progress is not None and job.request.cd is not None
        if progress is None:
            lines.update("")
            stall.update("")
            return
        bar.update(total=100, progress=round(progress.coverage * 100, 1))
        lines.update("\n".join(figures(progress, job.image_bytes)))
        if progress.stalled:
            stall.update(
                f"⚠ {progress.pending_bytes / 1e6:.2f} MB of a read have not gone out for "
                f"{progress.quiet_for or 0:.0f} s: the network or the AMT device is not taking data."
            )
        elif progress.idle and progress.since_last_command is not None:
            stall.update(
                f"The PC has asked for nothing for {progress.since_last_command:.0f} s: normal once its "
                "boot loader has what it needs; else it is rebooting, hung or booting elsewhere."
            )
        else:
            stall.update("")

    # -- actions ----------------------------------------------------------------------------

    def request(self, *, boot: bool) -> IderRequest:
        """What the fields ask for (not yet checked)."""
        timing = self.query_one("#ider-timing", Select).value
        return IderRequest(
            cd=image_path(self.query_one("#ider-cd", Input).value),
            floppy=image_path(self.query_one("#ider-floppy", Input).value),
            timing="now" if timing == "now" else "on-reset",
            boot=boot,
        )

    def check(self, request: IderRequest) -> bool:
        """Open the images read-only; a problem is the one sentence in the message line."""
        try:
            request.check()
        except ConfigError as exc:
            self.say(str(exc), error=True)
            return False
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Browse, Boot, Serve or Stop."""
        event.stop()
        button = event.button.id or ""
        if button in BROWSE_BUTTONS:
            self.browse(BROWSE_BUTTONS[button])
        elif button == "ider-boot":
            self.start(boot=True)
        elif button == "ider-serve":
            self.start(boot=False)
        elif button == "ider-stop":
            self.stop()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in a path field checks that image at once."""
        event.stop()
        path = image_path(event.value)
        if path is not None:
            self.check_image("cd" if event.input.id == "ider-cd" else "floppy", path)

    def check_image(self, drive: str, path: Path) -> None:
        """Say whether ``path`` can be served as the ``drive``'s image."""
        if self.check(IderRequest(cd=path) if drive == "cd" else IderRequest(floppy=path)):
            self.say(f"{path} can be served.")

    def browse(self, drive: str) -> None:
        """Ask for the ``cd`` or ``floppy`` image to be picked in a directory tree."""
        if self.link is None:
            return
        start = image_path(self.query_one(IMAGE_FIELDS[drive], Input).value)
        start = start or image_path(self.query_one("#ider-cd", Input).value)
        self.post_message(self.BrowseRequested(self, self.link, drive, start))

    def use_image(self, drive: str, path: Path) -> None:
        """Put a picked image in the ``drive``'s field and check it."""
        field = self.query_one(IMAGE_FIELDS[drive], Input)
        field.value = str(path)
        field.cursor_position = len(field.value)
        self.check_image(drive, path)

    def start(self, *, boot: bool) -> None:
        """Ask for the fields' images to be served (and, with ``boot``, booted from)."""
        if self.link is not None:
            self.post_message(self.ServeRequested(self, self.link, self.request(boot=boot)))

    def stop(self) -> None:
        """Ask for the bound host's IDE-R session to end."""
        link = self.link
        if link is not None and link.ider is not None and not link.ider.finished:
            self.post_message(self.StopRequested(self, link))

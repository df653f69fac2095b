"""The "boot from image" pane: boot the host on screen from an image, over HTTPS boot or IDE-R.

What ``amtterm reinstall HOST --image FILE [--method auto|https|ider]`` and ``amtterm ider HOST
--cd ISO [--floppy IMG] [--boot] [--now|--on-reset]`` do, in the side column: two path fields
(completed as you type, or picked in a directory tree with ``…``), "Boot over" (auto: One Click
Recovery HTTPS boot when the machine offers it, else IDE-R; HTTPS boot; IDE-R), when the IDE-R
drives appear (at the next reset, or now), "Boot from it (SOL)" (after a confirmation: for IDE-R
serve, set the one-time IDE-R boot with SOL over WS-Man and reset; for HTTPS boot the flow of
:class:`~amtterm.session.reinstall.ReinstallJob`), "Serve only" (IDE-R) and Stop. While an
HTTPS boot serves, the pane shows the URL, a bar of how much of the image the firmware has
fetched, MB, MB/s and the ETA.
While it serves, the pane shows the phase, a bar of how much of the image the PC has read,
MB served, MB/s, sectors, the ETA of the read in flight and a stall warning; the console keeps
showing the SOL screen, since IDE-R is a second redirection session beside it.

The pane only presents: what the user asks for it posts as a message
(:class:`IderPane.ServeRequested`, :class:`IderPane.BootRequested`, :class:`IderPane.StopRequested`,
:class:`IderPane.BrowseRequested`), and the console screen runs the one IDE-R flow,
:class:`~amtterm.session.ider_job.IderJob` (the same as ``amtterm ider``'s), or the one
boot-from-image flow, :class:`~amtterm.session.reinstall.ReinstallJob` (``amtterm reinstall``'s),
with the pane's dialog as its question. The job is kept on the
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
from amtterm.session import (
    HostController,
    IderJob,
    IderProgress,
    IderRequest,
    ImageProgress,
    ReinstallJob,
    ReinstallRequest,
    Timing,
)
from amtterm.ui.screens.image_picker import PathSuggester
from amtterm.ui.widgets.ordered_input import OrderedInput
from amtterm.ui.widgets.pane_base import Pane, PaneRequest

#: (label, method) of the "Boot over" choices (the methods of ReinstallRequest).
METHOD_CHOICES: tuple[tuple[str, str], ...] = (
    ("auto: HTTPS or IDE-R", "auto"),
    ("HTTPS boot (OCR)", "https"),
    ("IDE-R", "ider"),
)
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
    "checking": "bold yellow",
    "timed out": "bold red",
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


def https_figures(progress: ImageProgress) -> list[str]:
    """The lines under the bar of an HTTPS boot: fetched, rate, ETA."""
    lines = [
        f"{progress.covered / 1e6:.1f} of {progress.size / 1e6:.1f} MB fetched, {progress.mb_per_s:.2f} MB/s",
        f"{progress.requests} request{'s' if progress.requests != 1 else ''}, "
        f"{progress.bytes_sent / 1e6:.1f} MB sent",
    ]
    if progress.eta_seconds is not None:
        lines.append(f"ETA {progress.eta_seconds:.0f} s")
    return lines


def https_phase_line(job: ReinstallJob) -> Text:
    """``● HTTPS boot: serving boot.efi`` and the URL, or the job's state before / after."""
    words = {
        "checking": "checking what the machine offers",
        "serving": "HTTPS boot: serving",
        "ended": "HTTPS boot: the image was fetched",
        "stopped": "HTTPS boot: stopped",
        "timed out": "HTTPS boot: timed out",
        "failed": "failed",
    }
    state = job.state
    line = Text()
    line.append("● ", PHASE_STYLE.get(state, "bold"))
    line.append(words.get(state, state), PHASE_STYLE.get(state, "bold"))
    line.append(f" {job.request.image.name}")
    if job.url is not None and job.active:
        line.append(f"\n{job.url}", "dim")
    return line


class IderPane(Pane):
    """Boot the bound host from an image (HTTPS boot or IDE-R), or serve images over IDE-R."""

    BORDER_TITLE = "Boot from image"

    class ServeRequested(PaneRequest["IderPane"]):
        """Serve ``request``'s images to ``host`` (and, with ``request.boot``, boot from them)."""

        def __init__(self, pane: IderPane, host: HostController, request: IderRequest) -> None:
            super().__init__(pane, host)
            self.request = request

    class BootRequested(PaneRequest["IderPane"]):
        """Boot ``host`` from ``request``'s image (HTTPS boot when offered, else IDE-R)."""

        def __init__(self, pane: IderPane, host: HostController, request: ReinstallRequest) -> None:
            super().__init__(pane, host)
            self.request = request

    class StopRequested(PaneRequest["IderPane"]):
        """End ``host``'s IDE-R session or HTTPS boot."""

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
    IderPane #ider-method { width: 1fr; }
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
        yield Static("Image (.iso or .efi):")
        with Horizontal(classes="path-row"):
            yield OrderedInput(
                placeholder="path; Right completes", id="ider-cd", suggester=PathSuggester(), compact=True
            )
            yield Button("…", id="ider-browse-cd", compact=True, tooltip="choose the ISO in a directory tree")
        yield Static("Floppy image (optional):")
        with Horizontal(classes="path-row"):
            yield OrderedInput(placeholder="path", id="ider-floppy", suggester=PathSuggester(), compact=True)
            yield Button("…", id="ider-browse-floppy", compact=True, tooltip="choose the floppy image")
        yield Static("Boot over:")
        yield Select(
            [(label, method) for label, method in METHOD_CHOICES],
            value="auto",
            allow_blank=False,
            id="ider-method",
            compact=True,
        )
        yield Static("IDE-R drives appear:")
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
        fields = ("#ider-cd", "#ider-floppy", "#ider-browse-cd", "#ider-browse-floppy", "#ider-timing")
        for field in (*fields, "#ider-method"):
            self.query_one(field).disabled = busy

    def show_progress(self) -> None:
        """Repaint phase, bar and figures when they changed."""
        if not self.is_mounted:
            return
        boot = self.link.reinstall if self.link is not None else None
        if boot is not None and boot.method != "ider":
            self._show_https(boot)
            return
        job = self.link.ider if self.link is not None else None
        key = (job, None if job is None else job.state, None if job is None else job.progress)
        if key == self._painted:
            return
        self._painted = key
        self._enable((job is not None and not job.finished) or (boot is not None and boot.active))
        self.query_one("#ider-bar-label", Static).update("read ")
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

    def _show_https(self, job: ReinstallJob) -> None:
        """Phase, bar and figures of a boot-from-image job before IDE-R or over HTTPS."""
        key = (job, job.state, job.progress)
        if key == self._painted:
            return
        self._painted = key
        self._enable(job.active)
        self.query_one("#ider-phase", Static).update(https_phase_line(job))
        progress = job.progress
        bar_row = self.query_one("#ider-bar-row")
        self.query_one("#ider-bar-label", Static).update("fetched ")
        stall = self.query_one("#ider-stall", Static)
        figures_line = self.query_one("#ider-figures", Static)
        if not isinstance(progress, ImageProgress):
            bar_row.display = False
            figures_line.update("")
            stall.update("")
            return
        bar_row.display = True
        share = progress.covered / progress.size if progress.size else 0.0
        self.query_one("#ider-bar", ProgressBar).update(total=100, progress=round(share * 100, 1))
        figures_line.update("\n".join(https_figures(progress)))
        if job.active and progress.requests == 0:
            stall.update(
                "The firmware has fetched nothing yet: it may still be starting, or cannot reach or "
                "trust the server (it then boots normally without an error)."
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
            self.boot()
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

    def boot(self) -> None:
        """Boot from the image: IDE-R's flow for "IDE-R" (or a floppy only), else the reinstall flow."""
        link = self.link
        if link is None:
            return
        method = self.query_one("#ider-method", Select).value
        image = image_path(self.query_one("#ider-cd", Input).value)
        if method == "ider" or image is None:
            self.start(boot=True)
            return
        request = ReinstallRequest(image, method="https" if method == "https" else "auto")
        try:
            request.check()  # before the question: a bad image is one sentence, nothing asked
        except ConfigError as exc:
            self.say(str(exc), error=True)
            return
        self.post_message(self.BootRequested(self, link, request))

    def start(self, *, boot: bool) -> None:
        """Ask for the fields' images to be served (and, with ``boot``, booted from)."""
        if self.link is not None:
            self.post_message(self.ServeRequested(self, self.link, self.request(boot=boot)))

    def stop(self) -> None:
        """Ask for the bound host's IDE-R session to end."""
        link = self.link
        if link is None:
            return
        if (link.ider is not None and not link.ider.finished) or (
            link.reinstall is not None and link.reinstall.active
        ):
            self.post_message(self.StopRequested(self, link))

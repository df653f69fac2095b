"""The IDE-R pane: serve an ISO / floppy image to the host on screen, and boot from it.

What ``amtterm ider HOST --cd ISO [--floppy IMG] [--boot] [--now|--on-reset]`` does, in the
side column: two path fields (completed as you type, or picked in a directory tree with ``…``),
when the drives appear (at the next reset, or now), "Boot from it (SOL)" (serve, set the
one-time IDE-R boot with SOL over WS-Man, reset; after a confirmation), "Serve only" and Stop.
While it serves, the pane shows the phase, a bar of how much of the image the PC has read,
MB served, MB/s, sectors, the ETA of the read in flight and a stall warning; the console keeps
showing the SOL screen, since IDE-R is a second redirection session beside it.

The work is an :class:`~amtterm.session.ider_job.IderJob` kept on the host's
:class:`~amtterm.session.host.HostController`, so it goes on while another host is shown. Every failure
(a bad image, busy on another console, listener disabled, wrong password) is the job's one
sentence in the pane's message line, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, ProgressBar, Select, Static

from amtterm.errors import ConfigError
from amtterm.session.host import HostController
from amtterm.session.ider_job import IderJob, IderRequest, Timing
from amtterm.session.ider_progress import IderProgress
from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.screens.image_picker import ImagePickerScreen, PathSuggester
from amtterm.ui.widgets.pane_base import Pane

#: (label, timing) of the start-timing choices.
TIMING_CHOICES: tuple[tuple[str, Timing], ...] = (("at the next reset", "on-reset"), ("now", "now"))
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
            yield Input(
                placeholder="path; Right completes", id="ider-cd", suggester=PathSuggester(), compact=True
            )
            yield Button("…", id="ider-browse-cd", compact=True, tooltip="choose the ISO in a directory tree")
        yield Static("Floppy image (optional):")
        with Horizontal(classes="path-row"):
            yield Input(placeholder="path", id="ider-floppy", suggester=PathSuggester(), compact=True)
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
        if button.startswith("ider-browse-"):
            self.browse(button.removeprefix("ider-browse-"))
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
        if path is None:
            return
        cd = event.input.id == "ider-cd"
        if self.check(IderRequest(cd=path) if cd else IderRequest(floppy=path)):
            self.say(f"{path} can be served.")

    def browse(self, drive: str) -> None:
        """Pick the ``cd`` or ``floppy`` image in a directory tree."""
        field = self.query_one(f"#ider-{drive}", Input)
        start = image_path(field.value) or image_path(self.query_one("#ider-cd", Input).value)
        what = "CD image (.iso)" if drive == "cd" else "floppy image (.img, .ima)"
        name = f" for {self.link.name}" if self.link is not None else ""

        def picked(path: Path | None) -> None:
            if path is None:
                return
            field.value = str(path)
            field.cursor_position = len(field.value)
            if self.check(IderRequest(cd=path) if drive == "cd" else IderRequest(floppy=path)):
                self.say(f"{path} can be served.")

        self.app.push_screen(ImagePickerScreen(f"Choose the {what}{name}", start), picked)

    def start(self, *, boot: bool) -> None:
        """Check the images, then serve them (for a boot: after a confirmation)."""
        link = self.link
        if link is None:
            return
        if link.ider is not None and not link.ider.finished:
            self.say(f"Already serving {link.ider.request.served}; stop it first.", error=True)
            return
        request = self.request(boot=boot)
        if request.cd is None and request.floppy is None:
            self.say("Give a CD image (ISO) or a floppy image to serve.", error=True)
            return
        if not self.check(request):
            return
        if not boot:
            self.serve(link, request)
            return
        if link.service is None:
            self.say(
                "Booting from the image needs WS-Management, which is not set up for this host.", error=True
            )
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.serve(link, request)

        self.app.push_screen(
            ConfirmScreen(
                f"Boot {link.name} from {request.served}?",
                "The machine restarts at once (or powers on when off) and boots from the image over "
                "IDE-R, its screen on this console: unsaved work on it is lost.",
                "Reset",
            ),
            answered,
        )

    def serve(self, link: HostController, request: IderRequest) -> None:
        """Start the host's IDE-R job in a worker; its sentences come to this pane."""
        service = link.service

        async def check_step(device: str) -> None:
            assert service is not None
            await service.check_boot(device, sol=True, then="reset")  # consent, redirection: before serving

        async def boot_step(device: str) -> str:
            assert service is not None
            if not link.running:
                link.start()  # SOL attached before the reset, so the boot is seen from POST on
            link.mark(f"{device} boot with SOL and reset requested")
            result = await service.boot(device, sol=True, then="reset")
            return result.message

        def said(text: str) -> None:
            self._report(link, text, error=False, notify=False)

        booting = request.boot and service is not None
        job = link.ider_job(
            request,
            check=check_step if booting else None,
            boot=boot_step if booting else None,
            on_message=said,
        )

        async def work() -> str | None:
            link.mark(f"IDE-R: serving {request.served}")
            try:
                await job.run()
            finally:
                link.mark(f"IDE-R: {job.state}")
                self.show_link()
            if job.state == "ended":
                return f"The IDE-R session with {link.name} ended."
            return f"Stopped serving {request.served} to {link.name}." if job.state == "stopped" else None

        self.say(f"Connecting to {link.name} for IDE-R...")
        self.run_request(work, group=f"ider-{link.name}")
        self.show_link()

    def stop(self) -> None:
        """End the bound host's IDE-R session politely."""
        link = self.link
        job = link.ider if link is not None else None
        if job is None or job.finished:
            return
        self.say("Stopping...")
        self.run_worker(job.stop(), group="ider-stop", exit_on_error=False)

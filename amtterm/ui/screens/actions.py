"""DeviceActions: what the console screen does when a pane asks for something.

Widgets post messages; the screen acts (``../shared/ARCHITECTURE.md``). A pane says what the user
pressed and for which host (:class:`~amtterm.ui.widgets.device_panes.PowerPane.ActionRequested`,
``BootPane.BootRequested``, ``BootPane.ConsentRequested``, ``IderPane.ServeRequested``,
``IderPane.BootRequested``, ``IderPane.StopRequested``, ``IderPane.BrowseRequested``); the console
screen hands the message
here, and :class:`DeviceActions`

* asks first where the action cannot be undone (:class:`~amtterm.ui.screens.confirm.ConfirmScreen`:
  power off, reset, cycle, the soft actions, a boot with a reset, an IDE-R boot);
* runs it in a worker of the screen, on the host the message names (the pane's, not a guess);
* reports the result back to the pane that asked (:meth:`~amtterm.ui.widgets.pane_base.Pane.report`:
  its message line while it shows that host, and a notification), a failure as one sentence.

The IDE-R boot runs the one flow of :class:`~amtterm.session.ider_job.IderJob` (what
``amtterm ider --boot`` runs too) with :meth:`DeviceActions.ask` as its question; the boot from an
image runs :class:`~amtterm.session.reinstall.ReinstallJob` (``amtterm reinstall``'s) after it.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from textual.css.query import NoMatches
from textual.screen import Screen

from amtterm.errors import ConfigError
from amtterm.session import HostController, IderJob, IderRequest, Question, ReinstallRequest
from amtterm.ui.screens.confirm import ConfirmScreen
from amtterm.ui.screens.image_picker import ImagePickerScreen
from amtterm.ui.widgets.device_panes import BOOT_CHOICES, BootPane, PowerPane
from amtterm.ui.widgets.ider_pane import IderPane
from amtterm.ui.widgets.pane_base import Pane, PaneRequest, Work, reported
from amtterm.wsman.eventlog import Event
from amtterm.wsman.services import NEEDS_SOL_CLOSED, DeviceService, ServiceError

#: (confirm label, consequences) of the power actions that ask first.
POWER_CONFIRM: dict[str, tuple[str, str]] = {
    "off": ("Power off", "The machine stops at once, like pulling the plug: unsaved work on it is lost."),
    "reset": ("Reset", "The machine restarts at once, without shutting down: unsaved work on it is lost."),
    "cycle": ("Power-cycle", "The machine switches off and on again at once: unsaved work on it is lost."),
    "soft-off": (
        "Shut down",
        "The operating system is asked to shut down, as if its power button was pressed.",
    ),
    "soft-reset": ("Restart", "The operating system is asked to restart."),
}
#: What the image picker looks for, by drive.
PICKED_IMAGES = {"cd": "CD image (.iso)", "floppy": "floppy image (.img, .ima)"}
BOOT_NAMES = {target: label for label, target in BOOT_CHOICES}


class DeviceActions:
    """Asks, acts and reports for the console screen.

    Args:
        screen: the screen whose workers run the actions (the console).
    """

    def __init__(self, screen: Screen[Any]) -> None:
        self.screen = screen

    def handle(self, request: PaneRequest[Any]) -> None:
        """Act on what a pane asked for, on the host it named."""
        if isinstance(request, PowerPane.ActionRequested):
            self.power(request.pane, request.host, request.action)
        elif isinstance(request, BootPane.BootRequested):
            self.boot(request.pane, request.host, request.target, sol=request.sol, then=request.then)
        elif isinstance(request, BootPane.ConsentRequested):
            self.consent(request.pane, request.host, request.code)
        elif isinstance(request, IderPane.ServeRequested):
            self.ider(request.pane, request.host, request.request)
        elif isinstance(request, IderPane.BootRequested):
            self.reinstall(request.pane, request.host, request.request)
        elif isinstance(request, IderPane.StopRequested):
            self.ider_stop(request.pane, request.host)
        elif isinstance(request, IderPane.BrowseRequested):
            self.browse(request.pane, request.host, request.drive, request.start)

    # -- helpers ------------------------------------------------------------------------------

    async def ask(self, question: Question) -> bool:
        """Show ``question`` in a ConfirmScreen; True for yes (Cancel has the focus)."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def answered(yes: bool | None) -> None:
            if not answer.done():
                answer.set_result(bool(yes))

        dialog = ConfirmScreen(question.title, question.text, question.confirm)
        self.screen.app.push_screen(dialog, answered)
        return await answer

    def run(self, pane: Pane, link: HostController, work: Work, *, group: str, notify: bool = True) -> None:
        """Run ``work`` in a worker of the screen; its sentence (or failure) goes to ``pane``."""
        self.screen.run_worker(reported(pane, link, work, notify=notify), group=group, exit_on_error=False)

    # -- power and boot ---------------------------------------------------------------------

    def power(self, pane: PowerPane, link: HostController, action: str) -> None:
        """Run a power action on ``link`` (after a yes when it cannot be undone)."""
        service = link.service
        if service is None:
            return

        async def work() -> str | None:
            if action in POWER_CONFIRM:
                label, consequence = POWER_CONFIRM[action]
                if not await self.ask(Question(f"{label} {link.name}?", consequence, label)):
                    return None
            pane.say(f"Sending {action}...")
            link.mark(f"power {action} requested")  # before: the recording shows what follows it
            try:
                if action in NEEDS_SOL_CLOSED and link.running:
                    # AMT refuses off and cycle while a redirection session is open (ReturnValue 2).
                    async with link.suspended():
                        result = await service.power_action(action)
                    sentence = result.message + " The console reconnects by itself."
                else:
                    result = await service.power_action(action)
                    sentence = result.message
            except ServiceError:
                link.mark(f"power {action} failed")
                raise
            with contextlib.suppress(ServiceError):
                await service.power()
            pane.show_link()
            return sentence

        self.run(pane, link, work, group="power-action")

    def boot(self, pane: BootPane, link: HostController, target: str, *, sol: bool, then: str | None) -> None:
        """Set the one-time boot on ``link``; with ``then``, after a yes, reset (or power on) at once."""
        service = link.service
        if service is None:
            return
        name = BOOT_NAMES[target]

        async def work() -> str | None:
            if then is None:
                pane.say(f"Setting {name} for the next boot...")
            else:
                with_sol = " with its screen on this console" if sol else ""
                question = Question(
                    f"Reset {link.name} into {name}{with_sol}?",
                    "The machine restarts at once (or powers on when off): unsaved work on it is lost.",
                    "Reset",
                )
                if not await self.ask(question):
                    return None
                pane.say(f"Setting {name} and resetting...")
                if not link.running:
                    link.start()  # SOL attached before the reset, so POST is seen from its first line
            marker = f"next boot: {name}{' with SOL' if sol else ''}{f', then {then}' if then else ''}"
            link.mark(f"{marker} requested")
            before = await _events_or_none(service) if then is not None and target != "clear" else None
            try:
                result = await service.boot(target, sol=sol, then=then)
            except ServiceError:
                link.mark(f"{marker} failed")
                raise
            with contextlib.suppress(ServiceError):
                await service.power()
            if before is None:
                return result.message
            # Did it boot that way? The event log says (the Boot pane keeps the last outcome).
            pane.say(f"{result.message} Following the event log...")
            outcome = await service.follow_boot(target, before)
            pane.show_outcome(link, outcome)
            return f"Boot: {outcome.message}."

        self.run(pane, link, work, group="boot")

    def consent(self, pane: BootPane, link: HostController, code: str | None) -> None:
        """Make ``link`` show a consent code (``code`` None), or send the code the user typed."""
        service = link.service
        if service is None:
            return

        async def work() -> str:
            status = await (service.consent_request() if code is None else service.consent_code(code))
            if pane.link is link:
                pane.show_consent(status)
            kvm = getattr(self.screen, "kvm", None)
            if code is not None and status.granted and kvm is not None:
                kvm.consent_granted(link)  # a KVM view waiting for the code connects now
            return status.message or f"Consent: {status.state}."

        self.run(pane, link, work, group="boot-consent")

    # -- IDE-R ------------------------------------------------------------------------------

    def ider(self, pane: IderPane, link: HostController, request: IderRequest) -> None:
        """Serve (and maybe boot from) ``request``'s images: the IDE-R flow, shown in ``pane``."""

        def said(text: str) -> None:
            pane.report(link, text, error=False, notify=False)

        def state_changed(state: str) -> None:
            if state == "connecting":
                said(f"Connecting to {link.name} for IDE-R...")
            pane.show_link()

        if link.reinstall is not None and not link.reinstall.active:
            link.reinstall = None  # the pane paints this IDE-R job, not an earlier boot's
        try:
            job = link.ider_job(request, confirm=self.ask, on_state=state_changed, on_message=said)
        except ConfigError as exc:  # busy, no image, a bad image, no WS-Man: nothing was asked
            pane.report(link, str(exc), error=True, notify=False)
            return

        async def work() -> str | None:
            await job.run()
            if job.state == "ended":
                return f"The IDE-R session with {link.name} ended."
            return f"Stopped serving {request.served} to {link.name}." if job.state == "stopped" else None

        self.run(pane, link, work, group=f"ider-{link.name}")

    def ider_stop(self, pane: IderPane, link: HostController) -> None:
        """End ``link``'s boot from an image (and its clean-up) or IDE-R session politely."""
        boot = link.reinstall
        if boot is not None and boot.active:
            pane.report(link, "Stopping and cleaning up...", error=False, notify=False)
            self.screen.run_worker(boot.stop(), group="ider-stop", exit_on_error=False)
            return
        job = link.ider
        if job is None or job.finished:
            return
        pane.report(link, "Stopping...", error=False, notify=False)
        self.screen.run_worker(job.stop(), group="ider-stop", exit_on_error=False)

    def reinstall(self, pane: IderPane, link: HostController, request: ReinstallRequest) -> None:
        """Boot ``link`` from ``request``'s image after a yes: HTTPS boot when offered, else IDE-R."""

        def said(text: str) -> None:
            pane.report(link, text, error=False, notify=False)

        def ider_state(state: str) -> None:
            if state == "connecting":
                said(f"Connecting to {link.name} for IDE-R...")
            pane.show_link()

        def make_ider(ider_request: IderRequest) -> IderJob:
            return link.ider_job(ider_request, on_state=ider_state, on_message=said)

        try:
            job = link.reinstall_job(
                request, ider=make_ider, on_state=lambda _: pane.show_link(), on_message=said
            )
        except ConfigError as exc:  # busy, a bad image: nothing was asked
            pane.report(link, str(exc), error=True, notify=False)
            return
        question = Question(
            f"Boot {link.name} from {request.image}?",
            "The machine restarts at once (or powers on when off) and boots from the image, over "
            "HTTPS boot when it offers it (else IDE-R), its screen on this console: unsaved work on "
            "it is lost.",
            "Reset",
        )

        async def work() -> str | None:
            if not await self.ask(question):
                return None
            try:
                await job.run()
            finally:
                if job.outcome is not None:  # what the event log told: the Boot pane keeps it
                    with contextlib.suppress(NoMatches):
                        self.screen.query_one(BootPane).show_outcome(link, job.outcome)
            if job.method == "ider":
                ider = job.ider_job
                stopped = ider is not None and ider.state == "stopped"
                return f"Stopped serving {request.image} to {link.name}." if stopped else None
            return {
                "ended": f"{link.name} has fetched the image and boots it; its boot settings are cleaned up.",
                "stopped": f"Stopped the HTTPS boot of {link.name} and cleaned up.",
            }.get(job.state)

        self.run(pane, link, work, group=f"ider-{link.name}")

    def browse(self, pane: IderPane, link: HostController, drive: str, start: Path | None) -> None:
        """Pick the ``drive``'s image in a directory tree; the pane's field gets it."""

        def picked(path: Path | None) -> None:
            if path is not None:
                pane.use_image(drive, path)

        title = f"Choose the {PICKED_IMAGES[drive]} for {link.name}"
        self.screen.app.push_screen(ImagePickerScreen(title, start), picked)


async def _events_or_none(service: DeviceService) -> list[Event] | None:
    """The event log before a boot, or None when this device does not give it (no follow-up then)."""
    try:
        return await service.events()
    except ServiceError:
        return None

"""The side panes: Power, Boot, Info (and IDE-R, in ider_pane.py), for the host the console shows.

Each pane is bound to one :class:`~amtterm.session.host.HostController` at a time (:meth:`Pane.bind`,
called on every host switch). The panes read in Textual workers through the host's
:class:`~amtterm.wsman.services.DeviceService` (power state, consent state, device facts); what the
user asks for they post as a message (:class:`PowerPane.ActionRequested`,
:class:`BootPane.BootRequested`, :class:`BootPane.ConsentRequested`), and the console screen
decides: it asks first where the action cannot be undone, runs it and reports the result back to
the pane (``amtterm.ui.screens.actions``). A failure is the service's one sentence, shown in the
pane's message line and as a notification, never a traceback.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import AwaitMount
from textual.widgets import Button, Checkbox, Input, Select, Static

from amtterm.session import HostController, SessionState
from amtterm.ui.widgets.ider_pane import IderPane
from amtterm.ui.widgets.pane_base import Pane, PaneRequest
from amtterm.wsman.bootwatch import BootOutcome
from amtterm.wsman.inventory import MachineInfo
from amtterm.wsman.results import ConsentStatus, DeviceInfo

#: (label, target) of the boot pane's choices, in the order shown.
BOOT_CHOICES: tuple[tuple[str, str], ...] = (
    ("BIOS setup", "bios"),
    ("BIOS pause", "bios-pause"),
    ("PXE network", "pxe"),
    ("Hard disk", "disk"),
    ("CD/DVD drive", "cd"),
    ("Clear override", "clear"),
)
#: Boot targets that can carry BIOS text on SOL.
SOL_TARGETS = frozenset({"bios", "bios-pause"})

#: The Power pane's buttons and their actions.
POWER_BUTTONS: dict[str, str] = {
    "power-on": "on",
    "power-off": "off",
    "power-reset": "reset",
    "power-cycle": "cycle",
    "power-soft-off": "soft-off",
    "power-soft-reset": "soft-reset",
}
STATE_STYLE: dict[str, str] = {"on": "bold green", "off": "bold red"}


def power_word(link: HostController) -> str:
    """``on``, ``off``, ``sleep`` ... or ``?``: the freshest of the SOL bit and WS-Man's answer."""
    service = link.service
    sol = link.status.power_on
    if service is not None and service.last_power is not None:
        return service.last_power.state if sol is None else ("on" if sol else "off")
    if sol is None:
        return "?"
    return "on" if sol else "off"


class PowerPane(Pane):
    """The power state (live from SOL, polled over WS-Man) and On / Off / Reset / Cycle."""

    BORDER_TITLE = "Power"

    class ActionRequested(PaneRequest["PowerPane"]):
        """The user asked for ``action`` on ``host``: ``on``, ``off``, ``reset``, ``cycle``,
        ``soft-off`` or ``soft-reset``."""

        def __init__(self, pane: PowerPane, host: HostController, action: str) -> None:
            super().__init__(pane, host)
            self.action = action

    def compose(self) -> ComposeResult:
        """State line, buttons, message."""
        yield Static(id="power-state")
        with Horizontal(classes="buttons"):
            yield Button("On", id="power-on", variant="success", compact=True)
            yield Button("Off", id="power-off", variant="error", compact=True)
            yield Button("Reset", id="power-reset", variant="warning", compact=True)
            yield Button("Cycle", id="power-cycle", variant="warning", compact=True)
        with Horizontal(classes="buttons", id="power-soft"):
            yield Button("Shut down", id="power-soft-off", compact=True)
            yield Button("Restart", id="power-soft-reset", compact=True)
        yield Static(classes="message")

    def on_mount(self) -> None:
        """Soft actions appear only when the device offers them."""
        self.query_one("#power-soft").display = False
        self.show_link()

    def show_link(self) -> None:
        """State and button availability from the SOL bit and the last WS-Man answer."""
        if not self.is_mounted:
            return
        link = self.link
        state = Text()
        if link is None or link.service is None:
            state.append("Power control needs WS-Management, which is not set up for this host.", "dim")
            self.query_one("#power-state", Static).update(state)
            self._enable(set())
            return
        word = power_word(link)
        state.append("● ", STATE_STYLE.get(word, "bold yellow"))
        state.append(word, STATE_STYLE.get(word, "bold"))
        last = link.service.last_power
        if last is not None:
            actions = set(last.actions)
        else:
            actions = {"on"} if word == "off" else {"off", "reset", "cycle"} if word == "on" else set()
        self.query_one("#power-state", Static).update(state)
        self.query_one("#power-soft").display = bool(actions & {"soft-off", "soft-reset"})
        self._enable(actions)

    def _enable(self, actions: set[str]) -> None:
        for button, action in POWER_BUTTONS.items():
            self.query_one(f"#{button}", Button).disabled = action not in actions

    def refresh_power(self, *, notify: bool = False) -> None:
        """Ask the device for its power state (in a worker)."""
        link = self.link
        if link is None or link.service is None:
            return
        service = link.service

        async def work() -> str | None:
            await service.power()
            self.show_link()
            return None

        self.run_request(work, group="power-poll", exclusive=True, notify=notify)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Ask for the button's action."""
        event.stop()
        action = POWER_BUTTONS.get(event.button.id or "")
        if action is not None:
            self.request(action)

    def request(self, action: str) -> None:
        """Ask for a power action on the bound host (the screen confirms the destructive ones)."""
        link = self.link
        if link is not None and link.service is not None:
            self.post_message(self.ActionRequested(self, link, action))


class BootPane(Pane):
    """The one-time boot override, and "reset into BIOS setup with SOL" in one action."""

    BORDER_TITLE = "Boot"

    class BootRequested(PaneRequest["BootPane"]):
        """The user asked for the one-time boot ``target`` on ``host`` (with SOL when ``sol``),
        then, with ``then`` (``reset``), a reset (or power-on) at once."""

        def __init__(
            self, pane: BootPane, host: HostController, target: str, *, sol: bool, then: str | None
        ) -> None:
            super().__init__(pane, host)
            self.target = target
            self.sol = sol
            self.then = then

    class ConsentRequested(PaneRequest["BootPane"]):
        """A user-consent step on ``host``: show a code (``code`` None), or send the code typed."""

        def __init__(self, pane: BootPane, host: HostController, code: str | None) -> None:
            super().__init__(pane, host)
            self.code = code

    def compose(self) -> ComposeResult:
        """Target, SOL switch, the buttons, the consent row, message."""
        yield Button("Reset into BIOS setup (SOL)", id="boot-bios-now", variant="primary", compact=True)
        yield Static("Next boot only:", classes="label")
        yield Select(
            [(label, target) for label, target in BOOT_CHOICES],
            value="bios",
            allow_blank=False,
            id="boot-target",
            compact=True,
        )
        yield Checkbox("BIOS text on SOL", value=True, id="boot-sol", compact=True)
        with Horizontal(classes="buttons"):
            yield Button("Set", id="boot-set", compact=True)
            yield Button("Set + reset", id="boot-set-reset", variant="warning", compact=True)
        yield Static(id="boot-outcome")
        with Vertical(id="boot-consent"):
            yield Static("User consent is needed for boot changes (client control mode).")
            with Horizontal(classes="buttons"):
                yield Button("Show code", id="consent-request", compact=True)
                yield Input(placeholder="6-digit code", id="consent-code", max_length=6, restrict=r"\d*")
        yield Static(classes="message")

    DEFAULT_CSS = """
    BootPane #boot-target { width: 1fr; margin: 0 0 0 0; }
    BootPane #boot-bios-now { width: 1fr; margin-bottom: 1; }
    BootPane #boot-consent { height: auto; display: none; }
    BootPane #boot-outcome { height: auto; }
    BootPane #boot-consent.needed { display: block; }
    BootPane #consent-code { width: 14; height: 1; border: none; padding: 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._consent_checked: set[str] = set()
        self._outcomes: dict[str, tuple[float, BootOutcome]] = {}

    def on_mount(self) -> None:
        """Start without the consent row."""
        self.show_link()

    def bind(self, link: HostController | None) -> None:
        """Show ``link``; ask once whether its boot changes need user consent."""
        super().bind(link)
        if self.is_mounted:
            self.query_one("#boot-consent").set_class(False, "needed")
        if link is not None and link.service is not None and link.name not in self._consent_checked:
            self._consent_checked.add(link.name)
            self.check_consent()

    def show_link(self) -> None:
        """Enable the buttons when the host has WS-Man."""
        if not self.is_mounted:
            return
        usable = self.link is not None and self.link.service is not None
        for button in self.query(Button).results():
            button.disabled = not usable
        if not usable:
            self.say("Boot control needs WS-Management, which is not set up for this host.")
        self.query_one("#boot-outcome", Static).update(self.outcome_text())

    def show_outcome(self, link: HostController, outcome: BootOutcome) -> None:
        """Keep what the last boot on ``link`` did (from the event log) and show it."""
        self._outcomes[link.name] = (time.time(), outcome)
        self.show_link()

    def outcome_text(self) -> Text:
        """``Last boot (12:03:41): entered BIOS setup`` for the bound host, or nothing."""
        last = self._outcomes.get(self.link.name) if self.link is not None else None
        if last is None:
            return Text()
        when, outcome = last
        style = "green" if outcome.happened else "bold red"
        text = Text(f"Last boot ({time.strftime('%H:%M:%S', time.localtime(when))}): ", style="bold")
        text.append(outcome.message, style=style)
        return text

    def check_consent(self) -> None:
        """Ask whether consent is needed (shows the consent row when it is)."""
        link = self.link
        if link is None or link.service is None:
            return
        service = link.service

        async def work() -> str | None:
            status = await service.consent()
            self.show_consent(status)
            return None

        self.run_request(work, group="boot-consent", exclusive=True, notify=False)

    def need_consent(self) -> None:
        """Show the consent row: a session (KVM) was refused until the user consents."""
        if self.is_mounted:
            self.query_one("#boot-consent").set_class(True, "needed")

    def show_consent(self, status: ConsentStatus) -> None:
        """Show or hide the consent row (after a check, or a consent step the screen ran)."""
        if status.needed_for_boot:
            self._consent_checked.discard(self.link.name if self.link else "")  # ask again next time
        self.query_one("#boot-consent").set_class(status.needed_for_boot, "needed")

    def on_select_changed(self, event: Select.Changed) -> None:
        """SOL goes only with BIOS targets."""
        self.query_one("#boot-sol", Checkbox).disabled = event.value not in SOL_TARGETS

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Set, Set + reset, the one-step BIOS reset, or a consent step."""
        event.stop()
        button = event.button.id
        if button == "boot-bios-now":
            self.reset_into_bios()
        elif button in ("boot-set", "boot-set-reset"):
            target = str(self.query_one("#boot-target", Select).value)
            sol = target in SOL_TARGETS and self.query_one("#boot-sol", Checkbox).value
            self.set_boot(target, sol=sol, then="reset" if button == "boot-set-reset" else None)
        elif button == "consent-request":
            self._consent(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """The consent code was typed."""
        self._consent(event.value)
        event.input.value = ""

    def reset_into_bios(self) -> None:
        """Ask for BIOS setup with SOL for the next boot and a reset (or power-on) at once."""
        self.set_boot("bios", sol=True, then="reset")

    def set_boot(self, target: str, *, sol: bool, then: str | None) -> None:
        """Ask for the boot override; with ``then``, a reset (or power-on) right away."""
        link = self.link
        if link is not None and link.service is not None:
            self.post_message(self.BootRequested(self, link, target, sol=sol, then=then))

    def _consent(self, code: str | None) -> None:
        link = self.link
        if link is not None and link.service is not None:
            self.post_message(self.ConsentRequested(self, link, code))


class InfoPane(Pane):
    """Session and device facts: AMT version, TLS fingerprint, SOL state, latency, consent, and
    what the machine is (SKU, features, BIOS, model)."""

    BORDER_TITLE = "Info"
    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._info: dict[str, DeviceInfo] = {}
        self._machine: dict[str, MachineInfo] = {}
        self._consent: dict[str, ConsentStatus] = {}
        self._fetched_at: dict[str, float] = {}

    def compose(self) -> ComposeResult:
        """The facts and a refresh button."""
        yield Static(id="info-facts")
        with Horizontal(classes="buttons"):
            yield Button("Refresh", id="info-refresh", compact=True)
        yield Static(classes="message")

    def on_mount(self) -> None:
        """Keep the live facts (state, latency) current."""
        self.set_interval(1.0, self.show_link)
        self.show_link()

    def bind(self, link: HostController | None) -> None:
        """Show ``link``; fetch its device facts once."""
        super().bind(link)
        if link is not None and link.name not in self._fetched_at:
            self.fetch()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Refresh."""
        event.stop()
        self.fetch()

    def fetch(self) -> None:
        """Ask the device (WS-Man) for its identity, redirection and consent state."""
        link = self.link
        if link is None or link.service is None:
            return
        service = link.service
        self._fetched_at[link.name] = time.monotonic()

        async def work() -> str | None:
            self._info[link.name] = await service.info()
            self._consent[link.name] = await service.consent()
            self.show_link()
            self._machine[link.name] = await service.machine()
            self.show_link()
            return None

        self.run_request(work, group="info", exclusive=True, notify=False)

    def facts(self) -> list[tuple[str, str]]:
        """(label, value) rows for the bound host."""
        link = self.link
        if link is None:
            return []
        profile = link.profile
        status = link.status
        rows: list[tuple[str, str]] = [("Host", f"{link.name} {profile.target}")]
        info = self._info.get(link.name)
        if info is not None:
            rows.append(("AMT", f"{info.amt_version or '?'}, {info.control_mode} mode"))
        elif status.firmware_version is not None:
            major, minor = status.firmware_version
            rows.append(("AMT", f"{major}.{minor}"))
        machine = self._machine.get(link.name)
        if machine is not None:
            rows += [
                ("SKU", machine.sku or "unknown"),
                ("Features", machine.features),
                ("BIOS", machine.bios or "unknown"),
                ("Machine", machine.machine or "unknown"),
            ]
        rows.append(("SOL", f"{status.state.value}, {'TLS' if profile.tls else 'plain TCP'}"))
        if link.fingerprint:
            rows.append(("TLS", link.fingerprint))
        if info is not None:
            redirection = info.redirection
            rows.append(
                (
                    "Redirect",
                    f"listener {_on(redirection.listener)}, SOL {_on(redirection.sol)}, "
                    f"IDE-R {_on(redirection.ider)}",
                )
            )
        latency = []
        if link.echo_latency is not None:
            latency.append(f"echo {link.echo_latency * 1000:.0f} ms")
        if link.service is not None and link.service.round_trip is not None:
            latency.append(f"WS-Man {link.service.round_trip * 1000:.0f} ms")
        rows.append(("Latency", ", ".join(latency) or "not measured yet"))
        consent = self._consent.get(link.name)
        if consent is not None:
            rows.append(("Consent", _consent_text(consent)))
        if link.service is None:
            rows.append(("WS-Man", "not set up for this host"))
        return rows

    def show_link(self) -> None:
        """Repaint the facts."""
        if not self.is_mounted or not self.display:
            return
        table = Table.grid(padding=(0, 1, 0, 0))
        table.add_column("label", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        for label, value in self.facts():
            table.add_row(label, value)
        self.query_one("#info-facts", Static).update(table)
        self.query_one("#info-refresh", Button).disabled = self.link is None or self.link.service is None

    def knows(self, name: str) -> bool:
        """Whether device facts were fetched for ``name``."""
        return name in self._info


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def _consent_text(consent: ConsentStatus) -> str:
    if consent.required == "none":
        return "not required"
    return f"required ({consent.required}), {'given' if consent.granted else consent.state}"


class SidePanes(VerticalScroll):
    """The column of panes on the right; Esc gives the keyboard back to the console.

    It starts empty: the panes are made by :meth:`build` (the console screen calls it once the
    remote's first screen is drawn, so that the console comes first).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "back to the console", show=False),
        Binding("left", "neighbour(-1)", "previous button", show=False),
        Binding("right", "neighbour(1)", "next button", show=False),
    ]

    class Leave(Message):
        """Esc in the panes: the console should take the keyboard back."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._mounting: AwaitMount | None = None
        #: Whether the panes have been mounted (:meth:`build` done).
        self.built = False

    async def build(self, link: HostController | None) -> bool:
        """Mount Power, Boot, Info and IDE-R (once), showing ``link``; True when this call made them."""
        if self._mounting is not None:
            await self._mounting
            return False
        panes = [PowerPane(id="power-pane"), BootPane(id="boot-pane"), InfoPane(id="info-pane")]
        self._mounting = self.mount(*panes, IderPane(id="ider-pane"))
        await self._mounting
        self.built = True
        self.bind(link)
        return True

    def bind(self, link: HostController | None) -> None:
        """Show ``link`` in every pane."""
        for pane in self.query(Pane).results():
            pane.bind(link)

    def show_link(self) -> None:
        """Repaint every pane from local state."""
        for pane in self.query(Pane).results():
            pane.show_link()

    def focus_first(self, selector: str | None = None) -> bool:
        """Put the keyboard on the first enabled control of the panes (matching ``selector``)."""
        for widget in self.query(selector or "Button, Select, Checkbox, Input").results():
            if widget.focusable:
                widget.focus()
                widget.scroll_visible(animate=False)
                return True
        return False

    def action_neighbour(self, step: int) -> None:
        """Left / Right on a button: the previous / next button of the same pane."""
        focused = self.screen.focused
        if not isinstance(focused, Button):
            return
        pane = next((node for node in focused.ancestors if isinstance(node, Pane)), None)
        if pane is None:
            return
        buttons = [button for button in pane.query(Button).results() if button.focusable]
        if focused in buttons and len(buttons) > 1:
            buttons[(buttons.index(focused) + step) % len(buttons)].focus()

    def action_leave(self) -> None:
        """Focus the console again."""
        self.post_message(self.Leave())


def session_state_style(state: SessionState) -> str:
    """The colour of a session state in the status line and the host list."""
    return {
        SessionState.CONNECTED: "green",
        SessionState.CONNECTING: "yellow",
        SessionState.RECONNECTING: "yellow",
        SessionState.FAILED: "red",
    }.get(state, "dim")

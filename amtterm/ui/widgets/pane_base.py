"""Pane: the titled box of the side column, bound to one host at a time.

Each pane is bound to one :class:`~amtterm.session.host.HostController` at a time (:meth:`Pane.bind`,
called on every host switch). A pane shows and reads (power state, consent state, device facts,
in Textual workers: :meth:`Pane.run_request`); what the user asks it to do it posts as a message,
and the console screen acts (``amtterm.ui.screens.actions``) and reports back with
:meth:`Pane.report`. Either way a result or a failure is one sentence in the pane's message
line (and a notification), never a traceback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from amtterm.errors import TlsUnknownCertificate
from amtterm.session import HostController
from amtterm.wsman.services import describe_error

PaneT = TypeVar("PaneT", bound="Pane")
#: A request: returns the sentence to show (None: nothing to say) or raises.
Work = Callable[[], Awaitable[str | None]]


class PaneRequest(Message, Generic[PaneT]):
    """Something the user asked a pane to do to ``host``: the console screen decides and acts.

    Attributes:
        pane: the pane that asked (the screen reports the result to it).
        host: the host the pane showed when the user asked.
    """

    def __init__(self, pane: PaneT, host: HostController) -> None:
        super().__init__()
        self.pane = pane
        self.host = host

    @property
    def control(self) -> PaneT:
        """The pane that asked."""
        return self.pane


class Pane(Vertical):
    """A titled box in the side column, bound to the host on show."""

    DEFAULT_CSS = """
    Pane {
        height: auto;
        border: round $primary 50%;
        border-title-color: $text;
        border-title-style: bold;
        padding: 0 1;
        margin-bottom: 1;
    }
    Pane .buttons { height: auto; }
    Pane .buttons Button { margin: 0 1 0 0; min-width: 0; }
    Pane .message { color: $text-muted; height: auto; }
    Pane .message.error { color: $error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.link: HostController | None = None

    def bind(self, link: HostController | None) -> None:
        """Show ``link``'s host from now on."""
        self.link = link
        self.show_link()

    def show_link(self) -> None:
        """Repaint from what is known locally (no request)."""

    #: Whether the message line shows a failure (a later success clears it).
    showing_error = False

    def say(self, text: str, *, error: bool = False) -> None:
        """Put one sentence in the pane's message line."""
        self.showing_error = error
        for message in self.query(".message").results(Static):
            message.update(text)
            message.set_class(error, "error")

    def clear_error(self) -> None:
        """A request went through: a failure still shown is stale, so it goes."""
        if self.showing_error:
            self.say("")

    def run_request(
        self,
        work: Work,
        *,
        group: str,
        exclusive: bool = False,
        notify: bool = True,
    ) -> None:
        """Run a WS-Man request in a worker: its sentence, or its failure's, goes to the pane.

        Nothing is asked of a host that was closed for good (the app is ending): its client would
        open a connection that nothing closes.
        """
        if self.link is not None and self.link.closed:
            return
        self.run_worker(
            reported(self, self.link, work, notify=notify),
            group=group,
            exclusive=exclusive,
            exit_on_error=False,
        )

    def report(self, link: HostController | None, sentence: str, *, error: bool, notify: bool) -> None:
        """``sentence`` about ``link``: in the message line while the pane shows that host; with
        ``notify``, also as a notification (named after the host)."""
        if link is self.link:
            self.say(sentence, error=error)
        if notify and self.is_attached:
            name = f"{link.name}: " if link is not None else ""
            self.app.notify(name + sentence, severity="error" if error else "information", timeout=8)


async def reported(pane: Pane, link: HostController | None, work: Work, *, notify: bool = True) -> None:
    """Await ``work``; its sentence, or its failure's, goes to ``pane`` (:meth:`Pane.report`)."""
    try:
        sentence = await work()
    except Exception as exc:
        if _unknown_certificate(exc) and _trust_question_open(pane):
            # The certificate dialog is open: not a refusal yet, and no second question.
            pane.report(
                link, "Waiting for your answer about the device's certificate.", error=False, notify=False
            )
            if link is pane.link:
                pane.showing_error = True  # not a result: the next success clears it
            return
        _report_failure(pane, link, exc, notify=notify)
    else:
        if sentence:
            pane.report(link, sentence, error=False, notify=notify)
        elif link is pane.link:
            pane.clear_error()


def _unknown_certificate(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, TlsUnknownCertificate):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _trust_question_open(pane: Pane) -> bool:
    trust = getattr(pane.app, "trust", None) if pane.is_attached else None
    waiting = getattr(trust, "waiting", None)
    return bool(waiting()) if callable(waiting) else False


def _report_failure(pane: Pane, link: HostController | None, exc: Exception, *, notify: bool) -> None:
    # describe_error: an AmtError's (a ServiceError's) own sentence; never a traceback.
    pane.report(link, describe_error(exc), error=True, notify=notify)

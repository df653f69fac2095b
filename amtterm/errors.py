"""Every error amtterm shows a user, as one tree with one root.

A user sees ``str(error)``: one sentence that says what failed and what to do.
The CLI prints it and exits non-zero; ``--debug`` adds the traceback.

::

    AmtError                          root; exit status 1 unless a subclass says otherwise
    +-- ConfigError                   hosts file, options, missing password, unreadable files
    +-- ConnectError                  TCP: refused, unreachable, timed out (listener disabled?)
    |   +-- JumpError                 an SSH jump host: unreachable, closed the connection
    |       +-- JumpAuthError         the jump host accepted none of our SSH keys (names host and user)
    |       +-- JumpHostKeyError      the jump host's key changed, or is unknown and may not be trusted
    |       +-- JumpForwardError      the jump host could not reach the next hop or the AMT device
    +-- TlsError                      handshake failed, protocol version refused
    |   +-- TlsPinMismatch            the device certificate differs from the pinned one
    |   +-- TlsUnknownCertificate     no pin yet and no way to ask (not a terminal, no --accept-new)
    +-- SessionError                  the device answered, but the session could not go on
    |   +-- SessionRefused            StartRedirectionSession status != 0 (unsupported, error)
    |   |   +-- SessionBusy           another console holds the SOL / IDE-R session
    |   +-- AuthError                 wrong user or password, or method not offered by the device
    |   +-- SessionTimeout            the device stopped answering (no heartbeat, no data)
    |   +-- SessionClosed             the device closed the connection
    +-- ProtocolError                 bytes on the wire broke the rules (sans-IO codec, redir/)
    |   +-- RemoteProtocolError       ... and the other side sent them (malformed, truncated, unknown)
    |   +-- LocalProtocolError        ... and our own caller asked for something invalid now
    +-- ExpectTimeout                 amtterm expect: the awaited text did not appear in time
    +-- WsmanError                    WS-Management (wsman/): the device answered, but not as asked
        +-- WsmanFault                a SOAP fault; ``fault`` holds subcode, reason and detail
        |   +-- WsmanAccessDenied     wsman:AccessDenied (user consent missing, or no rights)
        |   +-- WsmanNotSupported     wsa:DestinationUnreachable: the class is absent on this device
        +-- WsmanReturnValueError     a method answered ReturnValue != 0 (extrinsic failure)
        +-- WsmanRefused              refused before asking: the device's state rules it out
        +-- WsmanTimeout              connected and asked, but no reply in time (maybe applied)
        +-- WsmanMalformedReply       not XML, truncated, or not the envelope that was expected
"""

from __future__ import annotations

import re

#: Fix-it commands in sentences from layers that do not know what the user calls the host
#: ("run 'amtterm redirection HOST enable'") say HOST; whoever knows the name puts it in.
_HOST_WORD = re.compile(r"\bHOST\b")


def name_host(text: str, host: str | None) -> str:
    """``text`` with every HOST placeholder replaced by ``host`` (unchanged when None)."""
    if not host:
        return text
    return _HOST_WORD.sub(lambda _: host, text)


class AmtError(Exception):
    """Root of every error amtterm reports to a user.

    Attributes:
        exit_status: the process exit status the CLI uses for this error.
    """

    exit_status: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def naming(self, host: str | None) -> AmtError:
        """Put ``host`` into the fix-it commands of the message (see :func:`name_host`); returns self."""
        self.message = name_host(self.message, host)
        self.args = (self.message,)
        return self


class ConfigError(AmtError):
    """A configuration, option or local file problem."""

    exit_status = 2


class ConnectError(AmtError):
    """The TCP connection could not be opened or was lost while opening."""


class JumpError(ConnectError):
    """An SSH jump host could not be used: unreachable, or it closed the connection."""


class JumpAuthError(JumpError):
    """SSH authentication on a jump host failed."""


class JumpHostKeyError(JumpError):
    """A jump host's SSH key changed, or is unknown and the SSH config says not to trust it."""


class JumpForwardError(JumpError):
    """The jump host refused or failed to open the TCP connection onwards (next hop or device)."""


class TlsError(AmtError):
    """The TLS handshake failed."""


class TlsPinMismatch(TlsError):
    """The device presented a certificate other than the one pinned for it.

    Attributes:
        host: the address dialled; port: the port dialled.
        pinned: the expected fingerprint; presented: the one the device showed.
        in_known_hosts: the pin is known_hosts' (False: a hosts-file ``tls_pin``).
    """

    def __init__(
        self,
        message: str,
        *,
        host: str = "",
        port: int = 0,
        pinned: str = "",
        presented: str = "",
        in_known_hosts: bool = True,
    ) -> None:
        super().__init__(message)
        self.host, self.port = host, port
        self.pinned, self.presented = pinned, presented
        self.in_known_hosts = in_known_hosts


class TlsUnknownCertificate(TlsError):
    """The device's certificate is not pinned yet and nobody could be asked."""


class SessionError(AmtError):
    """The device answered but the session cannot continue."""


class SessionRefused(SessionError):
    """The device refused to start the redirection session."""


class SessionBusy(SessionRefused):
    """Another console already holds the session on this device."""


class AuthError(SessionError):
    """Authentication failed."""


class SessionTimeout(SessionError):
    """The device stopped answering."""


class SessionClosed(SessionError):
    """The device closed the connection."""


class ProtocolError(AmtError):
    """The redirection protocol's rules were broken."""


class RemoteProtocolError(ProtocolError):
    """The other side sent bytes that break the protocol."""


class LocalProtocolError(ProtocolError):
    """Our own code asked the codec for something invalid in its current state."""


class ExpectTimeout(AmtError):
    """Text awaited on a console (``amtterm expect``, :mod:`amtterm.expect`) did not appear in time.

    ``str()`` is the sentence followed by the last lines of the screen; the CLI shows
    :attr:`sentence` alone.

    Attributes:
        sentence: one sentence: what was awaited, on which host, for how long.
        screen: the remote screen's rows when the time ran out.
    """

    exit_status = 3

    def __init__(self, sentence: str, screen: list[str]) -> None:
        shown = [row.rstrip() for row in screen]
        while shown and not shown[-1]:
            shown.pop()
        tail = shown[-8:]
        body = "\n".join(f"  | {row}" for row in tail) if tail else "  | (the screen is blank)"
        super().__init__(f"{sentence}\nThe screen's last lines:\n{body}")
        self.sentence = sentence
        self.screen = list(screen)


class WsmanError(AmtError):
    """A WS-Management exchange did not give the answer that was asked for."""


class WsmanFault(WsmanError):
    """The device answered with a SOAP fault.

    Attributes:
        fault: the parsed fault (subcode, reason text, detail); an
            ``amtterm.wsman.parse.Fault``, typed loosely here to keep this module import-free.
    """

    def __init__(self, message: str, fault: object) -> None:
        super().__init__(message)
        self.fault = fault


class WsmanAccessDenied(WsmanFault):
    """The device denied access (wsman:AccessDenied), e.g. user consent is missing."""


class WsmanNotSupported(WsmanFault):
    """The class or instance does not exist on this device (wsa:DestinationUnreachable)."""


class WsmanReturnValueError(WsmanError):
    """A WS-Man method answered with a non-zero ReturnValue.

    Attributes:
        method: the method name, e.g. ``RequestPowerStateChange``.
        return_value: the ReturnValue the device sent.
    """

    def __init__(self, message: str, method: str, return_value: int) -> None:
        super().__init__(message)
        self.method = method
        self.return_value = return_value


class WsmanRefused(WsmanError):
    """The operation was not sent because the device's current state rules it out."""


class WsmanTimeout(WsmanError):
    """The device took the request but did not reply in time; the change may have happened."""


class WsmanMalformedReply(WsmanError):
    """The device's reply was not XML, was truncated, or was not the expected envelope."""

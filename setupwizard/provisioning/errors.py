"""The engine's error tree. Messages are for people; none may contain a secret."""

from __future__ import annotations

from setupwizard.provisioning.messages import Msg, msg, text_msg


class ProvisioningError(Exception):
    """Base of every error the engine raises on purpose. ``code`` is stable for APIs and tests.

    Raised with a :class:`Msg`, ``str(error)`` is its Chinese text and :attr:`msg` the catalogued
    message (for English); raised with a plain string, :attr:`msg` shows that string as it is.
    """

    code = "provisioning_error"

    def __init__(self, message: str | Msg = "") -> None:
        super().__init__(str(message))
        self.msg = message if isinstance(message, Msg) else text_msg(str(message))


class InvalidInputError(ProvisioningError):
    """A value was rejected before anything ran. ``field`` names it.

    ``reason`` is the Chinese text (the 422 answer's ``detail``); given as a :class:`Msg`, :attr:`said` is
    the catalogued reason (the answer's ``message_code``/``params``) and :attr:`msg` the line in any language.
    """

    code = "invalid_input"

    def __init__(self, field: str, message: str | Msg) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = str(message)
        self.said = message if isinstance(message, Msg) else None
        if self.said is not None:
            self.msg = msg("preflight.field", field=field, reason=self.said)


class ConnectError(ProvisioningError):
    """Could not reach or log into the server."""

    code = "connect_failed"


class UnreachableError(ConnectError):
    """No SSH server was reached: refused, filtered (timed out), no route, a name that does not resolve,
    or something that is not SSH on the port. One code and one message for all of them, so the answers
    cannot map the service's own network; which one it was goes to the service's log only."""

    code = "unreachable"


class HostUnreachableError(UnreachableError):
    """No route to the host or the name does not resolve (the detail is logged, the answer is uniform)."""


class ConnectionRefusedByHostError(UnreachableError):
    """The host answered, but nothing listens on the SSH port (logged; the answer is uniform)."""


class ConnectTimeoutError(UnreachableError):
    """The host did not answer in time (logged; the answer is uniform)."""


class AuthenticationFailedError(ConnectError):
    """The server refused the username, password or key."""

    code = "auth_failed"


class AuthTimeoutError(AuthenticationFailedError):
    """The server answered and showed its key, but did not accept or refuse the login in time."""

    code = "auth_timeout"


class HostKeyChangedError(ConnectError):
    """The server's key differs from the one recorded or pinned: refused before any credential was sent."""

    code = "host_key_changed"


class UnsupportedOSError(ProvisioningError):
    """The server is not Debian or Ubuntu; nothing was changed."""

    code = "unsupported_os"


class SudoRefusedError(ProvisioningError):
    """The user cannot become root (no sudo, or a wrong sudo password)."""

    code = "sudo_refused"


class SudoPasswordWrongError(SudoRefusedError):
    """sudo rejected the password (asked once, refused once: no second try)."""


class CommandFailedError(ProvisioningError):
    """A remote command exited non-zero. ``tail`` holds its last output lines (redacted)."""

    code = "command_failed"

    def __init__(self, message: str | Msg, exit_status: int | None, tail: list[str]) -> None:
        super().__init__(message)
        self.exit_status = exit_status
        self.tail = tail


class LockoutPreventedError(ProvisioningError):
    """Enabling the firewall would have locked SSH out; it was rolled back."""

    code = "lockout_prevented"


class LoginNotConfirmedError(LockoutPreventedError):
    """Confirm-or-revert: the person did not confirm the new login in time; it was rolled back."""

    code = "login_not_confirmed"


class ConnectionLostError(ProvisioningError):
    """The run's SSH connection closed while a step waited (the server's own revert timer takes over)."""

    code = "connection_lost"


class StepCancelled(Exception):
    """Raised inside a step when the user cancelled the setup (not a :class:`ProvisioningError`).

    ``message``: what the step did on its way out, when it did more than stop (apt: dpkg let finish, then
    repaired).
    """

    def __init__(self, message: Msg | None = None) -> None:
        super().__init__(str(message) if message is not None else "")
        self.message = message

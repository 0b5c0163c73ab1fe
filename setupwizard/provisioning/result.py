"""What the engine reports back when a setup or a connection test ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from setupwizard.provisioning.messages import render


class StepStatus(StrEnum):
    """How a step ended."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    UNCHANGED = "unchanged"  # already in place
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class SessionStatus(StrEnum):
    """How a setup session stands: its row's ``status`` and its result's. The values are stored."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # stopped by its user
    INTERRUPTED = "interrupted"  # cut short by the service stopping or dying
    LOG_INCOMPLETE = "log_incomplete"  # the server part succeeded, but not every event could be stored
    SKIPPED = "skipped"  # a fleet's host that never started: its fleet reached stop_after_failures


INTERRUPTED_MESSAGE = render("run.interrupted_restart", {})
"""The Chinese text of ``run.interrupted_restart`` (the original API's ``message``; the code is beside)."""


class SudoMode(StrEnum):
    """How the login user gets root."""

    ROOT = "root"
    PASSWORDLESS = "passwordless"
    PASSWORD = "password"


@dataclass(frozen=True)
class SudoCredential:
    """What the web layer records in ``ssh_servers_sudo``: password '' when passwordless."""

    sudo_user: str
    sudo_password: str
    mode: SudoMode

    def __repr__(self) -> str:
        return f"SudoCredential(sudo_user={self.sudo_user!r}, mode={self.mode.value!r})"


@dataclass
class StepResult:
    """One step's outcome."""

    id: str
    name: str
    status: StepStatus = StepStatus.PENDING
    message: str = ""
    duration: float = 0.0
    changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "duration": round(self.duration, 3),
            "changed": self.changed,
        }


@dataclass
class SetupResult:
    """The whole setup's outcome. ``sudo`` is set once sudo was verified, even if a later step failed."""

    message: str
    status: SessionStatus  # succeeded | failed | cancelled (| interrupted, see interrupted())
    steps: list[StepResult] = field(default_factory=list)
    sudo: SudoCredential | None = None
    host_key_fingerprint: str | None = None
    os_name: str | None = None
    error_code: str | None = None  # ProvisioningError.code of the failure, when there is one
    code: str | None = None  # ``message`` as a catalogued code with params (provisioning/messages.py)
    params: dict[str, Any] | None = None
    # The admin user's new private key, for the caller to offer once; never in to_dict() or an event.
    generated_private_key: str | None = field(default=None, repr=False)
    # After SSH hardening: {"username", "port", "auth": "key"|"password", "generated_key"} (no secret);
    # the saved server entry switches to it.
    login_after: dict[str, Any] | None = None

    @property
    def success(self) -> bool:
        """The seed's ``success`` field: the status, as a yes or no."""
        return self.status is SessionStatus.SUCCEEDED

    @classmethod
    def interrupted(cls, partial: SetupResult | None = None) -> SetupResult:
        """The result of a session cut short by the service stopping or dying mid-run.

        ``partial``: what the run had found out when it stopped (steps, sudo, OS, host key), kept.
        """
        result = cls(
            message=INTERRUPTED_MESSAGE,
            status=SessionStatus.INTERRUPTED,
            error_code="interrupted",
            code="run.interrupted_restart",
            params={},
        )
        if partial is not None:
            result.steps = list(partial.steps)
            result.sudo = partial.sudo
            result.host_key_fingerprint = partial.host_key_fingerprint
            result.os_name = partial.os_name
        return result

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, without any secret."""
        return {
            "success": self.success,
            "message": self.message,
            "status": self.status.value,
            "steps": [s.to_dict() for s in self.steps],
            "sudo_user": self.sudo.sudo_user if self.sudo else None,
            "sudo_mode": self.sudo.mode.value if self.sudo else None,
            "host_key_fingerprint": self.host_key_fingerprint,
            "os": self.os_name,
            "error_code": self.error_code,
            **({"code": self.code, "params": self.params or {}} if self.code else {}),
            "login_after": self.login_after,
        }


@dataclass(frozen=True)
class ConnectionReport:
    """What a connection test found, without changing anything on the server."""

    os_name: str
    os_id: str
    supported: bool
    sudo_mode: SudoMode | None
    host_key_fingerprint: str
    host_key_known: bool
    sudo_group: bool | None = None  # the login is in a sudo group (None: root, or not read)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "sudo_group": self.sudo_group,
            "os": self.os_name,
            "os_id": self.os_id,
            "supported": self.supported,
            "sudo_mode": self.sudo_mode.value if self.sudo_mode else None,
            "host_key_fingerprint": self.host_key_fingerprint,
            "host_key_known": self.host_key_known,
        }

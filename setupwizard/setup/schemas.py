"""Request and response shapes of the setup API (the seed's contract, plus our extras)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from setupwizard.db.models import SetupSession
from setupwizard.provisioning.events import SessionEvent, format_timestamp
from setupwizard.provisioning.target import DEFAULT_PACKAGES, SetupOptions, Target


def _plain(secret: SecretStr | None) -> str | None:
    value = secret.get_secret_value() if secret is not None else None
    return value or None


class ConnectionRequest(BaseModel):
    """How to reach a server: the fields shared by auto-setup and test-connection.

    Strict: ``"port": true`` or ``"port": "22"`` is a 422, never port 1 or a silent conversion.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    host: str = Field(description="IPv4, IPv6 or DNS name of the server.")
    port: int = Field(22, description="SSH port (1-65535).")
    username: str = Field(description="SSH login user.")
    password: SecretStr | None = Field(None, description="SSH password (also the sudo password by default).")
    private_key: SecretStr | None = Field(None, description="OpenSSH/PEM private key text.")
    passphrase: SecretStr | None = Field(None, description="Passphrase of the private key.")
    sudo_password: SecretStr | None = Field(
        None, description="Sudo password; omitted: the saved one for this server, else the login password."
    )
    host_key_fingerprint: str | None = Field(None, description='Expected host key, "SHA256:…" (a pin).')

    def to_target(self, saved_sudo_password: str | None = None) -> Target:
        """The engine's Target; ``saved_sudo_password`` fills in a missing sudo password."""
        return Target(
            host=self.host,
            port=self.port,
            username=self.username,
            password=_plain(self.password),
            private_key=_plain(self.private_key),
            passphrase=_plain(self.passphrase),
            sudo_password=_plain(self.sudo_password) or saved_sudo_password or None,
            host_key_fingerprint=self.host_key_fingerprint or None,
        )


class AutoSetupRequest(ConnectionRequest):
    """``POST /api/setup/auto-setup``."""

    packages: list[str] | None = Field(
        None, description=f"Packages to install; omitted: {', '.join(DEFAULT_PACKAGES)}."
    )
    firewall_ports: list[str] | None = Field(
        None, description='Ports to allow besides SSH: "80", "80/tcp", "60000:61000/udp".'
    )
    upgrade: bool = Field(False, description="Run apt-get upgrade too.")
    script: str | None = Field(None, description="Shell script run with sudo after the setup.")
    session_id: uuid.UUID | None = Field(
        None, strict=False, description="UUID made by the page for its WebSocket (a JSON string)."
    )
    wait: bool = Field(True, description="true: answer when done (200); false: answer at once (202).")
    use_saved_sudo_password: bool = Field(
        True, description="Use the sudo password saved for this server when sudo_password is omitted."
    )

    def to_options(self) -> SetupOptions:
        """The engine's SetupOptions."""
        options = SetupOptions(
            firewall_ports=list(self.firewall_ports or []), upgrade=self.upgrade, script=self.script or None
        )
        if self.packages is not None:
            options = SetupOptions(
                packages=list(self.packages),
                firewall_ports=options.firewall_ports,
                upgrade=options.upgrade,
                script=options.script,
            )
        return options


class StartedSetup(BaseModel):
    """The 202 answer of ``wait=false``."""

    session_id: str
    status: str = "running"


class SetupResponse(BaseModel):
    """The answer of a finished setup: the seed's fields (``success``, ``session_id``, ``logs``…) and ours."""

    model_config = ConfigDict(extra="allow")

    success: bool
    session_id: str
    message: str
    status: str
    logs: list[str] = Field(description="Every event's message, in seq order (the seed's fallback).")
    steps: list[dict[str, Any]] = Field(default_factory=list)
    sudo_user: str | None = None
    sudo_mode: str | None = None
    host_key_fingerprint: str | None = None
    os: str | None = None


class SessionSummary(BaseModel):
    """One row of ``GET /api/setup/sessions``."""

    session_id: str
    host: str
    port: int
    username: str
    status: str
    message: str
    created_at: str
    finished_at: str | None
    last_seq: int
    code: str | None = Field(None, description="``message`` as a message code (docs/api.md), when known.")
    params: dict[str, Any] | None = Field(None, description="The code's parameters.")

    @classmethod
    def of(cls, row: SetupSession) -> SessionSummary:
        """Shape a session row."""
        result = row.result or {}
        return cls(
            session_id=row.id,
            host=row.host,
            port=row.port,
            username=row.username,
            status=row.status,
            message=row.message,
            created_at=format_timestamp(row.created_at),
            finished_at=format_timestamp(row.finished_at) if row.finished_at else None,
            last_seq=row.last_seq,
            code=result.get("code"),
            params=result.get("params"),
        )


class SessionDetail(SessionSummary):
    """``GET /api/setup/sessions/{id}``: the summary, the result and the events after ``since``."""

    result: dict[str, Any] | None
    events: list[dict[str, Any]]

    @classmethod
    def with_events(cls, row: SetupSession, events: list[SessionEvent]) -> SessionDetail:
        """Shape a session row and its events (as WebSocket frames)."""
        summary = SessionSummary.of(row).model_dump()
        return cls(**summary, result=row.result, events=[e.to_frame() for e in events])


def format_log_line(event: SessionEvent) -> str:
    """One line of the ``log.txt`` download."""
    stamp = format_timestamp(event.timestamp)
    return f"{stamp} [{event.level.value}] {event.message}"

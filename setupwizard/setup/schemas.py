"""Request and response shapes of the setup API (the original API's fields, kept for clients, and ours)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from setupwizard.db.models import SetupSession
from setupwizard.provisioning.events import SessionEvent, format_timestamp
from setupwizard.provisioning.result import StepStatus
from setupwizard.provisioning.target import (
    CONFIRM_TIMEOUT_RANGE,
    DEFAULT_PACKAGES,
    AdminUser,
    SetupOptions,
    SshHardening,
    Target,
)
from setupwizard.provisioning.validate import (
    FINGERPRINT_PATTERN,
    HOSTNAME_PATTERN,
    PACKAGE_PATTERN,
    PORT_SPEC_PATTERN,
    TIMEZONE_PATTERN,
    USERNAME_PATTERN,
    check_host,
    check_port,
    check_username,
)

# The engine validates these (its 422 names the field in words a person reads); the schema states the same
# rule, so a client, or a fuzzer, knows what is accepted without trying.
LOGIN_NAME: dict[str, Any] = {"pattern": USERNAME_PATTERN, "maxLength": 32}
TCP_PORT: dict[str, Any] = {"minimum": 1, "maximum": 65535}
PortSpecText = Annotated[str, Field(json_schema_extra={"pattern": PORT_SPEC_PATTERN})]
PackageName = Annotated[str, Field(json_schema_extra={"pattern": PACKAGE_PATTERN, "maxLength": 128})]


def _plain(secret: SecretStr | None) -> str | None:
    value = secret.get_secret_value() if secret is not None else None
    return value or None


class ConnectionRequest(BaseModel):
    """How to reach a server: the fields shared by auto-setup and test-connection.

    Strict: ``"port": true`` or ``"port": "22"`` is a 422, never port 1 or a silent conversion.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    host: str = Field(description="IPv4, IPv6 or DNS name of the server.")
    port: int = Field(22, description="SSH port (1-65535).", json_schema_extra=TCP_PORT)
    username: str = Field(description="SSH login user.", json_schema_extra=LOGIN_NAME)
    password: SecretStr | None = Field(None, description="SSH password (also the sudo password by default).")
    private_key: SecretStr | None = Field(None, description="OpenSSH/PEM private key text.")
    passphrase: SecretStr | None = Field(None, description="Passphrase of the private key.")
    key_id: int | None = Field(
        None,
        description="A key saved in the caller's vault (GET /api/keys), instead of private_key.",
        json_schema_extra={"minimum": 1},
    )
    sudo_password: SecretStr | None = Field(
        None, description="Sudo password; omitted: the saved one for this server, else the login password."
    )
    host_key_fingerprint: str | None = Field(
        None,
        description='Expected host key, "SHA256:…" (a pin).',
        json_schema_extra={"pattern": FINGERPRINT_PATTERN},
    )

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


class AdminUserRequest(BaseModel):
    """The optional admin user step (``admin``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    username: str = Field(
        description="The new login user (added to the sudo group; not root).", json_schema_extra=LOGIN_NAME
    )
    public_key: str | None = Field(None, description="One OpenSSH public key line to install.")
    generate_key: bool = Field(
        False,
        description="Make a new ed25519 key pair instead: its private key is offered once for download "
        "(``result.admin_key.url``, GET /api/setup/sessions/{id}/admin-key).",
    )
    sudo_password: SecretStr | None = Field(None, description="Password for the new user (sudo asks it).")
    nopasswd: bool = Field(False, description="sudo without a password (a /etc/sudoers.d drop-in).")
    keep_in_vault: bool = Field(
        False, description="With generate_key: also keep the private key in the caller's vault (/api/keys)."
    )

    def to_admin(self) -> AdminUser:
        """The engine's AdminUser."""
        return AdminUser(
            username=self.username,
            public_key=self.public_key,
            generate_key=self.generate_key,
            sudo_password=_plain(self.sudo_password),
            nopasswd=self.nopasswd,
            keep_in_vault=self.keep_in_vault and self.generate_key,
        )


class SshHardeningRequest(BaseModel):
    """The optional SSH hardening step (``ssh_hardening``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    permit_root_login: Literal["no", "prohibit-password"] = Field("no", description="PermitRootLogin.")
    password_authentication: bool = Field(
        False, description="Keep password logins (false: keys only, once a key login is proven)."
    )
    port: int | None = Field(
        None, description="Move sshd to this port (its ufw rule is added first).", json_schema_extra=TCP_PORT
    )

    confirm_login: bool = Field(
        False,
        description=(
            "Confirm-or-revert: when the service cannot prove the new login itself (a pasted admin key "
            "whose private half only you hold), apply the settings, show the `ssh -p PORT user@host` "
            "line to try from your own terminal, and roll back unless you confirm it "
            "(POST /api/setup/sessions/{id}/confirm-login) within confirm_timeout seconds."
        ),
    )
    confirm_timeout: int = Field(
        300,
        ge=CONFIRM_TIMEOUT_RANGE[0],
        le=CONFIRM_TIMEOUT_RANGE[1],
        description="Seconds to wait for that confirmation (default 5 minutes).",
    )

    def to_hardening(self) -> SshHardening:
        """The engine's SshHardening."""
        return SshHardening(
            self.permit_root_login,
            self.password_authentication,
            self.port,
            confirm_login=self.confirm_login,
            confirm_timeout=self.confirm_timeout,
        )


class StepChoice(BaseModel):
    """Which steps to run and with what; every one is optional but connect and sudo.

    The body of ``POST /api/setup/plan`` and part of ``POST /api/setup/auto-setup``.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    packages: list[PackageName] | None = Field(
        None, description=f"Packages to install; omitted: {', '.join(DEFAULT_PACKAGES)}; []: none."
    )
    firewall_ports: list[PortSpecText] | None = Field(
        None, description='Ports to allow besides SSH: "80", "80/tcp", "60000:61000/udp".'
    )
    upgrade: bool = Field(False, description="Run apt-get upgrade too.")
    script: str | None = Field(None, description="Shell script run with sudo after the setup.")
    apt_update: bool = Field(True, description="Wait for other apt runs, then apt-get update.")
    firewall: bool = Field(True, description="Configure ufw (false: behind a cloud firewall, a Docker host).")
    hostname: str | None = Field(
        None,
        description="Set the host name (hostnamectl, /etc/hosts).",
        json_schema_extra={"pattern": HOSTNAME_PATTERN, "maxLength": 253},
    )
    timezone: str | None = Field(
        None,
        description="Set the time zone (timedatectl), e.g. Asia/Shanghai.",
        json_schema_extra={"pattern": TIMEZONE_PATTERN, "maxLength": 64},
    )
    fail2ban: bool = Field(False, description="fail2ban with an sshd jail that runs on journald.")
    auto_updates: bool = Field(False, description="unattended-upgrades for security updates.")
    admin: AdminUserRequest | None = Field(None, description="Create an admin user with an SSH key.")
    ssh_hardening: SshHardeningRequest | None = Field(None, description="Harden sshd (drop-in, reload).")

    def to_options(self) -> SetupOptions:
        """The engine's SetupOptions."""
        return SetupOptions(
            packages=list(DEFAULT_PACKAGES) if self.packages is None else list(self.packages),
            firewall_ports=list(self.firewall_ports or []),
            upgrade=self.upgrade,
            script=self.script or None,
            apt_update=self.apt_update,
            firewall=self.firewall,
            hostname=self.hostname,
            timezone=self.timezone,
            fail2ban=self.fail2ban,
            auto_updates=self.auto_updates,
            admin=self.admin.to_admin() if self.admin is not None else None,
            ssh_hardening=self.ssh_hardening.to_hardening() if self.ssh_hardening is not None else None,
        )


class AutoSetupRequest(ConnectionRequest, StepChoice):
    """``POST /api/setup/auto-setup``: how to reach the server and which steps to run."""

    session_id: uuid.UUID | None = Field(
        None, strict=False, description="UUID made by the page for its WebSocket (a JSON string)."
    )
    wait: bool = Field(True, description="true: answer when done (200); false: answer at once (202).")
    use_saved_sudo_password: bool = Field(
        True, description="Use the sudo password saved for this server when sudo_password is omitted."
    )
    save_sudo_password: bool = Field(
        True,
        description="Save the sudo password that worked (sudo_password, else the SSH password) for this "
        "server, encrypted, for the next run; false: save none (a password saved before stays as it is).",
    )


class PlanRequest(StepChoice):
    """``POST /api/setup/plan``: the body auto-setup takes, so a client can preview what it would send.

    The step fields decide the commands; ``host``, ``port`` and ``username`` (all optional here) put the
    server and the login into them. The other connection fields are accepted and never read: no secret
    can reach the preview.
    """

    host: str | None = Field(None, description="The server (the commands say HOST without it).")
    port: int = Field(
        22,
        description="SSH port: the login, and the port the firewall keeps open.",
        json_schema_extra=TCP_PORT,
    )
    username: str | None = Field(
        None, description="SSH login user (the commands say USER without it).", json_schema_extra=LOGIN_NAME
    )
    password: SecretStr | None = Field(None, description="Accepted, never read.")
    private_key: SecretStr | None = Field(None, description="Accepted, never read.")
    passphrase: SecretStr | None = Field(None, description="Accepted, never read.")
    key_id: int | None = Field(None, description="Accepted, never read.")
    sudo_password: SecretStr | None = Field(None, description="Accepted, never read.")
    host_key_fingerprint: str | None = Field(None, description="Accepted, never read.")
    session_id: uuid.UUID | None = Field(None, strict=False, description="Accepted, never read.")
    wait: bool = Field(True, description="Accepted, never read.")
    use_saved_sudo_password: bool = Field(True, description="Accepted, never read.")
    save_sudo_password: bool = Field(True, description="Accepted, never read.")

    def to_target(self) -> Target | None:
        """Who the commands are shown for (no secret); None when neither host nor username is given.

        :raises InvalidInputError: a given host, port or username auto-setup would refuse (naming it).
        """
        check_port(self.port)
        if self.host is None and self.username is None:
            return None
        host = check_host(self.host) if self.host is not None else "HOST"
        username = check_username(self.username) if self.username is not None else "USER"
        return Target(host=host, username=username, port=self.port)


class PlanCommand(BaseModel):
    """One thing a step does: the exact command line, what decides at run time, an uploaded text."""

    run: str = Field(description='The exact command (as root unless its note says otherwise); "" for a note.')
    note: str | None = Field(
        None, description="When it runs, or what the server decides at run time (English)."
    )
    note_code: str | None = Field(None, description="The note as a catalogued message: its code…")
    note_params: dict[str, Any] | None = Field(None, description="…and its parameters (any language).")
    text: str | None = Field(None, description="The whole text it uploads (the person's script), as is.")


class PlanStep(BaseModel):
    """One step of a plan preview: what a person reads before the run."""

    id: str
    name: str
    commands: list[PlanCommand]
    check: str | None = Field(description="How it finds the work already done (English), or null.")
    check_code: str | None = Field(None, description="The check as a catalogued message: its code…")
    check_params: dict[str, Any] | None = Field(None, description="…and its parameters (any language).")
    policy: str


class PlanPreview(BaseModel):
    """``POST /api/setup/plan``: the chosen steps with their exact commands (never a secret)."""

    steps: list[PlanStep]
    lines: list[str] = Field(description="The same as readable text (``Plan.describe``).")


class StartedSetup(BaseModel):
    """The 202 answer of ``wait=false``."""

    session_id: str
    status: str = "running"


class SetupResponse(BaseModel):
    """A finished setup's answer: the original API's fields (``success``, ``session_id``, ``logs``…), ours."""

    model_config = ConfigDict(extra="allow")

    success: bool
    session_id: str
    message: str
    status: str
    logs: list[str] = Field(
        description="Every event's message, in seq order (for a client without the WebSocket)."
    )
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
    run_by: str | None = Field(None, description="Who ran it (the user's name), in a list of everyone's.")
    duration: float | None = Field(None, description="Seconds from start to end; null while running.")
    failed_step: dict[str, Any] | None = Field(
        None, description="The step that failed: ``{index, id, name}`` (index from 1); null if none did."
    )

    @classmethod
    def of(cls, row: SetupSession, run_by: str | None = None) -> SessionSummary:
        """Shape a session row (``run_by``: the owner's name, for a list of everyone's sessions)."""
        result = row.result or {}
        listed = result.get("steps")
        steps: list[Any] = listed if isinstance(listed, list) else []
        failed = next(
            (
                {"index": n, "id": step.get("id"), "name": step.get("name")}
                for n, step in enumerate(steps, 1)
                if isinstance(step, dict) and step.get("status") == StepStatus.FAILED
            ),
            None,
        )
        duration = None
        if row.finished_at is not None and row.created_at is not None:
            duration = round((row.finished_at - row.created_at).total_seconds(), 3)
        return cls(
            run_by=run_by,
            duration=duration,
            failed_step=failed,
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

"""Request and response shapes of ``/api/fleets``: the plan is auto-setup's step choice, as it is."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from setupwizard.setup.schemas import LOGIN_NAME, TCP_PORT, AutoSetupRequest, StepChoice

MAX_TARGETS = 1000
MAX_PARALLEL = 200


class Credentials(BaseModel):
    """How to log in: on a target, or shared by every target in ``defaults``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    username: str | None = Field(None, description="SSH login user.", json_schema_extra=LOGIN_NAME)
    password: SecretStr | None = Field(None, description="SSH password (also the sudo password by default).")
    private_key: SecretStr | None = Field(None, description="OpenSSH/PEM private key text.")
    passphrase: SecretStr | None = Field(None, description="Passphrase of the private key.")
    key_id: int | None = Field(None, ge=1, description="A key saved in the caller's vault (GET /api/keys).")
    sudo_password: SecretStr | None = Field(None, description="Sudo password.")


class FleetTarget(Credentials):
    """One server of the fleet; a credential it leaves out comes from ``defaults``."""

    host: str = Field(description="IPv4, IPv6 or DNS name of the server.")
    port: int = Field(22, description="SSH port (1-65535).", json_schema_extra=TCP_PORT)
    host_key_fingerprint: str | None = Field(
        None, description='The host key the person confirmed, "SHA256:…" (from test-connections).'
    )


class FleetDefaults(Credentials):
    """Credentials and sudo choices shared by every target."""

    use_saved_sudo_password: bool = Field(
        True, description="Use the sudo password saved for a server when none is given."
    )
    save_sudo_password: bool = Field(True, description="Save the sudo password that worked, per server.")


class FleetRequest(BaseModel):
    """``POST /api/fleets``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=128, description="A name the person reads.")
    plan: StepChoice = Field(default_factory=StepChoice, description="auto-setup's step choice.")
    targets: list[FleetTarget] = Field(min_length=1, max_length=MAX_TARGETS)
    defaults: FleetDefaults = Field(default_factory=FleetDefaults)
    parallel: int = Field(10, ge=1, le=MAX_PARALLEL, description="At most this many hosts run at once.")
    stop_after_failures: int | None = Field(
        None, ge=1, description="After this many failed hosts no new host starts; the rest end skipped."
    )
    accept_new_host_keys: bool = Field(
        False,
        description="Trust the key a new server shows on first contact (recorded in the audit trail); "
        "false: every target needs a known key or a confirmed host_key_fingerprint.",
    )

    def setup_request(self, index: int, session_id: str) -> AutoSetupRequest:
        """Target ``index`` as auto-setup's body (defaults filled in), for ``SetupService.start``."""
        target, shared = self.targets[index], self.defaults
        own_login = target.password is not None or target.private_key is not None or target.key_id is not None
        login = target if own_login else shared
        fields: dict[str, Any] = {
            **self.plan.model_dump(exclude_unset=True, exclude={"admin", "ssh_hardening"}),
            "admin": self.plan.admin,
            "ssh_hardening": self.plan.ssh_hardening,
            "host": target.host,
            "port": target.port,
            "username": target.username or shared.username or "",
            "password": login.password,
            "private_key": login.private_key,
            "passphrase": login.passphrase,
            "key_id": login.key_id,
            "sudo_password": target.sudo_password or shared.sudo_password,
            "host_key_fingerprint": target.host_key_fingerprint,
            "session_id": uuid.UUID(session_id),
            "wait": False,
            "use_saved_sudo_password": shared.use_saved_sudo_password,
            "save_sudo_password": shared.save_sudo_password,
        }
        return AutoSetupRequest.model_construct(**fields)

    def plan_record(self) -> dict[str, Any]:
        """The plan as stored (no secret: an admin user's password is left out)."""
        return self.plan.model_dump(mode="json", exclude_none=True, exclude={"admin": {"sudo_password"}})


class FleetSession(BaseModel):
    """A target and its session."""

    host: str
    port: int
    session_id: str


class StartedFleet(BaseModel):
    """The 202 answer of ``POST /api/fleets`` and ``/retry``."""

    fleet_id: str
    sessions: list[FleetSession]


class FleetHostOut(BaseModel):
    """One host of a fleet as it stands."""

    position: int
    host: str
    port: int
    username: str
    session_id: str
    attempt: int
    earlier_sessions: list[str]
    status: str = Field(description="queued, running, or the session's end status (… skipped).")
    reason: str = Field(description="Why it failed or was skipped when the service knows (setup_running…).")
    step_index: int
    step_total: int
    step_name: str
    last_line: str = Field(description="Its newest line as written (the service's own in Chinese).")
    last_line_code: str | None = Field(
        None, description="The last line as a message code (GET /messages.json) when the service wrote it."
    )
    last_line_params: dict[str, Any] | None = Field(None, description="The code's parameters.")
    started_at: str | None
    finished_at: str | None
    duration: float | None = Field(description="Seconds from start to end (so far, while running).")


class FleetOut(BaseModel):
    """``GET /api/fleets`` (hosts left out) and ``GET /api/fleets/{id}``."""

    fleet_id: str
    name: str
    status: str
    parallel: int
    stop_after_failures: int | None
    accept_new_host_keys: bool
    created_at: str
    finished_at: str | None
    counts: dict[str, int] = Field(description="Hosts per status.")
    plan: dict[str, Any]
    last_seq: int
    hosts: list[FleetHostOut] | None = None


class HostKeyScan(BaseModel):
    """``POST /api/fleets/test-connections``: the targets and credentials of a fleet, no plan."""

    model_config = ConfigDict(extra="forbid", strict=True)

    targets: list[FleetTarget] = Field(min_length=1, max_length=MAX_TARGETS)
    defaults: FleetDefaults = Field(default_factory=FleetDefaults)


class ScannedHost(BaseModel):
    """One target's connection test."""

    host: str
    port: int
    ok: bool
    host_key: str | None = Field(description="new, known or changed (null: no key was seen).")
    host_key_fingerprint: str | None
    os: str | None = None
    sudo_mode: str | None = None
    code: str | None = Field(None, description="The error's code when the test failed.")
    detail: str | None = None

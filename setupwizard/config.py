"""One validated Settings object, built by a function and passed in (tests pass their own)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from setupwizard.core.networks import DEFAULT_TARGET_DENY, parse_networks


class Settings(BaseSettings):
    """Every knob of the service. Environment variables use the prefix ``SETUPWIZARD_``."""

    model_config = SettingsConfigDict(env_prefix="SETUPWIZARD_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the web service listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the web service listens on.")
    data_dir: Path = Field(Path("data"), description="Directory for the SQLite database and the key file.")
    database_url: str = Field(
        "",
        description="SQLAlchemy async URL; empty means SQLite in the data directory. "
        "PostgreSQL: postgresql+asyncpg://user@host/db.",
    )
    redis_url: str = Field(
        "", description="Redis URL for the scale-out progress bus; empty means the in-process bus."
    )
    # Several workers (docs/deploy.md): what they share through Redis, and how fast a dead one is noticed.
    redis_prefix: str = Field(
        "setupwizard:",
        min_length=1,
        description="Prefix of every Redis key (several deployments share one Redis).",
    )
    lease_seconds: float = Field(
        30.0,
        gt=0,
        description="PostgreSQL: a job worker silent this long is dead (it beats 6 times per lease).",
    )
    sweep_interval_seconds: float = Field(
        10.0,
        gt=0,
        description="PostgreSQL: how often (whole seconds) a worker looks for dead workers' setup jobs.",
    )
    job_retention_hours: int = Field(
        168,
        ge=1,
        description="PostgreSQL: finished queue jobs (procrastinate_jobs) older than this many hours are "
        "deleted (checked every hour).",
    )
    run_jobs: bool = Field(
        True,
        description="PostgreSQL: this serve process also runs setup jobs; false: it only serves the API and "
        "`setupwizard worker` processes run them.",
    )
    worker_concurrency: int = Field(
        20, ge=1, description="PostgreSQL: setups one process (serve or `setupwizard worker`) runs at once."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key for encrypting saved sudo passwords (32+ characters). "
        "Empty: a key file is created with mode 0600 in the data directory.",
    )
    admin_user: str = Field("", description="First admin's username, created at start when no user exists.")
    admin_password: SecretStr | None = Field(None, description="First admin's password (with admin_user).")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Extra origins (a JSON list) allowed to open the progress WebSocket.",
    )
    cookie_secure: bool = Field(False, description="Mark the session cookie Secure (set true behind HTTPS).")
    token_ttl_seconds: int = Field(12 * 3600, ge=60, description="Lifetime of a login token and cookie.")
    ws_max_lag: int = Field(
        10_000, ge=10, description="Lines a WebSocket client may fall behind before it is disconnected."
    )
    ws_compression: bool = Field(
        False,
        description="Offer permessage-deflate on WebSockets (off: ~250 KiB less memory per watcher, and no "
        "compression work per frame; log frames are small text).",
    )
    event_flush_seconds: float = Field(0.25, gt=0, description="How often buffered events are written.")
    ssh_connect_timeout: float = Field(10.0, gt=0, description="Seconds to wait for an SSH connection.")
    ssh_keepalive_interval: float = Field(5.0, gt=0, description="Seconds between SSH keepalives.")
    log_level: str = Field("info", description="Log level of the service.")
    # Hardening: trusted proxies, targets refused, health and fault reporting.
    forwarded_allow_ips: list[str] = Field(
        default_factory=list,
        description="Proxies (a JSON list of IPs/CIDRs) whose X-Forwarded-For/-Proto are believed; "
        "empty: none, the client address is the TCP peer.",
    )
    target_deny: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TARGET_DENY),
        description="Networks (a JSON list of CIDRs) test-connection, auto-setup and host-key trust refuse "
        "to connect to.",
    )
    target_deny_own_addresses: bool = Field(
        True,
        description="Also refuse the service host's own addresses (every interface's, read at start); "
        "false: allow setting up the machine the service runs on.",
    )
    connect_attempts_per_minute: int = Field(
        30,
        ge=1,
        description="Connections (test-connection, auto-setup, host-key trust) one user may start a minute.",
    )
    # Running it for a team: metrics and log lines for the operator's tools.
    metrics_address: str = Field(
        "",
        description="host:port where /metrics is also served without a login (keep it private); "
        "empty: only GET /metrics on the service, with a login or token.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="text: one readable line per entry; json: one JSON object per line, with the request id, "
        "user id and session id where known.",
    )

    public_url: str = Field(
        "",
        description="The service's address as people open it (https://wizard.example.com); notifications "
        "link to a session's log under it. Empty: a notification names the session id only.",
    )
    notify_deny: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TARGET_DENY),
        description="Networks (a JSON list of CIDRs) a notification URL may not reach: refused when it is "
        "saved, and again at every delivery (every address its host resolves to).",
    )
    notify_deny_own_addresses: bool = Field(
        True,
        description="Also refuse notification URLs that reach the service host's own addresses (every "
        "interface's, read at start); false: allow a receiver on the service's own machine.",
    )

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("SETUPWIZARD_PUBLIC_URL must start with http:// or https://")
        return value

    @field_validator("metrics_address")
    @classmethod
    def _metrics_address_is_host_port(cls, value: str) -> str:
        if value.strip():
            split_address(value)
        return value.strip()

    @field_validator("target_deny", "notify_deny")
    @classmethod
    def _deny_lists_are_networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key_is_strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() and len(value.get_secret_value()) < 32:
            raise ValueError("SETUPWIZARD_SECRET_KEY must be at least 32 characters")
        if value is not None and not value.get_secret_value():
            return None
        return value

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: the configured one, else SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'setupwizard.db'}"


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` → (host, port); ValueError naming the setting otherwise."""
    host, sep, port = address.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"SETUPWIZARD_METRICS_ADDRESS must be host:port, not {address!r}")
    return host, int(port)


def get_settings() -> Settings:
    """Build Settings from the environment."""
    return Settings()

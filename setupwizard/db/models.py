"""The tables. Every SQL statement lives in a domain's ``repository.py``; these are only the shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from setupwizard.db.types import UTCDateTime

# Named constraints, so that later migrations (batch mode on SQLite) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    """Now, timezone-aware UTC (the default of every time column)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """A person who logs in. ``password_hash`` is argon2id."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r}, is_admin={self.is_admin!r})"


class AuthToken(Base):
    """A login token, stored only as its SHA-256 (logout deletes the row)."""

    __tablename__ = "auth_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SshServerSudo(Base):
    """``ssh_servers_sudo`` (the name the first API gave it): who has sudo on a server, per user.

    ``sudo_password`` is '' for passwordless sudo, otherwise a secretbox ciphertext ("v1:…") bound to
    (user_id, host, ssh_port) — never plaintext.
    """

    __tablename__ = "ssh_servers_sudo"
    __table_args__ = (
        UniqueConstraint("user_id", "host", "ssh_port", name="uq_ssh_servers_sudo_user_host_port"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(String(255))
    ssh_port: Mapped[int] = mapped_column(Integer)
    sudo_user: Mapped[str] = mapped_column(String(64))
    sudo_password: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    def __repr__(self) -> str:  # never the password column, not even its ciphertext
        return f"SshServerSudo(id={self.id!r}, host={self.host!r}, ssh_port={self.ssh_port!r})"


class KnownHost(Base):
    """The SHA256 host key fingerprint one user trusts for host:port (accept-new, after a login worked).

    Per user: a key another user's connection saw is no trust of yours.
    """

    __tablename__ = "known_hosts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    port: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(128))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class AuditEvent(Base):
    """Who did what, when, from where: logins, setups, user changes, saved sudo rows. Never a secret.

    ``actor`` is the user's name at the time (kept when the user is deleted); for a failed login with an
    unknown name it is empty, since people type passwords into the name field.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    actor: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32), index=True)
    outcome: Mapped[str] = mapped_column(String(32), default="ok")
    target: Mapped[str] = mapped_column(String(320), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SetupSession(Base):
    """One setup run. ``status``: running | succeeded | failed | cancelled | interrupted."""

    __tablename__ = "setup_sessions"
    __table_args__ = (Index("ix_setup_sessions_owner_created", "owner_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # While running: every seq published live is at most this (reserved before it is published), so a
    # crash recovery numbers its final event above anything a client saw (setup/seq_ceiling.py).
    seq_ceiling: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SetupSessionEvent(Base):
    """One stored event of a session (the engine's ``SessionEvent``), or a run of its output lines.

    ``first_seq`` NULL: the row is one event, ``seq``. ``first_seq`` = F: the row holds the ``log`` events
    F..``seq``, consecutive, sharing ``type``, ``level``, ``timestamp`` and the step columns, without
    ``data``, ``code`` or ``params``; ``message`` is their lines joined by ``"\n"`` (one part per seq).
    Readers expand such rows back into one event per seq (``setup/repository.py``).
    """

    __tablename__ = "session_events"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("setup_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    step_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    step_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    step_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    first_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SetupPreset(Base):
    """A person's own preset of setup steps (``steps``: the step fields of ``POST /api/setup/plan``).

    Never a secret: an admin user's sudo password is not part of a preset.
    """

    __tablename__ = "setup_presets"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_setup_presets_user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    steps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class AdminKeyHandover(Base):
    """A generated admin private key waiting for its one download.

    ``private_key`` is a secretbox ciphertext bound to (session, owner), never plaintext. The row is deleted
    by the first download, when it expires (``expires_at``) and when its server is forgotten.
    """

    __tablename__ = "admin_key_handovers"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("setup_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    def __repr__(self) -> str:  # never the key column, not even its ciphertext
        return f"AdminKeyHandover(session_id={self.session_id!r}, username={self.username!r})"


class ApiToken(Base):
    """A personal access token, stored only as its SHA-256; ``hint`` is its last 4 characters.

    ``scope``: read | setup | admin. ``addresses`` lists the addresses it was used from (the newest kept),
    so a use from a new one is audited once. Revoking deletes the row.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(8))
    scope: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_address: Mapped[str] = mapped_column(String(64), default="")
    addresses: Mapped[list[str]] = mapped_column(JSON, default=list)

    def __repr__(self) -> str:  # never the hash
        return f"ApiToken(id={self.id!r}, name={self.name!r}, scope={self.scope!r})"


class SshKey(Base):
    """A private SSH key kept in a user's vault, for the wizard to log in with.

    ``private_key`` is a secretbox ciphertext of the key in OpenSSH format, unencrypted inside (a
    passphrase is used once, when the key is saved), bound to (user, fingerprint): never plaintext, never
    in an answer. Only its owner may use it; nobody, admins included, can read it back.
    """

    __tablename__ = "ssh_keys"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_ssh_keys_user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    key_type: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(128))
    private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:  # never the key column, not even its ciphertext
        return f"SshKey(id={self.id!r}, name={self.name!r}, fingerprint={self.fingerprint!r})"


class NotifyTarget(Base):
    """Where a user's setup outcomes are sent: an apprise URL and when to use it.

    ``url`` is a secretbox ciphertext bound to (user, target id's creation nonce ``ref``): the URL holds
    the service's tokens. ``hint`` is what the page shows (scheme and last characters).
    """

    __tablename__ = "notify_targets"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_notify_targets_user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    hint: Mapped[str] = mapped_column(String(64))
    on_failed: Mapped[bool] = mapped_column(Boolean, default=True)
    on_succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(String(200), default="")

    def __repr__(self) -> str:  # never the URL, not even its ciphertext
        return f"NotifyTarget(id={self.id!r}, name={self.name!r}, hint={self.hint!r})"


class SetupJobSecrets(Base):
    """The request of a setup waiting for (or run by) a job of the queue (PostgreSQL mode, ``jobs/``).

    The job's own arguments are only the session id; everything the run needs (passwords, key, passphrase,
    sudo password among it) is here, ``sealed``: one secretbox ciphertext bound to the session id. The row
    is deleted when the job ends. ``job_id`` is the queue's job (``procrastinate_jobs.id``), for cancel.
    """

    __tablename__ = "setup_job_secrets"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("setup_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:  # never the sealed request, not even its ciphertext
        return f"SetupJobSecrets(session_id={self.session_id!r}, job_id={self.job_id!r})"


class Fleet(Base):
    """One plan run on many servers (``fleets/``). ``plan`` is the step choice without any secret: the
    credentials live in the scheduler's memory only, never in a column."""

    __tablename__ = "fleets"
    __table_args__ = (Index("ix_fleets_owner_created", "owner_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    parallel: Mapped[int] = mapped_column(Integer)
    stop_after_failures: Mapped[int | None] = mapped_column(Integer, nullable=True)
    accept_new_host_keys: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))  # running | done | cancelled | interrupted
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)  # the fleet progress socket's last event


class FleetHost(Base):
    """One target of a fleet, and the session of its latest attempt (a retry makes a new session)."""

    __tablename__ = "fleet_hosts"
    __table_args__ = (UniqueConstraint("fleet_id", "position", name="uq_fleet_hosts_fleet_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fleet_id: Mapped[str] = mapped_column(ForeignKey("fleets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the target's index in the request
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str] = mapped_column(String(36), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    earlier_sessions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # queued | running | a SessionStatus once ended (succeeded, failed, cancelled, interrupted, skipped, …)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64), default="")  # error code of a failure (setup_running, …)
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    step_total: Mapped[int] = mapped_column(Integer, default=0)
    step_name: Mapped[str] = mapped_column(String(128), default="")
    last_line: Mapped[str] = mapped_column(Text, default="")
    # the last line as a catalogued message (fleets/last_line.py), when the service wrote it
    last_line_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_line_params: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FleetEvent(Base):
    """One frame of a fleet's progress socket (a host's status or step changed), numbered per fleet."""

    __tablename__ = "fleet_events"

    fleet_id: Mapped[str] = mapped_column(ForeignKey("fleets.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

"""Start and stop the setup feature with the app: progress bus, host locks, run signals, service, recovery,
and (PostgreSQL) the job queue.

One process (SQLite, or PostgreSQL without Redis): sessions a crash left ``running`` are marked
``interrupted`` at start. Several workers (PostgreSQL and Redis): the bus and the run signals on Redis,
setups are jobs of the queue, and a dead worker's setups are its stalled jobs (``jobs/stalled.py``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from setupwizard.config import Settings
from setupwizard.core.secretbox import SecretBox
from setupwizard.db.database import Database
from setupwizard.db.worker_guard import single_worker_guard
from setupwizard.jobs.lifespan import job_queue
from setupwizard.jobs.queue import uses_queue
from setupwizard.live.bus import ProgressBus
from setupwizard.live.memory import MemoryBus
from setupwizard.live.redis import RedisBus
from setupwizard.notify.sender import Notifier
from setupwizard.provisioning import SetupOptions, Target, run_setup, validate_options, validate_target
from setupwizard.provisioning.preflight import check_plan
from setupwizard.servers.known_hosts import DatabaseKnownHostBook
from setupwizard.servers.login_switch import DatabaseLoginSwitch
from setupwizard.servers.repository import SudoRepository
from setupwizard.setup.admin_keys import AdminKeyVault
from setupwizard.setup.locks import HostLocks, MemoryHostLocks
from setupwizard.setup.run_signals import MemoryRunSignals, RedisRunSignals, RunSignals
from setupwizard.setup.service import SetupService
from setupwizard.setup.session_end import recover_interrupted

log = logging.getLogger(__name__)

REDIS_SOCKET_TIMEOUT_SECONDS = 30.0
"""Above the bus's blocking XREAD (5 s). redis-py 8 defaults to a 5 s socket timeout, which cut a reader on
another worker after 5 quiet seconds (``TimeoutError``, the WebSocket dropped with 1006)."""


class DatabaseSudoStore:
    """The service's view of ``ssh_servers_sudo`` (the platform's SudoRepository; one transaction each)."""

    def __init__(self, db: Database, secretbox: SecretBox) -> None:
        self.db = db
        self.secretbox = secretbox

    async def saved_password(self, user_id: int, host: str, port: int, sudo_user: str) -> str | None:
        async with self.db.session() as session:
            saved = await SudoRepository(session, self.secretbox).get_sudo(user_id, host, port)
        if saved is None or saved.sudo_user != sudo_user:
            return None
        return saved.sudo_password

    async def save(self, user_id: int, host: str, port: int, sudo_user: str, sudo_password: str) -> None:
        async with self.db.session() as session:
            await SudoRepository(session, self.secretbox).upsert_sudo(
                user_id, host, port, sudo_user, sudo_password
            )


def validate(target: Target, options: SetupOptions) -> None:
    """The engine's input checks (raise ``InvalidInputError`` naming the field), then the plan as a whole
    (a hardening must be provable and leave a way to root: ``PlanRefusedError``, 422 naming the field)."""
    validate_target(target)
    validate_options(options)
    check_plan(target, options)


def build_shared_parts(settings: Settings) -> tuple[ProgressBus, HostLocks, RunSignals]:
    """Bus and run signals on Redis when ``redis_url`` is set (one client), else in-process. The host
    locks are this process's: several workers share the job queue's (``setupwizard/jobs/``) instead."""
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url, socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS)
        prefix = settings.redis_prefix
        return RedisBus(redis, prefix=prefix), MemoryHostLocks(), RedisRunSignals(redis, prefix=prefix)
    return MemoryBus(), MemoryHostLocks(), MemoryRunSignals()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the feature on ``app.state`` (``progress_bus``, ``setup_service``) and end crashed runs."""
    settings: Settings = app.state.settings
    db: Database = app.state.db
    async with single_worker_guard(settings, db):  # without Redis, a second worker is refused
        async with _setup_feature(app, settings, db):
            yield


@asynccontextmanager
async def _setup_feature(app: FastAPI, settings: Settings, db: Database) -> AsyncIterator[None]:
    bus, locks, signals = build_shared_parts(settings)
    if isinstance(signals, RedisRunSignals):
        await signals.start()
    if not (uses_queue(settings) and settings.redis_url):
        # one process (SQLite's flock, or PostgreSQL's guard without Redis): what it ran died with it
        await recover_interrupted(db, locks)
    # several workers (PostgreSQL and Redis): a dead worker's setups are the queue's stalled jobs
    admin_keys = AdminKeyVault(db, app.state.secretbox)
    admin_keys.start()  # every worker deletes expired keys
    notifier = Notifier(db, app.state.secretbox, settings.public_url, policy=app.state.notify_policy)
    service = SetupService(
        settings=settings,
        db=db,
        bus=bus,
        locks=locks,
        known_hosts=DatabaseKnownHostBook(db),  # each user's own trust in host keys
        sudo_store=DatabaseSudoStore(db, app.state.secretbox),
        runner=run_setup,
        validate=validate,
        signals=signals,
        logins=DatabaseLoginSwitch(db, app.state.secretbox),
        admin_keys=admin_keys,
        notifier=notifier,
    )
    app.state.progress_bus = bus
    app.state.admin_keys = admin_keys
    app.state.setup_service = service
    async with job_queue(settings, db, app.state.secretbox, service) as stop_taking_jobs:
        try:
            yield
        finally:
            stop_taking_jobs()  # PostgreSQL: while the service ends the runs, no new job starts here
            await service.close()
        await notifier.close()
        await admin_keys.close()
        await signals.close()
        await bus.close()

"""Start and stop the setup feature with the app: progress bus, host locks, service, crash recovery."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from setupwizard.config import Settings
from setupwizard.core.secretbox import SecretBox
from setupwizard.db.database import Database
from setupwizard.live.bus import ProgressBus
from setupwizard.live.memory import MemoryBus
from setupwizard.live.redis import RedisBus
from setupwizard.provisioning import SetupOptions, Target, run_setup, validate_options, validate_target
from setupwizard.servers.known_hosts import DatabaseKnownHostBook
from setupwizard.servers.repository import SudoRepository
from setupwizard.setup.locks import HostLocks, MemoryHostLocks, RedisHostLocks
from setupwizard.setup.service import SetupService, recover_interrupted

log = logging.getLogger(__name__)

REDIS_PREFIX = "setupwizard:"


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
    """The engine's input checks (raise ``InvalidInputError`` naming the field)."""
    validate_target(target)
    validate_options(options)


def build_bus_and_locks(settings: Settings) -> tuple[ProgressBus, HostLocks]:
    """Redis Streams and Redis locks when ``redis_url`` is set, else in-process ones."""
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
        return RedisBus(redis, prefix=REDIS_PREFIX), RedisHostLocks(redis, prefix=REDIS_PREFIX)
    return MemoryBus(), MemoryHostLocks()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the feature on ``app.state`` (``progress_bus``, ``setup_service``) and recover crashed runs."""
    settings: Settings = app.state.settings
    db: Database = app.state.db
    bus, locks = build_bus_and_locks(settings)
    await recover_interrupted(db, locks)
    service = SetupService(
        settings=settings,
        db=db,
        bus=bus,
        locks=locks,
        known_hosts=DatabaseKnownHostBook(db),  # hardening F.7: each user's own trust
        sudo_store=DatabaseSudoStore(db, app.state.secretbox),
        runner=run_setup,
        validate=validate,
    )
    app.state.progress_bus = bus
    app.state.setup_service = service
    try:
        yield
    finally:
        await service.close()
        await bus.close()

"""Confirm-or-revert through the service: a confirmation reaches the run only while it waits
(409 ``session_not_waiting`` before and after), from the owner or an admin (404 for anyone else), and
from any worker (Redis). A real database and bus; a scripted stand-in for the engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncssh
import pytest

from setupwizard.config import Settings
from setupwizard.core.errors import ConflictError, NotFoundError
from setupwizard.db.database import Database
from setupwizard.live.memory import MemoryBus
from setupwizard.provisioning.events import EventEmitter, EventType, Level, StepRef
from setupwizard.provisioning.known_hosts import KnownHostStore, MemoryKnownHosts
from setupwizard.provisioning.result import SessionStatus, SetupResult
from setupwizard.provisioning.target import SetupOptions, Target
from setupwizard.setup import confirm_login
from setupwizard.setup.locks import MemoryHostLocks
from setupwizard.setup.service import SetupService
from tests.support import redis_namespace

from .test_run_signals import Worker
from .test_service import MemorySudoStore, request, validate

MakeUser = Callable[[], Awaitable[int]]
HARDENING = StepRef("ssh_hardening", 3, 3)
PERSONS_KEY = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
PLAN = {"admin": {"username": "deploy", "public_key": PERSONS_KEY, "nopasswd": True}}


def confirm_request(host: str) -> object:
    hardening = {"permit_root_login": "no", "confirm_login": True, "confirm_timeout": 60}
    return request(host, **PLAN, ssh_hardening=hardening)


class ConfirmEngine:
    """Reaches the wait once ``start_wait`` is set, then ends "confirmed", or "reverted" on cancel."""

    def __init__(self) -> None:
        self.start_wait = asyncio.Event()
        self.waiting = asyncio.Event()
        self.got_confirm: bool | None = None

    async def __call__(
        self,
        target: Target,
        options: SetupOptions,
        emitter: EventEmitter,
        known_hosts: KnownHostStore,
        *,
        cancel: asyncio.Event,
        confirm: asyncio.Event,
        connect_timeout: float,
        keepalive_interval: float,
    ) -> SetupResult:
        await emitter.emit(EventType.STEP, Level.INFO, "[3/3] 加固 SSH …", step=HARDENING)
        await self.start_wait.wait()
        data = {"confirm_login": {"command": "ssh -p 22 deploy@h", "deadline": "x", "seconds": 60}}
        await emitter.emit(
            EventType.INFO, Level.WARNING, "try it", step=HARDENING, code=confirm_login.WAIT_CODE, data=data
        )
        self.waiting.set()
        done = [asyncio.create_task(confirm.wait()), asyncio.create_task(cancel.wait())]
        await asyncio.wait(done, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.cancel()
        self.got_confirm = confirm.is_set()
        status = SessionStatus.SUCCEEDED if self.got_confirm else SessionStatus.CANCELLED
        await emitter.emit(EventType.STEP, Level.INFO, status, step=HARDENING, data={"status": status.value})
        result = SetupResult(message=status, status=status)
        await emitter.emit(EventType.COMPLETE, Level.SUCCESS, status, data=result.to_dict())
        return result


@pytest.fixture
async def service(db: Database) -> AsyncIterator[tuple[SetupService, ConfirmEngine]]:
    engine = ConfirmEngine()
    bus = MemoryBus()
    setup = SetupService(
        settings=Settings(event_flush_seconds=0.05),
        db=db,
        bus=bus,
        locks=MemoryHostLocks(),
        known_hosts=MemoryKnownHosts(),
        sudo_store=MemorySudoStore(),
        runner=engine,  # type: ignore[arg-type]  # the confirm keyword: passed when the plan asks
        validate=validate,
    )
    yield setup, engine
    engine.start_wait.set()
    await setup.close()
    await bus.close()


async def test_a_confirmation_is_taken_only_while_the_run_waits(
    service: tuple[SetupService, ConfirmEngine], make_user: MakeUser
) -> None:
    setup, engine = service
    owner, other = await make_user(), await make_user()
    run = await setup.start(owner, confirm_request("198.18.0.91"))  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    with pytest.raises(ConflictError) as early:
        await setup.confirm_login(owner, False, run.session_id)
    assert early.value.code == "session_not_waiting"
    engine.start_wait.set()
    await asyncio.wait_for(engine.waiting.wait(), 10)
    with pytest.raises(NotFoundError):  # another user (not an admin) gets the 404 of a missing session
        await setup.confirm_login(other, False, run.session_id)
    await setup.confirm_login(owner, False, run.session_id)
    assert run.task is not None
    response = await asyncio.wait_for(run.task, 10)
    assert response.status == "succeeded" and engine.got_confirm is True
    with pytest.raises(ConflictError):  # ended: nothing waits any more
        await setup.confirm_login(owner, False, run.session_id)


async def test_an_admin_may_confirm_another_users_run(
    service: tuple[SetupService, ConfirmEngine], make_user: MakeUser
) -> None:
    setup, engine = service
    owner, admin = await make_user(), await make_user()
    run = await setup.start(owner, confirm_request("198.18.0.92"))  # type: ignore[arg-type]
    engine.start_wait.set()
    await asyncio.wait_for(engine.waiting.wait(), 10)
    await setup.confirm_login(admin, True, run.session_id)
    assert run.task is not None
    assert (await asyncio.wait_for(run.task, 10)).status == "succeeded"


async def test_a_confirmation_sent_to_the_other_worker_reaches_the_run(
    db: Database, make_user: MakeUser
) -> None:
    async with redis_namespace() as prefix:
        first, second = Worker(db, prefix), Worker(db, prefix)
        engine = ConfirmEngine()
        first.service.runner = engine  # type: ignore[assignment]
        await first.signals.start()
        await second.signals.start()
        try:
            owner = await make_user()
            run = await first.service.start(owner, confirm_request("198.18.0.93"))  # type: ignore[arg-type]
            engine.start_wait.set()
            await asyncio.wait_for(engine.waiting.wait(), 10)
            for _ in range(100):  # the other worker reads the stored events: wait for the flush
                async with db.session() as session:
                    if await confirm_login.stored_waiting(session, run.session_id):
                        break
                await asyncio.sleep(0.05)
            await second.service.confirm_login(owner, False, run.session_id)
            assert run.task is not None
            assert (await asyncio.wait_for(run.task, 10)).status == "succeeded"
            assert engine.got_confirm is True
        finally:
            engine.start_wait.set()
            await first.close()
            await second.close()

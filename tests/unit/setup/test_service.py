"""The setup service's own rules, with a real database and bus and a scripted stand-in for the engine."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.config import Settings
from setupwizard.core.errors import ConflictError, ForbiddenError, NotFoundError
from setupwizard.db.database import Database
from setupwizard.live import event_reads
from setupwizard.live import recorder as recorder_module
from setupwizard.live import store as event_store
from setupwizard.live.memory import MemoryBus
from setupwizard.provisioning import InvalidInputError, validate_options, validate_target
from setupwizard.provisioning.events import EventEmitter, EventType, Level, SessionEvent, utc_now
from setupwizard.provisioning.known_hosts import KnownHostStore, MemoryKnownHosts
from setupwizard.provisioning.result import SessionStatus, SetupResult, SudoCredential, SudoMode
from setupwizard.provisioning.target import SetupOptions, Target
from setupwizard.setup import repository
from setupwizard.setup.locks import MemoryHostLocks
from setupwizard.setup.running import SetupRunningError
from setupwizard.setup.schemas import AutoSetupRequest
from setupwizard.setup.service import SetupService
from setupwizard.setup.session_end import recover_interrupted

MakeUser = Callable[[], Awaitable[int]]


class FakeEngine:
    """Emits a few lines, waits for ``release`` (or cancel), then ends like run_setup does."""

    def __init__(self, sudo: SudoCredential | None = None) -> None:
        self.calls: list[Target] = []
        self.release = asyncio.Event()
        self.sudo = sudo

    async def __call__(
        self,
        target: Target,
        options: SetupOptions,
        emitter: EventEmitter,
        known_hosts: KnownHostStore,
        *,
        cancel: asyncio.Event,
        connect_timeout: float,
        keepalive_interval: float,
    ) -> SetupResult:
        self.calls.append(target)
        await emitter.emit(EventType.INFO, Level.INFO, f"start {target.host}")
        await emitter.emit(EventType.LOG, Level.INFO, f"sudo password is {target.sudo_password}")
        waiting = asyncio.create_task(self.release.wait())
        cancelled = asyncio.create_task(cancel.wait())
        await asyncio.wait({waiting, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        cancelled.cancel()
        status = SessionStatus.CANCELLED if cancel.is_set() else SessionStatus.SUCCEEDED
        result = SetupResult(message=f"✓ {status}", status=status, sudo=self.sudo)
        await emitter.emit(EventType.COMPLETE, Level.SUCCESS, result.message, data=result.to_dict())
        return result


class MemorySudoStore:
    def __init__(self) -> None:
        self.rows: dict[tuple[int, str, int], tuple[str, str]] = {}

    async def saved_password(self, user_id: int, host: str, port: int, sudo_user: str) -> str | None:
        row = self.rows.get((user_id, host, port))
        return row[1] if row and row[0] == sudo_user else None

    async def save(self, user_id: int, host: str, port: int, sudo_user: str, sudo_password: str) -> None:
        self.rows[(user_id, host, port)] = (sudo_user, sudo_password)


def validate(target: Target, options: SetupOptions) -> None:
    validate_target(target)
    validate_options(options)


@pytest.fixture
async def parts(db: Database) -> AsyncIterator[tuple[SetupService, FakeEngine, MemorySudoStore, MemoryBus]]:
    engine = FakeEngine(sudo=SudoCredential("alice", "s3cret-sudo", SudoMode.PASSWORD))
    store = MemorySudoStore()
    bus = MemoryBus()
    service = SetupService(
        settings=Settings(event_flush_seconds=0.05),
        db=db,
        bus=bus,
        locks=MemoryHostLocks(),
        known_hosts=MemoryKnownHosts(),
        sudo_store=store,
        runner=engine,
        validate=validate,
    )
    yield service, engine, store, bus
    engine.release.set()
    await service.close()
    await bus.close()


def request(host: str = "198.18.0.50", **extra: Any) -> AutoSetupRequest:
    return AutoSetupRequest.model_validate(
        {"host": host, "username": "alice", "password": "login-pw", "packages": [], **extra}
    )


async def test_complete_is_published_only_after_the_outcome_is_stored(
    parts: tuple[SetupService, FakeEngine, MemorySudoStore, MemoryBus], make_user: MakeUser, db: Database
) -> None:
    service, engine, store, bus = parts
    owner = await make_user()
    run = await service.start(owner, request(sudo_password="typed-sudo"))
    seen_at_complete: dict[str, Any] = {}

    async def watch() -> None:
        async for batch in bus.subscribe(run.session_id):
            if batch[-1].type is EventType.COMPLETE:
                async with db.session() as session:
                    row = await repository.get_session(session, run.session_id)
                    stored = await event_reads.events_after(session, run.session_id)
                seen_at_complete.update(
                    status=row.status if row else None,
                    stored=[e.seq for e in stored],
                    sudo=store.rows.get((owner, "198.18.0.50", 22)),
                    locked=await service.locks.is_held("198.18.0.50", 22),
                )

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.05)
    engine.release.set()
    assert run.task is not None
    response = await asyncio.wait_for(run.task, 10)
    await asyncio.wait_for(watcher, 10)
    assert seen_at_complete == {
        "status": "succeeded",
        "stored": [1, 2, 3],
        "sudo": ("alice", "s3cret-sudo"),
        "locked": False,
    }
    assert response.logs == ["start 198.18.0.50", "sudo password is ********", "✓ succeeded"]
    assert engine.calls[0].sudo_password == "typed-sudo"


async def test_second_setup_of_a_busy_server_is_409_and_other_servers_run(
    parts: tuple[SetupService, FakeEngine, MemorySudoStore, MemoryBus], make_user: MakeUser
) -> None:
    service, engine, _store, _bus = parts
    owner = await make_user()
    await service.start(owner, request("198.18.0.51"))
    with pytest.raises(ConflictError):
        await service.start(owner, request("198.18.0.51"))
    with pytest.raises(ConflictError):
        await service.start(await make_user(), request("198.18.0.51"))  # whoever asks
    other = await service.start(owner, request("198.18.0.52"))
    engine.release.set()
    assert other.task is not None
    assert (await asyncio.wait_for(other.task, 10)).success


async def test_session_id_of_another_user_is_403_and_ones_own_used_id_is_409(
    parts: tuple[SetupService, FakeEngine, MemorySudoStore, MemoryBus], make_user: MakeUser
) -> None:
    service, engine, _store, _bus = parts
    alice, mallory = await make_user(), await make_user()
    session_id = str(uuid.uuid4())
    run = await service.start(alice, request("198.18.0.53", session_id=session_id))
    with pytest.raises(ForbiddenError):
        await service.start(mallory, request("198.18.0.54", session_id=session_id))
    engine.release.set()
    assert run.task is not None
    await asyncio.wait_for(run.task, 10)
    with pytest.raises(ConflictError):
        await service.start(alice, request("198.18.0.53", session_id=session_id))
    assert len(engine.calls) == 1


async def test_invalid_input_runs_nothing_and_stores_nothing(
    parts: tuple[SetupService, FakeEngine, MemorySudoStore, MemoryBus], make_user: MakeUser, db: Database
) -> None:
    service, engine, _store, _bus = parts
    owner = await make_user()
    with pytest.raises(InvalidInputError) as error:
        await service.start(owner, request(packages=["ok", "bad;touch"]))
    assert error.value.field.startswith("packages")
    async with db.session() as session:
        assert list(await repository.list_sessions(session, owner)) == []
    assert engine.calls == []
    assert not await service.locks.is_held("198.18.0.50", 22)


async def test_saved_sudo_password_is_used_when_none_is_given(
    parts: tuple[SetupService, FakeEngine, MemorySudoStore, MemoryBus], make_user: MakeUser
) -> None:
    service, engine, store, _bus = parts
    owner = await make_user()
    store.rows[(owner, "198.18.0.55", 22)] = ("alice", "saved-sudo")
    store.rows[(owner, "198.18.0.56", 22)] = ("someone-else", "not-for-alice")
    first = await service.start(owner, request("198.18.0.55"))
    second = await service.start(owner, request("198.18.0.56"))
    engine.release.set()
    for run in (first, second):
        assert run.task is not None
        await asyncio.wait_for(run.task, 10)
    assert [t.sudo_password for t in engine.calls] == ["saved-sudo", None]


async def test_cancel_is_for_the_owner_of_a_running_session(
    parts: tuple[SetupService, FakeEngine, MemorySudoStore, MemoryBus], make_user: MakeUser
) -> None:
    service, _engine, _store, _bus = parts
    owner, stranger = await make_user(), await make_user()
    run = await service.start(owner, request("198.18.0.57"))
    with pytest.raises(NotFoundError):
        await service.cancel(stranger, run.session_id)
    await service.cancel(owner, run.session_id)
    assert run.task is not None
    response = await asyncio.wait_for(run.task, 10)
    assert response.status == "cancelled"
    with pytest.raises(ConflictError):
        await service.cancel(owner, run.session_id)


async def test_recovery_marks_orphaned_running_sessions_interrupted_and_keeps_their_events(
    db: Database, make_user: MakeUser
) -> None:
    owner = await make_user()
    locks = MemoryHostLocks()
    orphan, alive = str(uuid.uuid4()), str(uuid.uuid4())
    async with db.session() as session:
        for session_id, host in ((orphan, "198.18.0.60"), (alive, "198.18.0.61")):
            await repository.insert_session(
                session, session_id=session_id, owner_id=owner, host=host, port=22, username="bob"
            )
    lease = await locks.acquire("198.18.0.61", 22)  # a live runner holds this one
    assert lease is not None
    marked = await recover_interrupted(db, locks)
    assert orphan in marked and alive not in marked
    async with db.session() as session:
        row = await repository.get_session(session, orphan)
        events = await event_reads.events_after(session, orphan)
        still = await repository.get_session(session, alive)
    assert row is not None and row.status == "interrupted" and row.finished_at is not None
    assert [e.type for e in events] == [EventType.COMPLETE]
    assert events[0].data["status"] == "interrupted"
    assert still is not None and still.status == "running"
    await lease.release()


class CountingBus(MemoryBus):
    """The in-process bus, counting publish calls."""

    def __init__(self) -> None:
        super().__init__()
        self.publishes: list[list[int]] = []

    async def publish(self, session_id: str, events: Sequence[SessionEvent]) -> None:
        self.publishes.append([e.seq for e in events])
        await super().publish(session_id, events)


class ChunkEngine(FakeEngine):
    """Hands the sink whole chunks of lines, as the engine does with a chunk read from the PTY."""

    def __init__(self, chunks: list[int], level: Level = Level.SUCCESS) -> None:
        super().__init__()
        self.chunks = chunks
        self.level = level

    async def __call__(
        self,
        target: Target,
        options: SetupOptions,
        emitter: EventEmitter,
        known_hosts: KnownHostStore,
        *,
        cancel: asyncio.Event,
        connect_timeout: float,
        keepalive_interval: float,
    ) -> SetupResult:
        seq = 0
        for size in self.chunks:
            batch = [
                SessionEvent(
                    seq + n, EventType.LOG, Level.INFO, f"line {seq + n}", utc_now(), step_id="script"
                )
                for n in range(1, size + 1)
            ]
            seq += size
            await emitter._sink(batch)  # the engine's batch path (one chunk, one sink call)
        emitter._seq = seq
        result = SetupResult(message="done, with warnings", status=SessionStatus.SUCCEEDED)
        await emitter.emit(EventType.COMPLETE, self.level, "⚠ done, with warnings", data=result.to_dict())
        return result


async def start_with(
    db: Database, engine: FakeEngine, bus: MemoryBus
) -> tuple[SetupService, MemoryHostLocks]:
    locks = MemoryHostLocks()
    service = SetupService(
        settings=Settings(event_flush_seconds=0.05),
        db=db,
        bus=bus,
        locks=locks,
        known_hosts=MemoryKnownHosts(),
        sudo_store=MemorySudoStore(),
        runner=engine,
        validate=validate,
    )
    return service, locks


async def test_each_batch_is_one_publish_and_one_insert_and_every_line_keeps_its_seq(
    db: Database, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = CountingBus()
    service, _locks = await start_with(db, ChunkEngine([3, 1, 50], level=Level.WARNING), bus)
    inserts: list[int] = []  # events per write: one executemany each (see the repository)
    add_event_batches = event_store.add_event_batches

    async def counting(session: AsyncSession, batches: Sequence[tuple[str, Sequence[SessionEvent]]]) -> None:
        inserts.append(sum(len(events) for _, events in batches))
        await add_event_batches(session, batches)

    monkeypatch.setattr(recorder_module, "add_event_batches", counting)  # the lines
    monkeypatch.setattr(event_store, "add_event_batches", counting)  # the complete event (the outcome's)
    run = await service.start(await make_user(), request("198.18.0.80"))
    assert run.task is not None
    response = await asyncio.wait_for(run.task, 10)
    assert bus.publishes == [[1, 2, 3], [4], list(range(5, 55)), [55]]
    assert sum(inserts) == 55 and len(inserts) <= 4  # batched: never one insert per line
    async with db.session() as session:
        stored = await event_reads.events_after(session, run.session_id)
        row = await repository.get_session(session, run.session_id)
    assert [e.seq for e in stored] == list(range(1, 56))
    assert [e.message for e in stored[:54]] == [f"line {seq}" for seq in range(1, 55)]
    # The engine's complete is trusted as it is: its level (a warning) is not rebuilt by the service.
    assert stored[-1].level is Level.WARNING and stored[-1].message == "⚠ done, with warnings"
    assert row is not None and row.status == SessionStatus.SUCCEEDED and row.last_seq == 55
    assert response.logs[-1] == "⚠ done, with warnings"
    await service.close()
    await bus.close()


async def test_a_setup_stopped_by_a_shutdown_ends_interrupted_with_an_error_code(
    parts: tuple[SetupService, FakeEngine, MemorySudoStore, MemoryBus], make_user: MakeUser, db: Database
) -> None:
    service, _engine, _store, _bus = parts
    run = await service.start(await make_user(), request("198.18.0.81"))
    await asyncio.sleep(0.05)
    await service.close()
    assert run.task is not None
    response = await asyncio.wait_for(run.task, 10)
    assert response.status == SessionStatus.INTERRUPTED and not response.success
    async with db.session() as session:
        row = await repository.get_session(session, run.session_id)
        stored = await event_reads.events_after(session, run.session_id)
    assert row is not None and row.status == SessionStatus.INTERRUPTED
    assert row.result is not None and row.result["error_code"] == "interrupted"
    assert [e.seq for e in stored] == [1, 2, 3]  # the engine's own complete seq is reused
    assert stored[-1].type is EventType.COMPLETE and stored[-1].level is Level.ERROR
    assert stored[-1].message.startswith("✗ 设置被中断")
    assert row.result["sudo_user"] == "alice"  # what the run learned is kept


async def test_busy_server_409_names_the_running_session_only_to_its_owner(
    parts: tuple[SetupService, FakeEngine, MemorySudoStore, MemoryBus], make_user: MakeUser
) -> None:
    service, engine, _store, _bus = parts
    owner, stranger = await make_user(), await make_user()
    run = await service.start(owner, request("198.18.0.82"))
    with pytest.raises(SetupRunningError) as mine:
        await service.start(owner, request("198.18.0.82"))
    assert mine.value.to_dict()["session_id"] == run.session_id
    assert mine.value.to_dict()["code"] == "setup_running" and mine.value.status_code == 409
    with pytest.raises(SetupRunningError) as theirs:
        await service.start(stranger, request("198.18.0.82"))
    assert theirs.value.to_dict()["session_id"] is None
    engine.release.set()
    assert run.task is not None
    await asyncio.wait_for(run.task, 10)


class BrokenBus(MemoryBus):
    """A bus whose publish fails (Redis gone), except for the run's last event."""

    async def publish(self, session_id: str, events: Sequence[SessionEvent]) -> None:
        if events[-1].type is not EventType.COMPLETE:
            raise ConnectionError("Redis is gone")
        await super().publish(session_id, events)


async def test_failing_publishes_are_logged_once_not_per_batch_and_every_line_is_still_stored(
    db: Database, make_user: MakeUser, caplog: pytest.LogCaptureFixture
) -> None:
    bus = BrokenBus()
    service, _locks = await start_with(db, ChunkEngine([1] * 40), bus)
    with caplog.at_level(logging.ERROR, logger="setupwizard.setup.service"):
        run = await service.start(await make_user(), request("198.18.0.83"))
        assert run.task is not None
        await asyncio.wait_for(run.task, 10)
    failures = [r for r in caplog.records if "Publishing events of session" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None  # 40 failed publishes, one report
    async with db.session() as session:
        stored = await event_reads.events_after(session, run.session_id)
    assert [e.seq for e in stored] == list(range(1, 42))
    await service.close()
    await bus.close()

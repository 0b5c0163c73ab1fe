"""The setup service owns a session's life: validate, lock the server, run the engine, record everything.

Flow of one session (DESIGN.md's one-way flow)::

    start() ── validate ─ lock host:port ─ insert+commit the session row ─▶ background task
    task: engine events ─▶ sink ─▶ bus.publish (live readers) + recorder (batched DB writes)
    end:  flush events ─ final row + ssh_servers_sudo ─ release lock ─ publish ``complete``

The ``complete`` event is held back until the database is final, so a client that saw it can read the
session, its events and the saved sudo row right away.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from setupwizard.config import Settings
from setupwizard.core.errors import ConflictError, ForbiddenError, NotFoundError
from setupwizard.db.database import Database
from setupwizard.live.bus import ProgressBus
from setupwizard.provisioning.events import EventEmitter, EventType, Level, SessionEvent, utc_now
from setupwizard.provisioning.known_hosts import KnownHostBook, KnownHostStore, store_for
from setupwizard.provisioning.result import SetupResult, SudoMode
from setupwizard.provisioning.target import SetupOptions, Target
from setupwizard.setup import repository
from setupwizard.setup.locks import HostLease, HostLocks
from setupwizard.setup.recorder import EventRecorder
from setupwizard.setup.run_signals import MemoryRunSignals, RunSignals
from setupwizard.setup.schemas import AutoSetupRequest, SetupResponse

log = logging.getLogger(__name__)

INTERRUPTED_MESSAGE = "✗ 设置被中断：服务在运行中重启，服务器可能处于部分设置的状态，请重新运行设置"
SHUTDOWN_GRACE_SECONDS = 10.0


class SetupRunner(Protocol):
    """The engine's ``run_setup``."""

    def __call__(
        self,
        target: Target,
        options: SetupOptions,
        emitter: EventEmitter,
        known_hosts: KnownHostStore,
        *,
        cancel: asyncio.Event,
        connect_timeout: float,
        keepalive_interval: float,
    ) -> Awaitable[SetupResult]: ...


class SudoStore(Protocol):
    """Saved sudo credentials (``ssh_servers_sudo``), decrypted on the way out."""

    async def saved_password(self, user_id: int, host: str, port: int, sudo_user: str) -> str | None:
        """The saved sudo password of ``sudo_user`` on the server ('' when passwordless), or None."""
        ...

    async def save(self, user_id: int, host: str, port: int, sudo_user: str, sudo_password: str) -> None:
        """Upsert the row ('' for passwordless sudo; the store encrypts anything else)."""
        ...


Validator = Callable[[Target, SetupOptions], None]


@dataclass
class RunningSetup:
    """A session running in this process."""

    session_id: str
    owner_id: int
    host: str
    port: int
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    logs: list[str] = field(default_factory=list)
    task: asyncio.Task[SetupResponse] | None = None


class SetupService:
    """Starts setups, tracks the ones running in this process, cancels and recovers them.

    :param runner: the engine's ``run_setup``.
    :param validate: checks target and options, raising the engine's ``InvalidInputError`` (422).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        bus: ProgressBus,
        locks: HostLocks,
        known_hosts: KnownHostStore | KnownHostBook,
        sudo_store: SudoStore,
        runner: SetupRunner,
        validate: Validator,
        signals: RunSignals | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.locks = locks
        self.known_hosts = known_hosts
        self.sudo_store = sudo_store
        self.runner = runner
        self.validate = validate
        self.signals: RunSignals = signals or MemoryRunSignals()  # scale-out: cancel/liveness across workers
        self.running: dict[str, RunningSetup] = {}
        self._closing = False

    async def start(self, owner_id: int, request: AutoSetupRequest) -> RunningSetup:
        """Validate, lock and record a new session, then run it in a background task.

        Raises 422 (bad field; nothing runs), 409 (server busy, or the caller's own finished session id),
        403 (session id of another user).
        """
        options = request.to_options()
        self.validate(request.to_target(), options)
        saved = None
        if request.sudo_password is None and request.use_saved_sudo_password:
            saved = await self.sudo_store.saved_password(
                owner_id, request.host, request.port, request.username
            )
        target = request.to_target(saved_sudo_password=saved)
        session_id = str(request.session_id or uuid.uuid4())
        await self._check_session_id(owner_id, session_id)

        lease = await self.locks.acquire(target.host, target.port)
        if lease is None:
            raise ConflictError(
                f"{target.host}:{target.port} 正在设置中，请等待当前设置结束", code="setup_running"
            )
        try:
            async with self.db.session() as session:
                await repository.insert_session(
                    session,
                    session_id=session_id,
                    owner_id=owner_id,
                    host=target.host,
                    port=target.port,
                    username=target.username,
                )
        except IntegrityError:
            await lease.release()
            await self._check_session_id(owner_id, session_id)
            raise ConflictError("session_id 已被使用", code="session_id_used") from None
        except BaseException:
            await lease.release()
            raise
        run = RunningSetup(session_id=session_id, owner_id=owner_id, host=target.host, port=target.port)
        self.running[session_id] = run
        run.task = asyncio.create_task(self._run(run, target, options, lease), name=f"setup-{session_id}")
        # scale-out (issue E §2): a cancel sent to any worker reaches this run; its heartbeat ends with the
        # task, i.e. after the final row is stored (the dead-worker sweep relies on that order)
        await self.signals.track(session_id, run.cancel)
        run.task.add_done_callback(lambda _task: self.signals.untrack(session_id))
        return run

    async def _check_session_id(self, owner_id: int, session_id: str) -> None:
        async with self.db.session() as session:
            row = await repository.get_session(session, session_id)
        if row is None:
            return
        if row.owner_id != owner_id:
            raise ForbiddenError("session_id 属于其他用户", code="session_id_foreign")
        raise ConflictError("session_id 已被使用，请为新的设置生成新的 session_id", code="session_id_used")

    async def _run(
        self, run: RunningSetup, target: Target, options: SetupOptions, lease: HostLease
    ) -> SetupResponse:
        recorder = EventRecorder(self.db, run.session_id, self.settings.event_flush_seconds)
        recorder.start()
        completes: list[SessionEvent] = []

        async def sink(events: Sequence[SessionEvent]) -> None:
            for event in events:
                if event.type is EventType.COMPLETE:
                    completes.append(event)  # recorded and published once the rest is stored: see _conclude
                    return
                run.logs.append(event.message)
                recorder.add(event)
                try:
                    await self.bus.publish(run.session_id, event)
                except Exception:  # live viewers miss it, but it is recorded; the setup goes on
                    log.exception("Publishing an event of session %s failed", run.session_id)

        emitter = EventEmitter(sink, secrets=target.secrets())
        try:
            result = await self._call_engine(run, target, options, emitter)
        except asyncio.CancelledError:  # the process is stopping and did not wait for the engine
            await self._conclude(run, recorder, lease, _interrupted_event(emitter, completes), None)
            raise
        finally:
            self.running.pop(run.session_id, None)
        if self._closing and result.status == "cancelled":  # stopped by a shutdown, not by the user
            complete = _interrupted_event(emitter, completes)
        elif completes:
            complete = completes[0]
            if not complete.data:
                complete = dataclasses.replace(complete, data=result.to_dict())
        else:  # the engine promises one complete event; never leave readers hanging
            message = emitter.redact(result.message)
            complete = _final_event(emitter.last_seq + 1, _level(result), message, result.to_dict())
        await self._conclude(run, recorder, lease, complete, result)
        body = {**complete.data, "session_id": run.session_id, "logs": list(run.logs)}
        return SetupResponse.model_validate(body)

    async def _conclude(
        self,
        run: RunningSetup,
        recorder: EventRecorder,
        lease: HostLease,
        complete: SessionEvent,
        result: SetupResult | None,
    ) -> None:
        """Store the last events and the outcome, save sudo, free the server, then publish ``complete``."""
        run.logs.append(complete.message)
        recorder.add(complete)
        data = complete.data
        steps: list[Callable[[], Awaitable[Any]]] = [
            recorder.close,
            partial(
                self._store_outcome,
                run.session_id,
                str(data.get("status", "failed")),
                str(data.get("message", complete.message)),
                data,
            ),
        ]
        if result is not None and result.sudo is not None:
            sudo = result.sudo
            password = sudo.sudo_password if sudo.mode is SudoMode.PASSWORD else ""
            steps.append(
                partial(self.sudo_store.save, run.owner_id, run.host, run.port, sudo.sudo_user, password)
            )
        steps += [lease.release, partial(self.bus.publish, run.session_id, complete)]
        for step in steps:
            try:
                await step()
            except Exception:
                log.exception("Ending session %s: a step failed; going on with the rest", run.session_id)

    async def _store_outcome(
        self, session_id: str, status: str, message: str, result: dict[str, Any]
    ) -> None:
        async with self.db.session() as session:
            await repository.finish_session(
                session, session_id, status=status, message=message, result=result
            )

    async def _call_engine(
        self, run: RunningSetup, target: Target, options: SetupOptions, emitter: EventEmitter
    ) -> SetupResult:
        try:
            return await self.runner(
                target,
                options,
                emitter,
                store_for(self.known_hosts, run.owner_id),  # hardening F.7: the owner's own trust
                cancel=run.cancel,
                connect_timeout=self.settings.ssh_connect_timeout,
                keepalive_interval=self.settings.ssh_keepalive_interval,
            )
        except asyncio.CancelledError:
            raise
        except (
            Exception
        ) as exc:  # a bug in the engine: end the session cleanly, keep the traceback in the log
            log.exception("The engine failed unexpectedly in session %s", run.session_id)
            return SetupResult(success=False, message=f"✗ 内部错误: {type(exc).__name__}", status="failed")

    async def cancel(self, owner_id: int, session_id: str) -> None:
        """Ask a running session of the caller to stop, in any worker (404 not theirs, 409 not running)."""
        async with self.db.session() as session:
            row = await repository.get_session(session, session_id)
        if row is None or row.owner_id != owner_id:
            raise NotFoundError("没有这个设置会话", code="session_not_found")
        if row.status != repository.RUNNING:
            raise ConflictError("该设置已结束，无法取消", code="session_not_running")
        await self.signals.request_cancel(session_id)  # scale-out: reaches the run in whichever worker

    async def close(self) -> None:
        """Shutdown: cancel every running setup, give it a moment to stop, then interrupt the rest."""
        self._closing = True
        runs = list(self.running.values())
        for run in runs:
            run.cancel.set()
        tasks = [run.task for run in runs if run.task is not None]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _final_event(seq: int, level: Level, message: str, data: dict[str, Any]) -> SessionEvent:
    return SessionEvent(
        seq=seq, type=EventType.COMPLETE, level=level, message=message, timestamp=utc_now(), data=data
    )


def _interrupted_event(emitter: EventEmitter, completes: list[SessionEvent]) -> SessionEvent:
    seq = completes[0].seq if completes else emitter.last_seq + 1
    return _final_event(seq, Level.ERROR, INTERRUPTED_MESSAGE, interrupted_result())


def _level(result: SetupResult) -> Level:
    if result.success:
        return Level.SUCCESS
    return Level.WARNING if result.status == "cancelled" else Level.ERROR


def interrupted_result() -> dict[str, Any]:
    """The ``result`` of a session cut short by a restart (no secret, same shape as SetupResult's)."""
    return {
        "success": False,
        "message": INTERRUPTED_MESSAGE,
        "status": repository.INTERRUPTED,
        "steps": [],
        "sudo_user": None,
        "sudo_mode": None,
        "host_key_fingerprint": None,
        "os": None,
    }


async def recover_interrupted(db: Database, locks: HostLocks) -> list[str]:
    """Mark sessions left ``running`` by a crash as ``interrupted``, appending a final event; logs are kept.

    A session whose server lock is still held (a live runner in another worker, Redis mode) is left alone.
    Returns the ids of the sessions marked.
    """
    marked: list[str] = []
    async with db.session() as session:
        for row in await repository.running_sessions(session):
            if await locks.is_held(row.host, row.port):
                continue
            seq = max(row.last_seq, await repository.max_event_seq(session, row.id)) + 1
            final = _final_event(seq, Level.ERROR, INTERRUPTED_MESSAGE, interrupted_result())
            await repository.add_events(session, row.id, [final])
            await repository.finish_session(
                session, row.id, status=repository.INTERRUPTED, message=INTERRUPTED_MESSAGE, result=final.data
            )
            marked.append(row.id)
    if marked:
        log.warning("Marked %d setup session(s) interrupted by a restart: %s", len(marked), ", ".join(marked))
    return marked

"""The setup service owns a session's life: validate, lock the server, run the engine, record everything.

Flow of one session (docs/architecture.md)::

    start() ── validate ─ lock host:port ─ insert+commit the session row ─▶ task here, or a job (jobs/)
    task: engine batches ─▶ sink ─▶ one bus.publish per batch (live readers) + recorder (batched writes)
    end:  flush events ─ final row + ssh_servers_sudo ─ release lock ─ publish ``complete``

The ``complete`` event is held back until the database is final, so a client that saw it can read the
session, its events and the saved sudo row right away (unless the database refuses writes: then
``complete`` says what could not be stored, and the end is written once the database takes it). The
engine's ``complete`` is trusted as it is; the service builds one itself only when the run was interrupted
(the service stopping) or the engine failed without one, both from a :class:`.SetupResult`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError

from setupwizard.config import Settings
from setupwizard.core.errors import ConflictError, ForbiddenError, ForeignSessionError, NotFoundError
from setupwizard.core.log_format import REQUEST_ID, bind_session
from setupwizard.db.database import Database
from setupwizard.db.faults import describe
from setupwizard.live.arrivals import SessionArrivals
from setupwizard.live.bus import ProgressBus
from setupwizard.live.recorder import EventRecorder, EventStore
from setupwizard.metrics import registry as metrics
from setupwizard.provisioning.events import EventEmitter, EventType, SessionEvent
from setupwizard.provisioning.known_hosts import KnownHostBook, KnownHostStore, store_for
from setupwizard.provisioning.result import SessionStatus, SetupResult, SudoMode
from setupwizard.provisioning.target import SetupOptions, Target
from setupwizard.servers.repository import SwitchedLogin
from setupwizard.setup import confirm_login, repository
from setupwizard.setup.admin_keys import offer_admin_key
from setupwizard.setup.locks import HostLease, HostLocks
from setupwizard.setup.outcomes import OutcomeWriter, incomplete_log_event
from setupwizard.setup.ports import (
    EndNotifier,
    KeyHandover,
    LoginSwitch,
    SetupQueue,
    SetupRunner,
    SudoStore,
    Validator,
)
from setupwizard.setup.publisher import Publisher
from setupwizard.setup.run_signals import MemoryRunSignals, RunSignals
from setupwizard.setup.running import PreparedSetup, RunningSetup, SetupRunningError
from setupwizard.setup.schemas import AutoSetupRequest, SetupResponse
from setupwizard.setup.seq_ceiling import FIRST_RESERVATION, CeilingWriter, SeqCeiling
from setupwizard.setup.session_end import complete_event_for, switched_login
from setupwizard.setup.session_lookup import DatabaseSessions, session_state

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0


class SetupService:
    """Starts setups, tracks the ones running in this process, cancels and recovers them.

    :param runner: the engine's ``run_setup``.
    :param validate: checks target and options, raising the engine's ``InvalidInputError`` (422).
    :param logins: switches the saved entry after an SSH hardening (None: the sudo row is saved as it
        always was, under the run's own login).
    :param admin_keys: keeps a generated admin key for its one download (None: such a key is dropped).
    :param notifier: tells the owner's notification targets when a session ends (None: nobody is told).
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
        logins: LoginSwitch | None = None,
        admin_keys: KeyHandover | None = None,
        notifier: EndNotifier | None = None,
        queue: SetupQueue | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.publisher = Publisher(bus)
        self.locks = locks
        self.known_hosts, self.sudo_store = known_hosts, sudo_store
        self.runner, self.validate = runner, validate
        self.signals: RunSignals = signals or MemoryRunSignals()  # scale-out: cancel/liveness across workers
        self.logins, self.admin_keys, self.notifier = logins, admin_keys, notifier
        self.queue = queue  # PostgreSQL: every setup is a job of the queue (setupwizard.jobs)
        self.cancel_waiting: Callable[[int, str], Awaitable[bool]] | None = None  # a fleet's queued host
        self.running: dict[str, RunningSetup] = {}
        self.events = EventStore(db, settings.event_flush_seconds)  # one writer for every session's events
        self.outcomes = OutcomeWriter(db)  # each session's end: complete event + final row, retried
        self.ceilings = CeilingWriter(db)  # every session's seq reservations, written together
        # progress sockets waiting for a session that is not there yet, and whether a session runs here
        self.arrivals = SessionArrivals(DatabaseSessions(db), running_here=self.running.__contains__)
        self._closing = False

    async def start(self, owner_id: int, request: AutoSetupRequest) -> RunningSetup:
        """Validate, lock and record a new session, then run it in a background task (or, with a job
        queue, defer its job: :mod:`setupwizard.jobs`).

        Raises 422 (bad field; nothing runs), 409 (server busy, or the caller's own finished session id),
        403 (session id of another user).
        """
        prepared = await self.prepare(owner_id, request)
        if self.queue is not None:
            return await self.queue.launch(prepared, wait=request.wait)
        lease = await self.locks.acquire(prepared.target.host, prepared.target.port)
        if lease is None:
            async with self.db.session() as session:
                busy = await repository.running_session_on(
                    session, prepared.target.host, prepared.target.port
                )
            mine = busy.id if busy is not None and busy.owner_id == owner_id else None
            raise SetupRunningError(prepared.target.host, prepared.target.port, mine)
        try:
            async with self.db.session() as session:
                row = await repository.insert_session(
                    session,
                    session_id=prepared.session_id,
                    owner_id=owner_id,
                    host=prepared.target.host,
                    port=prepared.target.port,
                    username=prepared.target.username,
                    seq_ceiling=FIRST_RESERVATION,
                )
        except IntegrityError:
            await lease.release()
            await self.check_session_id(owner_id, prepared.session_id)
            raise ConflictError("session_id 已被使用", code="session_id_used") from None
        except BaseException:
            await lease.release()
            raise
        self.arrivals.arrived(session_state(row))
        return await self.launch(prepared, lease)

    async def prepare(self, owner_id: int, request: AutoSetupRequest) -> PreparedSetup:
        """Check a request (422 naming the field; 403/409 for a used session id) and fill in the saved
        sudo password: what a run needs, before anything is stored."""
        options = request.to_options()
        self.validate(request.to_target(), options)
        saved = None
        if request.sudo_password is None and request.use_saved_sudo_password:
            saved = await self.sudo_store.saved_password(
                owner_id, request.host, request.port, request.username
            )
        session_id = str(request.session_id or uuid.uuid4())
        await self.check_session_id(owner_id, session_id)
        return PreparedSetup(
            session_id=session_id,
            owner_id=owner_id,
            target=request.to_target(saved_sudo_password=saved),
            options=options,
            save_sudo_password=request.save_sudo_password,
            request=request,
            saved_sudo_password=saved,
            request_id=REQUEST_ID.get(),
        )

    async def launch(self, prepared: PreparedSetup, lease: HostLease) -> RunningSetup:
        """Run a recorded (``running``) session in a background task of this process; ``lease`` is freed
        when it ends. The in-process path after :meth:`start`'s insert, and a queue job's run."""
        run = RunningSetup(
            session_id=prepared.session_id,
            owner_id=prepared.owner_id,
            host=prepared.target.host,
            port=prepared.target.port,
            save_sudo_password=prepared.save_sudo_password,
        )
        session_id = run.session_id
        self.running[session_id] = run
        metrics.setup_started()
        bind_session(session_id)  # the run's task inherits it: its log lines name the session
        run.task = asyncio.create_task(
            self._run(run, prepared.target, prepared.options, lease), name=f"setup-{session_id}"
        )
        # a confirmation (or, without a queue, a cancel) sent to any worker reaches this run
        await self.signals.track(session_id, run.cancel, run.confirm)
        run.task.add_done_callback(lambda _task: self.signals.untrack(session_id))
        return run

    async def check_session_id(self, owner_id: int, session_id: str) -> None:
        """A new session's id must be unused: 403 when another user's session has it, 409 one's own."""
        try:
            async with self.db.session() as session:
                await repository.get_owned_session(session, session_id, owner_id)
        except ForeignSessionError:
            raise ForbiddenError("session_id 属于其他用户", code="session_id_foreign") from None
        except NotFoundError:
            return
        raise ConflictError("session_id 已被使用，请为新的设置生成新的 session_id", code="session_id_used")

    async def _run(
        self, run: RunningSetup, target: Target, options: SetupOptions, lease: HostLease
    ) -> SetupResponse:
        recorder = self.events.open(run.session_id)
        ceiling = SeqCeiling(self.ceilings, run.session_id, ceiling=FIRST_RESERVATION)
        completes: list[SessionEvent] = []

        async def sink(events: Sequence[SessionEvent]) -> None:
            if not events or run.fenced:  # fenced: whoever takes the job over ends the session
                return
            if events[-1].type is EventType.COMPLETE:  # the engine's last event ends its last batch
                completes.append(events[-1])  # stored and published once the rest is: see _conclude
                events = events[:-1]
                if not events:
                    return
            run.awaiting_confirm = confirm_login.follow(run.awaiting_confirm, events)
            for event in events:
                if event.first_seq is None:
                    run.logs.append(event.message)
                else:
                    run.logs.extend(event.lines())
            recorder.add(events)
            await ceiling.cover(events[-1].seq)  # a crash recovery must number its final event above
            await self.publisher.publish(run.session_id, events)  # a failure is reported, never raised

        emitter = EventEmitter(sink, secrets=target.secrets())
        try:
            result = await self._call_engine(run, target, options, emitter)
        except asyncio.CancelledError:  # the process is stopping and did not wait for the engine
            complete = complete_event_for(emitter, completes, SetupResult.interrupted())
            await self._conclude(run, recorder, ceiling, lease, complete, None)
            raise
        finally:
            self.running.pop(run.session_id, None)
        if self._closing and result.status == SessionStatus.CANCELLED:  # stopped by a shutdown, not the user
            complete = complete_event_for(emitter, completes, SetupResult.interrupted(result))
        elif completes:
            complete = completes[0]
        else:  # the engine promises one complete event (it failed before it); never leave readers hanging
            complete = complete_event_for(emitter, completes, result)
        switched = switched_login(target, options, result, run.port)
        port = switched.port if switched is not None else run.port
        complete = await offer_admin_key(
            self.admin_keys, run.session_id, run.owner_id, run.host, port, complete, result, options
        )
        complete = await self._conclude(run, recorder, ceiling, lease, complete, result, switched)
        if self.notifier is not None and not run.fenced:  # returns at once: delivery runs on its own
            server = f"{target.username}@{run.host}:{run.port}"
            self.notifier.session_ended(
                run.session_id, run.owner_id, server, complete, run.logs, emitter.redact
            )
        body = {**complete.data, "session_id": run.session_id, "logs": list(run.logs)}
        return SetupResponse.model_validate(body)

    async def _conclude(
        self,
        run: RunningSetup,
        recorder: EventRecorder,
        ceiling: SeqCeiling,
        lease: HostLease,
        complete: SessionEvent,
        result: SetupResult | None,
        switched: SwitchedLogin | None = None,
    ) -> SessionEvent:
        """Store the last events and the outcome, save sudo (or switch the saved entry to the login an SSH
        hardening left), free the server, then publish ``complete``; returns it as published.

        When not every event could be stored (a full disk), ``complete`` says so and the end
        is stored as soon as the database takes it (:class:`~setupwizard.setup.outcomes.OutcomeWriter`).
        """
        if run.fenced:  # jobs/fence.py: nothing more is written; its lines not yet stored are on the bus
            self.events.forget(recorder)
            return complete
        total = recorder.added
        if not await recorder.close():
            reason = describe(recorder.error) if recorder.error is not None else "?"
            log.error(
                "Session %s: only %d of its %d lines could be stored (%s); the rest are lost",
                run.session_id,
                recorder.written,
                total,
                reason,
            )
            complete = incomplete_log_event(complete, recorder.written, total, reason)
        run.logs.append(complete.message)
        metrics.setup_ended(str(complete.data.get("status", SessionStatus.FAILED)), result)
        steps: list[Callable[[], Awaitable[Any]]] = [partial(self.outcomes.write, run.session_id, complete)]
        if switched is not None and self.logins is not None:
            steps.append(partial(self.logins.switch, run.owner_id, run.host, switched))
        elif (
            result is not None
            and result.sudo is not None
            and (run.save_sudo_password or result.sudo.mode is not SudoMode.PASSWORD)
        ):
            sudo = result.sudo
            password = sudo.sudo_password if sudo.mode is SudoMode.PASSWORD else ""
            steps.append(
                partial(self.sudo_store.save, run.owner_id, run.host, run.port, sudo.sudo_user, password)
            )
        steps += [
            lease.release,
            ceiling.close,
            partial(ceiling.cover, complete.seq),
            partial(self.bus.publish, run.session_id, (complete,)),
        ]
        for step in steps:
            try:
                await step()
            except Exception:
                log.exception("Ending session %s: a step failed; going on with the rest", run.session_id)
        return complete

    def write_failure(self) -> BaseException | None:
        """Why events or a session's end cannot be stored right now, or None (for ``/api/health``)."""
        return self.events.failing or self.outcomes.failing

    async def _call_engine(
        self, run: RunningSetup, target: Target, options: SetupOptions, emitter: EventEmitter
    ) -> SetupResult:
        extra: dict[str, asyncio.Event] = {}
        if options.ssh_hardening is not None and options.ssh_hardening.confirm_login:
            extra["confirm"] = run.confirm  # only then: other runners need not know the keyword
        try:
            return await self.runner(
                target,
                options,
                emitter,
                store_for(self.known_hosts, run.owner_id),  # the owner's own host-key trust
                **extra,
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
            return SetupResult(
                message=f"内部错误: {type(exc).__name__}",
                status=SessionStatus.FAILED,
                error_code="internal_error",
            )

    async def cancel(self, owner_id: int, session_id: str) -> None:
        """Ask a running session of the caller to stop, in any worker (404 not theirs, 409 not running)."""
        if self.cancel_waiting is not None and await self.cancel_waiting(owner_id, session_id):
            return  # a fleet's host still waiting for its turn: the fleet ended it
        async with self.db.session() as session:
            row = await repository.get_owned_session(session, session_id, owner_id)
        if row.status != SessionStatus.RUNNING:
            raise ConflictError("该设置已结束，无法取消", code="session_not_running")
        if self.queue is not None:  # PostgreSQL: the queue's abort reaches the run on any worker
            await self.queue.cancel(session_id)
        else:
            await self.signals.request_cancel(session_id)

    async def confirm_login(self, user_id: int, is_admin: bool, session_id: str) -> None:
        """The person could log in the new way: keep the hardening of a session waiting for it (owner or
        admin; 404 neither, 409 ``session_not_waiting`` when it does not wait), in any worker."""
        async with self.db.session() as session:
            row = await repository.get_session(session, session_id)
            if row is None or (row.owner_id != user_id and not is_admin):
                raise NotFoundError("没有这个设置会话")
            run = self.running.get(session_id)
            if run is not None:
                waiting = run.awaiting_confirm
            else:
                waiting = row.status == SessionStatus.RUNNING and await confirm_login.stored_waiting(
                    session, session_id
                )
        if not waiting:
            raise ConflictError("该设置没有在等待确认登录", code="session_not_waiting")
        await self.signals.request_confirm(session_id)  # scale-out: reaches the run in whichever worker

    async def close(self) -> None:
        """Shutdown: cancel every running setup, give it a moment to stop, then interrupt the rest."""
        self._closing = True
        runs = list(self.running.values())
        for run in runs:
            run.cancel.set()
        tasks = [run.task for run in runs if run.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.events.close()
        await self.outcomes.close()
        await self.arrivals.close()

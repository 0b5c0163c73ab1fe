"""How a session ends when the engine did not end it: the one ``complete`` event built from a result, and the
one way to end a session as ``interrupted`` (the service at shutdown or after a crash, and the dead-worker
stalled-job pass). Also the login a hardening left, which the end saves in place of the old one."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.database import Database
from setupwizard.live import event_reads, store
from setupwizard.provisioning.events import EventEmitter, EventType, SessionEvent, utc_now
from setupwizard.provisioning.messages import Msg, msg
from setupwizard.provisioning.result import SetupResult, SudoMode
from setupwizard.provisioning.summary import complete_event_level, level_mark
from setupwizard.provisioning.target import SetupOptions, Target
from setupwizard.servers.repository import SwitchedLogin
from setupwizard.setup import repository
from setupwizard.setup.locks import HostLocks

log = logging.getLogger(__name__)


def complete_event(seq: int, result: SetupResult, redact: Callable[[str], str] = str) -> SessionEvent:
    """The ``complete`` event of ``result`` (its message redacted), shaped as the engine's: with the code
    ``run.complete`` when the result's message is catalogued (and reads the same rendered, redaction and
    all), so it shows in any language."""
    level = complete_event_level(result)
    message = redact(result.message)
    data = {**result.to_dict(), "message": message}
    line = f"{level_mark(level)} {message}"
    said = None
    if result.code is not None:
        said = msg("run.complete", mark=level_mark(level), result=Msg(result.code, result.params or {}))
        if str(said) != line:
            said = None
    return SessionEvent(
        seq=seq,
        type=EventType.COMPLETE,
        level=level,
        message=line,
        timestamp=utc_now(),
        data=data,
        code=said.code if said else None,
        params=said.params if said else None,
    )


def complete_event_for(
    emitter: EventEmitter, completes: list[SessionEvent], result: SetupResult
) -> SessionEvent:
    """The service's ``complete`` event for ``result``, shaped as the engine's (its seq, if the engine
    sent one)."""
    seq = completes[0].seq if completes else emitter.last_seq + 1
    return complete_event(seq, result, emitter.redact)


async def interrupt_session(session: AsyncSession, session_id: str, above: int) -> SessionEvent:
    """End a session as ``interrupted``: its final event numbered ``above + 1`` (above every seq that may
    have been shown live), stored with the final row in the caller's transaction. Returns the event."""
    return await end_session(session, session_id, above, SetupResult.interrupted())


async def end_session(
    session: AsyncSession,
    session_id: str,
    above: int,
    result: SetupResult,
    extra: dict[str, Any] | None = None,
) -> SessionEvent:
    """End a session that no run will end (interrupted, or cancelled before it started) with ``result``:
    its final event numbered ``above + 1`` (``extra`` added to its data), stored with the final row in the
    caller's transaction."""
    final = complete_event(above + 1, result)
    if extra:
        final = dataclasses.replace(final, data={**final.data, **extra})
    await store.add_events(session, session_id, [final])
    await repository.finish_session(
        session, session_id, status=result.status, message=result.message, result=final.data
    )
    return final


async def recover_interrupted(db: Database, locks: HostLocks) -> list[str]:
    """Mark sessions left ``running`` by a crash as ``interrupted``, appending a final event; logs are kept.

    A session whose server lock is still held (a live runner in another worker, Redis mode) is left alone.
    The final event goes above every seq that may have been shown live (the bus died with the process: see
    ``setup/seq_ceiling.py``). Returns the ids of the sessions marked.
    """
    marked: list[str] = []
    async with db.session() as session:
        for row in await repository.running_sessions(session):
            if await locks.is_held(row.host, row.port):
                continue
            stored = max(row.last_seq, await event_reads.max_event_seq(session, row.id))
            await interrupt_session(session, row.id, max(stored, row.seq_ceiling))
            marked.append(row.id)
    if marked:
        log.warning("Marked %d setup session(s) interrupted by a restart: %s", len(marked), ", ".join(marked))
    return marked


def switched_login(
    target: Target, options: SetupOptions, result: SetupResult, old_port: int
) -> SwitchedLogin | None:
    """The login to save after an SSH hardening left ``result.login_after``, with its sudo mode.

    The run's own login keeps the sudo mode the run found; the new admin user has its sudo password or
    NOPASSWD (''), and no known sudo mode when it was given neither.
    """
    after = result.login_after
    if not after or not isinstance(after.get("username"), str) or not isinstance(after.get("port"), int):
        return None
    user, port = str(after["username"]), int(after["port"])
    sudo_user: str | None = None
    password = ""
    sudo = result.sudo
    if user == target.username and sudo is not None:
        sudo_user = user
        password = sudo.sudo_password if sudo.mode is SudoMode.PASSWORD else ""
    elif options.admin is not None and options.admin.username == user:
        if options.admin.nopasswd:
            sudo_user = user
        elif options.admin.sudo_password:
            sudo_user, password = user, options.admin.sudo_password
    return SwitchedLogin(
        old_port=old_port,
        port=port,
        sudo_user=sudo_user,
        sudo_password=password,
        fingerprint=result.host_key_fingerprint,
    )

"""The event store alone (not part of ``make bench``): 200,000 lines stored in 25 ``add_event_batches``
writes, each its own transaction, then read back whole, in the feed's pages of 2,000, and from near the
end; on SQLite or PostgreSQL, medians of a few rounds. No server, no SSH.

    .venv/bin/python -m bench.event_store sqlite|postgres [rounds]

To compare with another version, put its checkout first: ``PYTHONPATH=/tmp/old .venv/bin/python
bench/event_store.py sqlite`` (the line printed first says which ``setupwizard`` was imported).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

import setupwizard
from setupwizard.auth.service import create_user
from setupwizard.config import Settings
from setupwizard.db.database import Database
from setupwizard.live import event_reads, store
from setupwizard.provisioning.events import EventType, Level, SessionEvent
from setupwizard.setup import repository

LINES = 200_000
BATCHES = 25
CHUNK = 1000  # lines per engine chunk (one timestamp each)
PG_ADMIN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def make_events() -> list[list[SessionEvent]]:
    start = datetime(2026, 11, 27, tzinfo=UTC)
    events = [
        SessionEvent(
            1, EventType.STEP, Level.INFO, "[3/4] script", start, "script", 3, 4, {"status": "running"}
        )
    ]
    moment = start
    for seq in range(2, LINES + 2):
        if (seq - 2) % CHUNK == 0:
            moment = moment + timedelta(milliseconds=1)
        events.append(SessionEvent(seq, EventType.LOG, Level.INFO, str(seq - 1), moment, "script", 3, 4))
    size = len(events) // BATCHES + 1
    return [events[i : i + size] for i in range(0, len(events), size)]


async def one_round(url: str, data_dir: Path, batches: list[list[SessionEvent]]) -> dict[str, float]:
    db = Database(Settings(database_url=url, data_dir=data_dir))
    await db.migrate()
    try:
        session_id = str(uuid.uuid4())
        async with db.session() as session:
            user = await create_user(session, f"u{uuid.uuid4().hex[:10]}", "a-long-password-123")
            await repository.insert_session(
                session, session_id=session_id, owner_id=user.id, host="h", port=22, username="u"
            )
        began = time.perf_counter()
        for batch in batches:
            async with db.session() as session:
                await store.add_event_batches(session, [(session_id, batch)])
        write = time.perf_counter() - began

        began = time.perf_counter()
        async with db.session() as session:
            everything = await event_reads.events_after(session, session_id)
        read_all = time.perf_counter() - began
        assert len(everything) == LINES + 1, len(everything)

        began = time.perf_counter()
        cursor, count = 0, 0
        while True:
            async with db.session() as session:
                page = await event_reads.events_after(session, session_id, cursor, limit=2000)
            if not page:
                break
            count += len(page)
            cursor = page[-1].seq
        read_pages = time.perf_counter() - began
        assert count == LINES + 1, count

        began = time.perf_counter()
        async with db.session() as session:
            tail = await event_reads.events_after(session, session_id, LINES - 500)
        read_tail = time.perf_counter() - began
        assert len(tail) == 501
        return {
            "write": write,
            "read_all": read_all,
            "read_pages_2000": read_pages,
            "read_since_tail": read_tail,
        }
    finally:
        await db.dispose()


async def measure(kind: str, batches: list[list[SessionEvent]]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        if kind == "sqlite":
            return await one_round(f"sqlite+aiosqlite:///{tmp}/store.db", Path(tmp), batches)
        name = f"bench_store_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(PG_ADMIN)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            try:
                return await one_round(f"{base}/{name}", Path(tmp), batches)
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    if kind not in ("sqlite", "postgres"):
        raise SystemExit(__doc__)
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(
        f"setupwizard from {setupwizard.__file__}; {kind}; {LINES} lines in {BATCHES} writes; {rounds} rounds"
    )
    batches = make_events()
    results = [await measure(kind, batches) for _ in range(rounds)]
    for key in results[0]:
        values = [result[key] for result in results]
        each = ", ".join(f"{value:.3f}" for value in values)
        print(f"  {key:16s} median {statistics.median(values):7.3f} s   ({each})")


if __name__ == "__main__":
    asyncio.run(main())

"""A fleet as the API shows it: its hosts (with the newest line of those running here), counts, logs."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.models import Fleet, FleetHost
from setupwizard.fleets import repository
from setupwizard.fleets.last_line import LastLine
from setupwizard.fleets.progress import FleetProgress
from setupwizard.fleets.schemas import FleetHostOut, FleetOut
from setupwizard.live import event_reads
from setupwizard.provisioning.events import format_timestamp, utc_now
from setupwizard.setup import repository as sessions
from setupwizard.setup.log_text import format_log_line


def _stamp(at: datetime | None) -> str | None:
    return format_timestamp(at) if at is not None else None


def host_out(row: FleetHost, progress: FleetProgress) -> FleetHostOut:
    """One host, with the newest line when it runs in this process."""
    duration = None
    if row.started_at is not None:
        end = row.finished_at or utc_now()
        duration = round((end - row.started_at).total_seconds(), 3)
    last = LastLine(row.last_line, row.last_line_code, row.last_line_params)
    if row.status == "running":
        last = progress.last_lines.get((row.fleet_id, row.position), last)
    return FleetHostOut(
        position=row.position,
        host=row.host,
        port=row.port,
        username=row.username,
        session_id=row.session_id,
        attempt=row.attempt,
        earlier_sessions=list(row.earlier_sessions),
        status=row.status,
        reason=row.reason,
        step_index=row.step_index,
        step_total=row.step_total,
        step_name=row.step_name,
        last_line=last.text,
        last_line_code=last.code,
        last_line_params=last.params,
        started_at=_stamp(row.started_at),
        finished_at=_stamp(row.finished_at),
        duration=duration,
    )


def fleet_out(
    fleet: Fleet, counts: dict[str, int], hosts: Sequence[FleetHost] | None, progress: FleetProgress
) -> FleetOut:
    """The fleet (with its hosts when given)."""
    return FleetOut(
        fleet_id=fleet.id,
        name=fleet.name,
        status=fleet.status,
        parallel=fleet.parallel,
        stop_after_failures=fleet.stop_after_failures,
        accept_new_host_keys=fleet.accept_new_host_keys,
        created_at=format_timestamp(fleet.created_at),
        finished_at=_stamp(fleet.finished_at),
        counts={"total": sum(counts.values()), **counts},
        plan=fleet.plan,
        last_seq=fleet.last_seq,
        hosts=[host_out(h, progress) for h in hosts] if hosts is not None else None,
    )


async def logs_zip(session: AsyncSession, fleet: Fleet) -> bytes:
    """Every host's log.txt (each attempt's), as a zip: ``NNN-host-port/attempt-K.log.txt``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for host in await repository.hosts_of(session, fleet.id):
            folder = f"{host.position:03d}-{host.host.replace(':', '_')}-{host.port}"
            for attempt, session_id in enumerate([*host.earlier_sessions, host.session_id], 1):
                row = await sessions.get_session(session, session_id)
                if row is None:  # still queued: no session yet
                    continue
                events = await event_reads.events_after(session, row.id, 0)
                header = [
                    f"# Setup Wizard session {row.id} (fleet {fleet.name}, attempt {attempt})",
                    f"# server: {row.username}@{row.host}:{row.port}",
                    f"# status: {row.status}",
                    "",
                ]
                text = "\n".join(header + [format_log_line(event) for event in events]) + "\n"
                archive.writestr(f"{folder}/attempt-{attempt}.log.txt", text)
    return buffer.getvalue()

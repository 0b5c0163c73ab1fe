"""``/api/fleets``: one plan on many servers, each target an ordinary setup session (docs/api.md)."""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, WebSocket, status
from fastapi.responses import Response

from setupwizard.audit import trail as audit
from setupwizard.audit.trail import AuditAction
from setupwizard.auth.deps import CurrentUser
from setupwizard.core.errors import AppError
from setupwizard.core.networks import TargetPolicy
from setupwizard.db.deps import SessionDep
from setupwizard.db.models import User
from setupwizard.fleets import repository
from setupwizard.fleets.scan import scan
from setupwizard.fleets.schemas import (
    FleetDefaults,
    FleetOut,
    FleetRequest,
    HostKeyScan,
    ScannedHost,
    StartedFleet,
)
from setupwizard.fleets.service import FleetService
from setupwizard.fleets.socket import serve_fleet_progress
from setupwizard.fleets.views import fleet_out, logs_zip
from setupwizard.provisioning.inventory import parse_inventory
from setupwizard.servers.guard import target_rules

router = APIRouter(prefix="/api/fleets", tags=["fleets"])


def get_fleets(request: Request) -> FleetService:
    """The app's FleetService (``app.state.fleet_service``)."""
    service: FleetService = request.app.state.fleet_service
    return service


FleetsDep = Annotated[FleetService, Depends(get_fleets)]
_START_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "target_denied: a target's address is in SETUPWIZARD_TARGET_DENY (field names it)"},
    422: {
        "description": "A field, naming the target: targets.3.host; duplicate_target; host_key_unconfirmed"
    },
    429: {"description": "too_many_attempts: the caller's connection attempts this minute (one per call)"},
}


def _one_attempt(request: Request, user: User) -> TargetPolicy:
    """A fleet call counts as one connection attempt of the caller, however many targets it has."""
    policy, attempts = target_rules(request)
    wait = attempts.take(user.id)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise AppError(
            429,
            "too_many_attempts",
            f"Too many connection attempts; try again in {seconds} seconds",
            headers={"Retry-After": str(seconds)},
        )
    return policy


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses=_START_ERRORS)
async def start_fleet(
    body: FleetRequest, user: CurrentUser, request: Request, fleets: FleetsDep
) -> StartedFleet:
    """Check every target as auto-setup would, then run the plan on them, ``parallel`` at once.

    Answers at once with each target's session id: its progress socket, history and cancel are a
    session's. Nothing runs when any target is refused.
    """
    policy = _one_attempt(request, user)
    started = await fleets.start(user.id, body, policy)
    detail = {
        "fleet_id": started.fleet_id,
        "name": body.name,
        "hosts": len(body.targets),
        "parallel": body.parallel,
        "stop_after_failures": body.stop_after_failures,
        "accept_new_host_keys": body.accept_new_host_keys,
    }
    await audit.record(request.app.state.db, request, AuditAction.FLEET_START, user=user, detail=detail)
    return started


@router.post("/test-connections", responses=_START_ERRORS)
async def test_connections(body: HostKeyScan, user: CurrentUser, request: Request) -> list[ScannedHost]:
    """Test every target (at most 20 at once): OS, sudo mode and host key (new, known or changed).

    Trusts no key: confirm the new ones by sending them as each target's ``host_key_fingerprint``.
    """
    policy = _one_attempt(request, user)
    for index, target in enumerate(body.targets):
        if await policy.denies(target.host, target.port):
            raise AppError(
                403, "target_denied", "This server address is not allowed", f"targets.{index}.host"
            )
    app = request.app
    hosts = await scan(
        body,
        owner_id=user.id,
        db=app.state.db,
        secretbox=app.state.secretbox,
        connect_timeout=app.state.settings.ssh_connect_timeout,
    )
    detail = {"hosts": len(hosts), "new": sum(h.host_key == "new" for h in hosts)}
    await audit.record(app.state.db, request, AuditAction.FLEET_TEST, user=user, detail=detail)
    return hosts


@router.post("/inventory")
async def read_inventory(
    user: CurrentUser, text: Annotated[str, Body(embed=True, max_length=200_000)]
) -> dict[str, Any]:
    """Targets from pasted ``user@host:port`` lines or an Ansible INI inventory (the CLI's reader).

    Changes nothing. ``errors`` and ``warnings`` name their line; a target's ``port``/``username`` is
    null where the text left it to the defaults.
    """
    inventory = parse_inventory(text)
    return {
        "targets": [
            {"name": t.name, "host": t.host, "port": t.port, "username": t.username, "line": t.line}
            for t in inventory.targets
        ],
        "errors": [{"line": p.line, "message": p.message} for p in inventory.errors],
        "warnings": [{"line": p.line, "message": p.message} for p in inventory.warnings],
    }


@router.get("")
async def list_fleets(
    user: CurrentUser,
    session: SessionDep,
    fleets: FleetsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[FleetOut]:
    """The caller's fleets, newest first, each with its counts per host status (no hosts)."""
    rows = await repository.list_fleets(session, user.id, limit, offset)
    counts = await repository.host_counts(session, [r.id for r in rows])
    return [fleet_out(row, counts[row.id], None, fleets.progress) for row in rows]


@router.get("/{fleet_id:uuid}")
async def get_fleet(
    fleet_id: uuid.UUID, user: CurrentUser, session: SessionDep, fleets: FleetsDep
) -> FleetOut:
    """One of the caller's fleets with every host: status, step n/N, duration, last line."""
    row = await repository.owned_fleet(session, str(fleet_id), user.id)
    counts = await repository.host_counts(session, [row.id])
    hosts = await repository.hosts_of(session, row.id)
    return fleet_out(row, counts[row.id], hosts, fleets.progress)


@router.post("/{fleet_id:uuid}/cancel", status_code=status.HTTP_202_ACCEPTED)
async def cancel_fleet(
    fleet_id: uuid.UUID, user: CurrentUser, request: Request, fleets: FleetsDep
) -> dict[str, Any]:
    """Queued hosts never start (they end ``cancelled``); running ones are asked to stop, in any worker."""
    stopping = await fleets.cancel(user.id, str(fleet_id))
    detail = {"fleet_id": str(fleet_id), "stopping": stopping}
    await audit.record(request.app.state.db, request, AuditAction.FLEET_CANCEL, user=user, detail=detail)
    return {"fleet_id": str(fleet_id), "status": "cancelling", "stopping": stopping}


@router.post("/{fleet_id:uuid}/retry", status_code=status.HTTP_202_ACCEPTED, responses=_START_ERRORS)
async def retry_fleet(
    fleet_id: uuid.UUID,
    user: CurrentUser,
    request: Request,
    fleets: FleetsDep,
    defaults: Annotated[FleetDefaults | None, Body(embed=True)] = None,
) -> StartedFleet:
    """The failed, interrupted, cancelled and skipped hosts again, each as a new session.

    ``defaults``: the credentials again, when the service no longer holds them (409 ``credentials_gone``).
    """
    policy = _one_attempt(request, user)
    started = await fleets.retry(user.id, str(fleet_id), defaults, policy)
    detail = {"fleet_id": str(fleet_id), "hosts": len(started.sessions)}
    await audit.record(request.app.state.db, request, AuditAction.FLEET_RETRY, user=user, detail=detail)
    return started


@router.get(
    "/{fleet_id:uuid}/logs.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "Each host's log.txt"}},
)
async def download_logs(fleet_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """Every host's log (each attempt's), as ``NNN-host-port/attempt-K.log.txt`` in one zip."""
    row = await repository.owned_fleet(session, str(fleet_id), user.id)
    data = await logs_zip(session, row)
    filename = f"fleet-{row.id}-logs.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.websocket("/{fleet_id:uuid}/progress")
async def fleet_progress(ws: WebSocket, fleet_id: uuid.UUID) -> None:
    """Every host's status changes and steps (``?since=N`` resumes); the lines stay on session sockets."""
    await serve_fleet_progress(ws, str(fleet_id), ws.query_params.get("since"))

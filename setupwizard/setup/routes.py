"""``/api/setup``: auto-setup and the progress WebSocket (the original API), plus history, cancel, test."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, WebSocket, status
from fastapi.responses import PlainTextResponse
from pydantic import BeforeValidator
from starlette.responses import Response as PlainResponse

from setupwizard.auth.deps import CurrentUser
from setupwizard.config import Settings
from setupwizard.core.api_docs import ErrorBody, error_responses
from setupwizard.core.errors import ForbiddenError
from setupwizard.db.database import Database
from setupwizard.db.deps import SessionDep
from setupwizard.live import event_reads, store
from setupwizard.live.socket import serve_progress
from setupwizard.provisioning import test_connection, validate_options
from setupwizard.provisioning.messages import Lang
from setupwizard.provisioning.result import SessionStatus
from setupwizard.provisioning.steps import default_plan
from setupwizard.servers.known_hosts import DatabaseKnownHosts
from setupwizard.setup.admin_keys import AdminKeyVault
from setupwizard.setup.history_repository import HistoryFilter, find_sessions, readable_session
from setupwizard.setup.log_text import log_text
from setupwizard.setup.plan_preview import plan_preview
from setupwizard.setup.schemas import (
    AutoSetupRequest,
    ConnectionRequest,
    PlanPreview,
    PlanRequest,
    SessionDetail,
    SessionSummary,
    SetupResponse,
    StartedSetup,
)
from setupwizard.setup.service import SetupService
from setupwizard.vault.service import fill_saved_key


def _iso_only(value: Any) -> Any:
    """A date filter is an ISO 8601 date-time, as the schema says: not a number read as a Unix time."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-12-05T06:35:00Z")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]|$)")
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


router = APIRouter(prefix="/api/setup", tags=["setup"])


def get_service(request: Request) -> SetupService:
    """The app's SetupService (``app.state.setup_service``)."""
    service: SetupService = request.app.state.setup_service
    return service


ServiceDep = Annotated[SetupService, Depends(get_service)]
# Answers of the two routes that connect to a server (denied targets, per-user attempt limit).
_CONNECT_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "target_denied: the address is in SETUPWIZARD_TARGET_DENY"},
    429: {"description": "too_many_attempts: too many connections started this minute; see Retry-After"},
    502: {"description": "The server could not be reached, or refused the login"},
    504: {"description": "The server did not answer in time"},
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    **_CONNECT_ERRORS,
    403: {"description": "session_id of another user, or target_denied (SETUPWIZARD_TARGET_DENY)"},
    409: {"description": "setup_running (with the running session_id when it is yours), or session_id_used"},
}


@router.post(
    "/auto-setup",
    responses={202: {"model": StartedSetup, "description": "wait=false: started"}, **_ERRORS},
)
async def auto_setup(
    body: AutoSetupRequest, user: CurrentUser, service: ServiceDep, request: Request, response: Response
) -> SetupResponse | StartedSetup:
    """Run the setup. ``wait=true`` (default): answer when it ends, with every log line; else 202 at once.

    The run does not depend on this request: a client that disconnects leaves it running.
    """
    body = await fill_saved_key(request.app.state.db, request.app.state.secretbox, user.id, body)
    run = await service.start(user.id, body)
    request.state.session_id = run.session_id  # the audit trail links the session it made (setup_trail)
    if not body.wait or run.task is None:
        response.status_code = status.HTTP_202_ACCEPTED
        return StartedSetup(session_id=run.session_id)
    return await asyncio.shield(run.task)


@router.post("/plan")
async def preview_plan(body: PlanRequest, user: CurrentUser) -> PlanPreview:
    """The chosen steps and the exact commands they will run, before anything runs (no secret in it).

    Takes auto-setup's body. 422 naming the field when a choice is invalid, as auto-setup would answer.
    """
    options = body.to_options()
    validate_options(options)
    return plan_preview(default_plan(options, body.to_target()))


@router.get("/sessions")
async def list_sessions(
    user: CurrentUser,
    session: SessionDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    status: Annotated[SessionStatus | None, Query(description="Only sessions in this state.")] = None,
    host: Annotated[str | None, Query(max_length=255, description="Only this server (with port).")] = None,
    port: Annotated[int | None, Query(ge=1, le=65535)] = None,
    q: Annotated[str | None, Query(max_length=255, description="A part of the host name, any case.")] = None,
    started_from: Annotated[
        IsoDateTime | None, Query(description="Started at or after (naive: UTC).")
    ] = None,
    started_before: Annotated[IsoDateTime | None, Query(description="Started before (naive: UTC).")] = None,
    everyone: Annotated[bool, Query(description="Every user's sessions, with run_by (admins).")] = False,
) -> list[SessionSummary]:
    """The caller's setup sessions (an admin's ``everyone``: all users'), newest first, filtered and
    paged; the header ``X-Total-Count`` says how many match in all."""
    if everyone and not user.is_admin:
        raise ForbiddenError("Only administrators can list every user's sessions", "admin_required")
    wanted = HistoryFilter(
        owner_id=None if everyone else user.id,
        status=status.value if status else None,
        host=host.strip() if host else None,
        port=port,
        search=q.strip() if q else None,
        started_from=started_from,
        started_before=started_before,
    )
    rows, total = await find_sessions(session, wanted, offset=offset, limit=limit)
    response.headers["X-Total-Count"] = str(total)
    return [SessionSummary.of(row, run_by if everyone else None) for row, run_by in rows]


@router.get("/sessions/{session_id}")
async def get_session(
    session_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    since: Annotated[int, Query(ge=0, le=store.MAX_SEQ)] = 0,
) -> SessionDetail:
    """One of the caller's sessions (an admin: anyone's) with its stored events after ``since`` (as
    WebSocket frames)."""
    row = await readable_session(session, str(session_id), user)
    events = await event_reads.events_after(session, row.id, since)
    return SessionDetail.with_events(row, events)


@router.get("/sessions/{session_id}/log.txt", response_class=PlainTextResponse)
async def download_log(
    session_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    lang: Annotated[Lang, Query(description="The language of the service's own lines (zh, en).")] = "zh",
) -> PlainTextResponse:
    """The session's log as a plain text file (the caller's session; an admin: anyone's). The service's
    own lines (each a catalogued message) in ``lang``; what the server printed, as printed."""
    row = await readable_session(session, str(session_id), user)
    events = await event_reads.events_after(session, row.id, 0)
    text = log_text(row, events, lang)
    filename = f"setup-{row.id}.log.txt"
    return PlainTextResponse(text, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get(
    "/sessions/{session_id}/admin-key",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"application/x-pem-file": {}}, "description": "The private key, as a file"},
        **error_responses(404),
        410: {"model": ErrorBody, "description": "admin_key_gone: downloaded already, or expired"},
    },
)
async def download_admin_key(session_id: uuid.UUID, user: CurrentUser, request: Request) -> PlainResponse:
    """The admin user's generated private key, once: the first download deletes it (410 after that, or
    once it expired). Only the session's owner gets it (404 for anyone else)."""
    vault: AdminKeyVault = request.app.state.admin_keys
    key = await vault.take(str(session_id), user.id)
    filename = f"id_ed25519_{key.username}"
    return PlainResponse(
        key.private_key,
        media_type="application/x-pem-file",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "Pragma": "no-cache",
        },
    )


@router.post("/sessions/{session_id}/cancel", status_code=status.HTTP_202_ACCEPTED)
async def cancel_session(session_id: uuid.UUID, user: CurrentUser, service: ServiceDep) -> StartedSetup:
    """Ask one of the caller's running setups to stop; the session ends ``cancelled``."""
    await service.cancel(user.id, str(session_id))
    return StartedSetup(session_id=str(session_id), status="cancelling")


@router.post(
    "/sessions/{session_id}/confirm-login",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **error_responses(404),
        409: {"model": ErrorBody, "description": "session_not_waiting: not waiting for a confirmation"},
    },
)
async def confirm_login(session_id: uuid.UUID, user: CurrentUser, service: ServiceDep) -> StartedSetup:
    """Confirm-or-revert (``ssh_hardening.confirm_login``): you logged in the new way from your own
    terminal, so the run keeps the hardening. The session's owner or an admin; 409 when the session is
    not waiting for this (not yet, or no longer: confirmed, rolled back, ended)."""
    await service.confirm_login(user.id, user.is_admin, str(session_id))
    return StartedSetup(session_id=str(session_id), status="confirming")


@router.post("/test-connection", responses=_CONNECT_ERRORS)
async def check_connection(body: ConnectionRequest, user: CurrentUser, request: Request) -> dict[str, object]:
    """Connect, report the OS, the sudo mode and the host key fingerprint; change nothing."""
    settings: Settings = request.app.state.settings
    db: Database = request.app.state.db
    body = await fill_saved_key(db, request.app.state.secretbox, user.id, body)
    report = await test_connection(
        body.to_target(), DatabaseKnownHosts(db, user.id), connect_timeout=settings.ssh_connect_timeout
    )
    return report.to_dict()


@router.websocket("/setup-progress/{session_id}")
async def setup_progress(ws: WebSocket, session_id: str) -> None:
    """Live events of one of the caller's sessions (the original API's WebSocket; ``?since=N`` resumes)."""
    app = ws.app
    await serve_progress(
        ws,
        session_id,
        ws.query_params.get("since"),
        settings=app.state.settings,
        db=app.state.db,
        bus=app.state.progress_bus,
        arrivals=app.state.setup_service.arrivals,
    )

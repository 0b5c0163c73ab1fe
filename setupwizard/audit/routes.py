"""``GET /api/audit`` (admins), and the trail of the setup routes.

The setup routes belong to the setup feature; their trail is kept by :func:`setup_trail`, a dependency the
app attaches to that router, so the feature's handlers stay as they are.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.requests import HTTPConnection

from setupwizard.audit.repository import AuditRepository
from setupwizard.audit.schemas import AuditOut
from setupwizard.audit.trail import AuditAction, record, server_target
from setupwizard.auth.deps import AdminUser, get_current_user
from setupwizard.core.errors import AppError
from setupwizard.core.params import RowIdQuery
from setupwizard.db.database import Database
from setupwizard.db.deps import SessionDep
from setupwizard.db.models import User

router = APIRouter(tags=["audit"])


@router.get("/api/audit")
async def list_audit(
    _admin: AdminUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: RowIdQuery | None = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
) -> list[AuditOut]:
    """The audit trail, newest first by the time of each event (admins only); ``before_id`` pages back
    (the events listed after that one). ``action`` and ``actor`` keep only events of that action / user."""
    rows = await AuditRepository(session).list(limit=limit, before_id=before_id, action=action, actor=actor)
    return [AuditOut.model_validate(row) for row in rows]


_SETUP_ACTIONS: dict[tuple[str, str], AuditAction] = {
    ("POST", "/api/setup/auto-setup"): AuditAction.SETUP_START,
    ("POST", "/api/setup/test-connection"): AuditAction.TEST_CONNECTION,
    ("POST", "/api/setup/sessions/{session_id}/cancel"): AuditAction.SETUP_CANCEL,
    ("POST", "/api/setup/sessions/{session_id}/confirm-login"): AuditAction.SETUP_CONFIRM_LOGIN,
    ("DELETE", "/api/setup/sessions/{session_id}"): AuditAction.SETUP_DELETE,
    ("GET", "/api/setup/sessions/{session_id}/admin-key"): AuditAction.ADMIN_KEY_DOWNLOAD,
}


async def _what(request: Request) -> tuple[str, dict[str, Any]]:
    """The target and details of a setup request: server and session id; never a credential field."""
    detail: dict[str, Any] = {}
    session_id = request.path_params.get("session_id")
    target = ""
    if request.method == "POST" and request.url.path.endswith(("/auto-setup", "/test-connection")):
        try:
            body = await request.json()  # already read and parsed by FastAPI: cached on the request
        except Exception:
            body = None
        if isinstance(body, dict):
            target = server_target(body.get("username"), body.get("host"), body.get("port", 22))
            session_id = session_id or body.get("session_id")
    # the id the service made when the client sent none (set by the auto-setup route once it started)
    session_id = session_id or getattr(request.state, "session_id", None)
    if isinstance(session_id, str):
        try:
            detail["session_id"] = str(uuid.UUID(session_id))
        except ValueError:
            pass
    return target, detail


async def setup_trail(conn: HTTPConnection) -> AsyncIterator[None]:
    """Records the setup routes that change something, with their outcome (``ok`` or the error code),
    and the one-time download of a generated admin key (a read that hands out a secret, once).

    The event carries the time the request came in, though a ``wait=true`` setup answers when it ends
    (the trail is listed by that time, not by row id). WebSockets and other reads pass through untouched.
    """
    route = conn.scope.get("route")
    action = _SETUP_ACTIONS.get((conn.scope.get("method", ""), getattr(route, "path", "")))
    if action is None or not isinstance(conn, Request):
        yield
        return
    started = datetime.now(UTC)
    outcome = "ok"
    try:
        yield
    except AppError as exc:
        outcome = exc.code
        raise
    except Exception as exc:
        outcome = str(getattr(exc, "code", "error"))
        raise
    finally:
        if outcome != "not_authenticated":
            await _record_setup_request(conn, action, outcome, started)


async def _record_setup_request(request: Request, action: AuditAction, outcome: str, at: datetime) -> None:
    try:
        user: User | None = await get_current_user(request)
    except AppError:
        user = None
    if user is None:
        return
    target, detail = await _what(request)
    db: Database = request.app.state.db
    await record(db, request, action, user=user, outcome=outcome, target=target, detail=detail, at=at)

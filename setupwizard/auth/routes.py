"""``/api/auth/*`` (login, logout, me, password) and ``/api/users`` (admins)."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request, Response, status

from setupwizard.audit import trail as audit
from setupwizard.audit.trail import AuditAction
from setupwizard.auth import service
from setupwizard.auth.deps import COOKIE_NAME, AdminUser, CurrentUser, origin_allowed, request_token
from setupwizard.auth.repository import UserRepository
from setupwizard.auth.schemas import LoginRequest, PasswordChange, TokenResponse, UserCreate, UserOut
from setupwizard.auth.throttle import LoginThrottle
from setupwizard.config import Settings
from setupwizard.core.api_docs import error_responses
from setupwizard.core.errors import AppError, ForbiddenError, NotAuthenticatedError
from setupwizard.db.deps import SessionDep

router = APIRouter(tags=["auth"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _record_login(request: Request, session: SessionDep, username: str, outcome: str) -> None:
    """A login attempt in the trail. An unknown name is not kept: people type passwords into it."""
    user = await UserRepository(session).get_by_username(username)
    await audit.record(
        request.app.state.db,
        request,
        AuditAction.LOGIN,
        user=user,
        outcome=outcome,
        target=user.username if user else "",
        detail={} if user else {"unknown_user": True},
    )


@router.post("/api/auth/login", responses=error_responses(401, 403, 429))
async def login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep
) -> TokenResponse:
    """Check the password; answer the bearer token and set it as an HttpOnly, SameSite=Strict cookie."""
    settings = _settings(request)
    if not origin_allowed(request, settings):
        raise ForbiddenError("Cross-origin request refused", code="origin_refused")
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    wait = await throttle.retry_after(body.username, address)
    if wait is not None:
        await _record_login(request, session, body.username, "throttled")
        seconds = max(1, math.ceil(wait))
        raise AppError(
            429,
            "too_many_attempts",
            f"Too many failed logins; try again in {seconds} seconds",
            headers={"Retry-After": str(seconds)},
        )
    try:
        user, token = await service.login(session, body.username, body.password.get_secret_value(), settings)
    except NotAuthenticatedError:
        await throttle.failure(body.username, address)
        await _record_login(request, session, body.username, "failed")
        raise
    await throttle.success(body.username, address)
    await audit.record_in(session, request, AuditAction.LOGIN, user=user, target=user.username)
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=settings.token_ttl_seconds,
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
    )
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(access_token=token)


@router.post("/api/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """End this login (the token stops working) and clear the cookie."""
    token = request_token(request)
    if token:
        await service.logout(session, token)
    await audit.record_in(session, request, AuditAction.LOGOUT, user=user, target=user.username)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    settings = _settings(request)
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=settings.cookie_secure
    )
    return response


@router.get("/api/auth/me")
async def me(user: CurrentUser) -> UserOut:
    """Who is logged in."""
    return UserOut.model_validate(user)


@router.post("/api/auth/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChange, user: CurrentUser, session: SessionDep, request: Request
) -> None:
    """Change one's own password; every login of this user ends (log in again)."""
    db = request.app.state.db
    try:
        await service.change_password(
            session, user, body.current_password.get_secret_value(), body.new_password.get_secret_value()
        )
    except AppError as exc:
        await audit.record(db, request, AuditAction.PASSWORD_CHANGE, user=user, outcome=exc.code)
        raise
    await audit.record_in(session, request, AuditAction.PASSWORD_CHANGE, user=user, target=user.username)


@router.get("/api/users", tags=["users"])
async def list_users(_admin: AdminUser, session: SessionDep) -> list[UserOut]:
    """Every user (admins only)."""
    return [UserOut.model_validate(u) for u in await UserRepository(session).list()]


@router.post(
    "/api/users", status_code=status.HTTP_201_CREATED, tags=["users"], responses=error_responses(409)
)
async def create_user(body: UserCreate, admin: AdminUser, session: SessionDep, request: Request) -> UserOut:
    """Add a user (admins only); 409 when the name is taken."""
    db = request.app.state.db
    what = {"is_admin": body.is_admin}
    try:
        user = await service.create_user(
            session, body.username, body.password.get_secret_value(), body.is_admin
        )
    except AppError as exc:
        await audit.record(
            db, request, AuditAction.USER_CREATE, user=admin, outcome=exc.code, target=body.username
        )
        raise
    await audit.record_in(
        session, request, AuditAction.USER_CREATE, user=admin, target=user.username, detail=what
    )
    return UserOut.model_validate(user)

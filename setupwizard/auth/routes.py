"""``/api/auth/*`` (login, logout, me, password) and ``/api/users`` (admins)."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request, Response, status

from setupwizard.auth import service
from setupwizard.auth.deps import COOKIE_NAME, AdminUser, CurrentUser, origin_allowed, request_token
from setupwizard.auth.repository import UserRepository
from setupwizard.auth.schemas import LoginRequest, PasswordChange, TokenResponse, UserCreate, UserOut
from setupwizard.auth.throttle import LoginThrottle
from setupwizard.config import Settings
from setupwizard.core.errors import AppError, ForbiddenError, NotAuthenticatedError
from setupwizard.db.deps import SessionDep

router = APIRouter(tags=["auth"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post("/api/auth/login")
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
        seconds = max(1, math.ceil(wait))
        raise AppError(
            429,
            "too_many_attempts",
            f"Too many failed logins; try again in {seconds} seconds",
            headers={"Retry-After": str(seconds)},
        )
    try:
        _, token = await service.login(session, body.username, body.password.get_secret_value(), settings)
    except NotAuthenticatedError:
        await throttle.failure(body.username, address)
        raise
    await throttle.success(body.username, address)
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
async def logout(request: Request, _user: CurrentUser, session: SessionDep) -> Response:
    """End this login (the token stops working) and clear the cookie."""
    token = request_token(request)
    if token:
        await service.logout(session, token)
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
async def change_password(body: PasswordChange, user: CurrentUser, session: SessionDep) -> None:
    """Change one's own password; every login of this user ends (log in again)."""
    await service.change_password(
        session, user, body.current_password.get_secret_value(), body.new_password.get_secret_value()
    )


@router.get("/api/users", tags=["users"])
async def list_users(_admin: AdminUser, session: SessionDep) -> list[UserOut]:
    """Every user (admins only)."""
    return [UserOut.model_validate(u) for u in await UserRepository(session).list()]


@router.post("/api/users", status_code=status.HTTP_201_CREATED, tags=["users"])
async def create_user(body: UserCreate, _admin: AdminUser, session: SessionDep) -> UserOut:
    """Add a user (admins only); 409 when the name is taken."""
    user = await service.create_user(session, body.username, body.password.get_secret_value(), body.is_admin)
    return UserOut.model_validate(user)

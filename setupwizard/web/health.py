"""``GET /api/health``: 200 when the service can do its work, 503 naming the part that cannot.

Checks the database (a ``SELECT 1``; while a fault is being reported, a real write, so a full disk or a
read-only file shows here too) and Redis when it is configured. While the setup service cannot store a
session's events or its end (a full disk lets a one-row probe through but not a batch of lines), the
database counts as failing too. Public: it holds no secret.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.asyncio import Redis

from setupwizard import __version__
from setupwizard.config import Settings
from setupwizard.db.database import Database
from setupwizard.db.faults import DatabaseFaults, describe

CHECK_TIMEOUT_SECONDS = 3.0

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """What ``/api/health`` answers (the same shape with 200 and 503)."""

    status: Literal["ok", "unhealthy"]
    version: str
    database: str
    redis: str


async def _check_database(request: Request) -> str:
    db: Database = request.app.state.db
    faults: DatabaseFaults = request.app.state.db_faults
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            if faults.active:
                await db.probe_write()
                faults.clear()
            else:
                await db.ping()
    except TimeoutError:
        return f"failing: no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as exc:
        faults.record(exc)
        return f"failing: {describe(exc)}"
    service = getattr(request.app.state, "setup_service", None)
    failure: BaseException | None = service.write_failure() if service is not None else None
    if failure is not None:
        return f"failing: session events cannot be stored ({describe(failure)})"
    return "ok"


async def _check_redis(request: Request) -> str:
    settings: Settings = request.app.state.settings
    if not settings.redis_url:
        return "not configured"
    redis: Redis | None = getattr(request.app.state, "health_redis", None)
    if redis is None:
        redis = Redis.from_url(settings.redis_url, socket_timeout=CHECK_TIMEOUT_SECONDS)
        request.app.state.health_redis = redis
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await redis.ping()
    except Exception as exc:
        return f"failing: {type(exc).__name__}"
    return "ok"


@router.get("/api/health", responses={503: {"model": Health, "description": "A part is failing"}})
async def health(request: Request) -> JSONResponse:
    """200 when the database (and Redis, when configured) work; 503 naming what fails (public)."""
    database, redis = await asyncio.gather(_check_database(request), _check_redis(request))
    healthy = database == "ok" and redis in ("ok", "not configured")
    body = Health(
        status="ok" if healthy else "unhealthy", version=__version__, database=database, redis=redis
    )
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


async def close_health_checks(state: object) -> None:
    """Close the Redis client the health check opened (at shutdown)."""
    redis: Redis | None = getattr(state, "health_redis", None)
    if redis is not None:
        await redis.aclose()

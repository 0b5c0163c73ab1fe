"""The Redis part of /api/health: "ok" when Redis answers, "failing: …" when it does not, and not
configured when the service runs without it. (The database part is tested against live servers.)"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request

from setupwizard.config import Settings
from setupwizard.web.health import _check_redis, close_health_checks
from tests.integration.web.live import free_port
from tests.support import REDIS_URL, redis_namespace


def _request(redis_url: str) -> Request:
    app = FastAPI()
    app.state.settings = Settings(redis_url=redis_url)
    return Request({"type": "http", "app": app, "method": "GET", "path": "/api/health", "headers": []})


async def test_redis_is_checked_only_when_configured() -> None:
    assert await _check_redis(_request("")) == "not configured"


async def test_redis_that_answers_is_ok_and_one_that_does_not_is_failing() -> None:
    async with redis_namespace():  # Redis missing: skipped locally, failed under CI=true
        up = _request(REDIS_URL)
        down = _request(f"redis://127.0.0.1:{free_port()}/0")
        try:
            assert await _check_redis(up) == "ok"
            assert (await _check_redis(down)).startswith("failing: ")
        finally:
            await close_health_checks(up.app.state)
            await close_health_checks(down.app.state)

"""Helpers of the token tests: the API calls a CI job makes, and a look into the database itself."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import create_async_engine

from setupwizard.db.types import UTCDateTime
from tests.integration.web.fixtures import run_sync
from tests.integration.web.live import LiveServer, Login


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_token(server: LiveServer, login: Login, name: str, scope: str, **extra: Any) -> dict[str, Any]:
    """``POST /api/tokens`` as ``login``; the answer (with the token, shown this once)."""
    with server.client(login) as client:
        response = client.post("/api/tokens", json={"name": name, "scope": scope, **extra})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def me(server: LiveServer, token: str, *, local_address: str | None = None) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
    with httpx.Client(base_url=server.base_url, headers=bearer(token), transport=transport) as client:
        return client.get("/api/auth/me")


def audit_rows(server: LiveServer, action: str) -> list[dict[str, Any]]:
    with server.client(server.admin_login()) as client:
        response = client.get("/api/audit", params={"action": action, "limit": 500})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def _table_text(url: str) -> str:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT * FROM api_tokens"))).all()
    finally:
        await engine.dispose()
    return repr([tuple(row) for row in rows])


def api_tokens_table(url: str) -> str:
    """Every column of every ``api_tokens`` row, as text (to look for what must not be there)."""
    return run_sync(lambda: _table_text(url))


async def _expire(url: str, token_id: int) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE api_tokens SET expires_at = :at WHERE id = :id").bindparams(
                    bindparam("at", type_=UTCDateTime)
                ),
                {"at": datetime.now(UTC) - timedelta(seconds=1), "id": token_id},
            )
    finally:
        await engine.dispose()


def expire_token(url: str, token_id: int) -> None:
    """Move a token's expiry into the past, in the database (as time would)."""
    run_sync(lambda: _expire(url, token_id))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

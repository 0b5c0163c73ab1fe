"""A generated admin key with two real workers on PostgreSQL and Redis: the run on one worker, the download
on either, exactly once even when both are asked at the same moment; the key logs in as the new user and
its text is in no stored row, no Redis stream and no worker's log."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text

from setupwizard.db.database import Database
from setupwizard.testbed.host import TestHost
from tests.integration.web.live import ProcessServer
from tests.support import REDIS_URL, whoami_with_key

from .conftest import Cluster

TABLES = (
    "setup_sessions",
    "session_events",
    "audit_events",
    "ssh_servers_sudo",
    "known_hosts",
    "admin_key_handovers",
)


async def stored_text(server: ProcessServer) -> str:
    """Every row of the tables a run writes, as text."""
    db = Database(server.settings)
    try:
        async with db.engine.connect() as connection:
            out = []
            for table in TABLES:
                rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
                out += [repr(tuple(row)) for row in rows]
            return "\n".join(out)
    finally:
        await db.dispose()


async def redis_text(prefix: str) -> str:
    """Every stream entry and string under the workers' Redis prefix, as text."""
    redis = Redis.from_url(REDIS_URL)
    try:
        out = []
        async for key in redis.scan_iter(match=f"{prefix}*"):
            kind = await redis.type(key)
            if kind in (b"stream", "stream"):
                out += [repr(entry) for entry in await redis.xrange(key) or []]
            elif kind in (b"string", "string"):
                out.append(repr(await redis.get(key)))
        return "\n".join(out)
    finally:
        await redis.aclose()


async def test_either_worker_hands_the_key_over_exactly_once(cluster: Cluster, test_host: TestHost) -> None:
    cluster.ensure_running()
    owner = cluster.owner
    assert owner is not None
    body: dict[str, Any] = {
        "host": test_host.address,
        "username": test_host.root.username,
        "password": test_host.root.password,
        "apt_update": False,
        "packages": [],
        "firewall": False,
        "admin": {"username": "keyholder", "generate_key": True, "nopasswd": True},
        "session_id": str(uuid.uuid4()),
    }
    async with cluster.a.async_client(owner) as client:
        answer = await client.post("/api/setup/auto-setup", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["success"], "\n".join(result["logs"])
    url = result["admin_key"]["url"]

    async with cluster.a.async_client(owner) as on_a, cluster.b.async_client(owner) as on_b:
        both = await asyncio.gather(on_a.get(url), on_b.get(url))
    assert sorted(r.status_code for r in both) == [200, 410], [r.text for r in both]
    private_key = next(r.text for r in both if r.status_code == 200)
    assert await whoami_with_key(test_host.address, test_host.port, "keyholder", private_key) == "keyholder"

    lines = [line for line in private_key.splitlines() if len(line) >= 16 and not line.startswith("-----")]
    assert lines
    stored = await stored_text(cluster.a)
    assert "keyholder" in stored  # the scan sees the run's rows
    streamed = await redis_text(cluster.a.settings.redis_prefix)
    assert streamed  # and its events on Redis
    logs = "".join(s.log_path.read_text(errors="replace") for s in (cluster.a, cluster.b))
    for line in lines:
        assert line not in stored
        assert line not in streamed
        assert line not in logs
        assert line not in answer.text

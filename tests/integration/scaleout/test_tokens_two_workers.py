"""Personal access tokens across two real workers sharing PostgreSQL and Redis: a token made on one works
on the other, on HTTP and on the progress WebSocket, and once revoked (or expired) on one it is refused by
the other at once — on its very next request, with no cache to wait out."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from setupwizard.testbed.host import TestHost
from tests.integration.setup.clients import open_progress, progress_url, read_to_close
from tests.integration.tokens.support import bearer, expire_token
from tests.integration.web.live import Login, ProcessServer

from .conftest import Cluster, lines_of
from .test_two_workers import post_setup


async def _create(server: ProcessServer, login: Login, name: str, scope: str) -> tuple[int, str]:
    async with server.async_client(login) as client:
        response = await client.post("/api/tokens", json={"name": name, "scope": scope})
    assert response.status_code == 201, response.text
    return int(response.json()["id"]), str(response.json()["token"])


async def _me(server: ProcessServer, token: str) -> int:
    async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(token)) as client:
        return (await client.get("/api/auth/me")).status_code


async def test_a_token_made_on_one_worker_starts_and_follows_a_setup_on_the_other(
    cluster: Cluster, test_host: TestHost
) -> None:
    cluster.ensure_running()
    assert cluster.owner is not None
    _, token = await _create(cluster.a, cluster.owner, "ci two workers", "setup")
    as_token = Login(username=cluster.owner.username, token=token)
    session_id = str(uuid.uuid4())
    ws = await open_progress(cluster.b, as_token, session_id)  # the bearer header on the handshake
    await post_setup(cluster.a, as_token, test_host, "echo token-line-1\necho token-line-2\n", session_id)
    received, code = await read_to_close(ws)
    assert code == 1000
    texts = [text for _seq, text in lines_of(received)]
    assert "token-line-1" in texts and "token-line-2" in texts
    assert received[-1]["type"] == "complete" and received[-1]["data"]["status"] == "succeeded"
    for worker in (cluster.a, cluster.b):  # a token is a secret: never in a log line
        assert token not in worker.log_path.read_text(errors="replace")
        assert token[4:] not in worker.log_path.read_text(errors="replace")


async def test_a_token_revoked_on_one_worker_is_refused_by_the_other_at_once(cluster: Cluster) -> None:
    cluster.ensure_running()
    assert cluster.owner is not None
    token_id, token = await _create(cluster.a, cluster.owner, "to revoke", "read")
    assert await _me(cluster.b, token) == 200
    async with cluster.a.async_client(cluster.owner) as client:
        assert (await client.delete(f"/api/tokens/{token_id}")).status_code == 204
    assert await _me(cluster.b, token) == 401
    assert await _me(cluster.a, token) == 401
    with pytest.raises(InvalidStatus):
        await open_progress(cluster.b, Login(username="x", token=token), str(uuid.uuid4()))


async def test_an_expired_token_is_refused_by_both_workers(cluster: Cluster) -> None:
    cluster.ensure_running()
    assert cluster.owner is not None
    token_id, token = await _create(cluster.b, cluster.owner, "to expire", "read")
    assert await _me(cluster.a, token) == 200
    await asyncio.to_thread(expire_token, cluster.a.settings.database_url, token_id)
    assert await _me(cluster.a, token) == 401
    assert await _me(cluster.b, token) == 401


async def test_the_websocket_never_takes_a_token_from_its_url(cluster: Cluster) -> None:
    cluster.ensure_running()
    assert cluster.owner is not None
    _, token = await _create(cluster.a, cluster.owner, "not in url", "read")
    url = progress_url(cluster.b, str(uuid.uuid4())) + f"?token={token}&access_token={token}"
    with pytest.raises(InvalidStatus):
        await websockets.connect(url, open_timeout=30)

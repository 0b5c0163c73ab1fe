"""docs/deploy.md's nginx blocks, run as written by a real nginx on a port other than 443, in front of the
real service and a real test server: a login with the cookie, the progress WebSocket from a browser origin
with a port, live lines before the POST answers, a 413, and the client's address in the audit trail."""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from pydantic import SecretStr
from websockets.exceptions import InvalidStatus

from setupwizard.auth.deps import COOKIE_NAME
from setupwizard.config import Settings
from setupwizard.testbed.host import TestHost
from tests.integration.web.live import ADMIN_PASSWORD, ADMIN_USER, ThreadServer

from .nginx import Nginx, documented_blocks

CLIENT_ADDRESS = "127.0.0.2"  # the "browser" connects to nginx from here; nginx itself from 127.0.0.1
BLOCKS = documented_blocks()


def no_verify() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    return context


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ThreadServer]:
    """The service configured as docs/deploy.md says behind the proxy (Secure cookie, trust 127.0.0.1)."""
    data = tmp_path / "data"
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'setupwizard.db'}",
        admin_user=ADMIN_USER,
        admin_password=SecretStr(ADMIN_PASSWORD),
        redis_url="",
        secret_key=None,
        allowed_origins=[],
        cookie_secure=True,
        forwarded_allow_ips=["127.0.0.1"],
    )
    server = ThreadServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def proxy(tmp_path: Path, block: str, service: ThreadServer) -> Nginx:
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    nginx = Nginx(prefix, block)
    nginx.start(service.port)
    return nginx


def browser(nginx: Nginx) -> httpx.AsyncClient:
    """A client from CLIENT_ADDRESS that keeps cookies, as a browser on the page would."""
    transport = httpx.AsyncHTTPTransport(local_address=CLIENT_ADDRESS, verify=no_verify())
    return httpx.AsyncClient(base_url=nginx.url, transport=transport, timeout=600)


async def progress(nginx: Nginx, cookie: str, session_id: str) -> websockets.ClientConnection:
    url = f"wss://127.0.0.1:{nginx.port}/api/setup/setup-progress/{session_id}"
    headers = {"Cookie": f"{COOKIE_NAME}={cookie}", "Origin": nginx.url}  # the page's origin, with its port
    return await websockets.connect(url, additional_headers=headers, ssl=no_verify(), open_timeout=30)


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=["one-service", "several-workers"][: len(BLOCKS)])
async def test_the_documented_nginx_config_carries_the_whole_service(
    index: int, service: ThreadServer, test_host: TestHost, tmp_path: Path
) -> None:
    nginx = await asyncio.to_thread(proxy, tmp_path, BLOCKS[index], service)
    gate = f"/tmp/proxy-gate-{uuid.uuid4().hex[:8]}"
    try:
        async with browser(nginx) as client:
            login = await client.post(
                "/api/auth/login",
                json={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
                headers={"Origin": nginx.url, "X-Forwarded-For": "203.0.113.9"},  # a forged hop is ignored
            )
            assert login.status_code == 200, login.text
            assert "secure" in login.headers["set-cookie"].lower()
            cookie = login.cookies[COOKIE_NAME]
            me = await client.get("/api/auth/me")  # the cookie alone
            assert me.status_code == 200 and me.json()["username"] == ADMIN_USER

            session_id = str(uuid.uuid4())
            ws = await progress(nginx, cookie, session_id)
            await asyncio.to_thread(test_host.run_root, f"rm -f {gate}; mkfifo {gate}")
            body = {
                "host": test_host.address,
                "username": test_host.root.username,
                "password": test_host.root.password,
                "packages": [],
                "script": f"echo through-nginx\nread -t 600 _ < {gate} || true\necho after-gate\n",
                "session_id": session_id,
            }
            posting = asyncio.create_task(
                client.post("/api/setup/auto-setup", json=body, headers={"Origin": nginx.url})
            )
            async for message in ws:
                frame = json.loads(message)
                if "through-nginx" in str(frame.get("message", "")).split("\n"):
                    break
            assert not posting.done(), "the POST answered before its first line reached the WebSocket"
            await asyncio.to_thread(test_host.run_root, f"echo go > {gate}")
            answer = await posting
            assert answer.status_code == 200 and answer.json()["status"] == "succeeded", answer.text
            rest = [json.loads(m) async for m in ws]
            assert rest[-1]["type"] == "complete" and "after-gate" in answer.json()["logs"]

            too_big = await client.post(
                "/api/setup/auto-setup", content=b"x" * (2 * 1024 * 1024), headers={"Origin": nginx.url}
            )
            assert too_big.status_code == 413

            audit = await client.get("/api/audit", params={"action": "login", "limit": 1})
            assert audit.json()[0]["address"] == CLIENT_ADDRESS
            started = await client.get("/api/audit", params={"action": "setup.start", "limit": 1})
            assert started.json()[0]["address"] == CLIENT_ADDRESS
    finally:
        await asyncio.to_thread(nginx.stop)
        await asyncio.to_thread(test_host.run_root, f"rm -f {gate}")


async def test_host_without_its_port_refuses_the_pages_websocket(
    service: ThreadServer, tmp_path: Path
) -> None:
    """Why the docs say ``$http_host``: ``Host $host`` drops the port, and the origin check refuses."""
    old = BLOCKS[0].replace("proxy_set_header Host $http_host;", "proxy_set_header Host $host;")
    assert old != BLOCKS[0]
    nginx = await asyncio.to_thread(proxy, tmp_path, old, service)
    try:
        async with browser(nginx) as client:
            login = await client.post(
                "/api/auth/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD}
            )
            cookie = login.cookies[COOKIE_NAME]
        with pytest.raises(InvalidStatus) as refused:
            await progress(nginx, cookie, str(uuid.uuid4()))
        assert refused.value.response.status_code == 403
    finally:
        await asyncio.to_thread(nginx.stop)

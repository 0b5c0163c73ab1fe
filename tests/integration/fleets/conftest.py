"""Fleets against a live ``setupwizard serve`` (SQLite and PostgreSQL, as the setup tests) and real hosts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from setupwizard.testbed.host import TestHost
from setupwizard.testbed.testbed import Testbed
from tests.integration.setup.conftest import live, other, owner, store  # noqa: F401  (fixtures)
from tests.integration.web.live import Login, ProcessServer

LIGHT_PLAN: dict[str, Any] = {"packages": [], "apt_update": False, "firewall": False}
"""Only the connect, sudo and script steps: cheap on the 2-core machine."""
ENDED = {"succeeded", "failed", "cancelled", "interrupted", "skipped", "log_incomplete"}


@pytest.fixture(scope="module")
def hosts(testbed: Testbed) -> Iterator[list[TestHost]]:
    """Three fresh hosts shared by a module."""
    made = [testbed.new_host() for _ in range(3)]
    try:
        yield made
    finally:
        for host in made:
            host.stop()


def target(host: TestHost, username: str = "bob", **extra: Any) -> dict[str, Any]:
    return {"host": host.address, "port": host.port, "username": username, **extra}


async def fleet_frames(
    server: ProcessServer, login: Login, fleet_id: str, since: int | None = None
) -> list[dict[str, Any]]:
    """Every frame of the fleet's progress socket until it closes (the fleet ended)."""
    query = f"?since={since}" if since is not None else ""
    url = f"{server.ws_url}/api/fleets/{fleet_id}/progress{query}"
    headers = {"Authorization": f"Bearer {login.token}"}
    received: list[dict[str, Any]] = []
    async with websockets.connect(url, additional_headers=headers, open_timeout=30) as ws:
        async for message in ws:
            received.append(json.loads(message))
    return received


def wait_fleet(server: ProcessServer, login: Login, fleet_id: str, timeout: float = 600) -> dict[str, Any]:
    """The fleet once it ended (the fleet socket closes then)."""
    asyncio.run(asyncio.wait_for(fleet_frames(server, login, fleet_id), timeout))
    with server.client(login) as client:
        answer = client.get(f"/api/fleets/{fleet_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] in ("done", "cancelled"), body
    return body


def wait_until(check: Any, timeout: float = 300) -> Any:
    """Poll ``check`` until it answers something true (a wait, never an assertion on time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("the condition never held")

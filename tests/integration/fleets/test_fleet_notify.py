"""A fleet on real hosts, through a live service on SQLite (the embedded scheduler) and on PostgreSQL (its
hosts as jobs of the queue), is told to a real local webhook once, at its end: one notification naming the
fleet, its counts, the failed host (host:port) and the fleet view under SETUPWIZARD_PUBLIC_URL, and none per
host. A single setup on the same service is still told (the receiver and the rule work: the fleet's silence
about its hosts is the rule's doing)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from setupwizard.testbed.host import TestHost
from tests.integration.web.live import Login, ProcessServer

from ..notify.receivers import RECEIVERS_ALLOWED, webhook
from ..setup.conftest import Store, settings_for
from .conftest import LIGHT_PLAN, target, wait_fleet

PUBLIC_URL = "https://wizard.example.com:8443"
WRONG_PASSWORD = f"fleet-notify-canary-{secrets.token_hex(6)}"
SETTLE_SECONDS = 3.0
"""After the fleet's notification, how long a late per-host one would still have to arrive (each host's
session ended before its fleet did, and a local delivery takes milliseconds)."""


@pytest.fixture(scope="module")
def told(store: Store) -> Iterator[ProcessServer]:
    """A live service whose notifications link under PUBLIC_URL (and may reach the receiver on loopback)."""
    settings = settings_for(store).model_copy(update={"public_url": PUBLIC_URL, **RECEIVERS_ALLOWED})
    server = ProcessServer(settings, store.data_dir / "told.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def text_of(post: dict[str, Any]) -> str:
    return f"{post['title']}\n{post['message']}"


def test_a_fleet_is_told_once_at_its_end_and_its_hosts_never(
    told: ProcessServer, hosts: list[TestHost]
) -> None:
    owner: Login = told.create_user("fleet-told", "fleet-told-password-1234")
    with webhook() as hook:
        with told.client(owner) as client:
            rules = {"on_failed": True, "on_succeeded": True}
            answer = client.post(
                "/api/notifications/targets", json={"name": "hook", "url": hook.url(), **rules}
            )
            assert answer.status_code == 201, answer.text
            targets = [target(h) for h in hosts]
            targets[1]["password"] = WRONG_PASSWORD  # its own credential: this host fails to log in
            body = {
                "name": "notify fleet",
                "plan": {**LIGHT_PLAN, "script": "echo fleet-notify\n"},
                "targets": targets,
                "defaults": {"password": TestHost.sudo_nopasswd.password},
                "parallel": 3,
                "accept_new_host_keys": True,
            }
            started = client.post("/api/fleets", json=body)
            assert started.status_code == 202, started.text
            fleet_id = started.json()["fleet_id"]
        fleet = wait_fleet(told, owner, fleet_id)
        assert fleet["status"] == "done"
        assert fleet["counts"] == {"total": 3, "succeeded": 2, "failed": 1}
        posts = hook.wait_for(1)
        time.sleep(SETTLE_SECONDS)
        after_fleet = list(hook.posts)
        # the control: a single setup on this service is told as it always was
        with told.client(owner) as client:
            single = {
                "host": hosts[0].address,
                "port": hosts[0].port,
                "username": "bob",
                "password": TestHost.sudo_nopasswd.password,
                **LIGHT_PLAN,
            }
            ended = client.post("/api/setup/auto-setup", json=single, timeout=300)
        assert ended.status_code == 200, ended.text
        assert ended.json()["status"] == "succeeded"
        with_single = hook.wait_for(2)
    assert len(posts) >= 1
    assert len(after_fleet) == 1, [p["title"] for p in after_fleet]  # the fleet's, none per host
    text = text_of(after_fleet[0])
    assert "fleet notify fleet ended done: 2 succeeded, 1 failed" in text
    assert "批量设置 notify fleet 已结束：成功 2，失败 1" in text
    assert f"{hosts[1].address}:{hosts[1].port} failed" in text
    assert f"{hosts[0].address}:{hosts[0].port}" not in text  # only the failed host is named
    assert f"Fleet view: {PUBLIC_URL}/fleets/{fleet_id}" in text
    assert WRONG_PASSWORD not in text and TestHost.sudo_nopasswd.password not in text
    assert len(with_single) == 2, [p["title"] for p in with_single]
    assert f"bob@{hosts[0].address}:{hosts[0].port} succeeded" in with_single[1]["title"]

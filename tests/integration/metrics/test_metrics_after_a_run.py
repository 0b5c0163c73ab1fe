"""``GET /metrics`` of a real service process after a real setup on a test server, parsed by
prometheus_client's own text parser; the same numbers on ``SETUPWIZARD_METRICS_ADDRESS`` without a login;
and ``SETUPWIZARD_LOG_FORMAT=json`` log lines that name the request, the user and the session."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from setupwizard.testbed.host import TestHost
from tests.integration.setup.clients import open_progress, read_to_close
from tests.integration.tokens.support import bearer, create_token
from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory
from tests.integration.web.live import Login, ProcessServer, free_port

POLL_DEADLINE = 120.0  # polling, not a speed assertion

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample, keyed by name and sorted labels (prometheus_client's parser)."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def scrape(url: str, token: str | None) -> Samples:
    async with httpx.AsyncClient(headers=bearer(token) if token else {}) as client:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def wait_until(url: str, token: str, name: str, wanted: float) -> Samples:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + POLL_DEADLINE
    while True:
        samples = await scrape(url, token)
        if value(samples, name) == wanted or loop.time() > deadline:
            return samples
        await asyncio.sleep(0.1)


def start_service(factory: LiveServerFactory, make_settings: SettingsFactory, **extra: Any) -> ProcessServer:
    server = factory(make_settings(**extra), process=True)
    assert isinstance(server, ProcessServer)
    return server


async def test_metrics_after_a_real_setup_count_it_its_steps_and_its_watcher(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory, test_host: TestHost
) -> None:
    side = f"127.0.0.1:{free_port()}"
    server = start_service(live_server_factory, make_settings, metrics_address=side)
    admin = await asyncio.to_thread(server.admin_login)
    token = (await asyncio.to_thread(create_token, server, admin, "prometheus", "read"))["token"]
    url = f"{server.base_url}/metrics"
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).status_code == 401
    before = await scrape(url, token)
    assert value(before, "setupwizard_setups_started_total") == 0
    assert value(before, "setupwizard_setups_ended_total", status="succeeded") == 0

    session_id = str(uuid.uuid4())
    watcher = Login(username="admin", token=token)
    ws = await open_progress(server, watcher, session_id)  # a read token may watch
    body = {
        "host": test_host.address,
        "username": test_host.root.username,
        "password": test_host.root.password,
        "packages": [],
        "script": "echo metrics-run\nread -t 600 _ < /tmp/metrics-gate || true\nseq 1 200\n",
        "session_id": session_id,
        "wait": False,
    }
    await asyncio.to_thread(test_host.run_root, "rm -f /tmp/metrics-gate; mkfifo /tmp/metrics-gate")
    async with server.async_client(admin) as client:
        assert (await client.post("/api/setup/auto-setup", json=body)).status_code == 202
    during = await wait_until(url, token, "setupwizard_setups_running", 1)
    assert value(during, "setupwizard_setups_running") == 1
    assert value(during, "setupwizard_websocket_clients") == 1
    assert value(during, "setupwizard_setups_started_total") == 1
    await asyncio.to_thread(test_host.run_root, "echo go > /tmp/metrics-gate")
    received, code = await read_to_close(ws)
    assert code == 1000 and received[-1]["data"]["status"] == "succeeded"
    lines = sum(int(f["seq"]) - int(f.get("first_seq", f["seq"])) + 1 for f in received if "seq" in f)
    frames = sum(1 for f in received if "seq" in f)

    after = await wait_until(url, token, "setupwizard_websocket_clients", 0)
    assert value(after, "setupwizard_setups_started_total") == 1
    assert value(after, "setupwizard_setups_ended_total", status="succeeded") == 1
    assert value(after, "setupwizard_setups_ended_total", status="failed") == 0
    assert value(after, "setupwizard_setups_running") == 0
    assert value(after, "setupwizard_websocket_clients") == 0
    assert value(after, "setupwizard_websocket_frames_sent_total") == frames
    assert value(after, "setupwizard_websocket_lines_sent_total") == lines
    assert value(after, "setupwizard_websocket_slowest_client_lag_lines") == 0
    ran = [step for step in received[-1]["data"]["steps"] if step["status"] not in ("skipped", "pending")]
    assert ran, received[-1]["data"]["steps"]
    for step in ran:
        assert value(after, "setupwizard_step_duration_seconds_count", step=step["id"]) == 1
        observed = value(after, "setupwizard_step_duration_seconds_sum", step=step["id"])
        assert abs(observed - step["duration"]) <= 0.0005  # the event rounds to milliseconds
    skipped = {s["id"] for s in received[-1]["data"]["steps"]} - {s["id"] for s in ran}
    for step_id in skipped:
        assert ("setupwizard_step_duration_seconds_count", (("step", step_id),)) not in after
    assert value(after, "setupwizard_event_write_seconds_count") >= 1
    assert value(after, "setupwizard_event_write_failures_total") == 0
    assert value(after, "setupwizard_bus_publish_failures_total") == 0

    # The same process's numbers on its own address, without a login.
    beside = await scrape(f"http://{side}/metrics", None)
    for name in ("setupwizard_setups_started_total", "setupwizard_websocket_lines_sent_total"):
        assert value(beside, name) == value(after, name)


async def test_json_log_lines_name_the_request_the_user_and_the_session(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory, test_host: TestHost
) -> None:
    server = start_service(live_server_factory, make_settings, log_format="json")
    admin = await asyncio.to_thread(server.admin_login)
    session_id = str(uuid.uuid4())
    body = {
        "host": test_host.address,
        "username": test_host.root.username,
        "password": test_host.root.password,
        "packages": [],
        "script": "echo json-log-run\n",
        "session_id": session_id,
    }
    async with server.async_client(admin, headers={"X-Request-Id": "ci-run-42"}) as client:
        done = await client.post("/api/setup/auto-setup", json=body)
        assert done.status_code == 200 and done.headers["x-request-id"] == "ci-run-42"
        me = await client.get("/api/auth/me", headers={"X-Request-Id": "bad id with spaces"})
    assert me.headers["x-request-id"] != "bad id with spaces" and len(me.headers["x-request-id"]) == 32
    await asyncio.to_thread(server.stop)

    text = server.log_path.read_text()
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert test_host.root.password not in text
    ours = [e for e in entries if e.get("request_id") == "ci-run-42"]
    assert any(e.get("session_id") == session_id and e.get("user_id") == 1 for e in ours), ours
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert any("/api/setup/auto-setup" in e["message"] for e in access)

"""In embedded SQLite mode (one serve process, no Redis), a 10-host fleet with ``parallel`` 3 never runs
more than 3 hosts at once, and does run 3 at once. Measured from the session rows' start and end times
(a host's slot is freed only after its session's end is stored), never from wall-clock limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from setupwizard.testbed.host import TestHost
from setupwizard.testbed.testbed import Testbed
from tests.integration.setup.conftest import Store, settings_for
from tests.integration.web.live import Login, ProcessServer

from .conftest import LIGHT_PLAN, target, wait_fleet


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    data_dir: Path = tmp_path_factory.mktemp("fleet-embedded")
    server = ProcessServer(settings_for(Store("sqlite", "", data_dir)), data_dir / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ten_hosts(testbed: Testbed) -> Iterator[list[TestHost]]:
    made: list[TestHost] = []
    try:
        for _ in range(10):
            made.append(testbed.new_host())
        yield made
    finally:
        for host in made:
            host.stop()


def most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    """The deepest overlap of [start, end) spans (an end before a start at the same instant)."""
    edges = sorted([(end, -1) for _, end in spans] + [(start, 1) for start, _ in spans])
    deepest = depth = 0
    for _, step in edges:
        depth += step
        deepest = max(deepest, depth)
    return deepest


def test_most_at_once() -> None:
    t = [datetime(2026, 1, 1, 0, 0, s) for s in range(6)]
    assert most_at_once([(t[0], t[2]), (t[1], t[3]), (t[2], t[4])]) == 2
    assert most_at_once([(t[0], t[5]), (t[1], t[4]), (t[2], t[3])]) == 3


def test_ten_hosts_parallel_three(embedded: ProcessServer, ten_hosts: list[TestHost]) -> None:
    owner: Login = embedded.create_user("fleeter", "fleeter-password-1234")
    body = {
        "name": "ten",
        "plan": {**LIGHT_PLAN, "script": "sleep 3\necho done\n"},
        "targets": [target(h) for h in ten_hosts],
        "defaults": {"password": TestHost.sudo_nopasswd.password},
        "parallel": 3,
        "accept_new_host_keys": True,
    }
    with embedded.client(owner) as client:
        answer = client.post("/api/fleets", json=body)
        assert answer.status_code == 202, answer.text
        fleet_id = answer.json()["fleet_id"]
        ended = wait_fleet(embedded, owner, fleet_id)
        assert ended["counts"] == {"total": 10, "succeeded": 10}
        spans = []
        for host in ended["hosts"]:
            row = client.get(f"/api/setup/sessions/{host['session_id']}").json()
            spans.append(
                (datetime.fromisoformat(row["created_at"]), datetime.fromisoformat(row["finished_at"]))
            )
    assert most_at_once(spans) == 3
    with embedded.client(embedded.admin_login()) as client:
        trail = client.get("/api/audit", params={"action": "fleet.start"}).json()
    assert [e["detail"]["accept_new_host_keys"] for e in trail] == [True]  # the explicit choice, recorded

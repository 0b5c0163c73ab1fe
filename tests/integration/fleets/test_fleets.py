"""A fleet on real hosts, through a live service, on SQLite and on PostgreSQL: host keys confirmed in one
action, every host an ordinary session with its lines, the progress socket resumed, logs.zip,
stop_after_failures → skipped, retry, cancel, a busy server, and no credential anywhere."""

from __future__ import annotations

import asyncio
import io
import re
import secrets
import sqlite3
import subprocess
import uuid
import zipfile
from typing import Any

import httpx
import pytest

from setupwizard.provisioning.messages import render
from setupwizard.testbed.host import TestHost
from tests.integration.web.live import Login, ProcessServer

from ..setup.clients import events, open_progress, read_to_close
from ..setup.conftest import Store
from .conftest import ENDED, LIGHT_PLAN, fleet_frames, target, wait_fleet, wait_until

CANARY = f"fleet-canary-{secrets.token_hex(6)}"
MARK = "fleet-line-marker"
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module")
def canary_hosts(hosts: list[TestHost]) -> list[TestHost]:
    """bob's password is the canary on every host: the fleet logs in with it."""
    for host in hosts:
        host.set_password("bob", CANARY)
    return hosts


def fleet_body(hosts: list[TestHost], **extra: Any) -> dict[str, Any]:
    return {
        "name": "web servers",
        "plan": {**LIGHT_PLAN, "script": f"echo {MARK}-$(hostname)\n"},
        "targets": [target(h) for h in hosts],
        "defaults": {"password": CANARY},
        "parallel": 2,
        **extra,
    }


def one_lane_fleet(client: httpx.Client, hosts: list[TestHost], script: str) -> str:
    """Post a fleet that runs its hosts one after another (``parallel`` 1) and wait until the first has
    started a step; the fleet's id."""
    body = fleet_body(hosts, parallel=1)
    body["plan"]["script"] = script
    fleet_id: str = client.post("/api/fleets", json=body).json()["fleet_id"]
    wait_until(lambda: client.get(f"/api/fleets/{fleet_id}").json()["hosts"][0]["step_name"] != "")
    return fleet_id


def test_bad_targets_are_refused_naming_the_field(
    live: ProcessServer, owner: Login, hosts: list[TestHost]
) -> None:
    pin = "SHA256:" + "A" * 43
    good = target(hosts[0], password="x", host_key_fingerprint=pin)
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"targets": [good, {**good, "host": "bad host!"}]}, 422, "targets.1.host", "invalid_input"),
        (
            {"targets": [good, target(hosts[1], host_key_fingerprint=pin)]},
            422,
            "targets.1.password",
            "invalid_input",
        ),
        (
            {"targets": [good, target(hosts[1], port=0, password="x", host_key_fingerprint=pin)]},
            422,
            "targets.1.port",
            "invalid_input",
        ),
        ({"targets": [good, {**good, "username": "bob"}]}, 422, "targets.1.host", "duplicate_target"),
        (
            {"targets": [good, {**good, "host": hosts[0].address.upper()}]},
            422,
            "targets.1.host",
            "duplicate_target",
        ),
        ({"targets": [good, {**good, "host": "169.254.169.254"}]}, 403, "targets.1.host", "target_denied"),
        ({"targets": [good], "plan": {"packages": ["bad;name"]}}, 422, "plan.packages", "invalid_input"),
        ({"targets": [good] * 1001}, 422, "targets", "invalid_input"),
        ({"targets": [good], "parallel": 0}, 422, "parallel", "invalid_input"),
        (
            {"targets": [{**good, "host_key_fingerprint": None}]},
            422,
            "targets.0.host_key_fingerprint",
            "host_key_unconfirmed",
        ),
    ]
    with live.client(owner) as client:
        for extra, status, field, code in cases:
            answer = client.post("/api/fleets", json={"name": "bad", **extra})
            assert (answer.status_code, answer.json()["field"], answer.json()["code"]) == (
                status,
                field,
                code,
            )
        listed = client.get("/api/fleets").json()
        scans: list[tuple[dict[str, Any], int, str]] = [
            ({"targets": [good, {**good, "port": 0}]}, 422, "targets.1.port"),
            ({"targets": [good, {**good, "username": "Bad User"}]}, 422, "targets.1.username"),
            ({"targets": [good, {**good, "key_id": 0}]}, 422, "targets.1.key_id"),
            ({"targets": [good, {**good, "host": "169.254.169.254"}]}, 403, "targets.1.host"),
        ]
        for scan, status, field in scans:
            answer = client.post("/api/fleets/test-connections", json=scan)
            assert (answer.status_code, answer.json()["field"]) == (status, field)
    assert listed == []  # nothing was recorded, nothing ran


@pytest.fixture(scope="module")
def scanned(live: ProcessServer, owner: Login, canary_hosts: list[TestHost]) -> list[dict[str, Any]]:
    body = {"targets": [target(h) for h in canary_hosts], "defaults": {"password": CANARY}}
    with live.client(owner) as client:
        answer = client.post("/api/fleets/test-connections", json=body)
    assert answer.status_code == 200, answer.text
    result: list[dict[str, Any]] = answer.json()
    return result


def test_the_scan_reports_new_keys_and_trusts_none(
    live: ProcessServer, owner: Login, scanned: list[dict[str, Any]], canary_hosts: list[TestHost]
) -> None:
    assert [(s["host"], s["host_key"], s["ok"]) for s in scanned] == [
        (h.address, "new", True) for h in canary_hosts
    ]
    assert all(
        s["host_key_fingerprint"].startswith("SHA256:") and s["sudo_mode"] == "passwordless" for s in scanned
    )
    with live.client(owner) as client:
        assert client.get("/api/servers/known-hosts").json() == []


@pytest.fixture(scope="module")
def fleet(
    live: ProcessServer, owner: Login, canary_hosts: list[TestHost], scanned: list[dict[str, Any]]
) -> dict[str, Any]:
    """The fleet with the scan's fingerprints confirmed (one action: each sent as the target's pin)."""
    body = fleet_body(canary_hosts)
    for one, scan in zip(body["targets"], scanned, strict=True):
        one["host_key_fingerprint"] = scan["host_key_fingerprint"]
    with live.client(owner) as client:
        answer = client.post("/api/fleets", json=body)
    assert answer.status_code == 202, answer.text
    started: dict[str, Any] = answer.json()

    async def watch_last() -> tuple[list[dict[str, Any]], int | None]:
        socket = await open_progress(live, owner, started["sessions"][2]["session_id"])
        return await read_to_close(socket)

    watched = asyncio.run(watch_last())  # the third host's own socket, opened while it may be queued
    ended = wait_fleet(live, owner, started["fleet_id"])
    return {"started": started, "ended": ended, "watched": watched}


def test_every_host_succeeds_as_an_ordinary_session(
    live: ProcessServer, owner: Login, fleet: dict[str, Any], canary_hosts: list[TestHost]
) -> None:
    started, ended = fleet["started"], fleet["ended"]
    assert [(s["host"], s["port"]) for s in started["sessions"]] == [
        (h.address, h.port) for h in canary_hosts
    ]
    assert ended["counts"] == {"total": 3, "succeeded": 3}
    with live.client(owner) as client:
        for host, session in zip(ended["hosts"], started["sessions"], strict=True):
            assert host["status"] == "succeeded" and host["session_id"] == session["session_id"]
            assert host["step_index"] == host["step_total"] > 0 and host["duration"] > 0 and host["last_line"]
            detail = client.get(f"/api/setup/sessions/{session['session_id']}").json()
            assert detail["status"] == "succeeded"
            assert any(MARK in e["message"] for e in detail["events"])
        known = client.get("/api/servers/known-hosts").json()
        sudo = client.get("/api/servers/sudo").json()
    assert len(known) == 3  # the confirmed keys, recorded by the runs
    assert {(row["host"], row["sudo_user"], row["passwordless"]) for row in sudo} == {
        (h.address, "bob", True) for h in canary_hosts
    }
    frames, close = fleet["watched"]
    lines = events(frames)
    assert close == 1000 and lines[-1]["type"] == "complete" and lines[-1]["data"]["status"] == "succeeded"
    assert any(MARK in line["message"] for line in lines)


def test_the_progress_socket_resumes_with_since(
    live: ProcessServer, owner: Login, fleet: dict[str, Any]
) -> None:
    fleet_id = fleet["started"]["fleet_id"]
    everything = asyncio.run(fleet_frames(live, owner, fleet_id))
    seqs = [f["seq"] for f in everything]
    assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] == fleet["ended"]["last_seq"]
    resumed = asyncio.run(fleet_frames(live, owner, fleet_id, since=4))
    assert resumed == everything[4:]
    statuses = [(f["position"], f["status"]) for f in everything if f["type"] == "host"]
    for position in range(3):
        assert [s for p, s in statuses if p == position] == ["running", "succeeded"]
    steps = [f for f in everything if f["type"] == "step"]
    assert {f["position"] for f in steps} == {0, 1, 2}
    assert everything[-1]["type"] == "fleet" and everything[-1]["status"] == "done"


def test_logs_zip_holds_each_hosts_log(live: ProcessServer, owner: Login, fleet: dict[str, Any]) -> None:
    with live.client(owner) as client:
        answer = client.get(f"/api/fleets/{fleet['started']['fleet_id']}/logs.zip")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    names = sorted(archive.namelist())
    assert len(names) == 3 and all(n.endswith("/attempt-1.log.txt") for n in names)
    for name in names:
        assert MARK in archive.read(name).decode()


def test_stop_after_failures_skips_the_rest_and_retry_runs_them(
    live: ProcessServer, owner: Login, canary_hosts: list[TestHost], fleet: dict[str, Any]
) -> None:
    body = fleet_body(canary_hosts, parallel=1, stop_after_failures=1)
    body["targets"][0]["password"] = "wrong-password"  # its own credential: the first host fails
    with live.client(owner) as client:
        started = client.post("/api/fleets", json=body).json()
        fleet_id = started["fleet_id"]
        ended = wait_fleet(live, owner, fleet_id)
        assert [h["status"] for h in ended["hosts"]] == ["failed", "skipped", "skipped"]
        assert ended["counts"] == {"total": 3, "failed": 1, "skipped": 2}
        assert [h["reason"] for h in ended["hosts"][1:]] == ["stop_after_failures"] * 2
        assert ended["hosts"][0]["step_index"] == 1, "the failed host stopped at its login, its first step"
        assert_english_last_lines(ended["hosts"])
        assert ended["hosts"][0]["last_line_code"] == "run.complete"  # the failed run's final line
        skip_code = "fleet.never_ran.stop_after_failures"
        assert [h["last_line_code"] for h in ended["hosts"][1:]] == [skip_code] * 2
        frames = asyncio.run(fleet_frames(live, owner, fleet_id))
        ends = {f["position"]: f for f in frames if f["type"] == "host" and f["status"] in ENDED}
        assert [ends[p].get("last_line_code") for p in range(3)] == ["run.complete", skip_code, skip_code]
        assert all(ends[p]["last_line"] == ended["hosts"][p]["last_line"] for p in range(3))
        skipped = client.get("/api/setup/sessions", params={"status": "skipped"}).json()
        assert {s["session_id"] for s in skipped} == {h["session_id"] for h in ended["hosts"][1:]}
        # retry with the right credential for every host: new sessions, attempt 2
        again = client.post(f"/api/fleets/{fleet_id}/retry", json={"defaults": {"password": CANARY}})
        assert again.status_code == 202, again.text
        new_ids = [s["session_id"] for s in again.json()["sessions"]]
        assert len(new_ids) == 3 and not set(new_ids) & {h["session_id"] for h in ended["hosts"]}
        retried = wait_fleet(live, owner, fleet_id)
        assert [h["status"] for h in retried["hosts"]] == ["succeeded"] * 3
        assert [h["attempt"] for h in retried["hosts"]] == [2, 2, 2]
        assert [h["earlier_sessions"] for h in retried["hosts"]] == [
            [h["session_id"]] for h in ended["hosts"]
        ]
        nothing = client.post(f"/api/fleets/{fleet_id}/retry", json={})
        assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_to_retry"


def test_cancel_stops_the_running_host_and_no_queued_one_starts(
    live: ProcessServer, owner: Login, canary_hosts: list[TestHost], fleet: dict[str, Any]
) -> None:
    with live.client(owner) as client:
        fleet_id = one_lane_fleet(client, canary_hosts, "echo started\nsleep 120\n")
        queued = client.get(f"/api/fleets/{fleet_id}").json()["hosts"][1]
        assert queued["status"] == "queued"  # parallel 1: it waits for the first host

        async def watch_queued() -> tuple[Any, tuple[list[dict[str, Any]], int | None]]:
            socket = await open_progress(live, owner, queued["session_id"])  # no session row yet
            cancelled = client.post(f"/api/fleets/{fleet_id}/cancel")
            return cancelled, await read_to_close(socket)

        answer, (frames, close) = asyncio.run(watch_queued())
        assert answer.status_code == 202 and answer.json()["stopping"] == 1
        assert close == 1000 and events(frames)[-1]["data"]["status"] == "cancelled"
        ended = wait_fleet(live, owner, fleet_id)
        assert ended["status"] == "cancelled"
        assert [h["status"] for h in ended["hosts"]] == ["cancelled"] * 3
        assert [h["reason"] for h in ended["hosts"]] == ["", "fleet_cancelled", "fleet_cancelled"]
        assert [h["last_line_code"] for h in ended["hosts"][1:]] == ["fleet.never_ran.fleet_cancelled"] * 2
        assert_english_last_lines(ended["hosts"])
        again = client.post(f"/api/fleets/{fleet_id}/cancel")
        assert again.status_code == 409


def test_a_busy_server_fails_its_host_without_waiting(
    live: ProcessServer, owner: Login, canary_hosts: list[TestHost], fleet: dict[str, Any]
) -> None:
    busy = {**target(canary_hosts[0]), "password": CANARY, **LIGHT_PLAN, "script": "sleep 60", "wait": False}
    with live.client(owner) as client:
        session_id = client.post("/api/setup/auto-setup", json=busy).json()["session_id"]
        wait_until(lambda: client.get(f"/api/setup/sessions/{session_id}").json()["last_seq"] > 0)
        fleet_id = client.post("/api/fleets", json=fleet_body(canary_hosts[:2])).json()["fleet_id"]
        ended = wait_fleet(live, owner, fleet_id)
        assert [(h["status"], h["reason"]) for h in ended["hosts"]] == [
            ("failed", "setup_running"),
            ("succeeded", ""),
        ]
        busy_line = ended["hosts"][0]
        assert busy_line["last_line_code"] == "error.setup_running"
        assert render(busy_line["last_line_code"], busy_line["last_line_params"], "en").endswith(
            "is being set up already; wait until that setup ends"
        )
        client.post(f"/api/setup/sessions/{session_id}/cancel")


def test_cancelling_one_queued_hosts_session_ends_that_host_and_the_fleet_goes_on(
    live: ProcessServer, owner: Login, canary_hosts: list[TestHost], fleet: dict[str, Any]
) -> None:
    """A host's session is an ordinary session: its own cancel, sent while the host waits for its lane,
    ends that host ``cancelled`` (it never connects) and the fleet still ends once the others have."""
    with live.client(owner) as client:
        fleet_id = one_lane_fleet(client, canary_hosts, "echo started\nsleep 5\n")
        queued = client.get(f"/api/fleets/{fleet_id}").json()["hosts"][2]
        assert queued["status"] == "queued"  # parallel 1: it waits for the two before it
        cancel = client.post(f"/api/setup/sessions/{queued['session_id']}/cancel")
        assert cancel.status_code == 202, cancel.text
        ended = wait_fleet(live, owner, fleet_id, timeout=300)
        assert ended["status"] == "done"
        statuses = [(h["status"], h["reason"]) for h in ended["hosts"]]
        assert statuses == [("succeeded", ""), ("succeeded", ""), ("cancelled", "cancelled")], ended["hosts"]
        assert ended["hosts"][2]["last_line_code"] == "fleet.never_ran.cancelled"
        assert_english_last_lines(ended["hosts"])
        session = client.get(f"/api/setup/sessions/{queued['session_id']}").json()
        assert session["status"] == "cancelled"
        log = client.get(f"/api/setup/sessions/{queued['session_id']}/log.txt").text
        lines = [line for line in log.splitlines() if line and not line.startswith("#")]
        assert len(lines) == 1 and lines[0].endswith(render("fleet.never_ran.cancelled", {}, "zh")), log


def assert_english_last_lines(hosts: list[dict[str, Any]]) -> None:
    """Every host's last line with a code renders without Chinese in English, and as written in Chinese."""
    for host in hosts:
        code, params = host["last_line_code"], host["last_line_params"]
        if code is None:
            continue
        assert render(code, params, "zh").rsplit("\n", 1)[-1] == host["last_line"], host
        english = render(code, params, "en")
        assert not CJK.search(english), english


def mark_cancelled_elsewhere(store: Store, fleet_id: str) -> None:
    """What a cancel through another worker leaves this process: the fleet's row says cancelled."""
    sql = f"UPDATE fleets SET cancelled = true WHERE id = '{fleet_id}'"
    if store.pg_database is None:
        with sqlite3.connect(store.data_dir / "setupwizard.db", timeout=30) as db:
            db.execute(sql)
        return
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", store.pg_database, "-v", "ON_ERROR_STOP=1"]
    subprocess.run([*psql, "-qc", sql], check=True, capture_output=True, timeout=60)


def test_a_cancel_through_another_worker_starts_no_queued_host(
    live: ProcessServer, owner: Login, store: Store, canary_hosts: list[TestHost], fleet: dict[str, Any]
) -> None:
    body = fleet_body(canary_hosts, parallel=1)
    body["plan"]["script"] = "echo started\nsleep 120\n"
    with live.client(owner) as client:
        fleet_id = client.post("/api/fleets", json=body).json()["fleet_id"]

        def first_running() -> dict[str, Any] | None:
            host: dict[str, Any] = client.get(f"/api/fleets/{fleet_id}").json()["hosts"][0]
            return host if host["step_name"] else None

        first = wait_until(first_running)
        mark_cancelled_elsewhere(store, fleet_id)
        assert client.post(f"/api/setup/sessions/{first['session_id']}/cancel").status_code == 202
        ended = wait_fleet(live, owner, fleet_id)
    assert ended["status"] == "cancelled"
    assert [(h["status"], h["reason"]) for h in ended["hosts"]] == [
        ("cancelled", ""),
        ("cancelled", "fleet_cancelled"),
        ("cancelled", "fleet_cancelled"),
    ]


def test_a_changed_key_blocks_that_host_only(
    live: ProcessServer, owner: Login, canary_hosts: list[TestHost], fleet: dict[str, Any]
) -> None:
    canary_hosts[2].regenerate_host_keys()  # the keys of every host are trusted by now
    scan_body = {"targets": [target(h) for h in canary_hosts], "defaults": {"password": CANARY}}
    with live.client(owner) as client:
        trusted = {k["host"]: k["fingerprint"] for k in client.get("/api/servers/known-hosts").json()}
        scanned = client.post("/api/fleets/test-connections", json=scan_body).json()
        assert [(s["host_key"], s["ok"]) for s in scanned] == [
            ("known", True),
            ("known", True),
            ("changed", False),
        ]
        assert scanned[2]["code"] == "host_key_changed"
        assert scanned[2]["host_key_fingerprint"] != trusted[canary_hosts[2].address]
        fleet_id = client.post("/api/fleets", json=fleet_body(canary_hosts)).json()["fleet_id"]
        ended = wait_fleet(live, owner, fleet_id)
        assert [h["status"] for h in ended["hosts"]] == ["succeeded", "succeeded", "failed"]
        changed = client.get(f"/api/setup/sessions/{ended['hosts'][2]['session_id']}").json()
        assert changed["result"]["error_code"] == "host_key_changed"
        still = {k["host"]: k["fingerprint"] for k in client.get("/api/servers/known-hosts").json()}
    assert still == trusted  # the new key was not trusted by the scan nor by the run


def test_audit_and_no_credential_anywhere(
    live: ProcessServer, owner: Login, store: Store, fleet: dict[str, Any]
) -> None:
    admin = live.admin_login()
    with live.client(admin) as client:
        trail = client.get("/api/audit", params={"limit": 500}).json()
    actions = {e["action"] for e in trail}
    assert {"fleet.start", "fleet.cancel", "fleet.retry", "fleet.test_connections"} <= actions
    start = next(
        e
        for e in trail
        if e["action"] == "fleet.start" and e["detail"]["fleet_id"] == fleet["started"]["fleet_id"]
    )
    assert start["detail"]["accept_new_host_keys"] is False
    with live.client(owner) as client:
        answers = [client.get("/api/fleets").text]
        for one in client.get("/api/fleets").json():
            answers.append(client.get(f"/api/fleets/{one['fleet_id']}").text)
            answers += [str(f) for f in asyncio.run(fleet_frames(live, owner, one["fleet_id"]))]
    everything = "\n".join([*answers, str(trail), live.log_tail() if hasattr(live, "log_tail") else ""])
    assert CANARY not in everything
    assert CANARY.encode() not in store.dump()
    assert CANARY not in (store.data_dir / "server.log").read_text()
    assert uuid.UUID(fleet["started"]["fleet_id"])
    assert all(h["status"] in ENDED for h in fleet["ended"]["hosts"])


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_a_restart_interrupts_the_fleet_and_retry_needs_the_credentials_again(
    live: ProcessServer, owner: Login, canary_hosts: list[TestHost], fleet: dict[str, Any], stop: str
) -> None:
    """Last in the module: it restarts the service. The credentials lived in the old process only."""
    with live.client(owner) as client:
        fleet_id = one_lane_fleet(client, canary_hosts, "echo started\nsleep 120\n")
    if stop == "sigterm":
        live.restart()  # graceful: the shutdown marks the fleet
    else:
        live.kill()  # a crash: the next start marks it
        live.start()
    with live.client(owner) as client:
        cut = client.get(f"/api/fleets/{fleet_id}").json()
        assert cut["status"] == "interrupted"
        assert [h["status"] for h in cut["hosts"]] == ["interrupted"] * 3
        frames = asyncio.run(fleet_frames(live, owner, fleet_id))
        assert frames[-1]["type"] == "fleet" and frames[-1]["status"] == "interrupted"
        gone = client.post(f"/api/fleets/{fleet_id}/retry", json={})
        assert gone.status_code == 409 and gone.json()["code"] == "credentials_gone"
        body_again = {"defaults": {"password": CANARY}}
        assert client.post(f"/api/fleets/{fleet_id}/retry", json=body_again).status_code == 202
        client.post(f"/api/fleets/{fleet_id}/cancel")  # the retry runs the long script: stop it
        ended = wait_fleet(live, owner, fleet_id)
    assert ended["status"] == "cancelled" and [h["attempt"] for h in ended["hosts"]] == [2, 2, 2]
    assert CANARY not in (live.log_path.read_text())

"""The original API's flow (WebSocket first, then the POST) against a live service and the real test
server, on SQLite and on PostgreSQL.

Two real setups per database keep apt traffic small (``packages=[]``; the plan still runs apt-get update
and the firewall). Each module fixture runs one setup and records what every client saw; the tests below
assert on those records.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import websockets

from setupwizard.provisioning.events import EventType
from setupwizard.provisioning.messages import render
from setupwizard.testbed.accounts import Account
from setupwizard.testbed.host import TestHost
from tests.integration.web.live import Login, ProcessServer

from .clients import events, frames, history_events, open_progress, read_to_close, seqs
from .conftest import Store

CONNECTED = "✓ 实时日志连接已建立"


def setup_body(host: TestHost, account: Account, **extra: Any) -> dict[str, Any]:
    return {
        "host": host.address,
        "port": host.port,
        "username": account.username,
        "password": account.password,
        "packages": [],
        **extra,
    }


def marker_exists(host: TestHost, path: str) -> bool:
    return host.run_root(f"test -e {path}").returncode == 0


@dataclass
class SeedRun:
    """What the browser-like client saw of one setup (bob, passwordless sudo)."""

    session_id: str
    ws_frames: list[dict[str, Any]]
    ws_close: int | None
    first_line_seen_while_post_running: bool
    marker_existed_at_first_line: bool
    response: httpx.Response
    late: tuple[list[dict[str, Any]], int | None]
    resumed: tuple[list[dict[str, Any]], int | None]
    bearer_cookie_less: tuple[list[dict[str, Any]], int | None]


@pytest.fixture(scope="module")
async def seed_run(live: ProcessServer, owner: Login, test_host: TestHost) -> SeedRun:
    tag = secrets.token_hex(4)
    first, second, marker = f"seed-first-{tag}", f"seed-second-{tag}", f"/tmp/seed-{tag}"
    script = f"echo {first}\nsleep 3\ntouch {marker}\necho {second}\n"
    session_id = str(uuid.uuid4())
    # The page's order: WebSocket first (cookie + own Origin, as a browser sends), then the POST.
    ws = await open_progress(live, owner, session_id, cookie=True, origin=live.origin)
    async with live.async_client() as client:
        client.cookies.update(owner.cookies)  # the page's authFetch sends the bearer header
        post = asyncio.create_task(
            client.post(
                "/api/setup/auto-setup",
                headers=owner.headers,
                json=setup_body(test_host, test_host.sudo_nopasswd, script=script, session_id=session_id),
                timeout=900,
            )
        )
        received: list[dict[str, Any]] = []
        seen_while_running = False
        marker_at_first = True
        async for frame in frames(ws):
            received.append(frame)
            if first in frame.get("message", "") and frame.get("type") == "log":
                seen_while_running = not post.done()
                marker_at_first = await asyncio.to_thread(marker_exists, test_host, marker)
        response = await post
    late = await read_to_close(await open_progress(live, owner, session_id))
    resumed = await read_to_close(await open_progress(live, owner, session_id, since=5))
    bearer = await read_to_close(await open_progress(live, owner, session_id, since=0))
    return SeedRun(
        session_id,
        received,
        ws.close_code,
        seen_while_running,
        marker_at_first,
        response,
        late,
        resumed,
        bearer,
    )


def test_ws_first_then_post_log_frames_arrive_while_the_post_is_still_running(seed_run: SeedRun) -> None:
    assert seed_run.first_line_seen_while_post_running
    assert seed_run.marker_existed_at_first_line is False  # the remote script had not got past its sleep
    assert seed_run.response.status_code == 200, seed_run.response.text


def test_the_socket_starts_with_the_connection_notice_and_ends_with_complete_then_closes_1000(
    seed_run: SeedRun,
) -> None:
    assert seed_run.ws_frames[0]["type"] == "info"
    assert seed_run.ws_frames[0]["message"] == CONNECTED
    assert "seq" not in seed_run.ws_frames[0]
    last = seed_run.ws_frames[-1]
    assert last["type"] == EventType.COMPLETE.value
    assert last["data"]["success"] is True, last
    assert seed_run.ws_close == 1000
    for frame in seed_run.ws_frames:
        assert {"type", "message", "timestamp"} <= frame.keys()


def test_every_seq_arrives_exactly_once_in_order(seed_run: SeedRun) -> None:
    numbers = seqs(seed_run.ws_frames)
    assert numbers == list(range(1, len(numbers) + 1))


def test_response_holds_the_same_logs_as_the_socket(seed_run: SeedRun) -> None:
    body = seed_run.response.json()
    assert body["success"] is True
    assert body["session_id"] == seed_run.session_id
    assert body["status"] == "succeeded"
    assert body["logs"] == [e["message"] for e in events(seed_run.ws_frames)]
    assert body["sudo_user"] == "bob"
    assert any(step["id"] == "firewall" for step in body["steps"])


def test_late_joiner_after_the_end_gets_the_whole_session(seed_run: SeedRun) -> None:
    late_frames, code = seed_run.late
    assert code == 1000
    assert late_frames[0]["message"] == CONNECTED
    assert events(late_frames) == events(seed_run.ws_frames)


def test_since_replays_only_later_events(seed_run: SeedRun) -> None:
    resumed, code = seed_run.resumed
    assert code == 1000
    assert events(resumed) == [e for e in events(seed_run.ws_frames) if e["seq"] > 5]


def test_bearer_header_authenticates_the_socket_like_the_cookie(seed_run: SeedRun) -> None:
    received, code = seed_run.bearer_cookie_less
    assert code == 1000
    assert seqs(received) == seqs(seed_run.ws_frames)


async def test_passwordless_sudo_is_saved_with_an_empty_password(
    seed_run: SeedRun, live: ProcessServer, owner: Login, store: Store, test_host: TestHost
) -> None:
    async with live.async_client(owner) as client:
        rows = (await client.get("/api/servers/sudo")).json()
    row = next(r for r in rows if r["host"] == test_host.address)
    assert row["sudo_user"] == "bob"
    assert row["passwordless"] is True
    assert "sudo_password" not in row


async def test_session_history_and_log_download(seed_run: SeedRun, live: ProcessServer, owner: Login) -> None:
    async with live.async_client(owner) as client:
        listed = (await client.get("/api/setup/sessions")).json()
        detail = (await client.get(f"/api/setup/sessions/{seed_run.session_id}", params={"since": 3})).json()
        log = await client.get(f"/api/setup/sessions/{seed_run.session_id}/log.txt")
    assert seed_run.session_id in [s["session_id"] for s in listed]
    assert detail["status"] == "succeeded"
    assert history_events(detail["events"]) == [e for e in events(seed_run.ws_frames) if e["seq"] > 3]
    assert log.status_code == 200
    assert "attachment" in log.headers["content-disposition"]
    for event in events(seed_run.ws_frames):
        assert event["message"] in log.text


async def test_log_download_renders_the_services_own_lines_in_the_asked_language(
    seed_run: SeedRun, live: ProcessServer, owner: Login
) -> None:
    url = f"/api/setup/sessions/{seed_run.session_id}/log.txt"
    async with live.async_client(owner) as client:
        english = await client.get(url, params={"lang": "en"})
        chinese = await client.get(url, params={"lang": "zh"})
        unknown = await client.get(url, params={"lang": "fr"})
    assert english.status_code == chinese.status_code == 200
    assert (unknown.status_code, unknown.json()["field"]) == (422, "lang")
    lines = english.text.splitlines()
    assert lines[:3] == [
        f"# Setup Wizard session {seed_run.session_id}",
        lines[1],
        "# status: succeeded",
    ]
    assert lines[1].startswith("# server: bob@")
    assert chinese.text.splitlines()[2] == "# 状态: 成功"
    coded = [e for e in events(seed_run.ws_frames) if e.get("code")]
    printed = [e for e in events(seed_run.ws_frames) if not e.get("code") and e["type"] == "log"]
    assert coded and printed
    for event in coded:  # each of the service's own lines, in the language asked for
        assert render(event["code"], event["params"], "en") in english.text
        assert event["message"] in chinese.text
    start = next(e for e in coded if e["code"] == "run.start")
    assert start["message"] not in english.text  # 开始设置 bob@…: not in an English download
    assert re.search(r"\] Setting up bob@\S+: \d+ steps$", english.text, re.MULTILINE)
    for event in printed:  # what the server printed, as printed, in both
        assert event["message"] in english.text and event["message"] in chinese.text


@dataclass
class ConcurrentRun:
    """One setup as alice (password sudo, canary password) with other clients acting while it runs."""

    session_id: str
    canary: str
    watcher: list[dict[str, Any]]
    second_setup: httpx.Response
    foreign_session_id: httpx.Response
    late_midway: tuple[list[dict[str, Any]], int | None]
    before_drop: list[dict[str, Any]]
    after_resume: tuple[list[dict[str, Any]], int | None]
    foreign_watch: tuple[list[dict[str, Any]], int | None]
    response: httpx.Response
    reuse_own_id: httpx.Response = field(init=False)


@pytest.fixture(scope="module")
async def concurrent_run(
    seed_run: SeedRun, live: ProcessServer, owner: Login, other: Login, test_host: TestHost
) -> ConcurrentRun:
    canary = f"Canary-{secrets.token_hex(6)}"
    test_host.set_password("alice", canary)
    tag = secrets.token_hex(4)
    script = f"echo mid-start-{tag}\nsleep 6\necho mid-end-{tag}\n"
    session_id = str(uuid.uuid4())
    account = Account("alice", canary)
    ws = await open_progress(live, owner, session_id)
    async with live.async_client(owner) as client, live.async_client(other) as other_client:
        post = asyncio.create_task(
            client.post(
                "/api/setup/auto-setup",
                json=setup_body(test_host, account, script=script, session_id=session_id),
                timeout=900,
            )
        )
        watcher: list[dict[str, Any]] = []
        stream = frames(ws)
        async for frame in stream:
            watcher.append(frame)
            if f"mid-start-{tag}" in frame.get("message", ""):
                break
        # While the script sleeps: a second setup of the same server, another user's claims on the id.
        second = await client.post(
            "/api/setup/auto-setup", json=setup_body(test_host, test_host.sudo_nopasswd), timeout=60
        )
        foreign_id = await other_client.post(
            "/api/setup/auto-setup",
            json=setup_body(test_host, test_host.sudo_nopasswd, session_id=session_id),
            timeout=60,
        )
        late_task = asyncio.create_task(read_to_close(await open_progress(live, owner, session_id)))
        foreign_task = asyncio.create_task(read_to_close(await open_progress(live, other, session_id)))
        dropping = await open_progress(live, owner, session_id)
        before_drop: list[dict[str, Any]] = []
        async for frame in frames(dropping):
            before_drop.append(frame)
            if len(seqs(before_drop)) == 4:
                break
        await dropping.close()
        resume_task = asyncio.create_task(
            read_to_close(await open_progress(live, owner, session_id, since=seqs(before_drop)[-1]))
        )
        async for frame in stream:
            watcher.append(frame)
        response = await post
        run = ConcurrentRun(
            session_id,
            canary,
            watcher,
            second,
            foreign_id,
            await late_task,
            before_drop,
            await resume_task,
            await foreign_task,
            response,
        )
        run.reuse_own_id = await client.post(
            "/api/setup/auto-setup",
            json=setup_body(test_host, test_host.sudo_nopasswd, session_id=session_id),
            timeout=60,
        )
    return run


def test_second_setup_of_the_same_server_while_one_runs_is_409(concurrent_run: ConcurrentRun) -> None:
    assert concurrent_run.second_setup.status_code == 409, concurrent_run.second_setup.text
    assert concurrent_run.second_setup.json()["code"] == "setup_running"
    # the page links the run in the way: it is the caller's own here
    assert concurrent_run.second_setup.json()["session_id"] == concurrent_run.session_id


def test_session_id_of_another_user_is_403(concurrent_run: ConcurrentRun) -> None:
    assert concurrent_run.foreign_session_id.status_code == 403, concurrent_run.foreign_session_id.text


def test_reusing_ones_own_finished_session_id_is_409(concurrent_run: ConcurrentRun) -> None:
    assert concurrent_run.reuse_own_id.status_code == 409, concurrent_run.reuse_own_id.text
    assert concurrent_run.reuse_own_id.json()["code"] == "session_id_used"


def test_password_sudo_run_succeeds(concurrent_run: ConcurrentRun) -> None:
    assert concurrent_run.response.status_code == 200, concurrent_run.response.text
    body = concurrent_run.response.json()
    assert body["success"] is True, body["message"]
    assert body["sudo_user"] == "alice"
    assert body["sudo_mode"] == "password"


def test_late_joiner_midway_gets_everything_without_gap_or_duplicate(concurrent_run: ConcurrentRun) -> None:
    late, code = concurrent_run.late_midway
    assert code == 1000
    assert events(late) == events(concurrent_run.watcher)
    numbers = seqs(late)
    assert numbers == list(range(1, len(numbers) + 1))


def test_reconnect_with_since_continues_without_gap_or_duplicate(concurrent_run: ConcurrentRun) -> None:
    resumed, code = concurrent_run.after_resume
    assert code == 1000
    combined = events(concurrent_run.before_drop) + events(resumed)
    assert combined == events(concurrent_run.watcher)


def test_another_users_socket_is_closed_4403_without_any_event(concurrent_run: ConcurrentRun) -> None:
    received, code = concurrent_run.foreign_watch
    assert code == 4403
    assert seqs(received) == []
    assert all(concurrent_run.canary not in str(f) for f in received)


def test_canary_password_appears_in_no_frame_and_no_response(concurrent_run: ConcurrentRun) -> None:
    assert concurrent_run.canary not in str(concurrent_run.watcher)
    assert concurrent_run.canary not in concurrent_run.response.text


async def test_password_sudo_is_saved_encrypted_and_nowhere_in_plaintext(
    concurrent_run: ConcurrentRun, live: ProcessServer, owner: Login, store: Store, test_host: TestHost
) -> None:
    async with live.async_client(owner) as client:
        rows = (await client.get("/api/servers/sudo")).json()
        prefill = (
            await client.get("/api/servers/sudo/prefill", params={"host": test_host.address, "port": 22})
        ).json()
    row = next(r for r in rows if r["host"] == test_host.address)
    assert row["sudo_user"] == "alice"
    assert row["passwordless"] is False
    assert prefill["has_password"] is True
    assert concurrent_run.canary not in str(rows) + str(prefill)
    dump = store.dump()
    assert b"v1:" in dump  # the ciphertext is there
    assert concurrent_run.canary.encode() not in dump


async def test_invalid_field_is_422_naming_it_and_nothing_runs(
    seed_run: SeedRun, live: ProcessServer, owner: Login, test_host: TestHost
) -> None:
    marker = f"/tmp/never-{secrets.token_hex(4)}"
    bad: list[tuple[dict[str, Any], str]] = [
        ({"port": 0}, "port"),
        ({"packages": ["curl; touch /tmp/x"]}, "packages"),
        ({"firewall_ports": ["22/tcp; reboot"]}, "firewall_ports"),
        ({"host": "-oProxyCommand=touch"}, "host"),
        ({"session_id": "not-a-uuid"}, "session_id"),
    ]
    async with live.async_client(owner) as client:
        before = (await client.get("/api/setup/sessions")).json()
        for change, field_name in bad:
            body = {**setup_body(test_host, test_host.root, script=f"touch {marker}"), **change}
            response = await client.post("/api/setup/auto-setup", json=body)
            assert response.status_code == 422, (change, response.text)
            assert response.json()["field"].split(".")[0] == field_name, response.text
        after = (await client.get("/api/setup/sessions")).json()
    assert after == before
    assert not marker_exists(test_host, marker)


async def test_socket_from_a_foreign_origin_or_without_login_is_refused(
    live: ProcessServer, owner: Login
) -> None:
    session_id = str(uuid.uuid4())
    with pytest.raises(websockets.InvalidStatus) as refused:
        await open_progress(live, owner, session_id, cookie=True, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus) as anonymous:
        await open_progress(live, None, session_id, origin=live.origin)
    assert anonymous.value.response.status_code == 403
    async with live.async_client() as client:
        assert (await client.get("/api/setup/sessions")).status_code == 401


async def test_since_past_64_bits_negative_or_not_a_number_is_422_on_the_history_route(
    seed_run: SeedRun, live: ProcessServer, owner: Login
) -> None:
    async with live.async_client(owner) as client:
        for since in (str(2**63), str(2**64 + 5), str(2**31), "-1", "abc", "1.5"):
            response = await client.get(f"/api/setup/sessions/{seed_run.session_id}", params={"since": since})
            assert response.status_code == 422, (since, response.text)
            assert response.json()["field"] == "since", response.text
        at_most = await client.get(f"/api/setup/sessions/{seed_run.session_id}", params={"since": 2**31 - 1})
        for path in ("/api/setup/sessions/not-a-uuid", "/api/setup/sessions/not-a-uuid/log.txt"):
            malformed = await client.get(path)
            assert malformed.status_code == 422 and malformed.json()["field"] == "session_id", malformed.text
    assert at_most.status_code == 200, at_most.text
    assert at_most.json()["events"] == []


async def test_since_past_64_bits_negative_or_not_a_number_closes_the_socket_4400(
    seed_run: SeedRun, live: ProcessServer, owner: Login
) -> None:
    for since in (str(2**63), str(2**31), "-1", "abc", "%2B5", "%D9%A3"):
        url = f"{live.ws_url}/api/setup/setup-progress/{seed_run.session_id}?since={since}"
        ws = await websockets.connect(url, additional_headers=owner.headers, open_timeout=30)
        received, code = await read_to_close(ws)
        assert code == 4400, (since, code)
        assert seqs(received) == []


async def test_resume_after_the_end_closes_1000_at_once(
    seed_run: SeedRun, live: ProcessServer, owner: Login
) -> None:
    last = seqs(seed_run.ws_frames)[-1]
    for since in (last, last + 5):
        received, code = await asyncio.wait_for(
            read_to_close(await open_progress(live, owner, seed_run.session_id, since=since)), 60
        )
        assert code == 1000, (since, code)  # not 1001 "shutting down" after a wait, which clients retry
        assert [f["message"] for f in received] == [CONNECTED]
    received, code = await read_to_close(
        await open_progress(live, owner, seed_run.session_id, since=last - 1)
    )
    assert code == 1000
    assert seqs(received) == [last]

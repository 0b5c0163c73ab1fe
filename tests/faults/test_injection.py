"""Injection payloads in every field of every route, the routes and fields read from the service's own
OpenAPI document: no 5xx, JSON answers only, nothing executed (marker files never appear, neither on the
service's machine nor on the test server), and the service still works afterwards."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import socket
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from setupwizard.testbed.host import TestHost
from tests.integration.setup.clients import open_progress, read_to_close
from tests.integration.web.live import ADMIN_PASSWORD, ADMIN_USER, Login, ProcessServer

from .outcome import Outcome
from .test_schema import openapi_document

MARK = f"sw-inject-{secrets.token_hex(4)}"
PAYLOADS = [
    f";touch /tmp/{MARK}-semi",
    f"$(touch /tmp/{MARK}-subst)",
    f"`touch /tmp/{MARK}-tick`",
    f"x\ntouch /tmp/{MARK}-newline",
    f"x' ; touch /tmp/{MARK}-quote ; echo '",
    "' OR '1'='1' --",
    '"; DROP TABLE users; --',
    "../../../../../../etc/passwd",
    "{{7*7}}${7*7}<%= 7*7 %>",
    "<script>alert(1)</script>",
    "a\r\nSet-Cookie: injected=1",
    "nul\x00byte",
    "%00%0a%0d",
    "\u202egnp.exe",
    "A" * 20_000,
    "-oProxyCommand=touch /tmp/" + MARK + "-proxy",
]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def base_bodies(host: TestHost) -> dict[str, dict[str, Any]]:
    """A valid body per JSON route; setup and test-connection reach the real test server (test-connection
    logs in for real: it is quick), auto-setup a closed port (validation and connect only)."""
    connection = {"host": host.address, "username": "root", "password": host.root.password}
    return {
        "POST /api/auth/login": {"username": "nobody-here", "password": "not-a-password"},
        "POST /api/auth/password": {"current_password": "wrong-current", "new_password": "new-password-123"},
        "POST /api/users": {"username": f"inj{secrets.token_hex(3)}", "password": "user-password-1234"},
        "POST /api/setup/auto-setup": connection | {"port": _closed_port(), "packages": [], "wait": True},
        "POST /api/setup/test-connection": connection,
        # a key exchange with the test server, which shows another key: 409 host_key_mismatch, nothing trusted
        "POST /api/servers/known-hosts/trust": {"host": host.address, "fingerprint": "SHA256:" + "A" * 43},
    }


def base_params() -> dict[str, str]:
    return {"host": "198.51.100.7", "port": "22", "limit": "5", "since": "0"}


# docs/api.md: 502/504 answer "the server being set up failed or did not answer" (auth failed, refused,
# timeout). They are answers about the remote server, not faults of the service.
REMOTE_FAILURE = {502, 504}
REMOTE_ROUTES = {
    "POST /api/setup/auto-setup",
    "POST /api/setup/test-connection",
    "POST /api/servers/known-hosts/trust",
}


def documented_statuses() -> dict[str, set[int]]:
    """Per operation, the status codes its OpenAPI entry or docs/api.md documents."""
    return {
        key: {int(code) for code in op.get("responses", {}) if code.isdigit()}
        | (REMOTE_FAILURE if key in REMOTE_ROUTES else set())
        for path, item in openapi_document()["paths"].items()
        for method, op in item.items()
        for key in [f"{method.upper()} {path}"]
    }


def text_answers() -> set[str]:
    """Operations whose documented 200 answer is text, not JSON (a log.txt, the Prometheus metrics)."""
    return {
        f"{method.upper()} {path}"
        for path, item in openapi_document()["paths"].items()
        for method, op in item.items()
        if "application/json"
        not in op.get("responses", {}).get("200", {}).get("content", {"application/json": 0})
    }


def requests_to_send(host: TestHost) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(operation, field, payload, httpx request kwargs) for every field of every operation."""
    document = openapi_document()
    schemas = document["components"]["schemas"]
    bodies = base_bodies(host)
    out: list[tuple[str, str, str, dict[str, Any]]] = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            key = f"{method.upper()} {path}"
            if key == "POST /api/auth/logout":
                continue  # it would end the login used by the rest; it takes no fields
            path_params = {
                p["name"]: str(uuid.uuid4()) if "session" in p["name"] else "1"
                for p in op.get("parameters", [])
                if p["in"] == "path"
            }
            query = {
                p["name"]: base_params().get(p["name"], "x")
                for p in op.get("parameters", [])
                if p["in"] == "query"
            }
            body = bodies.get(key)
            fields: list[tuple[str, str]] = [(p, "path") for p in path_params] + [(q, "query") for q in query]
            ref = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
            if ref:
                properties = schemas[ref["$ref"].rsplit("/", 1)[1]]["properties"]
                fields += [(name, "body") for name in properties]
            if not fields:
                fields = [("(none)", "none")]
            for name, where in fields:
                for payload in PAYLOADS:
                    params = dict(path_params)
                    q = dict(query)
                    b = dict(body) if body is not None else None
                    if where == "path":
                        params[name] = payload
                    elif where == "query":
                        q[name] = payload
                    elif where == "body" and b is not None:
                        b[name] = payload
                    url = path
                    for pname, value in params.items():
                        url = url.replace(
                            "{" + pname + "}",
                            quote(value, safe=""),
                        )
                    kwargs: dict[str, Any] = {"method": method.upper(), "url": url, "params": q}
                    if b is not None:
                        kwargs["json"] = b
                    out.append((key, f"{where}:{name}", payload, kwargs))
    return out


@pytest.fixture(scope="module")
def admin(service: ProcessServer) -> Login:
    return service.login(ADMIN_USER, ADMIN_PASSWORD)


# Requests of one operation go out this many at a time (operations stay in order). A wrong password keeps
# the test server's sshd busy about 2 s (PAM's failure delay): one at a time, test-connection's password
# payloads alone took 40 of the test's 62 s. Below sshd's MaxStartups (10), so none is dropped.
AT_ONCE = 8


async def send_by_operation(
    client: httpx.AsyncClient, sent: list[tuple[str, str, str, dict[str, Any]]]
) -> list[tuple[str, str, str, httpx.Response]]:
    """(operation, field, payload, response) for every request, one operation after another."""
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(kwargs: dict[str, Any]) -> httpx.Response:
        async with gate:
            return await client.request(**kwargs)

    answers: list[tuple[str, str, str, httpx.Response]] = []
    for _, group in itertools.groupby(sent, key=lambda request: request[0]):
        batch = list(group)
        responses = await asyncio.gather(*(one(kwargs) for *_, kwargs in batch))
        answers += [(*request[:3], r) for request, r in zip(batch, responses, strict=True)]
    return answers


def marker_files(host: TestHost) -> list[str]:
    here = [str(p) for p in Path("/tmp").glob(f"{MARK}*")]
    there = host.run_root(f"ls /tmp/{MARK}* /root/{MARK}* 2>/dev/null").stdout.split()
    return here + there


async def test_injection_in_every_field_of_every_route_is_refused_or_harmless(
    service: ProcessServer, admin: Login, test_host: TestHost
) -> None:
    sent = requests_to_send(test_host)
    documented = documented_statuses()
    text = text_answers()
    server_errors: list[str] = []
    not_json: list[str] = []
    echoed: list[str] = []
    async with service.async_client(admin) as client:
        for key, field, payload, response in await send_by_operation(client, sent):
            label = f"{key} {field} {payload[:30]!r}"
            if response.status_code >= 500 and response.status_code not in documented[key]:
                server_errors.append(f"{label}: {response.status_code}")
            if key in text and response.status_code == 200:
                continue
            if "json" not in response.headers.get("content-type", ""):
                not_json.append(f"{label}: {response.headers.get('content-type')}")
            if response.status_code == 422 and len(payload) > 8 and payload in response.text:
                echoed.append(label)
        me = await client.get("/api/auth/me")
    files = marker_files(test_host)
    still_works = me.status_code == 200 and service.admin_login().token != ""
    operations = len({key for key, *_ in sent})
    ok = not server_errors and not files and not not_json and still_works
    Outcome(
        "attack.01-injection",
        f"injection payloads ({len(PAYLOADS)} kinds: shell, SQL, path, template, HTML, CRLF, NUL, 20 KB, "
        f"ssh option) in every field of {operations} operations from the OpenAPI document: "
        f"{len(sent)} requests",
        "no undocumented 5xx, JSON answers, nothing executed here or on the server, the service still works",
        f"{len(server_errors)} 5xx {server_errors[:3]}; {len(not_json)} non-JSON; marker files: {files}; "
        f"service works afterwards: {still_works}; 422 answers repeating the payload: {len(echoed)}",
        0,
        0,
        ok,
    ).write()
    assert not files
    assert still_works
    assert not not_json, not_json[:5]
    assert not server_errors, server_errors[:10]


BIG = 2**63


async def test_a_boolean_port_is_refused_as_a_bad_field(service: ProcessServer, admin: Login) -> None:
    async with service.async_client(admin) as client:
        response = await client.post(
            "/api/setup/test-connection",
            json={"host": "198.51.100.7", "port": True, "username": "root", "password": "x"},
        )
    assert response.status_code == 422 and response.json().get("field") == "port", response.text


async def finished_session(service: ProcessServer, login: Login) -> str:
    """A session that has ended at once (its connection refused by a closed local port)."""
    async with service.async_client(login) as client:
        started = await client.post(
            "/api/setup/auto-setup",
            json={"host": "127.0.0.1", "port": _closed_port(), "username": "root", "password": "x"},
        )
    assert started.status_code in (200, 422, 502, 504), started.text
    return str(started.json().get("session_id") or uuid.uuid4())


async def test_a_since_past_64_bits_is_refused_as_a_bad_field(service: ProcessServer, admin: Login) -> None:
    session_id = await finished_session(service, admin)
    async with service.async_client(admin) as client:
        response = await client.get(f"/api/setup/sessions/{session_id}", params={"since": str(BIG)})
    assert response.status_code == 422, response.text


async def test_a_sudo_id_past_64_bits_is_refused_as_a_bad_field(service: ProcessServer, admin: Login) -> None:
    async with service.async_client(admin) as client:
        response = await client.delete(f"/api/servers/sudo/{BIG}")
    assert response.status_code == 422, response.text


async def test_a_socket_since_past_64_bits_is_closed_4400(service: ProcessServer, admin: Login) -> None:
    ws = await open_progress(service, admin, await finished_session(service, admin), since=BIG)
    _, code = await read_to_close(ws)
    assert code == 4400

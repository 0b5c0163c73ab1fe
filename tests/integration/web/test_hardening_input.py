"""Bad input at the edge: bounded ids, trusted proxies only, body and URL limits,
unparsable bodies — each a clear 4xx in the usual ``{detail, code, field}`` shape, never a 500 or a hang."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from setupwizard.auth.throttle import MAX_FAILURES_PER_USER
from setupwizard.web.limits import MAX_BODY_BYTES
from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory
from tests.integration.web.live import LiveServer

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the edge, not the database


@pytest.mark.parametrize("number", ["9223372036854775808", "2147483648", "99999999999999999999999999"])
def test_ids_past_the_column_range_answer_422(live_server: LiveServer, number: str) -> None:
    with live_server.client(live_server.admin_login()) as client:
        response = client.delete(f"/api/servers/sudo/{number}")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert response.json()["field"] == "sudo_id"
    assert number not in response.text


def test_a_body_over_one_mebibyte_is_refused_with_413(live_server: LiveServer) -> None:
    big = b'{"username": "admin", "password": "' + b"x" * MAX_BODY_BYTES + b'"}'
    with live_server.client() as client:
        declared = client.post("/api/auth/login", content=big, headers={"content-type": "application/json"})
        chunked = client.post(
            "/api/auth/login",
            content=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
            headers={"content-type": "application/json"},
        )
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.json() == {
            "detail": f"The request body is larger than the limit of {MAX_BODY_BYTES} bytes",
            "code": "body_too_large",
            "field": None,
        }
    assert "transfer-encoding" not in declared.request.headers
    assert chunked.request.headers["transfer-encoding"] == "chunked"


@pytest.mark.parametrize(
    "body",
    [b'{"username": "\xff\xfe", "password": "x"}', b"[" * 100_000 + b"]" * 100_000],
    ids=["invalid-utf8", "deep-json"],
)
def test_unparsable_bodies_answer_422_not_400(live_server: LiveServer, body: bytes) -> None:
    with live_server.client() as client:
        response = client.post("/api/auth/login", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


def test_an_over_long_url_is_refused_at_once(live_server: LiveServer) -> None:
    with live_server.client() as client:
        response = client.get("/api/health", params={"x": "a" * 20_000})
    assert response.status_code == 414
    assert response.json()["code"] == "url_too_long"


def test_an_over_long_websocket_path_is_refused_not_left_hanging(live_server: LiveServer) -> None:
    url = f"{live_server.ws_url}/api/setup/setup-progress/{'a' * 20_000}"
    with pytest.raises(InvalidStatus) as refused:  # before the fix: TimeoutError, no answer at all
        connect(url, open_timeout=30, max_size=None)
    assert refused.value.response.status_code in (400, 403, 414)


def _failed_logins_with_forged_addresses(server: LiveServer) -> list[int]:
    statuses = []
    with server.client() as client:
        for attempt in range(MAX_FAILURES_PER_USER + 1):
            response = client.post(
                "/api/auth/login",
                json={"username": "admin", "password": "wrong-password"},
                headers={"X-Forwarded-For": f"203.0.113.{attempt + 1}"},
            )
            statuses.append(response.status_code)
    return statuses


def test_forged_forwarded_for_does_not_reset_the_login_throttle(live_server: LiveServer) -> None:
    statuses = _failed_logins_with_forged_addresses(live_server)
    assert statuses[-1] == 429  # every attempt counted against the real peer, 127.0.0.1


def test_a_listed_proxy_is_believed(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory
) -> None:
    server = live_server_factory(make_settings(forwarded_allow_ips=["127.0.0.1"]))
    statuses = _failed_logins_with_forged_addresses(server)
    assert 429 not in statuses  # each attempt came "through the proxy" from another client


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/setup/test-connection", {"host": "198.18.0.10", "port": True, "username": "u"}, "port"),
        ("/api/setup/test-connection", {"host": "198.18.0.10", "port": "22", "username": "u"}, "port"),
        ("/api/setup/test-connection", {"host": "198.18.0.10", "port": 22.0, "username": "u"}, "port"),
        ("/api/setup/auto-setup", {"host": "h", "username": "u", "wait": "false"}, "wait"),
        ("/api/setup/auto-setup", {"host": "h", "username": "u", "upgrade": 1}, "upgrade"),
        ("/api/setup/auto-setup", {"host": "h", "username": 7}, "username"),
        ("/api/users", {"username": "carol", "password": "carol-password", "is_admin": "yes"}, "is_admin"),
        ("/api/users", {"username": "carol", "password": "carol-password", "is_admin": 1}, "is_admin"),
    ],
)
def test_fields_take_their_json_type_strictly(
    live_server: LiveServer, path: str, body: dict[str, object], field: str
) -> None:
    with live_server.client(live_server.admin_login()) as client:
        response = client.post(path, json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["code"] == "invalid_input"


def test_login_with_a_number_for_a_name_is_422(live_server: LiveServer) -> None:
    with live_server.client() as client:
        response = client.post("/api/auth/login", json={"username": 12345678, "password": "x"})
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "payload"),
    [
        ({"packages": ["curl;id"]}, "curl;id"),
        ({"firewall_ports": ["80;reboot"]}, "80;reboot"),
        ({"firewall_ports": ["70000:70001/tcp"]}, "70000"),
        ({"firewall_ports": ["60000:61000"]}, "60000"),
        ({"session_id": "not-a-uuid;rm -rf /"}, "rm -rf"),
    ],
)
def test_422_answers_never_repeat_the_rejected_value(
    live_server: LiveServer, body: dict[str, object], payload: str
) -> None:
    request = {"host": "198.18.0.10", "username": "root", "password": "pw", "wait": False, **body}
    with live_server.client(live_server.admin_login()) as client:
        response = client.post("/api/setup/auto-setup", json=request)
    assert response.status_code == 422
    assert response.json()["field"] == next(iter(body))
    assert payload not in response.text


def test_openapi_shows_the_real_error_body_and_the_404_and_409_answers(live_server: LiveServer) -> None:
    with live_server.client() as client:
        document = client.get("/openapi.json").json()
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    error_body = set(document["components"]["schemas"]["ErrorBody"]["properties"])
    assert error_body == {
        "detail",
        "code",
        "field",
        "message_code",
        "params",
    }  # the last two: catalogued reasons
    assert "HTTPValidationError" not in document["components"]["schemas"]
    delete_sudo = document["paths"]["/api/servers/sudo/{sudo_id}"]["delete"]["responses"]
    assert {"401", "404", "422", "503"} <= set(delete_sudo)
    for status in ("401", "404", "422"):
        assert delete_sudo[status]["content"]["application/json"]["schema"] == error_ref
    create_user = document["paths"]["/api/users"]["post"]["responses"]
    assert create_user["409"]["content"]["application/json"]["schema"] == error_ref
    assert {"401", "403", "413", "422"} <= set(create_user)
    for path in document["paths"].values():
        for operation in path.values():
            for status, answer in operation["responses"].items():
                if status == "422":
                    assert answer["content"]["application/json"]["schema"] == error_ref


def test_docs_page_loads_swagger_ui_from_this_service_under_a_csp(live_server: LiveServer) -> None:
    with live_server.client() as client:
        page = client.get("/docs")
        assets = [client.get(f"/docs-assets/{name}") for name in ("swagger-ui-bundle.js", "swagger-ui.css")]
        static = client.get("/static/app.css")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self' 'sha256-" in csp
    for asset in assets:
        assert asset.status_code == 200 and len(asset.content) > 10_000
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
    assert static.headers["X-Content-Type-Options"] == "nosniff"

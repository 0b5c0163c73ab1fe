"""What the OpenAPI document says and what the service answers agree: the Allow header of
a 405 names every method of the path, the login-name and firewall-port rules are in the schema, DELETE on
/api/servers/sudo/prefill is a 405 (not a bad id), and a missing session's admin key is 404 ``not_found``."""

from __future__ import annotations

import re
import uuid

import pytest

from setupwizard.provisioning import InvalidInputError
from setupwizard.provisioning.validate import check_username, parse_port_spec
from tests.integration.web.live import LiveServer

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_a_405_names_every_method_the_path_takes(live_server: LiveServer) -> None:
    with live_server.client(live_server.admin_login()) as client:
        document = client.get("/openapi.json").json()
        checked = 0
        for path, operations in document["paths"].items():
            if "{" in path:
                continue
            documented = {method.upper() for method in operations}
            answer = client.options(path)
            assert answer.status_code == 405, (path, answer.status_code)
            allowed = {m.strip() for m in answer.headers["allow"].split(",")}
            assert allowed == documented, path
            checked += 1
        assert checked > 10
        prefill = client.delete("/api/servers/sudo/prefill")
        assert prefill.status_code == 405, prefill.text
        assert prefill.headers["allow"] == "GET"
        assert prefill.json()["code"] == "method_not_allowed"
        assert client.delete("/api/servers/sudo/7").status_code == 404  # an id still reaches the route


def test_a_missing_sessions_admin_key_is_404_not_found(live_server: LiveServer) -> None:
    with live_server.client(live_server.admin_login()) as client:
        answer = client.get(f"/api/setup/sessions/{uuid.uuid4()}/admin-key")
        session = client.get(f"/api/setup/sessions/{uuid.uuid4()}")
    assert answer.status_code == session.status_code == 404
    assert answer.json()["code"] == session.json()["code"] == "not_found"


def test_the_schema_states_the_login_name_and_port_rules_the_engine_applies(live_server: LiveServer) -> None:
    with live_server.client() as client:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
    login = schemas["ConnectionRequest"]["properties"]["username"]
    admin = schemas["AdminUserRequest"]["properties"]["username"]
    ports = schemas["AutoSetupRequest"]["properties"]["firewall_ports"]["anyOf"][0]["items"]
    assert login["pattern"] == admin["pattern"] and login["maxLength"] == 32
    name = re.compile(login["pattern"])
    for sample in ["root", "deploy", "_svc", "ops$", "a-b_c9", "Alice", "9lives", "a b", "a;id", "", "x$y"]:
        try:
            check_username(sample)
            accepted = True
        except InvalidInputError:
            accepted = False
        assert accepted == bool(name.search(sample)), sample
    port = re.compile(ports["pattern"])
    samples = [
        "22",
        "80/tcp",
        "53/udp",
        "60000:61000/udp",
        "65535",
        "65536",
        "0",
        "80/icmp",
        "1:2",
        "08",
        "1:2/tcp",
    ]
    for sample in samples:
        try:
            parse_port_spec(sample)
            accepted = True
        except InvalidInputError:
            accepted = False
        assert accepted == bool(port.search(sample)), sample


def test_history_date_filters_take_iso_dates_only(live_server: LiveServer) -> None:
    """The schema says date-time: a number is refused, not read as a Unix time (schemathesis found it)."""
    with live_server.client(live_server.admin_login()) as client:
        for bad in ("0.5", "1733380000", "yesterday"):
            answer = client.get("/api/setup/sessions", params={"started_from": bad})
            assert answer.status_code == 422, (bad, answer.text)
            assert "ISO 8601" in answer.text
        for good in ("2026-12-05T06:35:00Z", "2026-12-05T06:35:00", "2026-12-05"):
            answer = client.get("/api/setup/sessions", params={"started_before": good})
            assert answer.status_code == 200, (good, answer.text)

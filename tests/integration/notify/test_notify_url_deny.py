"""Notification URLs on a live service with the default SETUPWIZARD_NOTIFY_DENY: a URL reaching the cloud
metadata service is refused when saved (422 ``notify_url_denied``), and a target saved while loopback was
allowed is refused when it is sent to after the list changed: no connection is made. The URL (with a canary
in its path) is in no answer and no log line."""

from __future__ import annotations

import logging

import pytest

from setupwizard.core.networks import DEFAULT_TARGET_DENY
from tests.integration.tokens.support import audit_rows
from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory

from .receivers import RECEIVERS_ALLOWED, webhook

CANARY = "ssrf-Canary-5d2e8b1f"
DEFAULT_DENY = {"notify_deny": list(DEFAULT_TARGET_DENY), "notify_deny_own_addresses": True}


def logged_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_a_url_reaching_the_metadata_service_is_refused_when_saved_without_quoting_it(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = live_server_factory(make_settings(**DEFAULT_DENY))
    url = f"json://169.254.169.254/latest/{CANARY}"
    with server.client(server.admin_login()) as client:
        refused = client.post("/api/notifications/targets", json={"name": "metadata", "url": url})
        mapped = client.post(
            "/api/notifications/targets",
            json={"name": "mapped", "url": f"json://[::ffff:127.0.0.1]/{CANARY}"},
        )
        listed = client.get("/api/notifications/targets")
    for answer in (refused, mapped):
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert (body["code"], body["field"]) == ("notify_url_denied", "url"), body
        assert "SETUPWIZARD_NOTIFY_DENY" in body["detail"]
        assert CANARY not in answer.text and "169.254.169.254" not in answer.text
    assert listed.json() == []
    assert audit_rows(server, "notify.target_save") == []
    assert not [line for line in logged_lines(caplog) if CANARY in line]


def test_a_target_saved_while_allowed_is_refused_at_send_time_without_a_connection(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The same database under two deny lists: the operator allowed loopback, a user saved a target whose
    name resolves there, then the operator went back to the default. "send test" now answers 422 and the
    receiver on 127.0.0.1 gets nothing."""
    caplog.set_level(logging.DEBUG)
    with webhook() as hook:
        url = f"json://localhost:{hook.port}/{CANARY}"
        allowing = live_server_factory(make_settings(**RECEIVERS_ALLOWED))
        with allowing.client(allowing.admin_login()) as client:
            saved = client.post("/api/notifications/targets", json={"name": "local", "url": url})
            assert saved.status_code == 201, saved.text
            target_id = saved.json()["id"]
            tried = client.post(f"/api/notifications/targets/{target_id}/test")
        assert tried.status_code == 200, tried.text
        assert hook.wait_for(1) and hook.tries == 1  # reachable: what follows is the deny list's doing
        allowing.stop()
        caplog.clear()

        denying = live_server_factory(make_settings(**DEFAULT_DENY))
        with denying.client(denying.admin_login()) as client:
            refused = client.post(f"/api/notifications/targets/{target_id}/test")
            listed = client.get("/api/notifications/targets")
        assert hook.tries == 1
    assert refused.status_code == 422, refused.text
    assert (refused.json()["code"], refused.json()["field"]) == ("notify_url_denied", "url")
    assert CANARY not in refused.text and CANARY not in listed.text
    assert listed.json()[0]["last_error"] == "", "a refused test is its answer only, like a failed one"
    assert not [line for line in logged_lines(caplog) if CANARY in line or url in line]

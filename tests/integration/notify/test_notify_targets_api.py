"""Notification targets on a live service, on SQLite and PostgreSQL: the apprise URL is stored encrypted
and shown only as a hint; "send test" reaches a real webhook receiver (502 when nothing listens); rules
change; targets are their owner's only; saving and deleting are audited without the URL; bad input is a
422 naming the field."""

from __future__ import annotations

from tests.integration.tokens.support import audit_rows
from tests.integration.vault.support import table_text
from tests.integration.web.live import LiveServer

from .receivers import free_port, smtp_server, webhook

SECRET_PATH = "hook-Canary-7f3a9c2e"


def test_a_target_is_stored_encrypted_shown_masked_and_tested_for_real(
    live_server: LiveServer, db_url: str
) -> None:
    login = live_server.create_user("notified", "notified-password")
    with webhook() as hook, live_server.client(login) as client:
        url = hook.url(SECRET_PATH)
        saved = client.post(
            "/api/notifications/targets", json={"name": "ops hook", "url": url, "on_succeeded": True}
        )
        assert saved.status_code == 201, saved.text
        body = saved.json()
        assert body["hint"] == "json://…9c2e" and body["on_failed"] and body["on_succeeded"]
        listed = client.get("/api/notifications/targets")
        tested = client.post(f"/api/notifications/targets/{body['id']}/test")
        assert tested.status_code == 200, tested.text
        posts = hook.wait_for(1)
    assert posts[0]["path"] == f"/{SECRET_PATH}" and "test notification" in posts[0]["title"]
    assert "ops hook" in posts[0]["message"]
    for text in (saved.text, listed.text, tested.text, str(audit_rows(live_server, "notify.target_save"))):
        assert SECRET_PATH not in text and url not in text
    stored = table_text(db_url, "notify_targets")
    assert SECRET_PATH not in stored and "v1:" in stored
    assert tested.json()["last_sent_at"] is not None and tested.json()["last_error"] == ""


def test_send_test_reaches_a_real_smtp_server(live_server: LiveServer) -> None:
    with smtp_server() as mailbox, live_server.client(live_server.admin_login()) as client:
        saved = client.post("/api/notifications/targets", json={"name": "mail", "url": mailbox.url()})
        assert saved.status_code == 201, saved.text
        tested = client.post(f"/api/notifications/targets/{saved.json()['id']}/test")
        assert tested.status_code == 200, tested.text
        mails = mailbox.wait_for(1)
    recipients, message = mails[0]
    assert recipients == ["ops@example.com"] and "test notification" in str(message["Subject"])


def test_a_test_nobody_receives_is_a_502(live_server: LiveServer) -> None:
    with live_server.client(live_server.admin_login()) as client:
        url = f"json://127.0.0.1:{free_port()}/nobody"
        target = client.post("/api/notifications/targets", json={"name": "dead", "url": url}).json()
        answer = client.post(f"/api/notifications/targets/{target['id']}/test")
    assert answer.status_code == 502 and answer.json()["code"] == "notify_failed", answer.text
    assert "nobody" not in answer.text


def test_bad_input_is_a_422_naming_the_field(live_server: LiveServer) -> None:
    with live_server.client(live_server.admin_login()) as client:
        post = client.post
        unknown = post("/api/notifications/targets", json={"name": "x", "url": "nosuchservice://token-123"})
        assert unknown.status_code == 422 and unknown.json()["field"] == "url", unknown.text
        assert "token-123" not in unknown.text
        empty = post("/api/notifications/targets", json={"name": "x", "url": "   "})
        assert empty.status_code == 422 and empty.json()["field"] == "url", empty.text
        assert post("/api/notifications/targets", json={"name": "x", "url": "json://127.0.0.1/a"}).is_success
        taken = post("/api/notifications/targets", json={"name": "x", "url": "json://127.0.0.1/b"})
        assert taken.status_code == 422 and taken.json()["field"] == "name", taken.text


def test_rules_change_and_targets_are_their_owners_only(live_server: LiveServer) -> None:
    owner = live_server.create_user("owner", "owner-password")
    with live_server.client(owner) as client:
        target = client.post(
            "/api/notifications/targets", json={"name": "mine", "url": "json://127.0.0.1/x"}
        ).json()
        assert (target["on_failed"], target["on_succeeded"]) == (True, False)
        changed = client.put(
            f"/api/notifications/targets/{target['id']}/rules",
            json={"on_failed": False, "on_succeeded": True},
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["on_failed"], changed.json()["on_succeeded"]) == (False, True)
    path = f"/api/notifications/targets/{target['id']}"
    with live_server.client(live_server.admin_login()) as client:
        assert client.get("/api/notifications/targets").json() == []
        assert client.post(f"{path}/test").status_code == 404
        assert client.put(f"{path}/rules", json={"on_failed": True}).status_code == 404
        assert client.delete(path).status_code == 404
    with live_server.client(owner) as client:
        assert client.delete(path).status_code == 204
        assert client.get("/api/notifications/targets").json() == []
    deleted = audit_rows(live_server, "notify.target_delete")
    assert [(row["actor"], row["target"]) for row in deleted] == [("owner", "mine")]

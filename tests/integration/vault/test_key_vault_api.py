"""The key vault on a live service, on SQLite and PostgreSQL: a saved key is listed with its name, public
half and fingerprint and never with its private half; it is stored encrypted; only its owner sees, uses or
deletes it (admins too are refused); saving and deleting are audited; bad input is a 422 naming the field."""

from __future__ import annotations

import pytest

from tests.integration.tokens.support import audit_rows
from tests.integration.web.live import LiveServer

from .support import new_key, table_text


def test_a_saved_key_is_listed_without_its_private_half_and_stored_encrypted(
    live_server: LiveServer, db_url: str
) -> None:
    login = live_server.create_user("keeper", "keeper-password")
    private, public, fingerprint = new_key(comment="keeper@laptop")
    with live_server.client(login) as client:
        saved = client.post("/api/keys", json={"name": "laptop", "private_key": private})
        assert saved.status_code == 201, saved.text
        listed = client.get("/api/keys")
    body = saved.json()
    assert body["name"] == "laptop" and body["fingerprint"] == fingerprint
    assert body["public_key"] == public and body["key_type"] == "ssh-ed25519"
    assert "private_key" not in body
    assert [row["id"] for row in listed.json()] == [body["id"]]
    lines = [line for line in private.splitlines() if len(line) > 16 and "-----" not in line]
    for answer in (saved.text, listed.text):
        assert not any(line in answer for line in lines)
    stored = table_text(db_url, "ssh_keys")
    assert fingerprint in stored and "v1:" in stored
    assert not any(line in stored for line in lines)


def test_a_passphrase_opens_the_key_once_and_is_not_kept(live_server: LiveServer, db_url: str) -> None:
    login = live_server.admin_login()
    private, _public, fingerprint = new_key(passphrase="open sesame 42")
    with live_server.client(login) as client:
        saved = client.post(
            "/api/keys", json={"name": "locked", "private_key": private, "passphrase": "open sesame 42"}
        )
    assert saved.status_code == 201, saved.text
    assert saved.json()["fingerprint"] == fingerprint
    assert "open sesame 42" not in table_text(db_url, "ssh_keys")


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("not a key", "private_key"),
        ("public key", "private_key"),
        ("encrypted, no passphrase", "passphrase"),
        ("encrypted, wrong passphrase", "passphrase"),
        ("name taken", "name"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(live_server: LiveServer, case: str, field: str) -> None:
    private, public, _ = new_key()
    locked, _, _ = new_key(passphrase="right one")
    bodies = {
        "not a key": {"name": "k", "private_key": "hello, I am not a key"},
        "public key": {"name": "k", "private_key": public},
        "encrypted, no passphrase": {"name": "k", "private_key": locked},
        "encrypted, wrong passphrase": {"name": "k", "private_key": locked, "passphrase": "wrong one"},
        "name taken": {"name": "taken", "private_key": private},
    }
    with live_server.client(live_server.admin_login()) as client:
        if case == "name taken":
            assert client.post("/api/keys", json={"name": "taken", "private_key": new_key()[0]}).is_success
        answer = client.post("/api/keys", json=bodies[case])
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field, answer.json()
    assert "right one" not in answer.text and private not in answer.text


def test_keys_are_their_owners_only_even_for_an_admin(live_server: LiveServer) -> None:
    owner = live_server.create_user("owner", "owner-password")
    admin = live_server.admin_login()
    private, _, _ = new_key()
    with live_server.client(owner) as client:
        key_id = client.post("/api/keys", json={"name": "mine", "private_key": private}).json()["id"]
    with live_server.client(admin) as client:
        assert client.get("/api/keys").json() == []
        assert client.delete(f"/api/keys/{key_id}").status_code == 404
        used = client.post(
            "/api/setup/test-connection", json={"host": "198.51.100.7", "username": "root", "key_id": key_id}
        )
        assert used.status_code == 422 and used.json()["field"] == "key_id", used.text
    with live_server.client(owner) as client:
        both = client.post(
            "/api/setup/auto-setup",
            json={"host": "198.51.100.7", "username": "root", "key_id": key_id, "private_key": private},
        )
        assert both.status_code == 422 and both.json()["field"] == "key_id", both.text
        assert [row["name"] for row in client.get("/api/keys").json()] == ["mine"]


def test_saving_and_deleting_a_key_are_audited_without_the_key(live_server: LiveServer) -> None:
    login = live_server.create_user("auditee", "auditee-password")
    private, _, fingerprint = new_key()
    with live_server.client(login) as client:
        key_id = client.post("/api/keys", json={"name": "old key", "private_key": private}).json()["id"]
        assert client.delete(f"/api/keys/{key_id}").status_code == 204
        assert client.get("/api/keys").json() == []
        assert client.delete(f"/api/keys/{key_id}").status_code == 404
    saves, deletes = audit_rows(live_server, "key.save"), audit_rows(live_server, "key.delete")
    assert [(row["actor"], row["target"]) for row in saves] == [("auditee", "old key")]
    assert [(row["actor"], row["target"]) for row in deletes] == [("auditee", "old key")]
    assert deletes[0]["detail"] == {"key_id": key_id, "fingerprint": fingerprint}
    lines = [line for line in private.splitlines() if len(line) > 16 and "-----" not in line]
    assert not any(line in str(saves + deletes) for line in lines)

"""Personal access tokens on a live service, on SQLite and PostgreSQL: shown once, kept as a hash, scoped,
"last used" listed, revoked or expired → 401 at once, and creation, a new address and revocation audited."""

from __future__ import annotations

from tests.integration.web.live import LiveServer

from .support import api_tokens_table, audit_rows, bearer, create_token, digest, expire_token, me


def test_a_token_is_shown_once_and_kept_only_as_its_hash(live_server: LiveServer, db_url: str) -> None:
    login = live_server.create_user("ci-owner", "ci-owner-password")
    created = create_token(live_server, login, "ci deploy", "setup")
    token = created["token"]
    assert token.startswith("swp_") and created["hint"] == token[-4:]
    assert created["scope"] == "setup" and created["name"] == "ci deploy"
    lifetime = _days(created["created_at"], created["expires_at"])
    assert lifetime == 90  # the default expiry

    with live_server.client(login) as client:
        listed = client.get("/api/tokens").json()
    assert [row["id"] for row in listed] == [created["id"]]
    assert "token" not in listed[0] and token not in str(listed)

    stored = api_tokens_table(db_url)
    assert token not in stored and token[4:] not in stored
    assert digest(token) in stored

    answer = me(live_server, token)
    assert answer.status_code == 200 and answer.json()["username"] == "ci-owner"


def test_the_list_shows_when_and_from_where_a_token_was_last_used(live_server: LiveServer) -> None:
    login = live_server.admin_login()
    created = create_token(live_server, login, "watcher", "read")
    with live_server.client(login) as client:
        assert client.get("/api/tokens").json()[0]["last_used_at"] is None
    assert me(live_server, created["token"]).status_code == 200
    with live_server.client(login) as client:
        row = client.get("/api/tokens").json()[0]
    assert row["last_used_at"] is not None and row["last_used_address"] == "127.0.0.1"


def test_a_scope_allows_what_it_names_and_nothing_more(live_server: LiveServer) -> None:
    login = live_server.admin_login()
    tokens = {
        scope: create_token(live_server, login, scope, scope)["token"] for scope in ("read", "setup", "admin")
    }
    with live_server.client() as client:
        for scope, token in tokens.items():
            assert client.get("/api/setup/sessions", headers=bearer(token)).status_code == 200, scope
            assert client.get("/api/audit", headers=bearer(token)).status_code == 200, scope
        refused = client.post("/api/setup/plan", json={}, headers=bearer(tokens["read"]))
        assert refused.status_code == 403 and refused.json()["code"] == "token_scope"
        assert "setup" in refused.json()["detail"]
        for scope in ("setup", "admin"):
            assert client.post("/api/setup/plan", json={}, headers=bearer(tokens[scope])).status_code == 200
        # Only an admin-scope token changes what is not a setup: users, tokens, saved servers.
        for scope in ("read", "setup"):
            new_token = client.post("/api/tokens", json={"name": "x"}, headers=bearer(tokens[scope]))
            assert new_token.status_code == 403, scope
            new_user = client.post(
                "/api/users",
                json={"username": "eve", "password": "password-123"},
                headers=bearer(tokens[scope]),
            )
            assert new_user.status_code == 403, scope
        made = client.post("/api/tokens", json={"name": "by token"}, headers=bearer(tokens["admin"]))
        assert made.status_code == 201


def test_an_admin_scope_never_adds_rights_the_user_lacks(live_server: LiveServer) -> None:
    login = live_server.create_user("plain", "plain-password-1")
    token = create_token(live_server, login, "all I can", "admin")["token"]
    with live_server.client() as client:
        assert client.get("/api/audit", headers=bearer(token)).status_code == 403
        assert client.get("/api/users", headers=bearer(token)).status_code == 403


def test_a_revoked_token_is_refused_at_once(live_server: LiveServer) -> None:
    login = live_server.admin_login()
    created = create_token(live_server, login, "short-lived", "read")
    assert me(live_server, created["token"]).status_code == 200
    with live_server.client(login) as client:
        assert client.delete(f"/api/tokens/{created['id']}").status_code == 204
        assert client.get("/api/tokens").json() == []
        assert client.delete(f"/api/tokens/{created['id']}").status_code == 404
    assert me(live_server, created["token"]).status_code == 401


def test_an_expired_token_is_refused(live_server: LiveServer, db_url: str) -> None:
    login = live_server.admin_login()
    created = create_token(live_server, login, "soon", "read", expires_in_days=1)
    assert _days(created["created_at"], created["expires_at"]) == 1
    assert me(live_server, created["token"]).status_code == 200
    expire_token(db_url, created["id"])
    assert me(live_server, created["token"]).status_code == 401


def test_one_user_cannot_see_or_revoke_another_users_token(live_server: LiveServer) -> None:
    alice = live_server.create_user("alice", "alice-password")
    bob = live_server.create_user("bob", "bob-password-1")
    created = create_token(live_server, alice, "alice's", "read")
    with live_server.client(bob) as client:
        assert client.get("/api/tokens").json() == []
        assert client.delete(f"/api/tokens/{created['id']}").status_code == 404
    assert me(live_server, created["token"]).status_code == 200


def test_creation_use_from_a_new_address_and_revocation_are_audited(live_server: LiveServer) -> None:
    login = live_server.admin_login()
    created = create_token(live_server, login, "audited", "read")
    for address in ("127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.1"):
        assert me(live_server, created["token"], local_address=address).status_code == 200
    with live_server.client(login) as client:
        assert client.delete(f"/api/tokens/{created['id']}").status_code == 204

    made = audit_rows(live_server, "token.create")
    assert [(r["target"], r["detail"]["scope"], r["actor"]) for r in made] == [("audited", "read", "admin")]
    used = audit_rows(live_server, "token.use")
    assert sorted(r["address"] for r in used) == ["127.0.0.1", "127.0.0.2"]  # once per new address
    assert {r["target"] for r in used} == {"audited"}
    revoked = audit_rows(live_server, "token.revoke")
    assert [r["target"] for r in revoked] == ["audited"]
    for rows in (made, used, revoked):
        assert created["token"] not in str(rows)


def test_a_token_is_never_read_from_a_url(live_server: LiveServer) -> None:
    created = create_token(live_server, live_server.admin_login(), "in url", "read")
    with live_server.client() as client:
        for name in ("token", "access_token", "authorization"):
            assert client.get("/api/auth/me", params={name: created["token"]}).status_code == 401


def _days(start: str, end: str) -> int:
    from datetime import datetime

    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return round(delta.total_seconds() / 86400)

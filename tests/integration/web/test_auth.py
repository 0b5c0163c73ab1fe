"""Login over a real uvicorn: bearer token and HttpOnly SameSite=Strict cookie, logout, expiry, Origin."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from setupwizard.auth.credentials import token_digest
from setupwizard.auth.deps import COOKIE_NAME
from setupwizard.auth.throttle import MAX_FAILURES_PER_USER
from setupwizard.db.database import Database
from setupwizard.db.models import AuthToken
from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory, run_sync
from tests.integration.web.live import ADMIN_PASSWORD, LiveServer


def cookie_attributes(set_cookie: str) -> tuple[str, dict[str, str]]:
    name_value, *attributes = [part.strip() for part in set_cookie.split(";")]
    parsed: dict[str, str] = {}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        parsed[key.lower()] = value
    return name_value, parsed


def test_login_returns_a_bearer_token_and_sets_an_httponly_strict_cookie(live_server: LiveServer) -> None:
    with live_server.client() as client:
        response = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    token = body["access_token"]
    [set_cookie] = response.headers.get_list("set-cookie")
    name_value, attributes = cookie_attributes(set_cookie)
    assert name_value == f"{COOKIE_NAME}={token}"
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "strict"
    assert attributes["path"] == "/"
    assert "secure" not in attributes  # plain-HTTP default; see the cookie_secure test
    assert int(attributes["max-age"]) == live_server.settings.token_ttl_seconds
    assert response.headers["cache-control"] == "no-store"


def test_bearer_header_alone_authenticates(live_server: LiveServer) -> None:
    token = live_server.admin_login().token
    with live_server.client() as client:
        me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["username"] == "admin"
    assert me.json()["is_admin"] is True
    assert me.headers["cache-control"] == "no-store"  # API answers are never cached
    assert me.headers["x-content-type-options"] == "nosniff"


def test_cookie_alone_authenticates(live_server: LiveServer) -> None:
    login = live_server.admin_login()
    with live_server.client(cookies=login.cookies) as client:
        assert client.get("/api/auth/me").json()["username"] == "admin"


def test_token_in_the_url_is_never_accepted(live_server: LiveServer) -> None:
    token = live_server.admin_login().token
    with live_server.client() as client:
        for query in ("token", "access_token", COOKIE_NAME):
            assert client.get("/api/auth/me", params={query: token}).status_code == 401


def test_unknown_user_and_wrong_password_get_the_same_answer(live_server: LiveServer) -> None:
    with live_server.client() as client:
        wrong = client.post("/api/auth/login", json={"username": "admin", "password": "wrong-password"})
        unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers


def test_logout_ends_the_token_and_clears_the_cookie(live_server: LiveServer) -> None:
    first, second = live_server.admin_login(), live_server.admin_login()
    with live_server.client(first) as client:
        response = client.post("/api/auth/logout")
        assert response.status_code == 204
        name_value, attributes = cookie_attributes(response.headers["set-cookie"])
        assert name_value in (f"{COOKIE_NAME}=", f'{COOKIE_NAME}=""')
        assert attributes["max-age"] == "0"
        assert client.get("/api/auth/me").status_code == 401
    with live_server.client(second) as client:  # other logins of the same user stay
        assert client.get("/api/auth/me").status_code == 200


def test_expired_token_is_refused(live_server: LiveServer) -> None:
    login = live_server.admin_login()

    async def expire() -> None:
        db = Database(live_server.settings)
        try:
            async with db.session() as session:
                past = datetime.now(UTC) - timedelta(seconds=1)
                await session.execute(
                    update(AuthToken)
                    .where(AuthToken.token_hash == token_digest(login.token))
                    .values(expires_at=past)
                )
        finally:
            await db.dispose()

    run_sync(expire)
    with live_server.client(login) as client:
        response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_token_is_stored_only_as_its_digest(live_server: LiveServer) -> None:
    login = live_server.admin_login()

    async def stored() -> list[str]:
        db = Database(live_server.settings)
        try:
            async with db.session() as session:
                from sqlalchemy import select

                return list((await session.execute(select(AuthToken.token_hash))).scalars())
        finally:
            await db.dispose()

    hashes = run_sync(stored)
    assert token_digest(login.token) in hashes
    assert login.token not in hashes


def test_cookie_post_from_a_foreign_origin_is_refused(live_server: LiveServer) -> None:
    login = live_server.admin_login()
    with live_server.client(cookies=login.cookies) as client:
        foreign = client.post("/api/auth/logout", headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403
        assert foreign.json()["code"] == "origin_refused"
        assert client.get("/api/auth/me").status_code == 200  # the refused logout did nothing
        same = client.post("/api/auth/logout", headers={"Origin": live_server.origin})
        assert same.status_code == 204


def test_login_from_a_foreign_origin_is_refused(live_server: LiveServer) -> None:
    with live_server.client() as client:
        response = client.post(
            "/api/auth/login",
            json={"username": "admin", "password": ADMIN_PASSWORD},
            headers={"Origin": "http://evil.example"},
        )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_cookie_is_secure_when_configured(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory
) -> None:
    server = live_server_factory(make_settings(cookie_secure=True))
    with server.client() as client:
        response = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    _, attributes = cookie_attributes(response.headers["set-cookie"])
    assert "secure" in attributes


def test_admin_creates_users_and_others_cannot(live_server: LiveServer) -> None:
    alice = live_server.create_user("alice", "alice-password-1")
    with live_server.client(alice) as client:
        assert client.get("/api/auth/me").json() == {"id": 2, "username": "alice", "is_admin": False}
        refused = client.post("/api/users", json={"username": "mallory", "password": "mallory-pw-1"})
        assert refused.status_code == 403
        assert client.get("/api/users").status_code == 403
    with live_server.client(live_server.admin_login()) as client:
        again = client.post("/api/users", json={"username": "alice", "password": "another-pw-1"})
        assert again.status_code == 409
        short = client.post("/api/users", json={"username": "bob", "password": "short"})
        assert short.status_code == 422
        assert short.json()["field"] == "password"
        names = [u["username"] for u in client.get("/api/users").json()]
    assert names == ["admin", "alice"]


async def test_one_name_asked_for_at_once_makes_one_user_and_409s(live_server: LiveServer) -> None:
    """Requests racing for one name: the name is checked, then the password hashed (slow), then the row
    added. Each race the check passed ends in the unique index, which must answer 409, not 500."""
    async with live_server.async_client(live_server.admin_login()) as client:
        answers = await asyncio.gather(
            *(
                client.post("/api/users", json={"username": "carol", "password": f"carol-pw-{n}-long"})
                for n in range(8)
            )
        )
        names = [u["username"] for u in (await client.get("/api/users")).json()]
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201] + [409] * 7, [answer.text for answer in answers]
    assert {answer.json()["code"] for answer in answers if answer.status_code == 409} == {"user_exists"}
    assert names.count("carol") == 1


def test_password_change_ends_every_login(live_server: LiveServer) -> None:
    bob = live_server.create_user("bob", "bob-password-1")
    other = live_server.login("bob", "bob-password-1")
    with live_server.client(bob) as client:
        wrong = client.post(
            "/api/auth/password", json={"current_password": "nope-nope", "new_password": "bob-password-2"}
        )
        assert wrong.status_code == 422
        assert wrong.json()["field"] == "current_password"
        ok = client.post(
            "/api/auth/password",
            json={"current_password": "bob-password-1", "new_password": "bob-password-2"},
        )
        assert ok.status_code == 204
        assert client.get("/api/auth/me").status_code == 401
    with live_server.client(other) as client:
        assert client.get("/api/auth/me").status_code == 401
    assert live_server.login("bob", "bob-password-2").token


def test_repeated_wrong_passwords_are_throttled(live_server: LiveServer) -> None:
    live_server.create_user("frank", "frank-password-1")
    with live_server.client() as client:
        for _ in range(MAX_FAILURES_PER_USER):
            wrong = client.post("/api/auth/login", json={"username": "admin", "password": "guess-guess"})
            assert wrong.status_code == 401
        blocked = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert blocked.status_code == 429  # even the right password waits: guessing must not go on
        assert blocked.json()["code"] == "too_many_attempts"
        assert 1 <= int(blocked.headers["retry-after"]) <= 300
        other = client.post("/api/auth/login", json={"username": "frank", "password": "frank-password-1"})
        assert other.status_code == 200

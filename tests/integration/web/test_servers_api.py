"""``/api/servers`` (the caller's servers, forget) and ``/api/setup/plan`` (the chosen steps' commands),
on a live server with a real database: owner scoping, no secrets, 422s naming the field."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from setupwizard.core.secretbox import secretbox_from_settings
from setupwizard.db.database import Database
from setupwizard.db.models import utc_now
from setupwizard.servers.known_hosts import DatabaseKnownHosts
from setupwizard.servers.repository import KnownHostRepository, SudoRepository
from setupwizard.setup import repository
from tests.integration.web.fixtures import run_sync
from tests.integration.web.live import LiveServer, Login

CANARY = "canary-sudo-password-7c2e90aa"
FINGERPRINT = "SHA256:n3xTn6a9JYb0QnqOi4J5FMmkxAzHrIbrGhvZgRsLwOk"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deploy@laptop"


def _user_id(server: LiveServer, login: Login) -> int:
    with server.client(login) as client:
        return int(client.get("/api/auth/me").json()["id"])


async def _seed(
    server: LiveServer,
    user_id: int,
    host: str,
    port: int,
    *,
    status: str,
    password: str,
    result: dict[str, object] | None = None,
) -> None:
    """A sudo row, a trusted key and two finished sessions (the newer one ``status``, with ``result``)."""
    db = Database(server.settings)
    try:
        async with db.session() as session:
            await SudoRepository(session, secretbox_from_settings(server.settings)).upsert_sudo(
                user_id, host, port, "deploy", password
            )
            await KnownHostRepository(session).put(user_id, host, port, FINGERPRINT)
            for age, outcome in ((timedelta(hours=2), "failed"), (timedelta(0), status)):
                row = await repository.insert_session(
                    session,
                    session_id=f"{user_id:08d}-0000-4000-8000-{port:04d}{int(age.total_seconds()):08d}",
                    owner_id=user_id,
                    host=host.upper(),
                    port=port,
                    username="root",
                )
                row.created_at = utc_now() - age
                await repository.finish_session(
                    session, row.id, status=outcome, message="", result=dict(result or {})
                )
    finally:
        await db.dispose()


def test_a_host_key_recorded_by_eight_logins_at_once_is_one_row(live_server: LiveServer) -> None:
    """Eight first logins to one new server at once (as the injection sweep's test-connections do) each
    record its key: one row, none of them failing; then a changed key, recorded eight times at once,
    replaces it and starts its first_seen anew, and the same key again keeps first_seen."""
    alice_id = _user_id(live_server, live_server.create_user("alice", "alice-password-1"))
    changed = "SHA256:" + "B" * 43
    host = "Web-9.Example.org"  # one row for every spelling of the name

    async def at_once(store: DatabaseKnownHosts, fingerprint: str, where: str = host) -> None:
        await asyncio.gather(*(store.put(where, 22, fingerprint) for _ in range(8)))

    async def rows(db: Database) -> list[tuple[str, object, object]]:
        async with db.session() as session:
            found = await KnownHostRepository(session).list(alice_id)
        return [(row.fingerprint, row.first_seen, row.last_seen) for row, _ in found]

    async def scenario() -> list[list[tuple[str, object, object]]]:
        db = Database(live_server.settings)
        try:
            store = DatabaseKnownHosts(db, alice_id)
            # Eight pooled connections first: with a cold pool, SQLite's first connects spread the writers.
            await asyncio.gather(*(DatabaseKnownHosts(db, alice_id).get(host, 22) for _ in range(8)))
            await at_once(store, FINGERPRINT)
            first = await rows(db)
            await at_once(store, FINGERPRINT)
            again = await rows(db)
            await at_once(store, changed)
            return [first, again, await rows(db)]
        finally:
            await db.dispose()

    first, again, replaced = run_sync(scenario)
    assert [fingerprint for fingerprint, *_ in first] == [FINGERPRINT]
    assert again[0][0] == FINGERPRINT and again[0][1] == first[0][1]  # same key: first_seen kept
    assert again[0][2] >= first[0][2]  # type: ignore[operator]
    assert [fingerprint for fingerprint, *_ in replaced] == [changed]
    assert replaced[0][1] > first[0][1]  # type: ignore[operator]  # a new key is seen for the first time


def test_each_user_sees_and_forgets_only_their_own_servers(live_server: LiveServer) -> None:
    alice = live_server.create_user("alice", "alice-password-1")
    bob = live_server.create_user("bob", "bob-password-12")
    alice_id, bob_id = _user_id(live_server, alice), _user_id(live_server, bob)
    run_sync(
        lambda: _seed(live_server, alice_id, "web-1.example.org", 22, status="succeeded", password=CANARY)
    )
    run_sync(lambda: _seed(live_server, bob_id, "db-1.example.org", 2222, status="failed", password=""))

    with live_server.client(alice) as client:
        listed = client.get("/api/servers")
        assert listed.status_code == 200
        assert CANARY not in listed.text
        [server] = listed.json()
        assert server["host"] == "web-1.example.org"
        assert server["port"] == 22
        assert server["login"] == "root"
        assert server["sudo_user"] == "deploy"
        assert server["sudo_mode"] == "password"
        assert server["host_key_fingerprint"] == FINGERPRINT
        assert server["last_status"] == "succeeded"  # the newest of its two sessions
        assert server["last_setup_at"] is not None

        someone_elses = client.delete("/api/servers", params={"host": "db-1.example.org", "port": 2222})
        assert someone_elses.status_code == 404

        forgot = client.delete("/api/servers", params={"host": "WEB-1.example.org", "port": 22})
        assert forgot.status_code == 200
        assert forgot.json() == {
            "host": "web-1.example.org",
            "port": 22,
            "sudo_rows": 1,
            "known_hosts": 1,
            "admin_keys": 0,
        }
        assert client.get("/api/servers").json() == []
        assert client.get("/api/servers/sudo").json() == []
        assert client.get("/api/servers/known-hosts").json() == []
        assert len(client.get("/api/setup/sessions").json()) == 2  # the history stays
        assert client.delete("/api/servers", params={"host": "web-1.example.org"}).status_code == 404

    with live_server.client(bob) as client:
        [server] = client.get("/api/servers").json()
    assert (server["host"], server["port"], server["sudo_mode"]) == ("db-1.example.org", 2222, "passwordless")
    assert server["last_status"] == "failed"


def _plan(client: httpx.Client, **choice: object) -> httpx.Response:
    return client.post("/api/setup/plan", json=choice)


def test_the_plan_preview_lists_exactly_the_chosen_steps_and_their_commands(live_server: LiveServer) -> None:
    with live_server.client(live_server.admin_login()) as client:
        default = _plan(client).json()
        web = _plan(
            client,
            packages=[],
            firewall_ports=["80/tcp", "443/tcp"],
            fail2ban=True,
            auto_updates=True,
            hostname="web-1",
            admin={"username": "deploy", "public_key": PUBLIC_KEY, "sudo_password": CANARY},
            ssh_hardening={"permit_root_login": "no", "port": 2222},
        )
        bare = _plan(client, apt_update=False, packages=[], firewall=False)
    assert [s["id"] for s in default["steps"]] == [
        "connect", "sudo", "apt_wait", "apt_update", "packages", "firewall"
    ]  # fmt: skip
    assert web.status_code == 200, web.text
    ids = [s["id"] for s in web.json()["steps"]]
    for wanted in ("fail2ban", "auto_updates", "hostname", "admin_user", "firewall", "ssh_hardening"):
        assert wanted in ids
    assert "packages" not in ids
    assert CANARY not in web.text
    assert any("ufw" in c["run"] for s in web.json()["steps"] if s["id"] == "firewall" for c in s["commands"])
    assert any("$ " in line for line in web.json()["lines"])
    assert [s["id"] for s in bare.json()["steps"]] == ["connect", "sudo"]


@pytest.mark.parametrize(
    ("choice", "field"),
    [
        ({"firewall": "yes"}, "firewall"),
        ({"hostname": "-bad-"}, "hostname"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"firewall_ports": ["80; rm -rf /"]}, "firewall_ports"),
        ({"ssh_hardening": {"permit_root_login": "yes"}}, "ssh_hardening.permit_root_login"),
        ({"ssh_hardening": {"port": "2222"}}, "ssh_hardening.port"),
        ({"admin": {"username": "root", "public_key": PUBLIC_KEY}}, "admin.username"),
        ({"admin": {"username": "deploy", "public_key": "not a key"}}, "admin.public_key"),
        ({"admin": {"username": "deploy", "shell": "/bin/sh"}}, "admin.shell"),
    ],
)
def test_a_bad_step_choice_is_a_422_naming_the_field(
    live_server: LiveServer, choice: dict[str, object], field: str
) -> None:
    with live_server.client(live_server.admin_login()) as client:
        response = _plan(client, **choice)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_one_preset_name_saved_eight_times_at_once_is_one_preset_and_no_500(
    live_server: LiveServer,
) -> None:
    """Saves of one new name at once each find no preset and insert one: the unique index refuses all but
    the first. The others answer 409 ``conflict`` (try again), never 500, and one preset is kept."""
    alice = live_server.create_user("alice", "alice-password-1")
    async with live_server.async_client(alice) as client:
        await asyncio.gather(*(client.get("/api/servers/presets") for _ in range(8)))  # warm connections
        answers = await asyncio.gather(
            *(
                client.post("/api/servers/presets", json={"name": "web", "steps": {"firewall_ports": [port]}})
                for port in ("80", "81", "82", "83", "84", "85", "86", "87")
            )
        )
        presets = (await client.get("/api/servers/presets")).json()
    codes = [answer.status_code for answer in answers]
    assert 500 not in codes, [answer.text for answer in answers]
    assert set(codes) <= {200, 409} and 200 in codes, codes
    assert {answer.json()["code"] for answer in answers if answer.status_code == 409} <= {"conflict"}
    assert [preset["name"] for preset in presets] == ["web"]


def test_presets_are_saved_per_user_without_the_admin_password(live_server: LiveServer) -> None:
    alice = live_server.create_user("alice", "alice-password-1")
    bob = live_server.create_user("bob", "bob-password-12")
    steps = {
        "packages": [],
        "firewall_ports": ["8080/tcp"],
        "fail2ban": True,
        "admin": {"username": "deploy", "public_key": PUBLIC_KEY, "sudo_password": CANARY},
    }
    with live_server.client(alice) as client:
        saved = client.post("/api/servers/presets", json={"name": "我的 Web", "steps": steps})
        assert saved.status_code == 200, saved.text
        assert CANARY not in saved.text
        again = client.post(
            "/api/servers/presets", json={"name": "我的 Web", "steps": {**steps, "fail2ban": False}}
        )
        assert again.json()["id"] == saved.json()["id"]  # the same name replaces it
        [preset] = client.get("/api/servers/presets").json()
        assert preset["name"] == "我的 Web"
        assert preset["steps"]["fail2ban"] is False
        assert preset["steps"]["admin"] == {
            "username": "deploy", "public_key": PUBLIC_KEY, "generate_key": False, "nopasswd": False,
            "keep_in_vault": False,
        }  # fmt: skip
        bad = client.post("/api/servers/presets", json={"name": "x", "steps": {"hostname": "-bad-"}})
        assert (bad.status_code, bad.json()["field"]) == (422, "hostname")
    with live_server.client(bob) as client:
        assert client.get("/api/servers/presets").json() == []
        assert client.delete(f"/api/servers/presets/{preset['id']}").status_code == 404
    with live_server.client(alice) as client:
        assert client.delete(f"/api/servers/presets/{preset['id']}").status_code == 204
        assert client.get("/api/servers/presets").json() == []


def test_after_a_hardening_run_the_server_lists_its_new_login(live_server: LiveServer) -> None:
    admin = live_server.admin_login()
    login_after = {"username": "deploy", "port": 2222, "auth": "key", "generated_key": False}
    user_id = _user_id(live_server, admin)
    run_sync(
        lambda: _seed(
            live_server,
            user_id,
            "web-2.example.org",
            22,
            status="succeeded",
            password="",
            result={"login_after": login_after},
        )
    )
    with live_server.client(admin) as client:
        [server] = client.get("/api/servers").json()
    assert server["login"] == "deploy"
    assert server["login_after"] == login_after

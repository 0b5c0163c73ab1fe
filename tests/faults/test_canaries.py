"""Canary secrets: full setups whose login password, sudo password, key passphrase and private key are
unique canaries, the server printing each of them (whole, nested in one another, and straddling the
4,000-character line cut); then every event, HTTP answer, the service's log and the raw database files are
searched for them. Zero hits."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import asyncssh
import httpx

from setupwizard.testbed.host import TestHost
from tests.integration.web.live import Login, ProcessServer

from .canaries import count_hits, data_files
from .outcome import Outcome
from .watch import describe, lines_lost, stored_session, watch_setup

LINE_CUT = 4000  # the engine's longest kept output line


def canary(kind: str) -> str:
    return f"Canary{kind}-{secrets.token_hex(6)}"


def reveal_script() -> str:
    """A script that prints every canary from a file on the server (the script text holds none): whole,
    with a longer canary containing a shorter one, and with each straddling the line cut."""
    return (
        "f=/root/canaries.txt\n"
        "cat $f\n"
        "while IFS= read -r s; do\n"
        f"  printf '%*s%s-tail\\n' {LINE_CUT - 5} '' \"$s\"\n"
        '  echo "nested:${s}-Extra99 and ${s}${s}"\n'
        "done < $f\n"
    )


def install_key(host: TestHost, user: str, passphrase: str | None) -> str:
    key = asyncssh.generate_private_key("ssh-ed25519")
    public = key.export_public_key("openssh").decode()
    home = "/root" if user == "root" else f"/home/{user}"
    result = host.run_root(
        f"mkdir -p {home}/.ssh && cat >> {home}/.ssh/authorized_keys && chown -R {user} {home}/.ssh "
        f"&& chmod 700 {home}/.ssh && chmod 600 {home}/.ssh/authorized_keys",
        input=public,
    )
    assert result.returncode == 0, result.stderr
    return key.export_private_key("openssh", passphrase=passphrase).decode()


async def test_no_canary_secret_anywhere_after_full_runs(
    service: ProcessServer, owner: Login, fresh_host: Callable[[], TestHost]
) -> None:
    host = fresh_host()
    root_pw, alice_pw, bob_pw = canary("Root"), canary("Alice"), canary("Bob")
    passphrase = canary("Pass")
    nested_sudo = f"{bob_pw}-Sudo99"  # contains bob's login password
    for user, password in (("root", root_pw), ("alice", alice_pw), ("bob", bob_pw)):
        host.set_password(user, password)
    key = install_key(host, "bob", passphrase)
    every = [root_pw, alice_pw, bob_pw, passphrase, nested_sudo, key]
    base = {"host": host.address, "script": reveal_script()}
    runs: list[tuple[str, list[str], dict[str, Any]]] = [
        ("root login", [root_pw], base | {"username": "root", "password": root_pw}),
        ("password sudo", [alice_pw], base | {"username": "alice", "password": alice_pw}),
        (
            "passwordless sudo, key with passphrase",
            [bob_pw, passphrase, nested_sudo, key],
            base
            | {
                "username": "bob",
                "password": bob_pw,
                "private_key": key,
                "passphrase": passphrase,
                "sudo_password": nested_sudo,
            },
        ),
    ]
    blobs: list[str | bytes] = []
    observed: list[str] = []
    lost = 0
    statuses: list[str] = []
    for label, shown, request in runs:
        # the server prints only this run's own secrets: the others are not this run's to hide
        written = host.run_root("cat > /root/canaries.txt", input="\n".join(shown) + "\n")
        assert written.returncode == 0
        watched = await watch_setup(service, owner, request)
        blobs.append(watched.started.text)
        blobs.extend(str(frame) for frame in watched.frames)
        blobs.extend(httpx.Response(200, json=frame).text for frame in watched.frames)
        stored = await stored_session(service, owner, watched.session_id)
        blobs.extend([str(stored.detail), httpx.Response(200, json=stored.detail).text, stored.log_text])
        lost += lines_lost(watched, stored)
        statuses.append(stored.status)
        observed.append(f"{label}: {describe(stored)}")
    async with service.async_client(owner) as client:
        for path in ("/api/setup/sessions", "/api/servers/sudo", "/api/servers/known-hosts", "/api/auth/me"):
            blobs.append((await client.get(path)).text)
    blobs.append(service.log_tail() + service.log_path.read_text(errors="replace"))
    blobs.extend(data_files(service.settings.data_dir))
    found = count_hits(every, blobs)
    if found:  # say where, for the report
        where = [f"blob {n}: {count_hits(every, [b])}" for n, b in enumerate(blobs) if count_hits(every, [b])]
        observed.append("hits in " + ", ".join(where[:10]))
    ok = found == 0 and lost == 0 and statuses == ["succeeded"] * 3
    Outcome(
        "secrets.01-canaries",
        "canary secrets (3 login passwords, nested sudo password, key passphrase, private key) printed by "
        "the server whole, nested and straddling the 4,000-character cut; full default-plan runs as root, "
        "with password sudo, with passwordless sudo and a key",
        "every run succeeds; 0 hits in events, answers, the service log and the raw database files",
        "; ".join(observed),
        lost,
        found,
        ok,
    ).write()
    assert statuses == ["succeeded"] * 3, observed
    assert found == 0
    assert lost == 0


async def test_no_vault_key_line_anywhere_after_saving_using_keeping_and_deleting_keys(
    service: ProcessServer, owner: Login, fresh_host: Callable[[], TestHost]
) -> None:
    """The key vault: a saved key logs a real setup in by ``key_id`` while the server prints
    its lines; a second key is saved with a canary passphrase; the run's generated admin key is kept in the
    vault and logs in again by ``key_id``; all are deleted. Every line of the three private keys and the
    passphrase: zero hits in the list and save answers, the runs' events and answers, the audit trail, the
    service's log and the raw database files. (The server prints only the key the run holds: a run by
    ``key_id`` never knows the passphrase, which only opened the second key when it was saved.)"""
    host = fresh_host()
    passphrase = canary("VaultPass")
    key = install_key(host, "root", None)
    locked = install_key(host, "root", passphrase)
    admin_name = "vaultadmin"
    blobs: list[str | bytes] = []
    async with service.async_client(owner) as client:
        saved = await client.post("/api/keys", json={"name": "root key", "private_key": key})
        assert saved.status_code == 201, saved.text
        blobs.append(saved.text)
        saved_locked = await client.post(
            "/api/keys", json={"name": "locked key", "private_key": locked, "passphrase": passphrase}
        )
        assert saved_locked.status_code == 201, saved_locked.text
        blobs.append(saved_locked.text)
        written = host.run_root("cat > /root/canaries.txt", input=key)
        assert written.returncode == 0
        request = {
            "host": host.address,
            "username": "root",
            "key_id": saved.json()["id"],
            "packages": [],
            "script": reveal_script(),
            "admin": {"username": admin_name, "generate_key": True, "nopasswd": True, "keep_in_vault": True},
        }
    watched = await watch_setup(service, owner, request)
    blobs.append(watched.started.text)
    blobs.extend(httpx.Response(200, json=frame).text for frame in watched.frames)
    stored = await stored_session(service, owner, watched.session_id)
    blobs.extend([httpx.Response(200, json=stored.detail).text, stored.log_text])
    assert stored.status == "succeeded", describe(stored)
    offered = stored.detail["result"]["admin_key"]
    kept = offered["vault_key"]
    assert kept["name"].startswith(f"admin key for {admin_name}@{host.address} (")
    async with service.async_client(owner) as client:
        generated = (await client.get(offered["url"])).text  # its one download: the key itself, not a blob
        listed = await client.get("/api/keys")
        blobs.append(listed.text)
        by_id = {row["id"]: row for row in listed.json()}
        assert by_id[kept["id"]]["fingerprint"] == asyncssh.import_private_key(generated).get_fingerprint()
        again = await client.post(
            "/api/setup/test-connection",
            json={"host": host.address, "username": admin_name, "key_id": kept["id"]},
        )
        assert again.status_code == 200, again.text
        blobs.append(again.text)
        for key_id in by_id:
            assert (await client.delete(f"/api/keys/{key_id}")).status_code == 204
        blobs.append((await client.get("/api/keys")).text)
    async with service.async_client(service.admin_login()) as client:
        for action in ("key.save", "key.delete", "setup.start", "setup.test_connection"):
            blobs.append((await client.get("/api/audit", params={"action": action})).text)
    blobs.append(service.log_tail() + service.log_path.read_text(errors="replace"))
    blobs.extend(data_files(service.settings.data_dir))
    every = [key, locked, passphrase, generated]
    found = count_hits(every, blobs)
    where = [f"blob {n}" for n, blob in enumerate(blobs) if count_hits(every, [blob])]
    Outcome(
        "secrets.02-vault-canaries",
        "a private key saved in the vault with a canary passphrase logs a real setup in by key_id while the "
        "server prints every line of it; the generated admin key is kept in the vault and logs in by key_id; "
        "both deleted",
        "the run succeeds; 0 hits in answers, events, audit trail, service log and raw database files",
        f"{stored.status}; hits in {', '.join(where[:10]) or 'nothing'}",
        0,
        found,
        found == 0 and stored.status == "succeeded",
    ).write()
    assert found == 0, where

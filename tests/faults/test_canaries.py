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


def install_key(host: TestHost, user: str, passphrase: str) -> str:
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

"""Lock-out faults on a systemd test server: a new SSH port another service already holds, a
rollback after sshd died, a lost admin key replaced, and a confirm-or-revert that times out (or whose
connection dies while it waits). Each proves from outside, with brand-new
logins, which way in is left; none may leave the server without SSH."""

from __future__ import annotations

from collections.abc import Callable

import asyncssh

from setupwizard.provisioning import EventType, MemoryKnownHosts, SessionEvent, SetupOptions, Target
from setupwizard.provisioning.runner import run_setup
from setupwizard.provisioning.settings import PlanSettings
from setupwizard.provisioning.target import AdminUser, SshHardening
from setupwizard.testbed.host import TestHost
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.lockout import DROP_IN, becomes_root_with_sudo, listen_on, login_runs
from tests.integration.systemd.test_lockout_matrix import KILL_SESSIONS

from .outcome import Outcome

PORT = 8080


def move_sshd(port: int, *, firewall_ports: list[str] | None = None) -> SetupOptions:
    return SetupOptions(
        packages=["ufw"],
        firewall_ports=firewall_ports or [],
        admin=AdminUser("deploy", generate_key=True, nopasswd=True),
        ssh_hardening=SshHardening("no", password_authentication=False, port=port),
    )


async def run(target: Target, options: SetupOptions, rec: Recorder) -> tuple[str, str, str]:
    result = await run_setup(target, options, rec.emitter, MemoryKnownHosts(), settings=PlanSettings())
    return result.status, result.error_code or "", result.message


async def test_a_new_ssh_port_already_in_use(make_systemd_host: Callable[[str], TestHost]) -> None:
    host = make_systemd_host("bookworm")
    listen_on(host, PORT)
    status, code, message = await run(login(host, "root"), move_sshd(PORT), Recorder())
    port_22 = await login_runs(host, "root", password=host.root.password) == "0"
    changed = host.run_root("id deploy").returncode == 0
    ok = status == "failed" and code == "plan_refused" and port_22 and not changed
    Outcome(
        "lockout.01-port-in-use",
        f"SSH hardening to port {PORT}, which another service on the server already listens on",
        "refused before any change, naming ssh_hardening.port; a brand-new root login on 22 works",
        f"{status} [{code}]: {message}; new login on 22: {port_22}; anything changed: {changed}",
        passed=ok,
    ).write()
    assert ok, message


async def test_a_rollback_after_sshd_died(make_systemd_host: Callable[[str], TestHost]) -> None:
    host = make_systemd_host("bookworm")

    async def take_the_port(event: SessionEvent) -> None:
        if event.type is EventType.STEP and event.step_id == "ssh_hardening":
            if event.data.get("status") == "running":
                listen_on(host, PORT)  # after the connect step's check: sshd dies on the reload

    rec = Recorder(take_the_port)
    options = move_sshd(PORT, firewall_ports=[f"{PORT}/tcp"])
    status, code, message = await run(login(host, "root"), options, rec)
    restarted = any(e.code == "hardening.sshd_restarted" for e in rec.events)
    port_22 = await login_runs(host, "root", password=host.root.password) == "0"
    rules = host.run_root("ufw show added").stdout
    kept = f"ufw allow {PORT}/tcp" in rules
    ok = status == "failed" and code == "lockout_prevented" and restarted and port_22 and kept
    Outcome(
        "lockout.02-rollback-after-sshd-died",
        f"port {PORT} taken after the pre-flight check, so sshd dies on the hardening's reload "
        "(fatal: Cannot bind any address)",
        "rolled back: /run/sshd recreated, sshd restarted, the person's ufw rule kept; "
        "a brand-new root login on 22 works",
        f"{status} [{code}]: {message}; sshd restarted: {restarted}; new login on 22: {port_22}; "
        f"allow {PORT}/tcp kept: {kept}",
        passed=ok,
    ).write()
    assert ok, rec.dump()


async def test_a_lost_admin_key_is_replaced(make_systemd_host: Callable[[str], TestHost]) -> None:
    host = make_systemd_host("bookworm")
    options = move_sshd(2222)
    first = await run_setup(
        login(host, "root"), options, Recorder().emitter, MemoryKnownHosts(), settings=PlanSettings()
    )
    assert first.success and first.generated_private_key, first.message
    # the person lost the downloaded key; the service's saved login (the key it switched to) runs again
    saved = Target(host.address, "deploy", port=2222, private_key=first.generated_private_key)
    rec = Recorder()
    again = await run_setup(saved, options, rec.emitter, MemoryKnownHosts(), settings=PlanSettings())
    new_key = again.generated_private_key
    offered = bool(new_key) and new_key != first.generated_private_key
    to_root = bool(new_key) and await becomes_root_with_sudo(host, "deploy", new_key or "", port=2222)
    root_out = await login_runs(host, "root", port=2222, password=host.root.password) is None
    admin = next((s for s in again.steps if s.id == "admin_user"), None)
    said = admin.message if admin else ""
    ok = again.success and offered and to_root and root_out and "之前生成的密钥仍然有效" in said
    Outcome(
        "lockout.03-lost-key-replaced",
        "root and password logins off, the admin's generated key lost; the setup runs again "
        "with generate_key",
        "a new key, proven by a brand-new login (and sudo to root), offered once; the answer says the old "
        "key stays",
        f"{again.status}: {said}; new key offered: {offered}; new login becomes root: {to_root}; "
        f"root refused: {root_out}",
        passed=ok,
    ).write()
    assert ok, rec.dump()


def confirm_plan(timeout: float) -> tuple[SetupOptions, str]:
    """deploy with the person's own public key (the service never holds its private half), root and
    password logins off, confirm-or-revert within ``timeout`` seconds: (options, the private key)."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment="person@laptop")
    options = SetupOptions(
        apt_update=False,
        packages=[],
        firewall=False,
        admin=AdminUser("deploy", public_key=key.export_public_key().decode().strip(), nopasswd=True),
        ssh_hardening=SshHardening(
            "no", password_authentication=False, port=2222, confirm_login=True, confirm_timeout=timeout
        ),
    )
    return options, key.export_private_key().decode()


async def old_way_in(host: TestHost, private: str) -> bool:
    """Brand-new logins on 22 get in (root with its password, deploy with the person's key to root),
    and none on 2222."""
    root_in = await login_runs(host, "root", password=host.root.password) == "0"
    deploy_in = await becomes_root_with_sudo(host, "deploy", private)
    new_port = await login_runs(host, "deploy", port=2222, private_key=private) is not None
    return root_in and deploy_in and not new_port


async def test_a_confirm_or_revert_that_times_out(make_systemd_host: Callable[[str], TestHost]) -> None:
    host = make_systemd_host("bookworm")
    options, private = confirm_plan(5)
    rec = Recorder()
    status, code, message = await run(login(host, "root"), options, rec)
    shown = any(e.code == "hardening.confirm_wait" for e in rec.events)
    back = await old_way_in(host, private)
    ok = status == "failed" and code == "login_not_confirmed" and shown and back
    Outcome(
        "lockout.04-confirm-timed-out",
        "confirm-or-revert (a pasted key the service cannot use, root and password logins off): "
        "nobody confirms within the 5 s asked for",
        "the ssh line shown; rolled back over the open connection, saying it was not confirmed in time; "
        "brand-new logins on 22 work (root, and deploy to root), none on 2222",
        f"{status} [{code}]: {message}; ssh line shown: {shown}; old way in, proven: {back}",
        passed=ok,
    ).write()
    assert ok, rec.dump()


async def test_the_connection_dies_during_the_confirm_wait(
    make_systemd_host: Callable[[str], TestHost],
) -> None:
    host = make_systemd_host("bookworm")
    options, private = confirm_plan(5)

    async def kill_the_connection(event: SessionEvent) -> None:
        if event.code == "hardening.confirm_wait":
            host.run_root(KILL_SESSIONS)

    rec = Recorder(kill_the_connection)
    result = await run_setup(
        login(host, "root"),
        options,
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(ssh_revert_after=3),
        connect_timeout=5,
    )
    # the server's own timer (armed for the wait plus 3 s) undoes it: wait for the undo to finish
    undo = "setupwizard-ssh-revert.service"
    host.run_root(
        f"for i in $(seq 600); do [ -e {DROP_IN} ] || break; sleep 0.1; done; "
        f"for i in $(seq 600); do systemctl is-active -q {undo} || break; sleep 0.1; done; "
        "for i in $(seq 300); do ss -Hltn | grep -q ':22 ' && break; sleep 0.1; done"
    )
    back = await old_way_in(host, private)
    ok = result.status == "failed" and back
    Outcome(
        "lockout.05-confirm-connection-lost",
        "confirm-or-revert: the service's SSH connection is killed while it waits for the confirmation",
        "the server's own revert timer (armed to cover the wait) rolls back; brand-new logins on 22 work",
        f"{result.status} [{result.error_code}]: {result.message}; old way in, proven: {back}",
        passed=ok,
    ).write()
    assert ok, rec.dump()

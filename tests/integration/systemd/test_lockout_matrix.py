"""The lock-out matrix on Debian 12 and 13: all pairs of the login (root or a sudoer,
password or key), the admin options (none, a pasted key, a generated key; NOPASSWD, a sudo password or
neither), the hardening options (root login yes, no or prohibit-password; password login on or off; the
same port, a new free port or one in use) and a fault (none, or the run's SSH connection killed during
the hardening step). After every run, whatever its outcome (success, refusal, failure midway,
rollback), brand-new logins from outside must find a way to root. The test prints the table of
combinations and outcomes (``-s``) and writes it to test-artifacts/lockout-matrix-<release>.md."""

from __future__ import annotations

from pathlib import Path

import asyncssh

from setupwizard.provisioning import EventType, MemoryKnownHosts, SessionEvent, SetupOptions, Target
from setupwizard.provisioning.runner import run_setup
from setupwizard.provisioning.settings import PlanSettings
from setupwizard.provisioning.target import AdminUser, SshHardening
from setupwizard.testbed.host import TestHost
from tests.integration.provisioning.recorder import Recorder
from tests.integration.systemd.lockout import DROP_IN, listen_on, login_runs
from tests.integration.systemd.matrix import Case, all_pairs, table
from tests.integration.systemd.support import root

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
ADMIN_SUDO_PASSWORD = "matrix-canary-Rv52sL"
PORTS = {"same": None, "new free": 2222, "in use": 8080}
REVERT_UNITS = "setupwizard-ssh-revert.timer setupwizard-ssh-revert.service"  # the hardening's own timer
RESET = (
    f"systemctl stop busy-8080 {REVERT_UNITS} 2>/dev/null; "
    f"systemctl reset-failed busy-8080 {REVERT_UNITS} 2>/dev/null; "
    f"rm -f {DROP_IN} {DROP_IN}.setupwizard-old /etc/sudoers.d/90-setupwizard-deploy; "
    "userdel -r deploy 2>/dev/null; mkdir -p /run/sshd; systemctl reset-failed ssh; systemctl restart ssh; "
    "for i in $(seq 100); do ss -Hltn | grep -q ':22 ' && exit 0; sleep 0.1; done; exit 1"
)
# every sshd process but the listener (its parent is PID 1): the run's own connection goes with it
KILL_SESSIONS = (
    "for p in $(pgrep -x sshd; pgrep -x sshd-session); do "
    '[ "$(ps -o ppid= -p "$p" | tr -d " ")" = 1 ] || kill -9 "$p"; done; true'
)


def plan(case: Case, person_public: str) -> SetupOptions:
    admin = None
    if case.admin != "none":
        admin = AdminUser(
            "deploy",
            public_key=person_public if case.admin == "pasted key" else None,
            generate_key=case.admin == "generated key",
            nopasswd=case.admin_sudo == "NOPASSWD",
            sudo_password=ADMIN_SUDO_PASSWORD if case.admin_sudo == "sudo password" else None,
        )
    hardening = None
    if case.hardening:
        hardening = SshHardening(case.root_login, case.password_login == "on", PORTS[case.port])
    return SetupOptions(apt_update=False, packages=[], firewall=False, admin=admin, ssh_hardening=hardening)


def login_of(host: TestHost, case: Case, person_private: str) -> Target:
    account = host.root if case.login == "root" else host.sudo_nopasswd
    if case.auth == "key":
        return Target(host.address, account.username, private_key=person_private)
    return Target(host.address, account.username, password=account.password)


async def ways_to_root(host: TestHost, person_private: str, generated: str | None) -> list[str]:
    """Every way to root a brand-new login finds now, on port 22 and on the new ports."""
    found: list[str] = []
    for port in (22, 2222):
        tries: list[tuple[str, str, dict[str, str]]] = [
            ("root/password", "root", {"password": host.root.password}),
            ("root/key", "root", {"private_key": person_private}),
            ("bob/password+sudo", host.sudo_nopasswd.username, {"password": host.sudo_nopasswd.password}),
            ("bob/key+sudo", host.sudo_nopasswd.username, {"private_key": person_private}),
        ]
        for key_name, key in (("person's key", person_private), ("generated key", generated)):
            if key:
                tries.append((f"deploy/{key_name}+sudo", "deploy", {"private_key": key}))
        for name, user, auth in tries:
            command = "id -u" if user == "root" else "sudo -n id -u"
            out = await login_runs(host, user, port=port, command=command, **auth)
            if out != "0" and user == "deploy":
                out = await login_runs(
                    host,
                    user,
                    port=port,
                    command="sudo -k -S -p '' id -u",
                    stdin=ADMIN_SUDO_PASSWORD + "\n",
                    **auth,
                )
            if out == "0":
                found.append(f"{name}@{port}")
    return found


async def run_case(host: TestHost, case: Case, person_private: str, person_public: str) -> tuple[str, str]:
    root(host, RESET)
    if case.port == "in use":
        listen_on(host, 8080)

    async def kill_midway(event: SessionEvent) -> None:
        if case.fault != "none" and event.type is EventType.INFO and event.code == "hardening.proving":
            host.run_root(KILL_SESSIONS)

    rec = Recorder(kill_midway)
    result = await run_setup(
        login_of(host, case, person_private),
        plan(case, person_public),
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(),
        connect_timeout=5,
    )
    assert ADMIN_SUDO_PASSWORD not in rec.dump()
    hardening = next((s for s in result.steps if s.id == "ssh_hardening"), None)
    outcome: str = result.status.value
    if result.error_code == "invalid_input":
        outcome = "refused (422)"
    elif result.error_code == "plan_refused":
        outcome = "refused (pre-flight)"
    elif result.error_code == "lockout_prevented":
        outcome = "rolled back"
    elif result.error_code in ("connection_lost", "connect_failed"):  # the killed connection
        outcome = "failed midway"
    if result.error_code in ("invalid_input", "plan_refused"):  # refused: nothing changed
        assert host.run_root("id deploy").returncode != 0, case.label()
        assert host.run_root(f"test -e {DROP_IN}").returncode != 0, case.label()
    if result.error_code == "lockout_prevented":
        assert host.run_root(f"test -e {DROP_IN}").returncode != 0, case.label()
    if result.success and hardening is not None:
        assert host.run_root(f"test -e {DROP_IN}").returncode == 0, case.label()
    ways = await ways_to_root(host, person_private, result.generated_private_key)
    assert ways, f"no way to root left after {case.label()}: {outcome}\n{rec.dump()}"
    code = f" [{result.error_code}]" if result.error_code else ""
    return f"{outcome}{code}", ", ".join(ways)


async def test_every_pair_leaves_a_way_to_root(systemd_host: TestHost) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519", comment="person@laptop")
    person_private = key.export_private_key().decode()
    person_public = key.export_public_key().decode().strip()
    for user in ("root", systemd_host.sudo_nopasswd.username):
        home = "/root" if user == "root" else f"/home/{user}"
        root(
            systemd_host,
            f"k={home}/.ssh/authorized_keys; install -d -m 700 -o {user} {home}/.ssh && "
            f"echo '{person_public}' >> $k && chown {user} $k",
        )
    rows: list[tuple[Case, str, str]] = []
    try:
        for case in all_pairs():
            outcome, ways = await run_case(systemd_host, case, person_private, person_public)
            rows.append((case, outcome, ways))
    finally:
        text = table(rows)
        print(f"\nLock-out matrix on {systemd_host.release}:\n{text}")
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"lockout-matrix-{systemd_host.release}.md").write_text(text + "\n", encoding="utf-8")
        root(systemd_host, RESET)
    assert len(rows) == len(all_pairs())

"""On Debian 12 and 13: a new SSH port that another service already listens on.

Refused before the first change when the connect step sees it taken (``ss -ltn``). When it is taken
after that check (a race), sshd dies on the reload; the rollback recreates /run/sshd, restarts sshd,
keeps the person's own ufw rule for that port, and a brand-new login proves port 22 again.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from setupwizard.provisioning import EventType, MemoryKnownHosts, SessionEvent, SetupOptions, run_setup
from setupwizard.provisioning.target import AdminUser, SshHardening
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import RELEASES
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.lockout import DROP_IN, SSHD_SETTINGS, listen_on, login_runs
from tests.integration.systemd.support import root

WEB_PORT = 8080


def to_the_web_port() -> SetupOptions:
    """The person's web app port in firewall_ports, and sshd asked to move onto it."""
    return SetupOptions(
        packages=["ufw"],
        firewall_ports=[f"{WEB_PORT}/tcp"],
        admin=AdminUser("deploy", generate_key=True, nopasswd=True),
        ssh_hardening=SshHardening("no", password_authentication=False, port=WEB_PORT),
    )


async def assert_port_22_is_the_way_in(host: TestHost) -> None:
    """sshd runs with the old settings, and brand-new logins on 22 get in as before."""
    assert root(host, "systemctl is-active ssh") == "active"
    assert host.run_root(f"test -e {DROP_IN}").returncode != 0
    assert root(host, SSHD_SETTINGS).split("\n") == [
        "port 22",
        "permitrootlogin yes",
        "passwordauthentication yes",
    ]
    assert await login_runs(host, "root", password=host.root.password) == "0"
    assert await login_runs(host, "bob", password=host.sudo_nopasswd.password, command="sudo -n id -u") == "0"


@pytest.mark.parametrize("release", RELEASES)
async def test_a_taken_port_is_refused_before_any_change(
    make_systemd_host: Callable[[str], TestHost], release: str
) -> None:
    host = make_systemd_host(release)
    listen_on(host, WEB_PORT)
    rec = Recorder()
    result = await run_setup(login(host, "root"), to_the_web_port(), rec.emitter, MemoryKnownHosts())
    assert result.status == "failed" and result.error_code == "plan_refused", rec.dump()
    connect = next(s for s in result.steps if s.id == "connect")
    assert "ssh_hardening.port" in connect.message and str(WEB_PORT) in connect.message
    assert all(s.status.value == "skipped" for s in result.steps[1:])
    assert host.run_root("id deploy").returncode != 0
    assert "inactive" in root(host, "ufw status 2>/dev/null || echo inactive")
    await assert_port_22_is_the_way_in(host)


@pytest.mark.parametrize("release", RELEASES)
async def test_a_rollback_after_sshd_died_brings_port_22_back(
    make_systemd_host: Callable[[str], TestHost], release: str
) -> None:
    host = make_systemd_host(release)

    async def take_the_port_meanwhile(event: SessionEvent) -> None:
        # after the connect step's check, before the hardening: another service starts on the port
        if event.type is EventType.STEP and event.step_id == "ssh_hardening":
            if event.data.get("status") == "running":
                listen_on(host, WEB_PORT)

    rec = Recorder(take_the_port_meanwhile)
    result = await run_setup(login(host, "root"), to_the_web_port(), rec.emitter, MemoryKnownHosts())
    assert result.status == "failed" and result.error_code == "lockout_prevented", rec.dump()
    codes = [e.code for e in rec.events]
    assert "hardening.sshd_restarted" in codes and "hardening.restored_proven" in codes, rec.dump()
    await assert_port_22_is_the_way_in(host)
    # the rollback restored exactly the rules that were there: the web app's port is open
    rules = root(host, "ufw show added")
    assert f"ufw allow {WEB_PORT}/tcp" in rules and "ufw allow 22/tcp" in rules, rules

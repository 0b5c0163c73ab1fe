"""No lock-out of root on Debian 12 and 13: a plan that turns root login off must leave a proven way
to root, or be refused before its first change. Proven from outside with brand-new logins."""

from __future__ import annotations

from setupwizard.provisioning import MemoryKnownHosts, SetupOptions, Target, run_setup
from setupwizard.provisioning.target import AdminUser, SshHardening
from setupwizard.testbed.host import TestHost
from tests.integration.provisioning.recorder import Recorder
from tests.integration.systemd.lockout import (
    DROP_IN,
    SSHD_SETTINGS,
    becomes_root_with_sudo,
    give_root_a_key,
    login_runs,
)
from tests.integration.systemd.support import root

ADMIN_SUDO_PASSWORD = "lockout-canary-Zq81xV"  # a canary: it must never show in a line


def nobody_to_root(public_key: str) -> SetupOptions:
    """Deploy with root's key, neither NOPASSWD nor a sudo password; root and passwords off."""
    return SetupOptions(
        apt_update=False,
        packages=[],
        firewall=False,
        admin=AdminUser("deploy", public_key=public_key),
        ssh_hardening=SshHardening("no", password_authentication=False),
    )


async def test_no_way_to_root_is_refused_before_any_change(systemd_host: TestHost) -> None:
    private, public = give_root_a_key(systemd_host)
    rec = Recorder()
    target = Target(systemd_host.address, "root", private_key=private)
    result = await run_setup(target, nobody_to_root(public), rec.emitter, MemoryKnownHosts())
    assert result.status == "failed" and result.error_code == "invalid_input", rec.dump()
    assert "admin.sudo_password" in result.message and "sudo" in result.message
    assert all(e.step_id is None for e in rec.events)  # no step ran: not even the connect
    # nothing changed: no user, no drop-in, sshd as it was
    assert systemd_host.run_root("id deploy").returncode != 0
    assert systemd_host.run_root(f"test -e {DROP_IN}").returncode != 0
    assert "permitrootlogin yes" in root(systemd_host, SSHD_SETTINGS)
    # from outside: root still gets in with its key and with its password
    assert await login_runs(systemd_host, "root", private_key=private) == "0"
    assert await login_runs(systemd_host, "root", password=systemd_host.root.password) == "0"


async def test_the_admin_with_a_sudo_password_is_the_proven_way_to_root(systemd_host: TestHost) -> None:
    private, public = give_root_a_key(systemd_host)
    options = SetupOptions(
        apt_update=False,
        packages=[],
        firewall=False,
        admin=AdminUser("deploy", public_key=public, sudo_password=ADMIN_SUDO_PASSWORD),
        ssh_hardening=SshHardening("no", password_authentication=False),
    )
    rec = Recorder()
    target = Target(systemd_host.address, "root", private_key=private)
    result = await run_setup(target, options, rec.emitter, MemoryKnownHosts())
    assert result.success, rec.dump()
    assert ADMIN_SUDO_PASSWORD not in rec.dump()
    assert any(e.code == "hardening.root_proven" for e in rec.events), rec.dump()
    # from outside: root is out, deploy gets in with the key and becomes root with the password
    assert await login_runs(systemd_host, "root", private_key=private) is None
    assert await login_runs(systemd_host, "root", password=systemd_host.root.password) is None
    assert await becomes_root_with_sudo(systemd_host, "deploy", private, sudo_password=ADMIN_SUDO_PASSWORD)
    # a hardening already in force: the re-run, as deploy, still refuses to leave nobody with root
    again = await run_setup(
        Target(systemd_host.address, "deploy", private_key=private, sudo_password=ADMIN_SUDO_PASSWORD),
        nobody_to_root(public),
        Recorder().emitter,
        MemoryKnownHosts(),
    )
    assert again.success  # deploy, a sudoer whose key login this run uses, is the way to root

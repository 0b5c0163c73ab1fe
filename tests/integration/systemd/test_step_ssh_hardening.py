"""SSH hardening on Debian 12 and 13: root and password logins off, sshd moved to port 2222 behind ufw,
proven by a brand-new key login as the new admin user; the re-run logs in the new way and changes
nothing but a new key (every run with generate_key adds one; the old one stays). ufw no longer allows
the old port 22 once the new login is proven. It refuses when no key login can be proven, and rolls back
when the new port is blocked (as by a cloud firewall)."""

from __future__ import annotations

from collections.abc import Callable

import asyncssh
import pytest

from setupwizard.provisioning import (
    MemoryKnownHosts,
    SetupOptions,
    SetupResult,
    StepStatus,
    Target,
    run_setup,
)
from setupwizard.provisioning.settings import PlanSettings
from setupwizard.provisioning.target import AdminUser, SshHardening
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import RELEASES
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.support import HostKeys, root

HARDEN = SetupOptions(
    packages=["ufw"],
    admin=AdminUser("deploy", generate_key=True, nopasswd=True),
    ssh_hardening=SshHardening("no", password_authentication=False, port=2222),
)
known = HostKeys()


async def password_login(host: TestHost, username: str, password: str, port: int = 22) -> None:
    conn = await asyncssh.connect(
        host.address,
        port=port,
        username=username,
        password=password,
        known_hosts=None,
        client_keys=None,
        agent_path=None,
        connect_timeout=10,
    )
    conn.close()


@pytest.fixture(scope="module")
async def first_run(systemd_host: TestHost) -> tuple[Recorder, SetupResult]:
    rec = Recorder()
    result = await run_setup(login(systemd_host, "root"), HARDEN, rec.emitter, known(systemd_host))
    return rec, result


async def test_the_new_login_is_proven_and_reported(first_run: tuple[Recorder, SetupResult]) -> None:
    rec, result = first_run
    assert result.success, rec.dump()
    step = next(s for s in result.steps if s.id == "ssh_hardening")
    assert step.status is StepStatus.SUCCEEDED and step.changed
    assert "root 登录已关闭，请使用 deploy@" in step.message and ":2222 和密钥登录" in step.message
    assert result.login_after == {"username": "deploy", "port": 2222, "auth": "key", "generated_key": True}
    assert result.to_dict()["login_after"] == result.login_after


async def test_old_ways_in_are_closed_and_the_new_one_works(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    _, result = first_run
    assert "ALLOW" in root(systemd_host, "ufw status | grep ^2222/tcp")
    # the old port's rule went once the new login was proven (nobody asked for 22)
    assert "allow 22/tcp" not in root(systemd_host, "ufw show added"), root(systemd_host, "ufw status")
    assert root(systemd_host, "sshd -T | grep -E '^(port|permitrootlogin|passwordauthentication) '").split(
        "\n"
    ) == ["port 2222", "permitrootlogin no", "passwordauthentication no"]
    with pytest.raises((asyncssh.PermissionDenied, OSError)):  # root with a password, on the new port
        await password_login(systemd_host, "root", systemd_host.root.password, port=2222)
    with pytest.raises((asyncssh.PermissionDenied, OSError)):  # a sudo user's password no longer does
        await password_login(systemd_host, "bob", systemd_host.sudo_nopasswd.password, port=2222)
    assert result.generated_private_key
    key = asyncssh.import_private_key(result.generated_private_key)
    async with asyncssh.connect(
        systemd_host.address,
        port=2222,
        username="deploy",
        client_keys=[key],
        known_hosts=None,
        agent_path=None,
    ) as conn:
        assert str((await conn.run("id -un")).stdout).strip() == "deploy"


async def test_second_run_logs_in_the_new_way_and_changes_nothing(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    _, first = first_run
    assert first.generated_private_key and first.login_after
    # what the saved server entry switches to: deploy, port 2222, the generated key
    target = Target(systemd_host.address, "deploy", port=2222, private_key=first.generated_private_key)
    rec = Recorder()
    result = await run_setup(target, HARDEN, rec.emitter, known(systemd_host))
    assert result.success, rec.dump()
    by_id = {s.id: s for s in result.steps}
    for step in ("firewall", "ssh_hardening"):
        assert by_id[step].status is StepStatus.UNCHANGED, rec.dump()
    # a lost key is replaced by running again: a new key, proven, offered once; the old stays
    assert by_id["admin_user"].status is StepStatus.SUCCEEDED and "key" in by_id["admin_user"].message
    assert "之前生成的密钥仍然有效" in by_id["admin_user"].message
    new_key = result.generated_private_key
    assert new_key and new_key != first.generated_private_key
    for private in (new_key, first.generated_private_key):
        async with asyncssh.connect(
            systemd_host.address,
            port=2222,
            username="deploy",
            client_keys=[asyncssh.import_private_key(private)],
            known_hosts=None,
            agent_path=None,
        ) as conn:
            assert str((await conn.run("sudo -n id -u")).stdout).strip() == "0"


@pytest.mark.parametrize("release", RELEASES)
async def test_password_login_is_not_turned_off_without_a_proven_key(
    make_systemd_host: Callable[[str], TestHost], release: str
) -> None:
    host = make_systemd_host(release)
    rec = Recorder()
    options = SetupOptions(apt_update=False, packages=[], firewall=False, ssh_hardening=SshHardening())
    result = await run_setup(login(host, "root"), options, rec.emitter, MemoryKnownHosts())
    # refused before the first change, naming what to add
    assert result.status == "failed" and result.error_code == "invalid_input", rec.dump()
    assert "ssh_hardening.permit_root_login" in result.message and "生成密钥" in result.message
    assert host.run_root("test -e /etc/ssh/sshd_config.d/05-setupwizard.conf").returncode != 0
    await password_login(host, "root", host.root.password)


@pytest.mark.parametrize("release", RELEASES)
async def test_a_blocked_new_port_is_rolled_back(
    make_systemd_host: Callable[[str], TestHost], release: str
) -> None:
    host = make_systemd_host(release)
    # a "cloud firewall" in front of sshd's new port: it drops everything to 2222
    root(host, "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nftables")
    root(
        host,
        "nft add table inet cloud && "
        "nft add chain inet cloud input '{ type filter hook input priority -10; }' "
        "&& nft add rule inet cloud input tcp dport 2222 drop",
    )
    rec = Recorder()
    options = SetupOptions(
        apt_update=False,
        packages=[],
        firewall=False,
        admin=AdminUser("deploy", generate_key=True, nopasswd=True),
        ssh_hardening=SshHardening(port=2222),
    )
    result = await run_setup(
        login(host, "root"),
        options,
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(),
        connect_timeout=3,
    )
    assert result.status == "failed" and result.error_code == "lockout_prevented", rec.dump()
    assert result.login_after is None
    assert host.run_root("test -e /etc/ssh/sshd_config.d/05-setupwizard.conf").returncode != 0
    assert root(host, "sshd -T | grep -E '^(port|permitrootlogin) '").split("\n") == [
        "port 22",
        "permitrootlogin yes",
    ]
    await password_login(host, "root", host.root.password)  # the old way in still works

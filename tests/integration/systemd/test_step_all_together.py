"""Every optional step in one run, as a 「Web 服务器」-style preset with hardening, on Debian 12 and 13:
the steps work together (ufw opens the new SSH port before sshd moves, and closes the old one once the
new login is proven), a re-run as the new login changes nothing but a new admin key (the old one stays),
and the admin user's sudo password appears nowhere."""

from __future__ import annotations

import json

import pytest

from setupwizard.provisioning import (
    SetupOptions,
    SetupResult,
    StepStatus,
    Target,
    run_setup,
)
from setupwizard.provisioning.target import AdminUser, SshHardening
from setupwizard.testbed.host import TestHost
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.support import HostKeys, root

CANARY = "Canary-Admin-Pw-q8Zr41"
EVERYTHING = SetupOptions(
    packages=["ufw", "curl"],
    firewall_ports=["80/tcp", "443/tcp"],
    hostname="web-1.example.test",
    timezone="Asia/Shanghai",
    auto_updates=True,
    fail2ban=True,
    admin=AdminUser("deploy", generate_key=True, sudo_password=CANARY),
    ssh_hardening=SshHardening("prohibit-password", password_authentication=False, port=2222),
)
STEPS = [
    "connect",
    "sudo",
    "apt_wait",
    "apt_update",
    "packages",
    "hostname",
    "timezone",
    "auto_updates",
    "fail2ban",
    "admin_user",
    "firewall",
    "ssh_hardening",
]
known = HostKeys()


@pytest.fixture(scope="module")
async def first_run(systemd_host: TestHost) -> tuple[Recorder, SetupResult]:
    rec = Recorder()
    result = await run_setup(login(systemd_host, "root"), EVERYTHING, rec.emitter, known(systemd_host))
    return rec, result


async def test_every_step_runs_and_changes_something(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    rec, result = first_run
    assert result.success, rec.dump()
    rec.assert_well_formed()
    assert [s.id for s in result.steps] == STEPS
    for step in result.steps[5:]:
        assert step.status is StepStatus.SUCCEEDED and step.changed, step
    ufw = root(systemd_host, "ufw status")
    for port in ("80/tcp", "443/tcp", "2222/tcp"):
        assert any(line.startswith(port) and "ALLOW" in line for line in ufw.splitlines()), ufw
    assert not any(line.startswith("22/tcp") for line in ufw.splitlines()), ufw  # sshd left 22
    assert "Status for the jail: sshd" in root(systemd_host, "fail2ban-client status sshd")
    assert result.login_after == {"username": "deploy", "port": 2222, "auth": "key", "generated_key": True}


async def test_the_admin_password_and_key_appear_nowhere(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    rec, result = first_run
    assert result.generated_private_key
    seen = rec.dump() + json.dumps(result.to_dict()) + repr(result) + repr(EVERYTHING)
    journal = root(systemd_host, "journalctl --no-pager -o cat")
    secrets = [CANARY] + [
        line for line in result.generated_private_key.splitlines() if line and not line.startswith("-----")
    ]
    for secret in secrets:
        assert secret not in seen
        assert secret not in journal


async def test_a_re_run_as_the_new_login_changes_nothing(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    _, first = first_run
    assert first.generated_private_key
    # deploy's sudo asks for the password set by the first run
    target = Target(
        systemd_host.address,
        "deploy",
        port=2222,
        private_key=first.generated_private_key,
        sudo_password=CANARY,
    )
    rec = Recorder()
    result = await run_setup(target, EVERYTHING, rec.emitter, known(systemd_host))
    assert result.success, rec.dump()
    for step in result.steps[4:]:
        if step.id == "admin_user":  # generate_key: every run adds a new key
            assert step.status is StepStatus.SUCCEEDED and "(更改: key)" in step.message.replace(
                "（", "("
            ).replace("）", ")")
            continue
        assert step.status is StepStatus.UNCHANGED and not step.changed, rec.dump()
    assert result.generated_private_key and result.generated_private_key != first.generated_private_key
    assert CANARY not in rec.dump()

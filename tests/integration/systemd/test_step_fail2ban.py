"""fail2ban for sshd on a journald-only system (Debian 12 and 13): the jail runs, a re-run changes
nothing, and failed logins from a second address get that address banned while others still get in."""

from __future__ import annotations

import asyncio

import asyncssh
import pytest

from setupwizard.provisioning import SetupOptions, SetupResult, StepStatus, run_setup
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import CLIENT_ADDRESSES
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.support import HostKeys

OPTIONS = SetupOptions(packages=[], firewall=False, fail2ban=True)
known = HostKeys()


def root(host: TestHost, command: str) -> str:
    result = host.run_root(command)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout.strip()


@pytest.fixture(scope="module")
async def first_run(systemd_host: TestHost) -> tuple[Recorder, SetupResult]:
    rec = Recorder()
    result = await run_setup(login(systemd_host, "sudo_nopasswd"), OPTIONS, rec.emitter, known(systemd_host))
    return rec, result


async def test_first_run_starts_the_sshd_jail(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    rec, result = first_run
    assert result.success, rec.dump()
    step = next(s for s in result.steps if s.id == "fail2ban")
    assert step.status is StepStatus.SUCCEEDED and step.changed
    assert root(systemd_host, "systemctl is-active fail2ban") == "active"
    assert root(systemd_host, "systemctl is-enabled fail2ban") == "enabled"
    status = root(systemd_host, "fail2ban-client status sshd")
    assert "Status for the jail: sshd" in status
    assert "Journal matches:" in status  # it reads the journal, not a log file
    assert any("Status for the jail: sshd" in e.message for e in rec.events), rec.dump()


async def test_second_run_changes_nothing(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    rec = Recorder()
    result = await run_setup(login(systemd_host, "sudo_nopasswd"), OPTIONS, rec.emitter, known(systemd_host))
    assert result.success, rec.dump()
    step = next(s for s in result.steps if s.id == "fail2ban")
    assert step.status is StepStatus.UNCHANGED and not step.changed


async def failed_login(host: TestHost, source: str) -> None:
    with pytest.raises((asyncssh.PermissionDenied, OSError, asyncssh.DisconnectError)):
        conn = await asyncssh.connect(
            host.address,
            port=host.port,
            local_addr=(source, 0),
            username=host.sudo_password.username,
            password="not-the-password",
            known_hosts=None,
            client_keys=None,
            agent_path=None,
            connect_timeout=10,
        )
        conn.close()


async def test_failed_logins_from_a_second_address_get_it_banned(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    attacker = CLIENT_ADDRESSES[0]
    banned = ""
    for _ in range(8):  # maxretry is 5
        await failed_login(systemd_host, attacker)
    for _ in range(100):  # fail2ban reads the journal asynchronously
        banned = root(systemd_host, "fail2ban-client status sshd")
        if attacker in banned:
            break
        await asyncio.sleep(0.2)
    assert attacker in banned, banned
    with pytest.raises(OSError):  # the banned address cannot even open a TCP connection now
        await asyncio.wait_for(asyncio.open_connection(systemd_host.address, 22, local_addr=(attacker, 0)), 3)
    # the usual address still gets in
    report = await asyncssh.connect(
        systemd_host.address,
        username=systemd_host.root.username,
        password=systemd_host.root.password,
        known_hosts=None,
        client_keys=None,
        agent_path=None,
    )
    report.close()
    root(systemd_host, f"fail2ban-client set sshd unbanip {attacker}")

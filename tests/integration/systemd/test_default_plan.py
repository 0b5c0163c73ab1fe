"""The default plan (apt update, packages, ufw) end to end on the systemd flavour, Debian 12 and 13,
then again (idempotence), and the firewall's lock-out guard on both releases."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from setupwizard.provisioning import (
    Level,
    MemoryKnownHosts,
    SetupOptions,
    SetupResult,
    StepStatus,
    run_setup,
    test_connection,
)
from setupwizard.provisioning.plan import PlanSettings
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import RELEASES
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.support import HostKeys

OPTIONS = SetupOptions(packages=["ufw", "tree"], firewall_ports=["8080/tcp"])
# One record of host keys per host: the two releases' hosts may reuse the same address one after another.
known = HostKeys()


@pytest.fixture(scope="module")
async def first_run(systemd_host: TestHost) -> tuple[Recorder, SetupResult]:
    rec = Recorder()
    result = await run_setup(login(systemd_host, "sudo_password"), OPTIONS, rec.emitter, known(systemd_host))
    return rec, result


async def test_first_run_succeeds(first_run: tuple[Recorder, SetupResult]) -> None:
    rec, result = first_run
    assert result.success, rec.dump()
    rec.assert_well_formed()
    steps = [s.id for s in result.steps]
    assert steps[:6] == ["connect", "sudo", "apt_wait", "apt_update", "packages", "firewall"]
    assert rec.events[-1].level is Level.SUCCESS


async def test_end_state_on_the_host(first_run: tuple[Recorder, SetupResult], systemd_host: TestHost) -> None:
    for package in ("ufw", "tree"):
        status = systemd_host.run_root(f"dpkg-query -W -f='${{db:Status-Abbrev}}' {package}").stdout
        assert status.startswith("ii"), package
    status = systemd_host.run_root("ufw status verbose").stdout
    assert "Status: active" in status and "deny (incoming)" in status
    for rule in ("22/tcp", "8080/tcp"):
        assert any(line.startswith(rule) and "ALLOW IN" in line for line in status.splitlines()), rule
    # On a systemd system the firewall comes back at boot: ufw.service is enabled and active.
    assert systemd_host.run_root("systemctl is-enabled ufw.service").stdout.strip() == "enabled"
    assert systemd_host.run_root("systemctl is-active ssh.service").stdout.strip() == "active"


async def test_second_run_finds_everything_in_place(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    rec = Recorder()
    result = await run_setup(login(systemd_host, "sudo_password"), OPTIONS, rec.emitter, known(systemd_host))
    assert result.success, rec.dump()
    by_id = {s.id: s for s in result.steps}
    assert by_id["packages"].status is StepStatus.UNCHANGED
    assert by_id["firewall"].status is StepStatus.UNCHANGED


@pytest.mark.parametrize("release", RELEASES)
async def test_firewall_that_would_lock_ssh_out_is_rolled_back(
    make_systemd_host: Callable[[str], TestHost], release: str
) -> None:
    host = make_systemd_host(release)
    known = MemoryKnownHosts()
    rec = Recorder()
    result = await run_setup(
        login(host, "root"),
        SetupOptions(packages=["ufw"], firewall_ports=["8080/tcp"]),
        rec.emitter,
        known,
        settings=PlanSettings(lockout_drill=True),
        connect_timeout=4,
    )
    assert result.status == "failed" and result.error_code == "lockout_prevented", rec.dump()
    firewall = next(s for s in result.steps if s.id == "firewall")
    assert firewall.status is StepStatus.FAILED
    assert "Status: inactive" in host.run_root("ufw status").stdout
    report = await test_connection(login(host, "root"), known, connect_timeout=5)
    assert report.supported

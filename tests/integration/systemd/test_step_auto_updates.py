"""Automatic security updates (unattended-upgrades) on Debian 12 and 13: first run, re-run."""

from __future__ import annotations

import pytest

from setupwizard.provisioning import SetupOptions, SetupResult, StepStatus, run_setup
from setupwizard.testbed.host import TestHost
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.support import HostKeys, root

OPTIONS = SetupOptions(packages=[], firewall=False, auto_updates=True)
known = HostKeys()


@pytest.fixture(scope="module")
async def first_run(systemd_host: TestHost) -> tuple[Recorder, SetupResult]:
    rec = Recorder()
    result = await run_setup(login(systemd_host, "root"), OPTIONS, rec.emitter, known(systemd_host))
    return rec, result


async def test_first_run_enables_unattended_upgrades(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    rec, result = first_run
    assert result.success, rec.dump()
    step = next(s for s in result.steps if s.id == "auto_updates")
    assert step.status is StepStatus.SUCCEEDED and step.changed
    dump = root(systemd_host, "apt-config dump | grep ^APT::Periodic::")
    assert 'APT::Periodic::Update-Package-Lists "1";' in dump
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dump
    root(systemd_host, "unattended-upgrade --dry-run")
    # the timers that run it are there
    assert root(systemd_host, "systemctl is-enabled apt-daily-upgrade.timer") == "enabled"


async def test_second_run_changes_nothing(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    rec = Recorder()
    result = await run_setup(login(systemd_host, "root"), OPTIONS, rec.emitter, known(systemd_host))
    assert result.success, rec.dump()
    step = next(s for s in result.steps if s.id == "auto_updates")
    assert step.status is StepStatus.UNCHANGED and not step.changed

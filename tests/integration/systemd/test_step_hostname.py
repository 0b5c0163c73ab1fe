"""The hostname and time zone steps on the systemd flavour, Debian 12 and 13: first run, re-run."""

from __future__ import annotations

import pytest

from setupwizard.provisioning import SetupOptions, SetupResult, StepStatus, run_setup
from setupwizard.testbed.host import TestHost
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.support import HostKeys

OPTIONS = SetupOptions(
    apt_update=False, packages=[], firewall=False, hostname="web-1.example.test", timezone="Asia/Shanghai"
)
known = HostKeys()


def root(host: TestHost, command: str) -> str:
    result = host.run_root(command)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout.strip()


@pytest.fixture(scope="module")
async def first_run(systemd_host: TestHost) -> tuple[Recorder, SetupResult]:
    rec = Recorder()
    # alice: sudo with a password, so every command goes through sudo (which must resolve the new name)
    result = await run_setup(login(systemd_host, "sudo_password"), OPTIONS, rec.emitter, known(systemd_host))
    return rec, result


async def test_only_the_chosen_steps_run(first_run: tuple[Recorder, SetupResult]) -> None:
    rec, result = first_run
    assert result.success, rec.dump()
    rec.assert_well_formed()
    assert [s.id for s in result.steps] == ["connect", "sudo", "hostname", "timezone"]
    assert all(s.status is StepStatus.SUCCEEDED and s.changed for s in result.steps[2:]), rec.dump()


def test_the_host_has_its_new_name_and_zone(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    assert root(systemd_host, "hostnamectl --static") == "web-1.example.test"
    assert root(systemd_host, "hostname") == "web-1.example.test"
    assert root(systemd_host, "grep '^127.0.1.1' /etc/hosts").split() == [
        "127.0.1.1",
        "web-1.example.test",
        "web-1",
    ]
    assert systemd_host.name not in root(systemd_host, "cat /etc/hosts")
    assert root(systemd_host, "timedatectl show -p Timezone --value") == "Asia/Shanghai"
    # sudo resolves the new name: no "unable to resolve host" anywhere
    assert "unable to resolve" not in systemd_host.run_root("sudo -u alice sudo -n true 2>&1; true").stdout


async def test_no_line_complains_that_sudo_cannot_resolve_the_host(
    first_run: tuple[Recorder, SetupResult],
) -> None:
    rec, _ = first_run
    assert not any("unable to resolve" in e.message for e in rec.events), rec.dump()


async def test_second_run_changes_nothing(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    rec = Recorder()
    result = await run_setup(login(systemd_host, "sudo_password"), OPTIONS, rec.emitter, known(systemd_host))
    assert result.success, rec.dump()
    by_id = {s.id: s for s in result.steps}
    assert by_id["hostname"].status is StepStatus.UNCHANGED and not by_id["hostname"].changed
    assert by_id["timezone"].status is StepStatus.UNCHANGED


async def test_a_zone_the_server_does_not_know_is_refused(
    first_run: tuple[Recorder, SetupResult], systemd_host: TestHost
) -> None:
    rec = Recorder()
    options = SetupOptions(apt_update=False, packages=[], firewall=False, timezone="Mars/Olympus_Mons")
    result = await run_setup(login(systemd_host, "root"), options, rec.emitter, known(systemd_host))
    assert result.status == "failed"
    zone = next(s for s in result.steps if s.id == "timezone")
    assert zone.status is StepStatus.FAILED and "Mars/Olympus_Mons" in zone.message
    assert root(systemd_host, "timedatectl show -p Timezone --value") == "Asia/Shanghai"

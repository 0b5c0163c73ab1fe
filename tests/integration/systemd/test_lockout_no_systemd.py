"""fail2ban on a server whose PID 1 is not systemd (the chroot test host, like a container).

The connect step finds out (``/run/systemd/system``) and the whole plan is refused before anything is
installed, naming the option, instead of installing fail2ban and failing on ``systemctl``.
"""

from __future__ import annotations

from setupwizard.provisioning import MemoryKnownHosts, SetupOptions, StepStatus, run_setup
from setupwizard.testbed.host import TestHost
from tests.integration.provisioning.recorder import Recorder, login
from tests.integration.systemd.lockout import login_runs


async def test_fail2ban_without_systemd_is_refused_before_anything_runs(test_host: TestHost) -> None:
    assert test_host.run_root("test -d /run/systemd/system").returncode != 0  # no systemd here
    rec = Recorder()
    options = SetupOptions(packages=["curl"], fail2ban=True)
    result = await run_setup(login(test_host, "root"), options, rec.emitter, MemoryKnownHosts())
    assert result.status == "failed" and result.error_code == "plan_refused", rec.dump()
    connect = next(s for s in result.steps if s.id == "connect")
    assert connect.status is StepStatus.FAILED
    assert "fail2ban" in connect.message and "systemd" in connect.message
    assert all(s.status is StepStatus.SKIPPED for s in result.steps[1:])
    assert test_host.run_root("dpkg -s fail2ban").returncode != 0
    assert test_host.run_root("test -e /etc/ufw/user.rules && ufw status | grep -q active").returncode != 0
    assert await login_runs(test_host, "root", password=test_host.root.password) == "0"


async def test_the_same_plan_without_fail2ban_runs(test_host: TestHost) -> None:
    rec = Recorder()
    options = SetupOptions(apt_update=False, packages=[], firewall=False, hostname="no-systemd-1")
    result = await run_setup(login(test_host, "root"), options, rec.emitter, MemoryKnownHosts())
    assert result.success, rec.dump()

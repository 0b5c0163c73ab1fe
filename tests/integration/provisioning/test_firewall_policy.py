"""The firewall step sets ufw's default incoming policy only to change it, and its rollback restores the
policy an inactive ufw had (ufw's settings are read from its files, which ufw status reports too)."""

from __future__ import annotations

from collections.abc import Callable

from setupwizard.provisioning import EventType, MemoryKnownHosts, SetupOptions, StepStatus, run_setup
from setupwizard.provisioning.plan import PlanSettings
from setupwizard.testbed.host import TestHost

from .recorder import Recorder, login

POLICY_CHANGED = "Default incoming policy changed"


def firewall_lines(rec: Recorder) -> list[str]:
    return [e.message for e in rec.events if e.type is EventType.LOG and e.step_id == "firewall"]


async def test_a_new_port_on_an_active_firewall_leaves_the_default_policy_alone(
    make_test_host: Callable[[], TestHost],
) -> None:
    host = make_test_host()
    known = MemoryKnownHosts()
    first = Recorder()
    options = SetupOptions(packages=[], firewall_ports=["8080/tcp"])
    result = await run_setup(login(host, "root"), SetupOptions(packages=["ufw"]), first.emitter, known)
    assert result.success, first.dump()
    lines = firewall_lines(first)
    assert "Firewall is active and enabled on system startup" in lines, lines
    assert not any(POLICY_CHANGED in line for line in lines)  # a fresh ufw denies incoming already
    again = Recorder()
    result = await run_setup(login(host, "root"), options, again.emitter, known)
    assert result.success, again.dump()
    firewall = next(s for s in result.steps if s.id == "firewall")
    assert firewall.status is StepStatus.SUCCEEDED and firewall.changed
    assert not any(POLICY_CHANGED in line for line in firewall_lines(again)), again.dump()
    status = host.run_root("ufw status verbose").stdout
    assert "Status: active" in status and "deny (incoming)" in status and "8080/tcp" in status


async def test_a_firewall_that_allowed_incoming_is_set_to_deny_and_restored_by_the_rollback(
    make_test_host: Callable[[], TestHost],
) -> None:
    host = make_test_host()
    ready = host.run_root(
        "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ufw"
        " && ufw default allow incoming",
        timeout=600,
    )
    assert ready.returncode == 0, ready.stderr
    rec = Recorder()
    result = await run_setup(
        login(host, "root"),
        SetupOptions(packages=[]),
        rec.emitter,
        MemoryKnownHosts(),
        settings=PlanSettings(lockout_drill=True),
        connect_timeout=4,
    )
    assert result.error_code == "lockout_prevented", rec.dump()
    assert f"{POLICY_CHANGED} to 'deny'" in firewall_lines(rec), rec.dump()
    # rolled back: off again, and the default incoming policy it had (ufw status shows it only when active)
    assert "Status: inactive" in host.run_root("ufw status").stdout
    policy = host.run_root("grep '^DEFAULT_INPUT_POLICY=' /etc/default/ufw").stdout.strip()
    assert policy == 'DEFAULT_INPUT_POLICY="ACCEPT"'

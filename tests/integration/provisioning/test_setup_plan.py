"""The default plan end to end on a real Debian host, then again (idempotence)."""

from __future__ import annotations

import pytest

from setupwizard.provisioning import (
    EventType,
    Level,
    MemoryKnownHosts,
    SetupOptions,
    SetupResult,
    StepStatus,
    SudoMode,
    run_setup,
)
from setupwizard.testbed.host import TestHost

from .recorder import Recorder, login

OPTIONS = SetupOptions(
    packages=["ufw", "tree"],
    firewall_ports=["8080/tcp", "60000:61000/udp"],
    script="echo script-ran-as-$(id -un)\n",
)
KNOWN = MemoryKnownHosts()


@pytest.fixture(scope="module")
async def first_run(test_host: TestHost) -> tuple[Recorder, SetupResult]:
    rec = Recorder()
    result = await run_setup(login(test_host, "sudo_password"), OPTIONS, rec.emitter, KNOWN)
    return rec, result


async def test_first_run_succeeds_and_reports_every_step(first_run: tuple[Recorder, SetupResult]) -> None:
    rec, result = first_run
    assert result.success, rec.dump()
    assert result.status == "succeeded"
    rec.assert_well_formed()
    steps = [s.id for s in result.steps]
    assert steps == ["connect", "sudo", "apt_wait", "apt_update", "packages", "firewall", "script"]
    final = rec.events[-1]
    assert final.level is Level.SUCCESS and final.message.startswith("✓")
    assert final.data == result.to_dict()
    for step_id in steps:
        start, end = rec.step_events(step_id)
        assert start.data["status"] == "running"
        assert end.message.startswith("✓") and end.level is Level.SUCCESS
        assert end.step_total == len(steps) and end.data["duration"] >= 0
    assert result.sudo is not None and result.sudo.mode is SudoMode.PASSWORD
    assert result.sudo.sudo_user == "alice"
    assert (result.host_key_fingerprint or "").startswith("SHA256:")
    logs = rec.messages(EventType.LOG)
    assert any("Unpacking tree" in line for line in logs)
    assert "script-ran-as-root" in logs
    assert "ufw" in result.steps[4].message and result.steps[4].changed


async def test_end_state_on_the_host(first_run: tuple[Recorder, SetupResult], test_host: TestHost) -> None:
    for package in ("ufw", "tree"):
        status = test_host.run_root(f"dpkg-query -W -f='${{db:Status-Abbrev}}' {package}").stdout
        assert status.startswith("ii"), package
    status = test_host.run_root("ufw status verbose").stdout
    assert "Status: active" in status
    assert "deny (incoming)" in status
    for rule in ("22/tcp", "8080/tcp", "60000:61000/udp"):
        assert any(line.startswith(rule) and "ALLOW IN" in line for line in status.splitlines()), rule
    assert test_host.run_root("ls /tmp/setupwizard.* 2>/dev/null | wc -l").stdout.strip() == "0"


async def test_lines_are_plain_text_without_escapes_or_redraws(
    first_run: tuple[Recorder, SetupResult],
) -> None:
    rec, _ = first_run
    for line in rec.messages(EventType.LOG):
        assert "\x1b" not in line and "\r" not in line and "\n" not in line
    assert rec.messages(EventType.LOG).count("Reading package lists... Done") >= 1


async def test_second_run_succeeds_and_says_things_were_in_place(
    first_run: tuple[Recorder, SetupResult], test_host: TestHost
) -> None:
    rec = Recorder()
    result = await run_setup(login(test_host, "sudo_password"), OPTIONS, rec.emitter, KNOWN)
    assert result.success, rec.dump()
    rec.assert_well_formed()
    by_id = {s.id: s for s in result.steps}
    assert by_id["packages"].status is StepStatus.UNCHANGED
    assert "已安装" in by_id["packages"].message and not by_id["packages"].changed
    assert by_id["firewall"].status is StepStatus.UNCHANGED
    assert "规则已存在" in by_id["firewall"].message
    assert not any("Unpacking" in line for line in rec.messages(EventType.LOG))
    assert any("主机密钥指纹与记录一致" in m for m in rec.messages(EventType.INFO))
    status = test_host.run_root("ufw status").stdout
    assert status.count("22/tcp") == 2  # v4 and v6, not duplicated

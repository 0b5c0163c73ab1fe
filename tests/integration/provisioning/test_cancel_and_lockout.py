"""Cancelling a running setup, and the firewall lock-out guard (a real drill that blocks SSH)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

import pytest

from setupwizard.provisioning import (
    EventType,
    Level,
    MemoryKnownHosts,
    SessionEvent,
    SetupOptions,
    StepStatus,
    run_setup,
    test_connection,
)
from setupwizard.provisioning.plan import PlanSettings
from setupwizard.testbed.host import TestHost

from .recorder import Recorder, login


async def test_cancel_stops_the_remote_command_and_keeps_the_events(
    make_test_host: Callable[[], TestHost],
) -> None:
    host = make_test_host()
    tag = secrets.token_hex(4)
    script = f"echo started-{tag}\nsleep 300\necho never-{tag}\n"
    cancel = asyncio.Event()

    async def sink(event: SessionEvent) -> None:
        if event.message == f"started-{tag}":
            cancel.set()

    rec = Recorder(on_event=sink)  # keeps every event, then presses "cancel" on the right one
    options = SetupOptions(packages=["ufw"], script=script)
    result = await run_setup(
        login(host, "sudo_password"), options, rec.emitter, MemoryKnownHosts(), cancel=cancel
    )
    assert result.status == "cancelled" and not result.success
    rec.assert_well_formed()
    script_step = result.steps[-1]
    assert script_step.id == "script" and script_step.status is StepStatus.CANCELLED
    assert all(s.status is StepStatus.SUCCEEDED for s in result.steps[:2])
    messages = rec.messages()
    assert f"started-{tag}" in messages and f"never-{tag}" not in messages
    final = rec.events[-1]
    assert final.level is Level.WARNING and final.data["status"] == "cancelled"
    cancelled = [e for e in rec.step_events("script") if e.data["status"] == "cancelled"]
    assert len(cancelled) == 1
    await asyncio.sleep(1)
    assert host.run_root("pgrep -f 'sleep 300'").returncode == 1, "the remote command survived"
    assert host.run_root("ls /tmp/setupwizard.* 2>/dev/null | wc -l").stdout.strip() == "0"


async def test_cancel_before_start_runs_nothing(test_host: TestHost) -> None:
    cancel = asyncio.Event()
    cancel.set()
    rec = Recorder()
    result = await run_setup(
        login(test_host, "root"), SetupOptions(), rec.emitter, MemoryKnownHosts(), cancel=cancel
    )
    assert result.status == "cancelled"
    assert {s.status for s in result.steps} == {StepStatus.SKIPPED}
    rec.assert_well_formed()


async def test_firewall_that_would_lock_ssh_out_is_rolled_back(
    make_test_host: Callable[[], TestHost],
) -> None:
    host = make_test_host()
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
    assert "已通过现有连接回滚" in firewall.message and "回滚后新的 SSH 连接已恢复" in firewall.message
    assert rec.events[-1].message.startswith("✗")
    assert any("演练" in m for m in rec.messages(EventType.INFO))
    # the end state on the host: ufw off again, none of the rules left, and SSH gets in
    assert "Status: inactive" in host.run_root("ufw status").stdout
    added = host.run_root("ufw show added").stdout.splitlines()
    assert added[1:] == ["(None)"], added
    report = await test_connection(login(host, "root"), known, connect_timeout=5)
    assert report.supported


async def test_cancelling_the_task_still_ends_with_a_complete_event(test_host: TestHost) -> None:
    started = asyncio.Event()

    async def sink(event: SessionEvent) -> None:
        if event.message == "task-sleeping":
            started.set()

    rec = Recorder(on_event=sink)
    options = SetupOptions(packages=["ufw"], script="echo task-sleeping\nsleep 300\n")
    task = asyncio.create_task(run_setup(login(test_host, "root"), options, rec.emitter, MemoryKnownHosts()))
    await asyncio.wait_for(started.wait(), timeout=300)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rec.assert_well_formed()
    final = rec.events[-1].data
    assert final["status"] == "cancelled"
    assert final["steps"][-1]["status"] == "cancelled"
    await asyncio.sleep(1)
    assert test_host.run_root("pgrep -f 'sleep 300'").returncode == 1


async def test_cancel_while_the_firewall_is_half_applied_lets_it_finish(
    make_test_host: Callable[[], TestHost],
) -> None:
    host = make_test_host()
    cancel = asyncio.Event()

    async def sink(event: SessionEvent) -> None:
        if event.step_id == "firewall" and event.message.startswith("Rules updated"):
            cancel.set()  # the first rule is in: from here the step must finish (or undo) itself

    rec = Recorder(on_event=sink)
    options = SetupOptions(packages=["ufw"], script="echo should-not-run\n")
    result = await run_setup(login(host, "root"), options, rec.emitter, MemoryKnownHosts(), cancel=cancel)
    assert result.status == "cancelled"
    by_id = {s.id: s for s in result.steps}
    assert by_id["firewall"].status is StepStatus.SUCCEEDED
    assert by_id["script"].status is StepStatus.SKIPPED
    assert "should-not-run" not in rec.messages()
    status = host.run_root("ufw status").stdout
    assert "Status: active" in status and "22/tcp" in status

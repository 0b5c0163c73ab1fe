"""A many-host run's table, plain lines, recap, log file names and failure limit."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from setupwizard.cli.fleet_run import FailureLimit, FleetHost, HostStatus, final_status, log_file_names
from setupwizard.cli.fleet_view import FleetView, duration_text, fleet_table, recap_lines
from setupwizard.provisioning import Target
from setupwizard.provisioning.result import SessionStatus, SetupResult, StepResult, StepStatus


def host(
    name: str, status: HostStatus, started: float | None = 100.0, ended: float | None = 112.5
) -> FleetHost:
    return FleetHost(
        name=name,
        target=Target(host="192.0.2.1", username="root"),
        log_path=Path("/logs") / f"{name}.log",
        status=status,
        started=started,
        ended=ended,
    )


def result(status: SessionStatus, *steps: tuple[StepStatus, bool]) -> SetupResult:
    done = SetupResult(message="", status=status, code="run.cancelled", params={})
    done.steps = [StepResult(f"s{i}", f"step {i}", s, changed=c) for i, (s, c) in enumerate(steps)]
    return done


def test_the_live_table_shows_each_hosts_mark_step_and_current_step_on_a_terminal() -> None:
    running = host("web1", HostStatus.RUNNING, ended=None)
    running.step_index, running.step_total, running.step = 2, 6, "Check sudo rights"
    hosts = [
        running,
        host("web2", HostStatus.WARNING),
        host("db1", HostStatus.FAILED),
        host("db2", HostStatus.QUEUED, None, None),
    ]
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    console.print(fleet_table(hosts))
    text = out.getvalue()
    assert "▶  web1" in text and "2/6  Check sudo rights" in text
    assert "⚠  web2" in text and "✗  db1" in text and "·  db2" in text
    assert "12.5s" in text and "1 queued, 1 running, 1 warning, 1 failed" in text


def test_a_table_taller_than_the_terminal_keeps_failed_and_running_hosts() -> None:
    hosts = [host(f"ok{i}", HostStatus.SUCCEEDED) for i in range(5)]
    hosts += [host("run1", HostStatus.RUNNING, ended=None), host("bad1", HostStatus.FAILED)]
    hosts += [host("wait1", HostStatus.QUEUED, None, None)]
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=120, color_system=None).print(fleet_table(hosts, 3))
    rows = [line.split()[1] for line in out.getvalue().splitlines()[1:-1]]
    assert rows == ["run1", "bad1", "wait1"]
    assert "1 queued, 1 running, 5 succeeded, 1 failed (5 more not shown)" in out.getvalue()


def test_without_a_terminal_each_change_is_one_plain_line() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200)
    running = host("web1", HostStatus.RUNNING, ended=None)
    view = FleetView([running], console, "en")
    assert not view.live_table
    view.changed(running)
    running.step_index, running.step_total, running.step = 1, 3, "Connect"
    view.changed(running)
    running.status, running.ended = HostStatus.FAILED, running.started
    view.changed(running)
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == ["web1: started", "web1: [1/3] Connect", "web1: ✗ failed (0.0s)"]


def test_the_recap_counts_steps_per_host_and_says_why_a_host_failed() -> None:
    ok = host("web1", HostStatus.SUCCEEDED)
    ok.result = result(
        SessionStatus.SUCCEEDED,
        (StepStatus.SUCCEEDED, True),
        (StepStatus.UNCHANGED, False),
        (StepStatus.WARNING, True),
    )
    bad = host("db1", HostStatus.FAILED)
    bad.result = result(SessionStatus.FAILED, (StepStatus.FAILED, False), (StepStatus.SKIPPED, False))
    skipped = host("db2", HostStatus.SKIPPED, None, None)
    lines = recap_lines([ok, bad, skipped], 75.0, "en")
    assert lines[0].startswith("RECAP ***")
    assert lines[1].split() == [
        "web1",
        ":",
        "ok=3",
        "changed=2",
        "warnings=1",
        "failed=0",
        "skipped=0",
        "✓",
        "succeeded",
        "12.5s",
        "/logs/web1.log",
    ]
    assert "ok=0   changed=0   warnings=0   failed=1   skipped=1   ✗ failed" in lines[2]
    assert lines[3].endswith("– skipped         -  no log: never started")
    assert lines[4] == "3 hosts: 1 succeeded, 1 failed, 1 skipped in 1m15s"
    assert lines[5] == "✗ db1: Setup cancelled; completed steps stay as they are" and len(lines) == 6


def test_each_host_gets_its_own_safe_log_file_name() -> None:
    names = log_file_names(["web1", "alice@192.0.2.1:22", "[2001:db8::1]:22", "../etc", "web1", "a/b", "a_b"])
    assert names == [
        "web1.log",
        "alice_192.0.2.1_22.log",
        "_2001_db8__1__22.log",
        "_etc.log",
        "web1-2.log",
        "a_b.log",
        "a_b-2.log",
    ]


def test_the_failure_limit_counts_failed_hosts_only() -> None:
    limit = FailureLimit(2)
    for status in (HostStatus.SUCCEEDED, HostStatus.FAILED, HostStatus.WARNING, HostStatus.CANCELLED):
        limit.record(status)
    assert not limit.reached
    limit.record(HostStatus.FAILED)
    assert limit.reached
    assert not FailureLimit(None).reached


def test_a_success_with_a_warning_step_is_a_warning() -> None:
    assert final_status(result(SessionStatus.SUCCEEDED, (StepStatus.WARNING, False))) is HostStatus.WARNING
    assert final_status(result(SessionStatus.SUCCEEDED, (StepStatus.SUCCEEDED, True))) is HostStatus.SUCCEEDED
    assert final_status(result(SessionStatus.CANCELLED)) is HostStatus.CANCELLED
    assert final_status(result(SessionStatus.INTERRUPTED)) is HostStatus.FAILED
    assert duration_text(None) == "-" and duration_text(3599.0) == "59m59s"

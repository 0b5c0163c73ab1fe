"""The benchmark harness's own parsing: lines (not frames) in both frame shapes, profiles, end states."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.__main__ import override
from bench.config import FULL, Sizes
from bench.cpu_share import namespace_pids, usage_usec, weight_for
from bench.fleet_scale import layout, plan_of, stamp_seconds
from bench.peers import end_state
from bench.profile import summarise
from bench.stats import percentile
from bench.watch import Watcher, frame_lines


def test_one_line_frame_without_first_seq() -> None:
    assert frame_lines({"type": "log", "seq": 7, "message": "hello"}) == [(7, "hello")]


def test_multi_line_frame_is_split_per_seq() -> None:
    frame = {"type": "log", "first_seq": 3, "seq": 5, "message": "a\nb\nc"}
    assert frame_lines(frame) == [(3, "a"), (4, "b"), (5, "c")]


def test_connection_notice_carries_no_line() -> None:
    assert frame_lines({"type": "info", "message": "✓ 实时日志连接已建立"}) == []


def test_watcher_counts_gaps_and_duplicates_per_line() -> None:
    watcher = Watcher(None, "s")  # type: ignore[arg-type]  # no service: frames are fed by hand
    seen: list[int] = []
    watcher.on_line = lambda seq, _line, _frame, _now: seen.append(seq)
    watcher._take({"type": "log", "first_seq": 1, "seq": 3, "message": "1\n2\n3"}, 1.0)
    watcher._take({"type": "log", "first_seq": 3, "seq": 4, "message": "3\n4"}, 2.0)  # 3 again
    watcher._take({"type": "log", "seq": 6, "message": "6"}, 3.0)  # 5 missing
    watcher._take({"type": "complete", "seq": 7, "message": "done", "data": {"status": "succeeded"}}, 4.0)
    watch = watcher.watch
    assert seen == [1, 2, 3, 4, 6, 7]
    assert (watch.lines, watch.duplicates, watch.gaps, watch.multi_line_frames) == (6, 1, 1, 2)
    assert watch.status == "succeeded" and watch.complete_at == 4.0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 99) == 99.0
    assert percentile(values, 50) == 50.0


def test_profile_summary_groups_by_innermost_frame(tmp_path: Path) -> None:
    collapsed = tmp_path / "p.txt"
    collapsed.write_text(
        "main (setupwizard/cli/__init__.py:16);flush (setupwizard/live/recorder.py:64);"
        "execute (sqlalchemy/engine/base.py:10) 3\n"
        "main (setupwizard/cli/__init__.py:16);sender (setupwizard/live/relay.py:86) 1\n"
    )
    total, leaf, funcs = summarise(collapsed)
    assert total == 4
    assert leaf[1] == ["storing: SQLAlchemy", "75%"]
    assert ["`flush (live/recorder.py)`", "75%"] in funcs
    assert not any("cli/" in row[0] for row in funcs)


def test_ufw_end_state() -> None:
    active = "Status: active\n\nTo Action From\n22/tcp ALLOW Anywhere\n80/tcp ALLOW Anywhere\n"
    assert end_state(active)
    assert not end_state(active.replace("80/tcp", "81/tcp"))
    assert not end_state("Status: inactive\n")


def test_fleet_scale_layout_keeps_a_hosts_targets_in_one_lane() -> None:
    for targets, parallel in [(200, 50), (8, 4), (6, 3), (7, 3), (3, 10)]:
        hosts, ports = layout(targets, parallel)
        assert hosts * ports >= targets
        # bench.hosts.endpoints lists port by port, so target i is on host i % hosts; its lane is i % parallel
        for i in range(targets):
            for j in range(targets):
                if i % hosts == j % hosts:
                    assert i % parallel == j % parallel


def test_fleet_scale_plan_allows_every_sshd_port() -> None:
    assert plan_of(FULL, 4)["firewall_ports"] == ["80", "2201/tcp", "2202/tcp", "2203/tcp"]
    assert plan_of(FULL, 1)["packages"] == ["ufw"]
    light = plan_of(Sizes(fleet_scale_default_plan=False), 4)
    assert light["apt_update"] is False and light["firewall"] is False


def test_override_reads_false_as_false() -> None:
    assert override(FULL, ["fleet_scale_default_plan=False"]).fleet_scale_default_plan is False
    assert override(FULL, ["scale_default_steps=true"]).scale_default_steps is True
    assert override(FULL, ["fleet_scale_hosts=50"]).fleet_scale_hosts == 50


def test_cpu_share_weight_is_a_fraction_of_the_default_and_never_below_the_minimum() -> None:
    assert weight_for(1 / 64, 1024) == 16
    assert weight_for(0.0001, 1024) == 2  # cgroup v1's cpu.shares minimum
    with pytest.raises(ValueError, match="fraction"):
        weight_for(0, 1024)


def test_namespace_pids_finds_this_process_among_its_namespace() -> None:
    assert os.getpid() in namespace_pids(os.getpid())


def test_cpu_meter_reads_usage_usec_of_a_v2_cpu_stat() -> None:
    assert usage_usec("usage_usec 1250000\nuser_usec 1000000\nsystem_usec 250000\n") == 1_250_000
    with pytest.raises(RuntimeError, match="usage_usec"):
        usage_usec("user_usec 1\n")


def test_stamp_seconds_reads_the_frame_timestamp_as_utc() -> None:
    assert stamp_seconds({"timestamp": "1970-01-01T00:00:01.500000"}) == 1.5
    assert stamp_seconds({"timestamp": "not a time"}) is None
    assert stamp_seconds({}) is None

"""The step context: root commands wait for the sudo step, and output lines are tagged with the step."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from setupwizard.provisioning import MemoryKnownHosts, SetupOptions, SudoRefusedError, Target
from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.events import EventEmitter, EventType, Level, SessionEvent, StepRef
from setupwizard.provisioning.settings import PlanSettings


def context(sink: EventEmitter) -> StepContext:
    return StepContext(
        target=Target("198.18.0.250", "alice", password="pw"),
        options=SetupOptions(),
        settings=PlanSettings(),
        emitter=sink,
        known_hosts=MemoryKnownHosts(),
        cancel=asyncio.Event(),
        connect_timeout=1,
        keepalive_interval=1,
    )


async def _drop(events: Sequence[SessionEvent]) -> None:
    return None


async def test_a_root_command_before_sudo_was_checked_is_refused() -> None:
    ctx = context(EventEmitter(_drop))
    with pytest.raises(SudoRefusedError):
        await ctx.run("true", privileged=True)


async def test_output_lines_are_one_batch_tagged_with_the_current_step() -> None:
    batches: list[list[SessionEvent]] = []

    async def sink(events: Sequence[SessionEvent]) -> None:
        batches.append(list(events))

    ctx = context(EventEmitter(sink))
    ctx.step = StepRef("apt_update", 4, 6)
    await ctx.log_lines(["Get:1 x", "W: Failed to fetch y", "E: broken"])
    await ctx.log_lines(["plain", "lines"])
    # a run of lines of one level is one event carrying them all (first_seq..seq)
    assert [len(b) for b in batches] == [3, 1]
    assert [e.level for e in batches[0]] == [Level.INFO, Level.WARNING, Level.ERROR]
    assert (batches[1][0].first_seq, batches[1][0].seq, batches[1][0].message) == (4, 5, "plain\nlines")
    assert {(e.type, e.step_id, e.step_index) for b in batches for e in b} == {
        (EventType.LOG, "apt_update", 4)
    }
    assert [line.seq for b in batches for e in b for line in e.per_line()] == [1, 2, 3, 4, 5]

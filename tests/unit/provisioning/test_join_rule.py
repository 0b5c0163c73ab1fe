"""The one join rule (provisioning/events.py ``continues``), as one table, and the three places that join
runs of lines by it: the engine's events, the relay's frames and the store's rows."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from setupwizard.live import store
from setupwizard.live.relay import take_frame
from setupwizard.provisioning.events import EventEmitter, EventType, Level, SessionEvent, StepRef, continues

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def line(seq: int, **changes: Any) -> SessionEvent:
    event = SessionEvent(seq, EventType.LOG, Level.INFO, f"line {seq}", NOW, "apt_update", 1, 3)
    return replace(event, **changes)


LAST = line(5)
TABLE = [
    ("the next line of the same step and level", line(6), True),
    ("a run of lines right after", line(8, first_seq=6, message="a\nb\nc"), True),
    ("a gap in the seqs", line(7), False),
    ("the same seq again", line(5), False),
    ("another level", line(6, level=Level.WARNING), False),
    ("another step", line(6, step_id="apt_install", step_index=2), False),
    ("another step index", line(6, step_index=2), False),
    ("another step total", line(6, step_total=4), False),
    ("outside any step", line(6, step_id=None, step_index=None, step_total=None), False),
    ("a line with data", line(6, data={"status": "success"}), False),
    ("a line with a message code", line(6, code="apt.updated"), False),
    ("a line with params", line(6, params={"n": 1}), False),
    ("a step event", line(6, type=EventType.STEP), False),
    (
        "a later moment (joins; only the store needs one moment per row)",
        line(6, timestamp=NOW + timedelta(1)),
        True,
    ),
]


@pytest.mark.parametrize(("event", "joins"), [(e, j) for _, e, j in TABLE], ids=[d for d, _, _ in TABLE])
def test_the_join_rule(event: SessionEvent, joins: bool) -> None:
    assert continues(LAST, event) is joins


def test_a_last_event_that_is_not_plain_output_is_joined_by_nothing() -> None:
    assert not continues(line(5, code="apt.updated"), line(6))


@pytest.mark.parametrize(("event", "joins"), [(e, j) for _, e, j in TABLE], ids=[d for d, _, _ in TABLE])
def test_the_relay_joins_a_frame_by_the_rule(event: SessionEvent, joins: bool) -> None:
    waiting: deque[SessionEvent | None] = deque([LAST, event])
    frame, last = take_frame(waiting)
    assert (last is event) is joins
    assert frame["first_seq"] == LAST.seq and frame["seq"] == (event.seq if joins else LAST.seq)


@pytest.mark.parametrize(("event", "joins"), [(e, j) for _, e, j in TABLE], ids=[d for d, _, _ in TABLE])
def test_the_store_joins_a_row_by_the_rule_at_one_moment(event: SessionEvent, joins: bool) -> None:
    rows = store._rows("s", [LAST, event], lambda moment: moment)
    same_moment = event.timestamp == LAST.timestamp
    assert (len(rows) == 1) is (joins and same_moment)


async def test_the_engine_joins_lines_by_the_rule() -> None:
    got: list[SessionEvent] = []

    async def sink(events: Any) -> None:
        got.extend(events)

    emitter = EventEmitter(sink)
    levels = [Level.INFO, Level.INFO, Level.WARNING, Level.WARNING, Level.INFO]
    await emitter.emit_lines(["a", "b", "c", "d", "e"], levels, step=StepRef("apt_update", 1, 3))
    assert [(e.start, e.seq, e.level) for e in got] == [
        (1, 2, Level.INFO),
        (3, 4, Level.WARNING),
        (5, 5, Level.INFO),
    ]
    assert all(
        continues(a, b) for event in got for a, b in zip(event.per_line(), event.per_line()[1:], strict=False)
    )
    assert not any(continues(a, b) for a, b in itertools.pairwise(got))

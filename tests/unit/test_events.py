from __future__ import annotations

from collections.abc import Sequence

from setupwizard.provisioning.events import EventEmitter, EventType, Level, SessionEvent


async def test_emitter_numbers_events_without_gaps_and_redacts_secrets() -> None:
    seen: list[SessionEvent] = []

    async def sink(events: Sequence[SessionEvent]) -> None:
        seen.extend(events)

    emitter = EventEmitter(sink, secrets=["canary-Pw-123"])
    await emitter.emit(EventType.INFO, Level.INFO, "hello")
    await emitter.emit(EventType.LOG, Level.INFO, "echo canary-Pw-123 twice canary-Pw-123")
    assert [e.seq for e in seen] == [1, 2]
    assert "canary" not in seen[1].message
    frame = seen[1].to_frame()
    assert {"type", "message", "timestamp", "seq", "level"} <= frame.keys()
    assert SessionEvent.from_frame(frame) == seen[1]

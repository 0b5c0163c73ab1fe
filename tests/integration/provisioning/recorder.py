"""A sink that keeps every event, for assertions about the stream."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from setupwizard.provisioning import EventEmitter, EventType, SessionEvent, Target
from setupwizard.testbed.host import TestHost


class Recorder:
    """Collects events, one per seq as readers see them (an event of several lines is kept line by line);
    :attr:`emitter` feeds it. ``on_event`` runs after each event is kept."""

    def __init__(self, on_event: Callable[[SessionEvent], Awaitable[None]] | None = None) -> None:
        self.events: list[SessionEvent] = []
        self.emitter = EventEmitter(self.sink)
        self._on_event = on_event

    async def sink(self, events: Sequence[SessionEvent]) -> None:
        for batch_event in events:
            for event in batch_event.per_line():
                self.events.append(event)
                if self._on_event is not None:
                    await self._on_event(event)

    def messages(self, type_: EventType | None = None) -> list[str]:
        return [e.message for e in self.events if type_ is None or e.type is type_]

    def dump(self) -> str:
        """Every frame as JSON text (what would reach a browser)."""
        return "\n".join(json.dumps(e.to_frame(), ensure_ascii=False) for e in self.events)

    def step_events(self, step_id: str) -> list[SessionEvent]:
        return [e for e in self.events if e.type is EventType.STEP and e.step_id == step_id]

    def assert_well_formed(self) -> None:
        """seq 1..n without gaps; exactly one complete event, and it is the last."""
        assert [e.seq for e in self.events] == list(range(1, len(self.events) + 1))
        completes = [e for e in self.events if e.type is EventType.COMPLETE]
        assert len(completes) == 1
        assert self.events[-1].type is EventType.COMPLETE


def login(host: TestHost, account: str, **extra: Any) -> Target:
    """A Target for one of the test host's accounts (``root``, ``sudo_password``, ...)."""
    acct = getattr(host, account)
    return Target(host=host.address, username=acct.username, password=acct.password, **extra)

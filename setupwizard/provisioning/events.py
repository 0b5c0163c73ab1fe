"""Events the engine emits: one per output line, per step change, and one at the end.

The engine numbers events itself (``seq`` 1, 2, 3… per session, no gaps) and hands each to a sink,
an async callable. It knows nothing of WebSockets, buses or databases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """What an event is about (the seed's ``type``)."""

    INFO = "info"
    LOG = "log"
    STEP = "step"
    COMPLETE = "complete"


class Level(StrEnum):
    """How the event should be shown: colour and ✓ ⚠ ✗ marks follow from it."""

    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


def utc_now() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 in UTC with microseconds, as the seed shows: ``2024-01-01T00:00:00.000000``."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One event of one setup session.

    ``data`` carries extras: for ``step`` events the step status and duration, for the ``complete``
    event the result summary. It is never allowed to carry a secret.
    """

    seq: int
    type: EventType
    level: Level
    message: str
    timestamp: datetime
    step_id: str | None = None
    step_index: int | None = None
    step_total: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> dict[str, Any]:
        """The JSON object sent to clients: the seed's three fields plus ours."""
        frame: dict[str, Any] = {
            "type": self.type.value,
            "message": self.message,
            "timestamp": format_timestamp(self.timestamp),
            "seq": self.seq,
            "level": self.level.value,
        }
        if self.step_id is not None:
            frame["step_id"] = self.step_id
            frame["step_index"] = self.step_index
            frame["step_total"] = self.step_total
        if self.data:
            frame["data"] = self.data
        return frame

    @classmethod
    def from_frame(cls, frame: dict[str, Any]) -> SessionEvent:
        """Inverse of :meth:`to_frame` (used by the Redis bus and the event store)."""
        return cls(
            seq=int(frame["seq"]),
            type=EventType(frame["type"]),
            level=Level(frame["level"]),
            message=str(frame["message"]),
            timestamp=datetime.fromisoformat(frame["timestamp"]).replace(tzinfo=UTC),
            step_id=frame.get("step_id"),
            step_index=frame.get("step_index"),
            step_total=frame.get("step_total"),
            data=dict(frame.get("data") or {}),
        )


EventSink = Callable[[Sequence[SessionEvent]], Awaitable[None]]
"""Where events go, a batch at a time: one or more events with consecutive seqs, in order.

A chunk of output read from the server becomes one batch, so everything behind the sink (redaction,
bus publish, database write, WebSocket frame) is paid per batch, not per line. Must not block for
long: the bus behind it buffers."""


class EventEmitter:
    """Numbers events of one session and hands them to a sink, after redacting secrets.

    :param sink: async callable receiving each event in order.
    :param secrets: strings that must never leave the engine (passwords, passphrases, key text).
    """

    def __init__(self, sink: EventSink, secrets: list[str] | None = None) -> None:
        self._sink = sink
        self._seq = 0
        self._secrets = [s for s in (secrets or []) if s]

    @property
    def last_seq(self) -> int:
        """The seq of the last event emitted (0 before any)."""
        return self._seq

    def add_secret(self, secret: str | None) -> None:
        """Redact ``secret`` from every later event."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by ``********``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "********")
        return text

    async def emit(
        self,
        type: EventType,
        level: Level,
        message: str,
        *,
        step_id: str | None = None,
        step_index: int | None = None,
        step_total: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> SessionEvent:
        """Build the next event and send it to the sink."""
        self._seq += 1
        event = SessionEvent(
            seq=self._seq,
            type=type,
            level=level,
            message=self.redact(message),
            timestamp=utc_now(),
            step_id=step_id,
            step_index=step_index,
            step_total=step_total,
            data=data or {},
        )
        await self._sink((event,))
        return event

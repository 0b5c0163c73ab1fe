"""Events the engine emits: output lines, step changes, and one at the end.

The engine numbers every line and every other event itself (``seq`` 1, 2, 3… per session, no gaps) and
hands events to a sink, an async callable, a batch at a time. **One event may carry several lines:** the
lines of one chunk of output (same step, same level) are one ``log`` event whose seqs run from
``first_seq`` to ``seq`` and whose ``message`` is the lines joined by ``"\n"`` (a line never holds
``"\n"``). So a flood costs one object per chunk, not one per line, everywhere behind the sink: the bus,
the recorder and the WebSocket frames keep that shape, and a reader that resumes inside such an event
gets exactly its lines after the seq it asked for (:meth:`SessionEvent.after`). Secrets are redacted
before anything leaves the engine. It knows nothing of WebSockets, buses or databases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from setupwizard.provisioning.messages import Lang, render
from setupwizard.provisioning.redaction import Redactor


class EventType(StrEnum):
    """What an event is about (the original API's ``type``)."""

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


# The lines of one batch share one timestamp object: the last conversion each way is remembered, so
# a batch of thousands costs one conversion, not one per line (a one-entry cache, held by reference).
_formatted: list[Any] = [None, ""]
_parsed: list[Any] = ["", None]


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 in UTC with microseconds, as the original API shows it: ``2024-01-01T00:00:00.000000``."""
    if moment is _formatted[0]:
        return str(_formatted[1])
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    _formatted[:] = [moment, text]
    return text


def parse_timestamp(text: str) -> datetime:
    """Inverse of :func:`format_timestamp` (a timezone-aware UTC datetime)."""
    if text == _parsed[0]:
        moment: datetime = _parsed[1]
        return moment
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    _parsed[:] = [text, moment]
    return moment


@dataclass(slots=True)
class SessionEvent:
    """One event of one setup session. Never changed once emitted: the bus, the recorder and every
    reader share the same objects.

    ``data`` carries extras: for ``step`` events the step status and duration, for the ``complete``
    event the result summary. It is never allowed to carry a secret.

    Not ``frozen``: a frozen dataclass sets each field through ``object.__setattr__``, 3.6× slower to
    build (1.2 µs against 0.33 µs per event here), and a flood builds one per line.
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
    code: str | None = None
    params: dict[str, Any] | None = None
    first_seq: int | None = None  # a log event of several lines: the first line's seq (``seq`` is the last's)

    def text(self, lang: Lang = "zh") -> str:
        """The line in ``lang``: an event of the engine's own rendered from the catalogue (its ``message`` is
        the Chinese rendering), a line the server printed as printed."""
        if self.code is None or lang == "zh":
            return self.message
        return render(self.code, self.params, lang)

    @property
    def start(self) -> int:
        """The seq of the first line this event carries (``seq`` for a one-line event)."""
        return self.seq if self.first_seq is None else self.first_seq

    @property
    def size(self) -> int:
        """How many seqs (lines) this event carries."""
        return 1 if self.first_seq is None else self.seq - self.first_seq + 1

    def lines(self) -> list[str]:
        """The lines of the message, one per seq ``start..seq``."""
        return [self.message] if self.first_seq is None else self.message.split("\n")

    def after(self, since: int) -> SessionEvent | None:
        """The part of this event with seqs above ``since``: itself, its later lines, or None."""
        if since < self.start:
            return self
        if since >= self.seq:
            return None
        return self.part(since + 1, self.seq)

    def part(self, low: int, high: int) -> SessionEvent:
        """The lines ``low..high`` (``start <= low <= high <= seq``) as an event of their own."""
        if low == self.start and high == self.seq:
            return self
        lines = self.message.split("\n")[low - self.start : high - self.start + 1]
        return SessionEvent(
            high,
            self.type,
            self.level,
            "\n".join(lines),
            self.timestamp,
            self.step_id,
            self.step_index,
            self.step_total,
            first_seq=low if high > low else None,
        )

    def per_line(self) -> list[SessionEvent]:
        """One event per seq (what readers of the history and log.txt see)."""
        if self.first_seq is None:
            return [self]
        return [
            SessionEvent(
                seq,
                self.type,
                self.level,
                line,
                self.timestamp,
                self.step_id,
                self.step_index,
                self.step_total,
            )
            for seq, line in enumerate(self.message.split("\n"), self.first_seq)
        ]

    def to_frame(self) -> dict[str, Any]:
        """The JSON object sent to clients: the original API's three fields plus ours."""
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
        if self.code is not None:
            frame["code"] = self.code
        if self.params is not None:
            frame["params"] = self.params
        if self.first_seq is not None:
            frame["first_seq"] = self.first_seq
        return frame

    @classmethod
    def from_frame(cls, frame: dict[str, Any]) -> SessionEvent:
        """Inverse of :meth:`to_frame` (used by the Redis bus and the event store)."""
        return cls(
            seq=int(frame["seq"]),
            type=EventType(frame["type"]),
            level=Level(frame["level"]),
            message=str(frame["message"]),
            timestamp=parse_timestamp(frame["timestamp"]),
            step_id=frame.get("step_id"),
            step_index=frame.get("step_index"),
            step_total=frame.get("step_total"),
            data=dict(frame.get("data") or {}),
            code=frame.get("code"),
            params=frame.get("params"),
            first_seq=frame["first_seq"] if frame.get("first_seq", frame["seq"]) != frame["seq"] else None,
        )


def seq_count(events: Sequence[SessionEvent]) -> int:
    """How many seqs (lines and other events) ``events`` carry."""
    return sum(event.size for event in events)


EventSink = Callable[[Sequence[SessionEvent]], Awaitable[None]]
"""Where events go, a batch at a time: one or more events with consecutive seqs, in order.

A chunk of output read from the server becomes one batch (usually one multi-line event), so everything
behind the sink (redaction, bus publish, database write, WebSocket frame) is paid per chunk, not per
line. Must not block for
long: the bus behind it buffers."""


# The one rule for joining output lines: which consecutive ``log`` events are one run of lines.
#
# A run is plain output lines (``log`` events with no ``data``, ``code`` or ``params``) of one level and one
# step, with consecutive seqs. Three places join runs, each for its own reason, and all by this rule:
# the engine (:meth:`EventEmitter.emit_lines`: one event per run of a chunk of output), the relay
# (``live/relay.py``: one WebSocket frame per run waiting for a slow client) and the event store
# (``live/store.py``: one row per run, whose lines must also share one timestamp, as a row keeps one).
# Each adds only its own size limit (lines per row, characters per frame).

RunKey = tuple[Level, str | None, int | None, int | None]


def line_key(level: Level, step_id: str | None, step_index: int | None, step_total: int | None) -> RunKey:
    """The kind of a plain output line: lines of equal kinds with consecutive seqs are one run."""
    return level, step_id, step_index, step_total


def run_key(event: SessionEvent) -> RunKey | None:
    """The kind of plain output ``event`` holds, or None when it is not plain output (it runs alone)."""
    if event.type is not EventType.LOG or event.data or event.code is not None or event.params is not None:
        return None
    return line_key(event.level, event.step_id, event.step_index, event.step_total)


def continues(last: SessionEvent, event: SessionEvent) -> bool:
    """Whether ``event`` continues the run of lines that ``last`` ends."""
    if event.start != last.seq + 1:
        return False
    key = run_key(event)
    return key is not None and key == run_key(last)


@dataclass(frozen=True, slots=True)
class StepRef:
    """Which step events belong to."""

    step_id: str
    index: int
    total: int


class EventEmitter:
    """Numbers events of one session and hands them to a sink, after redacting secrets.

    :param sink: async callable receiving each event in order.
    :param secrets: strings that must never leave the engine (passwords, passphrases, key text).
    """

    def __init__(self, sink: EventSink, secrets: Sequence[str | None] | None = None) -> None:
        self._sink = sink
        self._seq = 0
        self.redactor = Redactor(secrets)

    @property
    def last_seq(self) -> int:
        """The seq of the last event emitted (0 before any)."""
        return self._seq

    def add_secret(self, secret: str | None) -> None:
        """Redact ``secret`` from every later event."""
        self.redactor.add(secret)

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by ``********``."""
        return self.redactor.redact(text)

    async def emit(
        self,
        type: EventType,
        level: Level,
        message: str,
        *,
        step_id: str | None = None,
        step_index: int | None = None,
        step_total: int | None = None,
        step: StepRef | None = None,
        data: dict[str, Any] | None = None,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> SessionEvent:
        """Build the next event and send it to the sink (``step`` tags it with a step's id, index, total)."""
        if step is not None:
            step_id, step_index, step_total = step.step_id, step.index, step.total
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
            code=code,
            params=None if params is None else self.redact_params(params),
        )
        await self._sink((event,))
        return event

    def redact_params(self, value: Any) -> Any:
        """``value`` (a str, or dicts and lists of them) with every secret replaced."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {key: self.redact_params(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact_params(item) for item in value]
        return value

    async def emit_lines(
        self, lines: Sequence[str], levels: Sequence[Level], *, step: StepRef | None = None
    ) -> list[SessionEvent]:
        """The lines as ``log`` events with consecutive seqs, redacted together, handed to the sink at once.

        Each run of lines (the join rule, :func:`continues`: here, lines of one level) is one event
        carrying them all (``first_seq``..``seq``); a line holding ``"\n"`` (none does from the line
        assembler) is an event of its own.
        """
        if not lines:
            return []
        if len(levels) != len(lines):
            raise ValueError(f"{len(lines)} lines but {len(levels)} levels")
        now = utc_now()
        step_id, index, total = (step.step_id, step.index, step.total) if step else (None, None, None)
        texts = self.redactor.redact_lines(lines)
        seq = self._seq
        events: list[SessionEvent] = []
        begin, count = 0, len(texts)
        keys = [line_key(level, step_id, index, total) for level in levels]  # the join rule (see continues)
        while begin < count:
            level, key = levels[begin], keys[begin]
            end = begin + 1
            while end < count and keys[end] == key:
                end += 1
            run = texts[begin:end]
            message = "\n".join(run)
            if end - begin > 1 and message.count("\n") != end - begin - 1:  # a line holds "\n": one each
                for text in run:
                    seq += 1
                    events.append(SessionEvent(seq, EventType.LOG, level, text, now, step_id, index, total))
            else:
                first, seq = seq + 1, seq + end - begin
                events.append(
                    SessionEvent(
                        seq,
                        EventType.LOG,
                        level,
                        message,
                        now,
                        step_id,
                        index,
                        total,
                        first_seq=first if seq > first else None,
                    )
                )
            begin = end
        self._seq = seq
        await self._sink(events)
        return events

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from setupwizard.provisioning.events import EventEmitter, EventType, Level, SessionEvent, StepRef, utc_now
from setupwizard.provisioning.terminal import MAX_LINE, LineAssembler


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


async def _drop(events: Sequence[SessionEvent]) -> None:
    return None


def test_the_longest_secret_is_redacted_whole_even_when_it_contains_a_shorter_one() -> None:
    emitter = EventEmitter(_drop, ["Winter2026", None, "Winter2026!sudo"])
    assert emitter.redact("pw Winter2026!sudo") == "pw ********"
    assert emitter.redact("a Winter2026 b Winter2026!sudo") == "a ******** b ********"
    nested = EventEmitter(_drop, ["SshPw-SECRET-1111", "SshPw-SECRET-1111-Extra99"])
    assert nested.redact("x SshPw-SECRET-1111-Extra99 y") == "x ******** y"


def test_overlapping_secrets_leak_no_part() -> None:
    emitter = EventEmitter(_drop, ["abcX", "cXYZ"])
    assert emitter.redact("__abcXYZ__") == "__********__"


async def test_emit_lines_is_one_sink_call_with_consecutive_seqs_and_one_step() -> None:
    calls: list[list[SessionEvent]] = []

    async def sink(events: Sequence[SessionEvent]) -> None:
        calls.append(list(events))

    emitter = EventEmitter(sink, secrets=["s3cret-pw"])
    await emitter.emit(EventType.INFO, Level.INFO, "start")
    step = StepRef("apt_update", 4, 7)
    lines = ["Get:1 x", "W: Failed to fetch", "echo s3cret-pw"]
    levels = [Level.INFO, Level.WARNING, Level.INFO]
    await emitter.emit_lines(lines, levels, step=step)
    await emitter.emit_lines([], [], step=step)  # nothing to send: no call
    assert len(calls) == 2
    batch = calls[1]
    assert [e.seq for e in batch] == [2, 3, 4]
    assert [e.message for e in batch] == ["Get:1 x", "W: Failed to fetch", "echo ********"]
    assert [e.level for e in batch] == levels
    assert {(e.type, e.step_id, e.step_index, e.step_total) for e in batch} == {
        (EventType.LOG, "apt_update", 4, 7)
    }
    assert emitter.last_seq == 4


async def test_a_secret_split_across_two_reads_is_redacted() -> None:
    secret = "Split-Canary-Pw-77"
    seen: list[SessionEvent] = []

    async def sink(events: Sequence[SessionEvent]) -> None:
        seen.extend(events)

    emitter = EventEmitter(sink, secrets=[secret])
    assembler = LineAssembler(secret_locator=emitter.redactor)
    data = f"echo {secret} done\r\nnext\r\n".encode()
    for cut in range(1, len(data)):
        for chunk in (data[:cut], data[cut:]):
            lines = assembler.feed(chunk)
            await emitter.emit_lines(lines, [Level.INFO] * len(lines))
    per_line = [one for e in seen for one in e.per_line()]
    assert len(per_line) == 2 * (len(data) - 1)
    assert all(secret[:6] not in e.message and secret[-6:] not in e.message for e in per_line)


async def test_a_secret_straddling_the_line_cut_is_redacted_whole() -> None:
    for secret in ("X", "X-Extra-Canary"):  # nested secrets, both registered
        seen: list[SessionEvent] = []

        async def sink(events: Sequence[SessionEvent], seen: list[SessionEvent] = seen) -> None:
            seen.extend(events)

        emitter = EventEmitter(sink, secrets=["X", "X-Extra-Canary"])
        for offset in range(1, len(secret) + 1):
            assembler = LineAssembler(secret_locator=emitter.redactor)
            text = "." * (MAX_LINE - offset) + secret + "." * 10 + "\n"
            lines = assembler.feed(text.encode()) + assembler.finish()
            await emitter.emit_lines(lines, [Level.INFO] * len(lines))
        joined = "".join(e.message for e in seen)
        assert "X" not in joined and "Extra" not in joined and "Canary" not in joined
        per_line = [one for e in seen for one in e.per_line()]
        assert all(len(e.message) <= MAX_LINE + len("********") for e in per_line)  # cut before redaction


def test_code_and_params_are_in_the_frame_only_when_set() -> None:
    plain = SessionEvent(1, EventType.INFO, Level.INFO, "hi", utc_now())
    assert "code" not in plain.to_frame() and "params" not in plain.to_frame()
    coded = SessionEvent(2, EventType.STEP, Level.SUCCESS, "✓", utc_now(), code="step.done", params={"n": 3})
    frame = coded.to_frame()
    assert frame["code"] == "step.done" and frame["params"] == {"n": 3}
    assert SessionEvent.from_frame(frame) == coded


async def test_a_run_of_one_level_is_one_event_and_other_levels_split_it() -> None:
    calls: list[list[SessionEvent]] = []

    async def sink(events: Sequence[SessionEvent]) -> None:
        calls.append(list(events))

    emitter = EventEmitter(sink, secrets=["pw-CANARY"])
    lines = ["a", "b pw-CANARY", "W: warn", "E: err", "c", "d"]
    levels = [Level.INFO, Level.INFO, Level.WARNING, Level.ERROR, Level.INFO, Level.INFO]
    events = await emitter.emit_lines(lines, levels)
    assert calls == [events]
    assert [(e.start, e.seq, e.level) for e in events] == [
        (1, 2, Level.INFO),
        (3, 3, Level.WARNING),
        (4, 4, Level.ERROR),
        (5, 6, Level.INFO),
    ]
    assert events[0].message == "a\nb ********" and events[0].first_seq == 1
    assert events[1].first_seq is None  # one line: a plain one-line event
    assert [(e.seq, e.message) for ev in events for e in ev.per_line()] == [
        (1, "a"), (2, "b ********"), (3, "W: warn"), (4, "E: err"), (5, "c"), (6, "d")
    ]  # fmt: skip
    assert emitter.last_seq == 6


async def test_a_line_holding_a_newline_is_an_event_of_its_own() -> None:
    seen: list[SessionEvent] = []

    async def sink(events: Sequence[SessionEvent]) -> None:
        seen.extend(events)

    emitter = EventEmitter(sink)
    await emitter.emit_lines(["x", "two\nparts", "y"], [Level.INFO] * 3)
    assert [(e.first_seq, e.seq, e.message) for e in seen] == [
        (None, 1, "x"), (None, 2, "two\nparts"), (None, 3, "y")
    ]  # fmt: skip


def test_a_multi_line_event_cuts_and_round_trips() -> None:
    moment = datetime.now(UTC)
    run = SessionEvent(
        14, EventType.LOG, Level.INFO, "l10\nl11\nl12\nl13\nl14", moment, "apt", 2, 5, first_seq=10
    )
    assert (run.start, run.size, run.lines()) == (10, 5, ["l10", "l11", "l12", "l13", "l14"])
    assert run.after(9) is run and run.after(14) is None and run.after(20) is None
    tail = run.after(11)
    assert tail is not None
    assert (tail.first_seq, tail.seq, tail.message, tail.step_id) == (12, 14, "l12\nl13\nl14", "apt")
    last = run.after(13)
    assert last is not None and (last.first_seq, last.seq, last.message) == (None, 14, "l14")
    assert run.part(10, 10).message == "l10" and run.part(10, 10).first_seq is None
    frame = run.to_frame()
    assert (frame["first_seq"], frame["seq"]) == (10, 14)
    assert SessionEvent.from_frame(frame) == run
    single = SessionEvent.from_frame({**frame, "first_seq": 14, "message": "l14"})
    assert single.first_seq is None and single.size == 1

from __future__ import annotations

from collections.abc import Sequence

from setupwizard.provisioning.events import EventEmitter, EventType, Level, SessionEvent, StepRef, utc_now
from setupwizard.provisioning.lines import MAX_LINE, LineAssembler


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
    assembler = LineAssembler(guard=emitter.redactor)
    data = f"echo {secret} done\r\nnext\r\n".encode()
    for cut in range(1, len(data)):
        for chunk in (data[:cut], data[cut:]):
            lines = assembler.feed(chunk)
            await emitter.emit_lines(lines, [Level.INFO] * len(lines))
    assert len(seen) == 2 * (len(data) - 1)
    assert all(secret[:6] not in e.message and secret[-6:] not in e.message for e in seen)


async def test_a_secret_straddling_the_line_cut_is_redacted_whole() -> None:
    for secret in ("X", "X-Extra-Canary"):  # nested secrets, both registered
        seen: list[SessionEvent] = []

        async def sink(events: Sequence[SessionEvent], seen: list[SessionEvent] = seen) -> None:
            seen.extend(events)

        emitter = EventEmitter(sink, secrets=["X", "X-Extra-Canary"])
        for offset in range(1, len(secret) + 1):
            assembler = LineAssembler(guard=emitter.redactor)
            text = "." * (MAX_LINE - offset) + secret + "." * 10 + "\n"
            lines = assembler.feed(text.encode()) + assembler.finish()
            await emitter.emit_lines(lines, [Level.INFO] * len(lines))
        joined = "".join(e.message for e in seen)
        assert "X" not in joined and "Extra" not in joined and "Canary" not in joined
        assert all(len(e.message) <= MAX_LINE + len("********") for e in seen)  # cut before redaction


def test_code_and_params_are_in_the_frame_only_when_set() -> None:
    plain = SessionEvent(1, EventType.INFO, Level.INFO, "hi", utc_now())
    assert "code" not in plain.to_frame() and "params" not in plain.to_frame()
    coded = SessionEvent(2, EventType.STEP, Level.SUCCESS, "✓", utc_now(), code="step.done", params={"n": 3})
    frame = coded.to_frame()
    assert frame["code"] == "step.done" and frame["params"] == {"n": 3}
    assert SessionEvent.from_frame(frame) == coded

"""The end-of-setup summary: ✓ / ⚠ / ✗ per step, durations, what changed."""

from __future__ import annotations

from setupwizard.provisioning.events import Level
from setupwizard.provisioning.messages import CATALOGUE, Msg, msg, text_msg
from setupwizard.provisioning.result import SessionStatus, SetupResult, StepStatus

_MARKS = {
    StepStatus.SUCCEEDED: "✓",
    StepStatus.UNCHANGED: "✓",
    StepStatus.WARNING: "⚠",
    StepStatus.CANCELLED: "⚠",
    StepStatus.FAILED: "✗",
}


def mark(status: StepStatus) -> str:
    """The mark of a step result (as the first page showed it): ✓ success, ⚠ warning, ✗ error, – not run."""
    return _MARKS.get(status, "–")


def level_mark(level: Level) -> str:
    """The mark a ``complete`` message starts with: ✓ success, ⚠ warning, ✗ anything else."""
    return {Level.SUCCESS: "✓", Level.WARNING: "⚠"}.get(level, "✗")


def step_name(step_id: str, name: str) -> Msg:
    """A step's name as a message (catalogued under ``step_name.<id>`` when the texts agree)."""
    code = f"step_name.{step_id}"
    if code in CATALOGUE and CATALOGUE[code][0] == name:
        return msg(code)
    return text_msg(name)


def summary_lines(result: SetupResult, outcomes: dict[str, Msg] | None = None) -> list[Msg]:
    """Readable lines, one per step, then what changed. ``outcomes``: each step's catalogued outcome."""
    if not result.steps:
        return []
    outcomes = outcomes or {}
    lines = [msg("summary.title")]
    for step in result.steps:
        name = step_name(step.id, step.name)
        outcome = outcomes.get(step.id) or text_msg(step.message)
        if step.status in (StepStatus.SKIPPED, StepStatus.PENDING):
            lines.append(msg("summary.step_not_run", mark=mark(step.status), step=name, outcome=outcome))
        else:
            seconds = f"{step.duration:.1f}"
            lines.append(
                msg("summary.step", mark=mark(step.status), step=name, outcome=outcome, seconds=seconds)
            )
    changed = [step_name(s.id, s.name) for s in result.steps if s.changed]
    unchanged = [step_name(s.id, s.name) for s in result.steps if s.status is StepStatus.UNCHANGED]
    if changed:
        lines.append(msg("summary.changed", steps=changed))
    if unchanged:
        lines.append(msg("summary.unchanged", steps=unchanged))
    return lines


def complete_event_level(result: SetupResult) -> Level:
    """success / warning (succeeded with warnings, or cancelled) / error."""
    if result.status is SessionStatus.CANCELLED:
        return Level.WARNING
    if not result.success:
        return Level.ERROR
    if any(s.status is StepStatus.WARNING for s in result.steps):
        return Level.WARNING
    return Level.SUCCESS

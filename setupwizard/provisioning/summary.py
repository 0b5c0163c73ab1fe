"""The end-of-setup summary: ✓ / ⚠ / ✗ per step, durations, what changed."""

from __future__ import annotations

from setupwizard.provisioning.events import Level
from setupwizard.provisioning.result import SetupResult, StepStatus

_MARKS = {
    StepStatus.SUCCEEDED: "✓",
    StepStatus.UNCHANGED: "✓",
    StepStatus.WARNING: "⚠",
    StepStatus.CANCELLED: "⚠",
    StepStatus.FAILED: "✗",
}


def mark(status: StepStatus) -> str:
    """The seed's mark for a step result: ✓ success, ⚠ warning, ✗ error, – not run."""
    return _MARKS.get(status, "–")


def summary_lines(result: SetupResult) -> list[str]:
    """Readable lines, one per step, then what changed."""
    if not result.steps:
        return []
    lines = ["—— 总结 ——"]
    for step in result.steps:
        took = (
            f"（{step.duration:.1f} 秒）"
            if step.status not in (StepStatus.SKIPPED, StepStatus.PENDING)
            else ""
        )
        lines.append(f"{mark(step.status)} {step.name}: {step.message}{took}")
    changed = [s.name for s in result.steps if s.changed]
    unchanged = [s.name for s in result.steps if s.status is StepStatus.UNCHANGED]
    if changed:
        lines.append("有更改: " + "、".join(changed))
    if unchanged:
        lines.append("已就绪无需更改: " + "、".join(unchanged))
    return lines


def complete_event_level(result: SetupResult) -> Level:
    """success / warning (succeeded with warnings, or cancelled) / error."""
    if result.status == "cancelled":
        return Level.WARNING
    if not result.success:
        return Level.ERROR
    if any(s.status is StepStatus.WARNING for s in result.steps):
        return Level.WARNING
    return Level.SUCCESS

"""``POST /api/setup/plan``'s answer from a plan: each step's commands with their notes, each note and check
both as English text (``note``, ``check``) and as a catalogued message the page renders in its language."""

from __future__ import annotations

import json
from typing import Any

from setupwizard.provisioning.messages import Msg
from setupwizard.provisioning.plan import Command, Plan, Step
from setupwizard.setup.schemas import PlanCommand, PlanPreview, PlanStep


def _params(said: Msg | None) -> dict[str, Any] | None:
    # a parameter may be any value the message renders: JSON gets its text
    return json.loads(json.dumps(said.params, default=str)) if said is not None else None


def _command(command: Command) -> PlanCommand:
    note = command.note
    return PlanCommand(
        run=command.run,
        note=note.text("en") if note is not None else None,
        note_code=note.code if note is not None else None,
        note_params=_params(note),
        text=command.text,
    )


def _step(step: Step) -> PlanStep:
    check = step.check
    return PlanStep(
        id=step.id,
        name=step.name,
        commands=[_command(c) for c in step.commands],
        check=check.text("en") if check is not None else None,
        check_code=check.code if check is not None else None,
        check_params=_params(check),
        policy=step.policy.value,
    )


def plan_preview(plan: Plan) -> PlanPreview:
    """The preview of ``plan`` (its ``lines`` as ``Plan.describe`` writes them, in Chinese)."""
    return PlanPreview(steps=[_step(step) for step in plan.steps], lines=plan.describe())

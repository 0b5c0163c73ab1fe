"""A setup plan as data: named steps, the commands they run, how each knows it is already done,
and what a failure means (abort the plan, or warn and go on)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from setupwizard.provisioning.messages import CATALOGUE, Lang, Msg, render
from setupwizard.provisioning.result import StepStatus
from setupwizard.provisioning.settings import PlanSettings

if TYPE_CHECKING:
    from setupwizard.provisioning.context import StepContext

__all__ = ["Plan", "PlanSettings", "Policy", "Step", "StepAction", "StepOutcome"]


class Policy(StrEnum):
    """What a failed step means for the rest of the plan."""

    ABORT = "abort"
    WARN = "warn"


@dataclass(frozen=True)
class StepOutcome:
    """What a step's action reports when it returns normally."""

    status: StepStatus
    message: str | Msg
    changed: bool = False


StepAction = Callable[["StepContext"], Awaitable[StepOutcome]]


@dataclass(frozen=True)
class Step:
    """One checklist item.

    :param id: stable identifier (``apt_update``), used in events and results.
    :param name: what a person reads.
    :param commands: the remote commands it runs, as a sysadmin would type them.
    :param check: how it finds out the work is already done (idempotence), or None.
    :param policy: abort the plan on failure, or warn and continue.
    :param action: the coroutine that does it.
    """

    id: str
    name: str
    commands: tuple[str, ...]
    check: str | None
    policy: Policy
    action: StepAction


@dataclass(frozen=True)
class Plan:
    """Steps in order."""

    steps: tuple[Step, ...]

    def describe(self, lang: Lang = "zh") -> list[str]:
        """The plan as readable text lines (for docs and the CLI), step names in ``lang``."""
        out: list[str] = []
        for index, step in enumerate(self.steps, 1):
            code = f"step_name.{step.id}"
            name = render(code, None, lang) if code in CATALOGUE else step.name
            out.append(f"{index}. {name} [{step.id}, on failure: {step.policy.value}]")
            out.extend(f"     $ {command}" for command in step.commands)
            if step.check:
                out.append(f"     check: {step.check}")
        return out

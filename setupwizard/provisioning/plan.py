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

__all__ = ["Command", "Plan", "PlanSettings", "Policy", "Step", "StepAction", "StepOutcome"]

# How a secret shows in a plan: never its value, only how it reaches the server.
PASSWORD_PLACEHOLDER = "<sudo password, sent over stdin>"


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
class Command:
    """One thing a step does, as a sysadmin reviews it before the run.

    :param run: the exact command line, built by the same function the step's action sends it with (run as
        root, see the ``sudo`` step), or an SSH login the service makes; ``""`` when the item is a note only.
    :param note: what decides at run time whether (or how) it runs: a check that finds the work done, a
        value read from the server (a catalogued message, so the preview reads it in either language).
        Never a secret.
    :param text: the whole text a command uploads (the person's own script), shown as it is.
    """

    run: str
    note: Msg | None = None
    text: str | None = None

    def note_text(self, lang: Lang = "en") -> str:
        """The note in ``lang`` ("" without one)."""
        return self.note.text(lang) if self.note is not None else ""

    def describe(self, lang: Lang = "zh") -> list[str]:
        """As indented text: ``$ run``, ``# note`` in ``lang``, then an uploaded text's lines marked ``|``."""
        # a command that writes a file's text spans lines: its continuation lines are indented to read well
        out: list[str] = []
        if self.run:
            first, *rest = self.run.split("\n")
            out += [f"     $ {first}", *(f"       {line}" for line in rest)]
        if self.note is not None:
            note = self.note.text(lang)
            out.append(f"       # {note}" if self.run else f"     # {note}")
        if self.text is not None:
            out.append("       --- begin uploaded text ---")
            out.extend(f"       | {line}" for line in self.text.splitlines())
            out.append("       --- end uploaded text ---")
        return out


@dataclass(frozen=True)
class Step:
    """One checklist item.

    :param id: stable identifier (``apt_update``), used in events and results.
    :param name: what a person reads.
    :param commands: what it runs, with the chosen values (see :class:`Command`).
    :param check: how it finds out the work is already done (idempotence, a catalogued message), or None.
    :param policy: abort the plan on failure, or warn and continue.
    :param action: the coroutine that does it.
    """

    id: str
    name: str
    commands: tuple[Command, ...]
    check: Msg | None
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
            for command in step.commands:
                out.extend(command.describe(lang))
            if step.check is not None:
                out.append(f"     check: {step.check.text(lang)}")
        return out

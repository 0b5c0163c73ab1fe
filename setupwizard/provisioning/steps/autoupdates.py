"""Optional step: automatic security updates with unattended-upgrades.

Installs ``unattended-upgrades``, writes ``/etc/apt/apt.conf.d/20auto-upgrades`` (what
``dpkg-reconfigure unattended-upgrades`` writes when one answers yes), and proves it: ``apt-config
dump`` must show both periodic settings as ``"1"`` and ``unattended-upgrade --dry-run`` must succeed.
"""

from __future__ import annotations

import shlex

from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.plan import Command, Policy, Step, StepOutcome
from setupwizard.provisioning.result import StepStatus
from setupwizard.provisioning.steps.apt import (
    APT_ENV,
    apt_or_settle,
    install_command,
    installed_query,
    parse_installed,
)

CONFIG = "/etc/apt/apt.conf.d/20auto-upgrades"
SETTINGS = ("APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade")
CONTENT = "".join(f'{name} "1";\n' for name in SETTINGS)
DUMP = "apt-config dump"
DRY_RUN = "unattended-upgrade --dry-run"
_MARK = "--- setupwizard:dump"
WRITE = f"printf '%s' {shlex.quote(CONTENT)} > {CONFIG}.tmp && mv {CONFIG}.tmp {CONFIG}"
DRY_RUN_COMMAND = APT_ENV + DRY_RUN


def enabled_in_dump(lines: list[str]) -> bool:
    """``apt-config dump`` sets both periodic settings to ``"1"``."""
    values = {}
    for line in lines:
        name, _, value = line.strip().partition(" ")
        values[name] = value
    return all(values.get(name) == '"1";' for name in SETTINGS)


def split_state(lines: list[str]) -> tuple[str, list[str]]:
    """The config file's text and the ``apt-config dump`` lines, from :data:`STATE`'s output."""
    if _MARK not in lines:
        return "", []
    at = lines.index(_MARK)
    return "".join(line + "\n" for line in lines[:at]), lines[at + 1 :]


STATE = f"cat {CONFIG} 2>/dev/null; echo '{_MARK}'; {DUMP} 2>/dev/null | grep '^APT::Periodic::'; true"


async def configure_auto_updates(ctx: StepContext) -> StepOutcome:
    """Install unattended-upgrades and enable it, unless it is installed and enabled already."""
    present = "unattended-upgrades" in parse_installed(
        (await ctx.run(installed_query(["unattended-upgrades"]), quiet=True)).lines
    )
    if present:
        content, dump = split_state((await ctx.run(STATE, quiet=True)).lines)
        if content == CONTENT and enabled_in_dump(dump):
            return StepOutcome(StepStatus.UNCHANGED, msg("auto_updates.unchanged"))
    else:
        await apt_or_settle(
            ctx,
            install_command(["unattended-upgrades"]),
            msg("action.command", command="apt-get install"),
            time_limit=1800,
        )
    await ctx.run_or_fail(WRITE, msg("action.write_file", path=CONFIG))
    _, dump = split_state((await ctx.run(STATE, quiet=True)).lines)
    if not enabled_in_dump(dump):
        return StepOutcome(StepStatus.FAILED, msg("auto_updates.not_enabled"))
    await ctx.run_or_fail(
        DRY_RUN_COMMAND, msg("action.command", command="unattended-upgrade --dry-run"), time_limit=1800
    )
    return StepOutcome(StepStatus.SUCCEEDED, msg("auto_updates.done"), changed=True)


def auto_updates_step() -> Step:
    """The automatic security updates step."""
    return Step(
        id="auto_updates",
        name="自动安全更新 (unattended-upgrades)",
        commands=(
            Command(install_command(["unattended-upgrades"]), msg("plan.note.install_if_missing")),
            Command(WRITE, msg("plan.note.autoupdates_write")),
            Command(STATE, msg("plan.note.autoupdates_state")),
            Command(DRY_RUN_COMMAND, msg("plan.note.must_exit_0")),
        ),
        check=msg("plan.check.autoupdates", config=CONFIG, dump=DUMP),
        policy=Policy.ABORT,
        action=configure_auto_updates,
    )

"""Step 6: the user's own script, uploaded to a private temp file and run as root, output streamed."""

from __future__ import annotations

import shlex
from contextlib import suppress

from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.errors import ConnectError
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.plan import Command, Policy, Step, StepOutcome
from setupwizard.provisioning.remote import UPLOAD
from setupwizard.provisioning.result import StepStatus

TEMP_FILE = "/tmp/setupwizard.XXXXXXXX"  # noqa: S108  (how the plan names the file mktemp makes)


def run_command(path: str) -> str:
    """Run the uploaded script with bash (as root, like every step command)."""
    return f"bash -- {shlex.quote(path)}"


def remove_command(path: str) -> str:
    """Delete the uploaded script (as the login user, no PTY)."""
    return f"rm -f -- {shlex.quote(path)}"


async def run_script(ctx: StepContext) -> StepOutcome:
    """Upload the script (no PTY, so nothing is echoed), run it with bash as root, then delete it."""
    script = ctx.options.script or ""
    path = await ctx.remote.upload(script)
    try:
        await ctx.run_or_fail(run_command(path), msg("action.script"))
    finally:
        with suppress(ConnectError):  # cleanup is best effort; the step's own outcome matters
            await ctx.remote.capture(remove_command(path))
    return StepOutcome(StepStatus.SUCCEEDED, msg("script.done"), changed=True)


def script_step(script: str) -> Step:
    """The script step; the preview shows the script itself, as it is uploaded."""
    return Step(
        id="script",
        name="运行自定义脚本",
        commands=(
            Command(
                f"bash -c {shlex.quote(UPLOAD)}",
                msg("plan.note.script_upload", file=TEMP_FILE),
                text=script,
            ),
            Command(run_command(TEMP_FILE), msg("plan.note.script_run")),
            Command(remove_command(TEMP_FILE), msg("plan.note.script_remove")),
        ),
        check=None,
        policy=Policy.ABORT,
        action=run_script,
    )

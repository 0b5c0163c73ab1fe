"""Step 6: the user's own script, uploaded to a private temp file and run as root, output streamed."""

from __future__ import annotations

import shlex
from contextlib import suppress

from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.errors import ConnectError
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.plan import Policy, Step, StepOutcome
from setupwizard.provisioning.result import StepStatus


async def run_script(ctx: StepContext) -> StepOutcome:
    """Upload the script (no PTY, so nothing is echoed), run it with bash as root, then delete it."""
    script = ctx.options.script or ""
    path = await ctx.remote.upload(script)
    quoted = shlex.quote(path)
    try:
        await ctx.must(f"bash -- {quoted}", "自定义脚本")
    finally:
        with suppress(ConnectError):  # cleanup is best effort; the step's own outcome matters
            await ctx.remote.read(f"rm -f -- {quoted}")
    return StepOutcome(StepStatus.SUCCEEDED, msg("script.done"), changed=True)


SCRIPT = Step(
    id="script",
    name="运行自定义脚本",
    commands=(
        "cat > /tmp/setupwizard.XXXXXXXX  # upload, mode 600",
        "sudo bash -- /tmp/setupwizard.XXXXXXXX",
    ),
    check=None,
    policy=Policy.ABORT,
    action=run_script,
)

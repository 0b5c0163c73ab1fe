"""A cancel during apt never leaves dpkg half done.

Interrupting apt while dpkg unpacks leaves packages unpacked but not configured (``dpkg --audit`` lists
them), and the server's next apt run refuses until someone runs ``dpkg --configure -a``. Measured on the
test hosts: after Ctrl-C and TERM, apt-get and dpkg go on anyway once the session is gone. So a cancelled
apt command is let finish: the step waits for every apt/dpkg process to end (saying so, with the seconds
left, every :data:`COUNTDOWN_SECONDS`), up to :data:`SETTLE_SECONDS`; then, if ``dpkg --audit`` still
reports anything, it runs ``dpkg --configure -a``. The step's cancelled message says which was done and in
what state the packages are.
"""

from __future__ import annotations

import asyncio
import re

from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.events import Level
from setupwizard.provisioning.messages import Msg, msg

SETTLE_SECONDS = 900.0
"""The longest a cancelled step waits for the running apt/dpkg (a big install configures for minutes)."""
COUNTDOWN_SECONDS = 10.0
AUDIT = "LC_ALL=C dpkg --audit"
_PACKAGE_LINE = re.compile(r"^ ([a-z0-9][a-z0-9+.-]*(?::[a-z0-9]+)?)\s")


def audit_packages(lines: list[str]) -> list[str]:
    """The package names ``dpkg --audit`` lists (its lines that start with one space and a name)."""
    return [m.group(1) for line in lines if (m := _PACKAGE_LINE.match(line))]


async def settle_packages(ctx: StepContext, busy_check: str, configure: str) -> Msg:
    """After a cancel: let apt/dpkg finish, repair what it left, and say so (the step's message).

    Runs with cancel ignored (the person already cancelled; this is the way out).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    next_countdown = loop.time() + COUNTDOWN_SECONDS
    with ctx.remote.uncancellable():
        await ctx.tell(msg("apt.cancel_waiting", seconds=round(SETTLE_SECONDS)), Level.WARNING)
        who = ""
        while True:
            check = await ctx.run(busy_check, quiet=True)  # waits on the server up to a few seconds
            if check.exit_status == 0:
                who = ""
                break
            who = " ".join(check.lines).strip() or "apt/dpkg"
            now = loop.time()
            if now >= deadline:
                break
            if now >= next_countdown:
                next_countdown = now + COUNTDOWN_SECONDS
                await ctx.tell(msg("apt.cancel_countdown", who=who, seconds=round(deadline - now)))
        if who:
            return msg(
                "step.cancelled_packages",
                how=msg("apt.settle_timed_out"),
                state=msg("apt.state_busy", who=who),
            )
        unfinished = audit_packages((await ctx.run(AUDIT, quiet=True)).lines)
        how = msg("apt.settle_waited")
        if unfinished:
            await ctx.tell(msg("apt.cancel_configure"), Level.WARNING)
            await ctx.run(configure, time_limit=SETTLE_SECONDS)
            unfinished = audit_packages((await ctx.run(AUDIT, quiet=True)).lines)
            how = msg("apt.settle_configured")
    if unfinished:
        state = msg("apt.state_broken", packages=", ".join(unfinished[:10]))
    else:
        state = msg("apt.state_ok")
    return msg("step.cancelled_packages", how=how, state=state)

"""Confirm-or-revert for the SSH hardening, like ``commit confirmed`` on routers.

When this run cannot prove the new login itself (the admin user's pasted key, whose private half only
the person holds) and the plan says ``ssh_hardening.confirm_login``, the hardening step applies the
settings, then waits: one event tells the person the exact ``ssh -p PORT user@host`` line to try from
their own terminal and the deadline (``data.confirm_login``: ``command``, ``deadline``, ``seconds``).

- Confirmed in time (``POST /api/setup/sessions/{id}/confirm-login``, or the CLI's prompt): kept.
- Not confirmed in time, or the setup cancelled meanwhile: rolled back over the still-open connection,
  as a failed proof is.
- The connection died meanwhile: the server's own revert timer (armed for the wait as well) rolls back.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from setupwizard.provisioning.context import StepContext
from setupwizard.provisioning.errors import ConnectionLostError
from setupwizard.provisioning.events import EventType, Level
from setupwizard.provisioning.messages import msg, text_msg
from setupwizard.provisioning.target import Target

DATA_FIELD = "confirm_login"
"""The key of the waiting event's ``data`` the page and the CLI look for."""


class Confirmation(StrEnum):
    """How the wait ended."""

    CONFIRMED = "confirmed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


def ssh_line(login: Target) -> str:
    """The command the person runs from their own terminal to try the new login."""
    return f"ssh -p {login.port} {shlex.quote(f'{login.username}@{login.host}')}"


def revert_window(ctx: StepContext) -> float:
    """Seconds the server's revert timer must wait: the confirm window plus the usual margin."""
    hardening = ctx.options.ssh_hardening
    extra = hardening.confirm_timeout if hardening is not None else 0.0
    return ctx.settings.ssh_revert_after + extra


async def wait_for_person(ctx: StepContext, login: Target, needs_root: bool) -> Confirmation:
    """Tell the person what to try and by when, then wait for their confirmation, a cancel or the
    deadline. :raises ConnectionLostError: the run's connection closed meanwhile."""
    hardening = ctx.options.ssh_hardening
    assert hardening is not None
    seconds = hardening.confirm_timeout
    deadline = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")
    deadline = deadline.replace("+00:00", "Z")
    command = ssh_line(login)
    root = msg("hardening.confirm_root") if needs_root else text_msg("")
    shown = int(seconds) if float(seconds).is_integer() else seconds
    line = msg("hardening.confirm_wait", command=command, root=root, seconds=shown, deadline=deadline)
    await ctx.emitter.emit(
        EventType.INFO,
        Level.WARNING,
        str(line),
        step=ctx.step,
        data={DATA_FIELD: {"command": command, "deadline": deadline, "seconds": seconds}},
        code=line.code,
        params=line.params,
    )
    waits = {
        Confirmation.CONFIRMED: asyncio.ensure_future(ctx.confirm.wait()),
        Confirmation.CANCELLED: asyncio.ensure_future(ctx.cancel.wait()),
    }
    closed = asyncio.ensure_future(ctx.remote.conn.wait_closed())
    try:
        await asyncio.wait([*waits.values(), closed], timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in [*waits.values(), closed]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if ctx.confirm.is_set():
        return Confirmation.CONFIRMED
    if ctx.cancel.is_set():
        return Confirmation.CANCELLED
    if closed.done() and not closed.cancelled():
        revert = round(revert_window(ctx))
        raise ConnectionLostError(msg("hardening.confirm_connection_lost", seconds=revert))
    return Confirmation.TIMED_OUT

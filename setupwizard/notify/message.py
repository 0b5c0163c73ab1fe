"""What a notification says: the server, the status, the failed step, its last lines, a link.

Every text is taken from the run's own events, which the engine redacted already; it goes through the
run's redactor once more here, since a notification leaves the service for a third party.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from setupwizard.provisioning.events import SessionEvent
from setupwizard.provisioning.result import SessionStatus

LAST_LINES = 10
LINE_CHARS = 300

NOTIFIED_FAILED = frozenset({SessionStatus.FAILED.value, SessionStatus.INTERRUPTED.value})
"""Statuses a "failed" rule covers; a run cancelled by its owner is nobody's news."""


@dataclass(frozen=True)
class SessionEnd:
    """A finished session as a notification tells of it (no secret: every text is redacted)."""

    session_id: str
    owner_id: int
    server: str
    status: str
    message: str
    failed_step: str | None
    last_lines: tuple[str, ...]

    @property
    def succeeded(self) -> bool:
        return self.status == SessionStatus.SUCCEEDED.value

    @property
    def notified(self) -> bool:
        """Whether any rule covers this status."""
        return self.succeeded or self.status in NOTIFIED_FAILED


def _failed_step(data: dict[str, Any]) -> str | None:
    for step in data.get("steps") or []:
        if isinstance(step, dict) and step.get("status") == "failed":
            return f"{step.get('name', '')} ({step.get('id', '')})"
    return None


def session_end(
    session_id: str,
    owner_id: int,
    server: str,
    complete: SessionEvent,
    logs: Sequence[str],
    redact: Callable[[str], str],
) -> SessionEnd:
    """The end of a run from its ``complete`` event and its log lines (the last ones are kept)."""
    data = complete.data
    tail = [line for line in logs[-(LAST_LINES + 1) :] if line != complete.message][-LAST_LINES:]
    return SessionEnd(
        session_id=session_id,
        owner_id=owner_id,
        server=server,
        status=str(data.get("status", SessionStatus.FAILED.value)),
        message=redact(str(data.get("message", complete.message)))[:LINE_CHARS],
        failed_step=_failed_step(data),
        last_lines=tuple(redact(line)[:LINE_CHARS] for line in tail),
    )


def session_link(public_url: str, session_id: str) -> str:
    """Where the session's log is read: on the history page under the public URL, or just its id."""
    if not public_url:
        return session_id
    return f"{public_url.rstrip('/')}/history?session={session_id}"


def render(end: SessionEnd, public_url: str) -> tuple[str, str]:
    """The notification's title and body (plain text)."""
    word = "succeeded · 设置成功" if end.succeeded else f"{end.status} · 设置失败"
    title = f"Setup Wizard: {end.server} {word}"
    lines = [f"Server: {end.server}", f"Status: {end.status}", f"Message: {end.message}"]
    if end.failed_step:
        lines.append(f"Failed step: {end.failed_step}")
    if end.last_lines and not end.succeeded:
        lines += ["Last lines:", *(f"  {line}" for line in end.last_lines)]
    lines.append(f"Session: {session_link(public_url, end.session_id)}")
    return title, "\n".join(lines)


def trial_notice(target_name: str, public_url: str) -> tuple[str, str]:
    """The text of a "send test" notification."""
    where = public_url or "Setup Wizard"
    return (
        "Setup Wizard: test notification · 测试通知",
        f"This is a test of the notification target {target_name!r} from {where}.",
    )

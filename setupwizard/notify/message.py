"""What a notification says: the server, the status, the failed step, its last lines, a link; or, for a
fleet, its name, status, how many hosts ended how, the first failed hosts and a link to the fleet view.

Every text is taken from the run's own events, which the engine redacted already; it goes through the
run's redactor once more here, since a notification leaves the service for a third party. A fleet's
message quotes no line at all: host names, ports, statuses and reason codes only.
"""

from __future__ import annotations

from collections import Counter
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


FLEET_SHOWN_HOSTS = 5
"""How many failed hosts a fleet's message names (the rest are counted)."""
FLEET_NAME_CHARS = 128
_HOST_WORDS = {
    "succeeded": "成功",
    "failed": "失败",
    "interrupted": "中断",
    "log_incomplete": "日志不完整",
    "cancelled": "取消",
    "skipped": "跳过",
}
_FLEET_WORDS = {"done": "已结束", "cancelled": "已取消", "interrupted": "已中断"}


@dataclass(frozen=True)
class FleetHostEnd:
    """One host of an ended fleet: where, and how it ended (``reason``: a code, never a line)."""

    host: str
    port: int
    status: str
    reason: str = ""


@dataclass(frozen=True)
class FleetEnd:
    """An ended fleet as its one notification tells of it (``status``: done, cancelled or interrupted)."""

    fleet_id: str
    owner_id: int
    name: str
    status: str
    hosts: tuple[FleetHostEnd, ...]  # in the request's order

    @property
    def succeeded(self) -> bool:
        """The ``on_succeeded`` rule: the fleet ran to its end and every host succeeded. Any other end
        (a host failed, interrupted, skipped, cancelled, or the fleet cancelled or cut short) is for
        ``on_failed``: a fleet that did not wholly succeed leaves servers in different states."""
        ok = SessionStatus.SUCCEEDED.value
        return self.status == "done" and bool(self.hosts) and all(h.status == ok for h in self.hosts)

    def counts(self) -> dict[str, int]:
        """Hosts per end status: the usual ones in a fixed order, then any other, none with 0."""
        counted = Counter(host.status for host in self.hosts)
        order = [*_HOST_WORDS, *sorted(set(counted) - set(_HOST_WORDS))]
        return {status: counted[status] for status in order if counted[status]}

    def failed_hosts(self) -> list[FleetHostEnd]:
        """The hosts that failed or were interrupted, in the request's order (what ``stop_after_failures``
        counts; a skipped or cancelled host did not fail, and a log_incomplete one's server part succeeded:
        those are counted only)."""
        return [host for host in self.hosts if host.status in NOTIFIED_FAILED]


def fleet_link(public_url: str, fleet_id: str) -> str:
    """Where the fleet is seen: its view under the public URL, or just its id."""
    if not public_url:
        return fleet_id
    return f"{public_url.rstrip('/')}/fleets/{fleet_id}"


def _fleet_name(name: str) -> str:
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())
    return flat[:FLEET_NAME_CHARS] or "?"


def render_fleet(end: FleetEnd, public_url: str) -> tuple[str, str]:
    """A fleet's notification: title and body (plain text), in English and Chinese."""
    name = _fleet_name(end.name)
    counts = end.counts()
    english = ", ".join(f"{count} {status}" for status, count in counts.items())
    chinese = "，".join(f"{_HOST_WORDS.get(status, status)} {count}" for status, count in counts.items())
    said = _FLEET_WORDS.get(end.status, end.status)
    if end.succeeded:
        title = f"Setup Wizard: fleet {name} succeeded: {english} · 批量设置 {name} 全部成功"
    else:
        title = f"Setup Wizard: fleet {name} ended {end.status}: {english}"
        title += f" · 批量设置 {name} {said}：{chinese}"
    lines = [
        f"Fleet: {name}",
        f"Status: {end.status} · {said}",
        f"Hosts: {len(end.hosts)}: {english} · 共 {len(end.hosts)} 台：{chinese}",
    ]
    failed = end.failed_hosts()
    if failed:
        lines.append("Failed hosts · 失败的服务器:")
        for host in failed[:FLEET_SHOWN_HOSTS]:
            reason = f" ({host.reason})" if host.reason else ""
            lines.append(f"  {host.host}:{host.port} {host.status}{reason}")
        if len(failed) > FLEET_SHOWN_HOSTS:
            more = len(failed) - FLEET_SHOWN_HOSTS
            lines.append(f"  … and {more} more · 另有 {more} 台")
    lines.append(f"Fleet view: {fleet_link(public_url, end.fleet_id)}")
    return title, "\n".join(lines)

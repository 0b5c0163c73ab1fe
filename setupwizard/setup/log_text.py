"""The ``log.txt`` download of a session: a header, then one line per stored event, in the reader's language
(the service's own lines are catalogued messages; what the server printed stays as printed)."""

from __future__ import annotations

from setupwizard.db.models import SetupSession
from setupwizard.provisioning.events import SessionEvent, format_timestamp
from setupwizard.provisioning.messages import CATALOGUE, Lang, render


def log_header(row: SetupSession, lang: Lang = "zh") -> list[str]:
    """The first lines: the session, the server, the status, a blank line."""
    status_code = f"log.status.{row.status}"
    status = render(status_code, None, lang) if status_code in CATALOGUE else row.status
    return [
        render("log.session", {"id": row.id}, lang),
        render("log.server", {"server": f"{row.username}@{row.host}:{row.port}"}, lang),
        render("log.status", {"status": status}, lang),
        "",
    ]


def format_log_line(event: SessionEvent, lang: Lang = "zh") -> str:
    """One line: time, level, the event's text in ``lang``."""
    stamp = format_timestamp(event.timestamp)
    return f"{stamp} [{event.level.value}] {event.text(lang)}"


def log_text(row: SetupSession, events: list[SessionEvent], lang: Lang = "zh") -> str:
    """The whole file."""
    return "\n".join(log_header(row, lang) + [format_log_line(event, lang) for event in events]) + "\n"

"""A fleet host's last line keeps its message code: rendered in English for the service's own lines, as
printed for the server's, stored beside the text in the host's row and in the progress event (real SQLite)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

from setupwizard.db.database import Database
from setupwizard.db.models import Fleet, FleetHost, utc_now
from setupwizard.fleets import repository
from setupwizard.fleets.hosts import final_line, never_ran, unrun_code
from setupwizard.fleets.last_line import MAX_CHARS, LastLine, error_msg
from setupwizard.fleets.progress import FleetProgress
from setupwizard.fleets.views import host_out
from setupwizard.provisioning.errors import ConnectError
from setupwizard.provisioning.events import EventType, Level, SessionEvent
from setupwizard.provisioning.messages import msg, render, text_msg
from setupwizard.provisioning.result import SessionStatus, SetupResult
from setupwizard.setup.running import SetupRunningError
from setupwizard.setup.schemas import SetupResponse
from setupwizard.setup.session_end import complete_event

CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def event(message: str, code: str | None = None, params: dict[str, object] | None = None) -> SessionEvent:
    return SessionEvent(7, EventType.LOG, Level.INFO, message, utc_now(), code=code, params=params)


def test_a_printed_line_has_no_code_and_reads_as_printed_in_english() -> None:
    line = LastLine.of_event(event("Reading package lists…\nSetting up nginx 软件包"))
    assert line == LastLine("Setting up nginx 软件包")
    assert line.text_in("en") == line.text_in("zh") == "Setting up nginx 软件包"
    assert line.frame() == {"last_line": "Setting up nginx 软件包"}
    assert line.columns() == {"last_line": line.text, "last_line_code": None, "last_line_params": None}


def test_a_line_of_the_engine_keeps_its_code_and_renders_in_english() -> None:
    said = msg("run.complete", mark="✗", result=msg("run.interrupted"))
    line = LastLine.of_event(event(str(said), said.code, said.params))
    assert line.text == "✗ 设置被中断" and line.code == "run.complete"
    assert line.text_in("zh") == line.text
    assert line.text_in("en") == "✗ Setup interrupted"
    assert line.frame() == {
        "last_line": line.text,
        "last_line_code": "run.complete",
        "last_line_params": said.params,
    }


def test_a_very_long_line_is_cut_but_keeps_its_code() -> None:
    line = LastLine.of_event(event("x" * (MAX_CHARS + 50)))
    assert len(line.text) == MAX_CHARS
    said = text_msg("y" * (MAX_CHARS + 1))
    assert LastLine.of_msg(said) == LastLine("y" * MAX_CHARS)  # an uncatalogued text: no code


def test_never_ran_reasons_read_in_both_languages() -> None:
    for reason in ("fleet_cancelled", "stop_after_failures"):
        line = LastLine.of_msg(never_ran(reason))
        assert line.code == f"fleet.never_ran.{reason}" and CJK.search(line.text)
        english = line.text_in("en")
        assert english and not CJK.search(english), english
    assert LastLine.of_msg(never_ran("stop_after_failures")).text_in("en").startswith("Skipped")
    assert unrun_code(never_ran("fleet_cancelled")) == {
        "code": "fleet.never_ran.fleet_cancelled",
        "params": {},
    }
    assert unrun_code(text_msg("OperationalError")) == {}
    assert LastLine.of_msg(never_ran("some_new_reason")) == LastLine("some_new_reason")  # as before: its name


def test_a_refused_start_says_why_in_english_too() -> None:
    busy = error_msg(SetupRunningError("198.18.0.10", 22, None))
    assert busy.code == "error.setup_running"
    assert str(busy) == str(SetupRunningError("198.18.0.10", 22, None))  # the 409's detail, unchanged
    assert busy.text("en") == "198.18.0.10:22 is being set up already; wait until that setup ends"
    refused = error_msg(ConnectError(msg("error.unreachable", host="h", port=22)))
    assert refused.code == "error.unreachable" and not CJK.search(refused.text("en"))


def test_the_end_falls_back_to_the_setups_message_with_its_code() -> None:
    said = msg("run.cancelled")
    body = {"success": False, "session_id": "s", "message": str(said), "status": "cancelled", "logs": []}
    response = SetupResponse.model_validate({**body, "code": said.code, "params": said.params})
    assert final_line(None, response) == LastLine(str(said), "run.cancelled", {})
    assert final_line(LastLine(""), response).text_in("en") == render("run.cancelled", {}, "en")
    watched = LastLine("apt output")
    assert final_line(watched, response) is watched
    assert final_line(None, SetupResponse.model_validate(body)) == LastLine(str(said))
    assert final_line(None, None) == LastLine()


def test_a_never_ran_sessions_complete_event_has_its_code() -> None:
    said = never_ran("stop_after_failures")
    result = SetupResult(message=str(said), status=SessionStatus.SKIPPED, **unrun_code(said))
    final = complete_event(1, result)
    assert final.code == "run.complete" and final.params is not None
    assert render(final.code, final.params) == final.message  # the Chinese is the seed's message, as before
    assert final.text("en").endswith("the fleet reached its failure limit before this host started")
    # a message that no longer reads as its code (redacted) keeps no code
    hidden = complete_event(1, result, redact=lambda text: text.replace("跳过", "********"))
    assert hidden.code is None and hidden.params is None


async def test_the_row_and_the_event_keep_the_code_and_the_view_shows_it(
    db: Database, make_user: Callable[[], Awaitable[int]]
) -> None:
    owner = await make_user()
    fleet_id = str(uuid.uuid4())
    fleet = Fleet(
        id=fleet_id,
        owner_id=owner,
        name="f",
        plan={},
        parallel=1,
        stop_after_failures=1,
        accept_new_host_keys=False,
        status="running",
        cancelled=False,
        created_at=utc_now(),
        last_seq=0,
    )
    hosts = [
        FleetHost(
            fleet_id=fleet_id,
            position=position,
            host=f"h{position}",
            port=22,
            username="u",
            session_id=str(uuid.uuid4()),
            attempt=1,
            earlier_sessions=[],
            status="queued",
            reason="",
            step_index=0,
            step_total=0,
            step_name="",
            last_line="",
        )
        for position in range(2)
    ]
    async with db.session() as session:
        await repository.insert_fleet(session, fleet, hosts)
    progress = FleetProgress(db)
    skipped = LastLine.of_msg(never_ran("stop_after_failures"))
    frame = {"type": "host", "status": "skipped", "session_id": hosts[1].session_id}
    await progress.host_changed(fleet_id, 1, frame, skipped, status="skipped", reason="stop_after_failures")
    printed = LastLine("Setting up nginx")
    await progress.host_changed(fleet_id, 0, {"type": "step", "step_index": 1}, printed, step_index=1)
    async with db.session() as session:
        rows = {h.position: h for h in await repository.hosts_of(session, fleet_id)}
        events = await repository.events_after(session, fleet_id, 0)
    shown = host_out(rows[1], progress)
    assert (shown.last_line, shown.last_line_code, shown.last_line_params) == (
        skipped.text,
        "fleet.never_ran.stop_after_failures",
        {},
    )
    assert events[0]["last_line_code"] == "fleet.never_ran.stop_after_failures"
    assert events[0]["last_line"] == skipped.text and events[0]["status"] == "skipped"
    assert "last_line_code" not in events[1] and events[1]["last_line"] == "Setting up nginx"
    assert host_out(rows[0], progress).last_line_code is None
    # a running host shows the newest line of this process's memory, with its code
    rows[0].status = "running"
    progress.last_lines[(fleet_id, 0)] = LastLine.of_msg(msg("run.interrupted"))
    assert host_out(rows[0], progress).last_line_code == "run.interrupted"

"""The database fault gate: the first fault is logged, then at most once a minute, and recovery is said."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from setupwizard.db.faults import (
    DatabaseFaults,
    RepeatedFaultFilter,
    describe,
    is_database_fault,
    is_unique_violation,
)


def disk_full() -> OperationalError:
    return OperationalError(
        "INSERT INTO t VALUES (?)", ("secret-param",), sqlite3.OperationalError("database or disk is full")
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_lasting_fault_is_logged_once_then_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    faults = DatabaseFaults(clock=clock)
    caplog.set_level(logging.INFO, logger="setupwizard.db.faults")
    for _ in range(240):  # four a second for a minute, as the event recorder would
        faults.record(disk_full())
        clock.now += 0.25
    faults.record(disk_full())
    assert [r.levelname for r in caplog.records] == ["ERROR", "ERROR"]
    assert "database or disk is full" in caplog.records[0].getMessage()
    assert "secret-param" not in caplog.text and "INSERT" not in caplog.text
    faults.clear()
    assert caplog.records[-1].getMessage() == "The database works again"
    assert not faults.active


def test_fault_tracebacks_of_other_loggers_pass_once_a_minute() -> None:
    clock = Clock()
    gate = RepeatedFaultFilter(DatabaseFaults(clock=clock))

    def record(exc: BaseException | None) -> logging.LogRecord:
        info = (type(exc), exc, None) if exc else None
        return logging.LogRecord("setupwizard.live.recorder", logging.ERROR, "", 0, "flush failed", (), info)

    assert gate.filter(record(disk_full())) is True
    assert gate.filter(record(disk_full())) is False
    assert gate.filter(record(ValueError("a bug"))) is True  # other errors are never hidden
    assert gate.filter(record(None)) is True
    clock.now += 60
    assert gate.filter(record(disk_full())) is True


def test_faults_are_recognised_through_their_cause_and_described_without_sql() -> None:
    try:
        try:
            raise disk_full()
        except OperationalError as exc:
            raise RuntimeError("flush failed") from exc
    except RuntimeError as wrapped:
        assert is_database_fault(wrapped)
    assert not is_database_fault(ValueError("x"))
    assert describe(disk_full()) == "OperationalError: database or disk is full"


@pytest.mark.parametrize(
    ("driver_error", "unique"),
    [
        (sqlite3.IntegrityError("UNIQUE constraint failed: setup_presets.user_id, setup_presets.name"), True),
        (sqlite3.IntegrityError("NOT NULL constraint failed: setup_presets.name"), False),
        (sqlite3.IntegrityError("FOREIGN KEY constraint failed"), False),
        (type("UniqueViolation", (Exception,), {"sqlstate": "23505"})("duplicate key"), True),
        (type("ForeignKeyViolation", (Exception,), {"sqlstate": "23503"})("violates foreign key"), False),
    ],
)
def test_only_a_unique_index_refusing_a_row_is_a_write_race(driver_error: Exception, unique: bool) -> None:
    """A unique violation is two requests writing one row at once (409); any other integrity error is a bug
    in a query and stays a 500."""
    assert is_unique_violation(IntegrityError("INSERT …", {}, driver_error)) is unique
    assert not is_unique_violation(OperationalError("INSERT …", {}, driver_error))

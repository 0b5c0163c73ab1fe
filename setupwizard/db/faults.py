"""Database faults while the service runs: a clear 503 for the client, and a log that does not flood.

A full disk or a database that went read-only or away makes every request fail the same way. The first
fault is logged at once; while it lasts, at most one line a minute says it still does (with how many
requests it hit); the first success after it says it is over. Tracebacks of the same fault logged by
background tasks (the event recorder) go through the same gate (:class:`RepeatedFaultFilter`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import exc as sa_exc

from setupwizard.core.ratelog import ReportGate

log = logging.getLogger(__name__)

REPORT_INTERVAL_SECONDS = 60.0

DATABASE_FAULTS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,  # SQLite: disk full, read-only, locked; PostgreSQL: gone, admin shutdown
    sa_exc.InterfaceError,  # the connection broke under the driver
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no pooled connection came free
)
"""What counts as "the database is unavailable" (not a bug in a query: those stay 500)."""


HANDLED_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.DBAPIError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)
"""The classes the web edge looks at; :func:`is_database_fault` tells a fault from a bug among them."""


def _is_fault(exc: BaseException) -> bool:
    if isinstance(exc, DATABASE_FAULTS):
        return True
    # A driver error SQLAlchemy could not sort (type exactly DBAPIError) comes from connecting: the server
    # refuses connections, is starting or shutting down. A connection found dead counts too.
    return isinstance(exc, sa_exc.DBAPIError) and (
        type(exc) is sa_exc.DBAPIError or exc.connection_invalidated
    )


UNIQUE_VIOLATION = "23505"
"""PostgreSQL's SQLSTATE for a unique index refusing a row."""


def is_unique_violation(exc: BaseException) -> bool:
    """True when ``exc`` is a unique index (or primary key) refusing a second row with the same key: two
    requests that wrote the same thing at the same moment (not a bug in a query: other integrity errors
    are)."""
    if not isinstance(exc, sa_exc.IntegrityError):
        return False
    driver = exc.orig
    state = getattr(driver, "sqlstate", None) or getattr(driver, "pgcode", None)
    return state == UNIQUE_VIOLATION or str(driver).startswith("UNIQUE constraint failed")


def is_database_fault(exc: BaseException | None) -> bool:
    """True when ``exc``, or an exception it was raised from, means the database is unavailable."""
    seen = 0
    while exc is not None and seen < 10:
        if _is_fault(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def describe(exc: BaseException) -> str:
    """The driver's own words for a fault, without SQL or parameters (those may hold user data)."""
    orig = getattr(exc, "orig", None) or exc
    return f"{type(orig).__name__}: {orig}".splitlines()[0][:300]


class DatabaseFaults:
    """Whether the database is failing now, and a gate that logs a fault once, then once a minute.

    :param clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self, interval: float = REPORT_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.active = False
        self.hits = 0
        self._gate = ReportGate(interval, clock)

    def record(self, exc: BaseException) -> None:
        """A request or task hit a fault: remember it, and log it if this is the first in a minute."""
        self.active = True
        self.hits += 1
        if self._due():
            log.error(
                "The database is failing (%s); requests answer 503 until it works again "
                "(%d failed since the last report; next report in %.0f s at the latest)",
                describe(exc),
                self.hits,
                self.interval,
            )
            self.hits = 0

    def should_log_traceback(self) -> bool:
        """For the log filter: True at most once per interval while faults go on."""
        self.active = True
        return self._due()

    def clear(self) -> None:
        """Something worked again: say so once, and let the next fault be logged at once."""
        if self.active:
            log.warning("The database works again")
        self.active = False
        self.hits = 0
        self._gate.reset()

    def _due(self) -> bool:
        return self._gate.due()


class RepeatedFaultFilter(logging.Filter):
    """Drops log records whose exception is a database fault, except once per interval."""

    def __init__(self, faults: DatabaseFaults) -> None:
        super().__init__()
        self.faults = faults

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not is_database_fault(exc):
            return True
        return self.faults.should_log_traceback()


PROCESS_FAULTS = DatabaseFaults()
"""One gate per process: every app and task in it reports to the same log."""

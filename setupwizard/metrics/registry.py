"""The service's metrics and the one-line helpers the rest of the code calls to move them.

Per process, in prometheus_client's default registry (with its process and Python collectors): every worker
answers for itself, Prometheus scrapes each worker and sums (see docs/deploy.md, "Metrics"). Nothing here
names a user, a host or a session, so the series stay few and hold nothing private.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from setupwizard.provisioning.result import SetupResult, StepStatus

STEP_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_STEPS_THAT_RAN = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.UNCHANGED, StepStatus.WARNING, StepStatus.FAILED, StepStatus.CANCELLED}
)

# No ``*_created`` series beside every counter and histogram: noise for a scraper.
disable_created_metrics()  # type: ignore[no-untyped-call]

SETUPS_STARTED = Counter("setupwizard_setups_started", "Setups started by this process.")
SETUPS_ENDED = Counter(
    "setupwizard_setups_ended", "Setups that ended in this process, by final status.", ["status"]
)
STEP_DURATION = Histogram(
    "setupwizard_step_duration_seconds",
    "How long each step of a setup ran, by step id (steps that ran only).",
    ["step"],
    buckets=STEP_BUCKETS,
)
WEBSOCKET_CLIENTS = Gauge("setupwizard_websocket_clients", "Progress WebSockets open on this process.")
FRAMES_SENT = Counter("setupwizard_websocket_frames_sent", "Progress frames sent to WebSocket clients.")
LINES_SENT = Counter(
    "setupwizard_websocket_lines_sent", "Lines sent to WebSocket clients (a frame carries one or more)."
)
EVENT_WRITE_SECONDS = Histogram(
    "setupwizard_event_write_seconds",
    "Time of one transaction writing buffered events to the database.",
    buckets=WRITE_BUCKETS,
)
EVENT_WRITE_FAILURES = Counter(
    "setupwizard_event_write_failures", "Event-writing transactions that failed (they are retried)."
)
BUS_PUBLISH_FAILURES = Counter(
    "setupwizard_bus_publish_failures", "Event batches the progress bus refused (live viewers missed them)."
)

for _status in ("succeeded", "failed", "cancelled", "interrupted"):
    SETUPS_ENDED.labels(status=_status)  # every status shows, 0 until it happens


class RunningSetups(Protocol):
    """What the collector reads of a setup service: its setups running in this process."""

    @property
    def running(self) -> dict[str, object]: ...


class _LiveCollector(Collector):
    """Values read at scrape time: running setups, and the lag of the slowest WebSocket client."""

    def __init__(self) -> None:
        self.services: weakref.WeakSet[RunningSetups] = weakref.WeakSet()
        self.lags: set[Callable[[], int]] = set()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "setupwizard_setups_running",
            "Setups running in this process now.",
            value=sum(len(service.running) for service in list(self.services)),
        )
        lags = [probe() for probe in list(self.lags)]
        yield GaugeMetricFamily(
            "setupwizard_websocket_slowest_client_lag_lines",
            "Lines waiting to be sent to the WebSocket client furthest behind (0: none behind).",
            value=max(lags, default=0),
        )


_LIVE = _LiveCollector()
REGISTRY.register(_LIVE)


def watch_service(service: RunningSetups) -> None:
    """Count ``service.running`` in ``setupwizard_setups_running`` (until the service is gone)."""
    _LIVE.services.add(service)


def setup_started() -> None:
    """A setup was started in this process."""
    SETUPS_STARTED.inc()


def setup_ended(status: str, result: SetupResult | None) -> None:
    """A setup ended with ``status``; its steps' durations go into the step histogram."""
    SETUPS_ENDED.labels(status=status).inc()
    for step in result.steps if result is not None else ():
        if step.status in _STEPS_THAT_RAN:
            STEP_DURATION.labels(step=step.id).observe(step.duration)


def websocket_opened() -> None:
    """A progress WebSocket began streaming."""
    WEBSOCKET_CLIENTS.inc()


def websocket_closed() -> None:
    """A progress WebSocket stopped streaming."""
    WEBSOCKET_CLIENTS.dec()


def frame_sent(lines: int) -> None:
    """One frame carrying ``lines`` events went to a WebSocket client."""
    FRAMES_SENT.inc()
    LINES_SENT.inc(lines)


def watch_lag(probe: Callable[[], int]) -> Callable[[], int]:
    """Read ``probe()`` (a client's lines waiting) for the slowest-client gauge; returns it for
    :func:`unwatch_lag`."""
    _LIVE.lags.add(probe)
    return probe


def unwatch_lag(probe: Callable[[], int]) -> None:
    """The client of ``probe`` is gone."""
    _LIVE.lags.discard(probe)


def clock() -> float:
    """A start time for :func:`events_written`."""
    return time.perf_counter()


def events_written(started: float) -> None:
    """An event-writing transaction begun at ``started`` (:func:`clock`) committed."""
    EVENT_WRITE_SECONDS.observe(time.perf_counter() - started)


def events_write_failed() -> None:
    """An event-writing transaction failed."""
    EVENT_WRITE_FAILURES.inc()


def bus_publish_failed() -> None:
    """The progress bus refused a batch."""
    BUS_PUBLISH_FAILURES.inc()

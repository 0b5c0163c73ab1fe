"""A running session's batches onto the progress bus. A failed publish never stops a setup (live viewers
miss the batch, the store has it and they resume from there); it is counted and reported with its traceback
once, then at most once a minute while failures go on, so a Redis outage does not flood the log."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from setupwizard.core.ratelog import ReportGate
from setupwizard.live.bus import ProgressBus
from setupwizard.metrics import registry as metrics
from setupwizard.provisioning.events import SessionEvent

log = logging.getLogger(__name__)

PUBLISH_FAULT_REPORT_SECONDS = 60.0


class Publisher:
    """Publishes on ``bus``, swallowing and reporting failures (see the module doc)."""

    def __init__(self, bus: ProgressBus) -> None:
        self.bus = bus
        self._failures = 0  # since the last report
        self._gate = ReportGate(PUBLISH_FAULT_REPORT_SECONDS)

    async def publish(self, session_id: str, events: Sequence[SessionEvent]) -> None:
        """Publish a batch; a failure is reported, not raised."""
        try:
            await self.bus.publish(session_id, events)
        except Exception:
            self._failed(session_id)
        else:
            if self._gate.reported:
                log.warning("Publishing events works again (%d more failed meanwhile)", self._failures)
                self._gate.reset()
                self._failures = 0

    def _failed(self, session_id: str) -> None:
        metrics.bus_publish_failed()
        self._failures += 1
        if self._gate.due():
            log.exception(
                "Publishing events of session %s failed (%d failed publishes since the last report; live "
                "viewers resume from the database; next report in %.0f s at the latest)",
                session_id,
                self._failures,
                PUBLISH_FAULT_REPORT_SECONDS,
            )
            self._failures = 0

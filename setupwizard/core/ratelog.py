"""A gate that lets a repeated report through once, then at most once per interval (a fault that lasts
must not flood the log).

Shared: ``db/`` (faults, the write gate), ``setup/`` (outcomes, publishing, seq reservation) and ``live/``
(arrivals) report lasting faults through it; ``live/`` may not import ``setup/``, so it cannot live there.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ReportGate:
    """``due()`` is True for the first report and then at most once per ``interval`` seconds.

    :param clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: float | None = None

    @property
    def reported(self) -> bool:
        """Whether something was reported since the last :meth:`reset`."""
        return self._last is not None

    def due(self) -> bool:
        """True (and remembers now) when the first report, or ``interval`` after the last one."""
        now = self.clock()
        if self._last is None or now - self._last >= self.interval:
            self._last = now
            return True
        return False

    def reset(self) -> None:
        """The fault is over: the next one is reported at once."""
        self._last = None

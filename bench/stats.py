"""Small statistics for benchmark figures: median and nearest-rank percentiles."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """The median, or NaN for no values."""
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile ``p`` (0–100) of ``values``, or NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def fmt(value: float, digits: int = 2) -> str:
    """A number for a table cell ("–" for NaN)."""
    if math.isnan(value):
        return "–"
    return f"{value:,.{digits}f}"

"""Medians and percentiles of repeated measurements, and the ratio of two medians."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: a latency some request really had, never an interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(measured: float, baseline: float) -> float | None:
    """`measured / baseline`, or None when the baseline measured nothing."""
    return measured / baseline if baseline else None


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or value != value else round(value, digits)

"""The pre-dose baseline and the pre-dose gate.

Definition: the baseline of a metric is the median of the live, artifact-free readings of
that metric with ``dose_t - window_s <= t < dose_t``, fixed when the dose is marked. With
fewer than `min_readings` such readings the metric has no baseline, and rise rules on it stay
silent (absolute limits still apply).
"""

import statistics
from collections import deque
from collections.abc import Iterable, Mapping

from alerts.profiles import BaselineSettings, Metric

# Bounds memory when the dose is never marked: 10,000 readings is more than 2.5 h at 1 Hz.
_MAX_BUFFERED = 10_000


class BaselineCollector:
    """Buffers pre-dose readings of the metrics that need a baseline."""

    __slots__ = ("_buffers", "_restored", "_settings")

    def __init__(self, settings: BaselineSettings, metrics: Iterable[Metric]) -> None:
        self._settings = settings
        self._buffers: dict[Metric, deque[tuple[float, float]]] = {
            metric: deque(maxlen=_MAX_BUFFERED) for metric in metrics
        }
        self._restored = False

    @property
    def metrics(self) -> frozenset[Metric]:
        return frozenset(self._buffers)

    def add(self, metric: Metric, t: float, value: float) -> None:
        self._buffers[metric].append((t, value))

    def add_restored(self, metric: Metric, t: float, value: float) -> None:
        """A reading collected before a processor restart (read back from storage). The
        broker may deliver it again after the restart, so `fix` counts readings with equal
        values in the same microsecond (storage keeps time to the microsecond) once."""
        self._buffers[metric].append((t, value))
        self._restored = True

    def fix(self, dose_t: float) -> dict[Metric, float]:
        """The baselines at a dose given at `dose_t`; the buffers are released."""
        low = dose_t - self._settings.window_s
        baselines: dict[Metric, float] = {}
        for metric, buffer in self._buffers.items():
            pairs = _once_each(buffer) if self._restored else buffer
            values = [value for t, value in pairs if low <= t < dose_t]
            if len(values) >= self._settings.min_readings:
                baselines[metric] = statistics.median(values)
        self._buffers = {}
        return baselines


def _once_each(buffer: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    first: dict[tuple[int, float], float] = {}
    for t, value in buffer:
        first.setdefault((round(t * 1e6), value), t)
    return [(t, value) for (_, value), t in first.items()]


def gate_breaches(
    baselines: Mapping[Metric, float], limits: Mapping[Metric, float]
) -> list[tuple[Metric, float, float]]:
    """(metric, baseline, limit) for each baseline above its pre-dose gate limit."""
    return [
        (metric, baselines[metric], limit)
        for metric, limit in limits.items()
        if metric in baselines and baselines[metric] > limit
    ]

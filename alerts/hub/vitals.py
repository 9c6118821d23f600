"""Latest vitals per session for the dashboard, rate-limited, with 30-minute history. Pure.

Readings arrive in batches at device rate (an oximeter sends ~1 Hz, a strap per beat); the
dashboard needs at most one update per metric per second. `VitalsBoard.update` records the
latest value of each metric; `flush` (called once per `interval_s` by the hub) returns the
sessions that changed since the last flush, so each metric of each session reaches clients at
most once per interval. History for sparklines keeps one point per `step_s` over `window_s`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from vigil.wire import ReadingBatch

# Intermediate cuff pressure while inflating: meaningless on a dashboard, never alarmed on.
_NOT_SHOWN = frozenset({"cuff"})


@dataclass(frozen=True, slots=True)
class Sample:
    value: float
    t: float


class VitalsBoard:
    __slots__ = ("_contact", "_history", "_latest", "_pending", "step_s", "window_s")

    def __init__(self, *, window_s: float = 1800.0, step_s: float = 10.0) -> None:
        self.window_s = window_s
        self.step_s = step_s
        self._latest: dict[str, dict[str, Sample]] = {}
        self._history: dict[str, dict[str, deque[Sample]]] = {}
        self._contact: dict[str, dict[str, bool]] = {}
        self._pending: set[str] = set()

    def update(self, batch: ReadingBatch) -> None:
        latest = self._latest.setdefault(batch.session, {})
        history = self._history.setdefault(batch.session, {})
        changed = False
        for reading in batch.readings:
            if reading.historical:
                continue  # late or replayed: stored by the processor, never "latest"
            if reading.contact is not None:
                self._contact.setdefault(batch.session, {})[batch.device] = reading.contact
                changed = True
            for metric, value in reading.values.items():
                if metric in _NOT_SHOWN:
                    continue
                current = latest.get(metric)
                if current is not None and current.t > reading.t:
                    continue
                latest[metric] = Sample(value, reading.t)
                self._record(history.setdefault(metric, deque()), Sample(value, reading.t))
                changed = True
        if changed:
            self._pending.add(batch.session)

    def _record(self, points: deque[Sample], sample: Sample) -> None:
        if points and int(points[-1].t // self.step_s) == int(sample.t // self.step_s):
            points[-1] = sample
        else:
            points.append(sample)
        while points and points[0].t < sample.t - self.window_s:
            points.popleft()

    def flush(self) -> list[str]:
        """Sessions with new values since the last flush, in a stable order."""
        sessions = sorted(self._pending)
        self._pending.clear()
        return sessions

    def latest(self, session: str) -> dict[str, Sample]:
        return dict(self._latest.get(session, {}))

    def contact(self, session: str) -> dict[str, bool]:
        return dict(self._contact.get(session, {}))

    def history(self, session: str) -> dict[str, list[Sample]]:
        return {metric: list(points) for metric, points in self._history.get(session, {}).items()}

    def sessions(self) -> list[str]:
        return sorted(self._latest)

    def forget(self, session: str) -> None:
        for table in (self._latest, self._history, self._contact):
            table.pop(session, None)
        self._pending.discard(session)

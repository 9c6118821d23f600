"""Per-session, per-metric columns kept as arrays so the batch path can read them at once.

Row `slot` belongs to one open session; column `code` is a metric code (`METRIC_CODES`).
The scalar path writes single cells; the batch path reads and writes whole columns.
"""

import heapq
import math
from typing import Protocol, TypeVar, cast

import numpy as np
import numpy.typing as npt

from alerts.profiles import METRICS

METRIC_COUNT = len(METRICS)

_Cell = TypeVar("_Cell", float, bool)


class Cells(Protocol[_Cell]):
    """Single-cell access to a 2-D array by (slot, code): a typed view of a memoryview."""

    def __getitem__(self, index: tuple[int, int], /) -> _Cell: ...

    def __setitem__(self, index: tuple[int, int], value: _Cell, /) -> None: ...


class SlotTable:
    __slots__ = (
        "_free",
        "_used",
        "busy",
        "last_seen",
        "last_seen_cells",
        "latest",
        "latest_cells",
        "pending_moved",
        "quiet_high",
        "quiet_low",
        "rate",
        "stale_active",
        "stale_active_cells",
        "stale_after",
    )

    def __init__(self, capacity: int) -> None:
        self._used = 0
        self._free: list[int] = []  # a heap: the lowest free slot is reused first (deterministic)
        self.last_seen: npt.NDArray[np.float64] = np.empty((0, METRIC_COUNT))
        self.latest: npt.NDArray[np.float64] = np.empty((0, METRIC_COUNT))
        self.quiet_low: npt.NDArray[np.float64] = np.empty((0, METRIC_COUNT))
        self.quiet_high: npt.NDArray[np.float64] = np.empty((0, METRIC_COUNT))
        self.stale_after: npt.NDArray[np.float64] = np.empty((0, METRIC_COUNT))
        self.busy: npt.NDArray[np.bool_] = np.empty((0, METRIC_COUNT), dtype=bool)
        self.rate: npt.NDArray[np.bool_] = np.empty((0, METRIC_COUNT), dtype=bool)
        self.stale_active: npt.NDArray[np.bool_] = np.empty((0, METRIC_COUNT), dtype=bool)
        # Slots whose conditions waiting out a delay may have changed: their sessions add
        # themselves, `AlarmEngine.pending_changes` empties it.
        self.pending_moved: set[int] = set()
        self._grow(max(capacity, 1))

    @property
    def capacity(self) -> int:
        return int(self.last_seen.shape[0])

    @property
    def used(self) -> int:
        """One past the highest slot ever handed out: the rows worth scanning."""
        return self._used

    def _grow(self, capacity: int) -> None:
        old = self.capacity
        extra = capacity - old

        def grown(array: npt.NDArray[np.float64], fill: float) -> npt.NDArray[np.float64]:
            return np.concatenate([array, np.full((extra, METRIC_COUNT), fill)])

        # A free row is never quiet (so a stray row takes the scalar path) and never stale
        # (NaN compares false with every deadline).
        self.last_seen = grown(self.last_seen, math.nan)
        self.latest = grown(self.latest, math.nan)
        self.quiet_low = grown(self.quiet_low, math.inf)
        self.quiet_high = grown(self.quiet_high, -math.inf)
        self.stale_after = grown(self.stale_after, math.inf)
        self.busy = np.concatenate([self.busy, np.ones((extra, METRIC_COUNT), dtype=bool)])
        self.rate = np.concatenate([self.rate, np.zeros((extra, METRIC_COUNT), dtype=bool)])
        self.stale_active = np.concatenate(
            [self.stale_active, np.zeros((extra, METRIC_COUNT), dtype=bool)]
        )
        # The scalar path reads and writes single cells; a memoryview does that about three
        # times faster than numpy indexing. Growing replaces the arrays, so the views too.
        self.last_seen_cells = cast("Cells[float]", self.last_seen.data)
        self.latest_cells = cast("Cells[float]", self.latest.data)
        self.stale_active_cells = cast("Cells[bool]", self.stale_active.data)

    def allocate(self) -> int:
        if self._free:
            return heapq.heappop(self._free)
        if self._used == self.capacity:
            self._grow(self.capacity * 2)
        self._used += 1
        return self._used - 1

    def release(self, slot: int) -> None:
        self.last_seen[slot] = math.nan
        self.latest[slot] = math.nan
        self.quiet_low[slot] = math.inf
        self.quiet_high[slot] = -math.inf
        self.stale_after[slot] = math.inf
        self.busy[slot] = True
        self.rate[slot] = False
        self.stale_active[slot] = False
        self.pending_moved.discard(slot)
        heapq.heappush(self._free, slot)

"""Time as an injected object: the system clock in production, a manual clock for replays.

The processor asks its clock for "now" (alarm ticks, dead-letter times) and sleeps on it between
ticks, so a test or a replay drives time itself: faster than real time and deterministic.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """UTC epoch seconds."""

    async def sleep_until(self, t: float) -> None:
        """Return once `now() >= t`."""


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep_until(self, t: float) -> None:
        await asyncio.sleep(max(0.0, t - time.time()))


class ManualClock:
    """Time moves only when told to; sleepers wake when it passes their deadline."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._t

    def set(self, t: float) -> None:
        if t < self._t:
            raise ValueError(f"a manual clock does not go back ({t} < {self._t})")
        self._t = t
        while self._sleepers and self._sleepers[0][0] <= t:
            _, _, waiter = heapq.heappop(self._sleepers)
            if not waiter.done():
                waiter.set_result(None)

    def advance(self, seconds: float) -> None:
        self.set(self._t + seconds)

    async def sleep_until(self, t: float) -> None:
        if t <= self._t:
            await asyncio.sleep(0)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (t, next(self._order), waiter))
        await waiter

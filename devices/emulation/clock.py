"""Scenario time: seconds since the session started, running `speed` times faster than real time.

Wearables never read the wall clock; they ask an injected `Clock`, so a test can run a two
hour session in seconds and the demo can run it at 60x.
"""

from __future__ import annotations

import asyncio
from typing import Final, Protocol

# Scenario time closer than this to a deadline counts as reached (the loop's timers may fire
# a hair early; without it a sleeper would spin).
_RESOLUTION_S: Final = 1e-6


class Clock(Protocol):
    @property
    def speed(self) -> float:
        """Scenario seconds per real second."""
        ...

    def now(self) -> float:
        """Scenario seconds since the session started."""
        ...

    async def sleep_until(self, scenario_s: float) -> None:
        """Return once `now()` has reached `scenario_s` (at once if it already has)."""
        ...


class ScaledClock:
    """Scenario time from the event loop's monotonic clock, `speed` times faster.

    `start_s` lets a run begin part-way into a session (e.g. at the blood-pressure peak). A
    paused clock stands still and its sleepers wait for `resume()` (tests set up links while
    time stands still, demos can hold a moment). Build it inside the running loop.
    """

    def __init__(self, speed: float = 1.0, *, start_s: float = 0.0, paused: bool = False) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._speed = speed
        self._loop = asyncio.get_running_loop()
        self._base_s = start_s
        self._running = asyncio.Event()
        self._origin = self._loop.time()
        if not paused:
            self._running.set()

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def now(self) -> float:
        if self.paused:
            return self._base_s
        return self._base_s + (self._loop.time() - self._origin) * self._speed

    def pause(self) -> None:
        if not self.paused:
            self._base_s = self.now()
            self._running.clear()

    def resume(self) -> None:
        if self.paused:
            self._origin = self._loop.time()
            self._running.set()

    async def sleep_until(self, scenario_s: float) -> None:
        while (remaining := scenario_s - self.now()) > _RESOLUTION_S:
            if self.paused:
                await self._running.wait()
            else:
                await asyncio.sleep(remaining / self._speed)

    def real_seconds(self, scenario_s: float) -> float:
        """How long `scenario_s` of scenario time takes in real time."""
        return scenario_s / self._speed

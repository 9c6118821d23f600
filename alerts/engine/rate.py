"""Sliding-window extreme for rate-of-change rules (monotonic deque, O(1) amortised)."""

import math
from collections import deque


class RateWindow:
    """The highest (falling rules) or lowest (rising rules) value of the last `window_s`.

    The window is ``[t - window_s, t]`` of reading time, inclusive, and includes the value
    just pushed. Readings are expected in time order per metric; a late reading is judged
    against the window as it stands.
    """

    __slots__ = ("_falling", "_points", "_window_s")

    def __init__(self, window_s: float, *, falling: bool) -> None:
        self._window_s = window_s
        self._falling = falling
        self._points: deque[tuple[float, float]] = deque()

    @property
    def window_s(self) -> float:
        return self._window_s

    def extreme(self) -> float:
        """The extreme of the values held now (some may be older than the next push's
        window): a bound on the extreme any later push can return, before its own value."""
        if self._points:
            return self._points[0][1]
        return -math.inf if self._falling else math.inf

    def push(self, t: float, value: float) -> float:
        """Add a sample and return the window's extreme."""
        points = self._points
        horizon = t - self._window_s
        while points and points[0][0] < horizon:
            points.popleft()
        # A later value at least as extreme makes every earlier, less extreme one irrelevant.
        if self._falling:
            while points and points[-1][1] <= value:
                points.pop()
        else:
            while points and points[-1][1] >= value:
                points.pop()
        points.append((t, value))
        return points[0][1]

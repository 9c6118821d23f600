"""Reconnect backoff as a pure lookup: attempt number in, delay out (no clock, no randomness).

Jitter is a value the caller draws and passes in, so the policy stays testable and several
devices of one home do not retry in lockstep.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    first_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    jitter: float = 0.2  # the delay varies by up to this fraction either way
    # A link that stayed up this long was healthy: the next failure starts again from first_s.
    healthy_after_s: float = 60.0

    def __post_init__(self) -> None:
        if not (0 < self.first_s <= self.max_s and self.factor >= 1 and 0 <= self.jitter < 1):
            raise ValueError(f"inconsistent backoff {self}")

    def delay(self, attempt: int, jitter_draw: float = 0.5) -> float:
        """Delay before retry number `attempt` (0-based); `jitter_draw` is uniform in [0, 1]."""
        # Clamp the exponent: factor ** 1024 overflows a float long after the cap is reached.
        base = min(self.max_s, self.first_s * self.factor ** min(max(attempt, 0), 64))
        return base * (1 + self.jitter * (2 * min(max(jitter_draw, 0.0), 1.0) - 1))

    def next_attempt(self, attempt: int, connected_for_s: float | None) -> int:
        """The attempt counter after a failure or a drop; a long healthy link resets it."""
        if connected_for_s is not None and connected_for_s >= self.healthy_after_s:
            return 0
        return attempt + 1

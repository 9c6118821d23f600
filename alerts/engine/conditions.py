"""Persistence and hysteresis: the rule semantics shared with the Node-RED peer.

While the condition is inactive, the first violating sample sets `since`; the condition
arises at the first violating sample with ``t - since >= delay_s`` (reading time,
inclusive). Any non-violating sample before that resets `since`. While it is active, the
first sample at or beyond the reset threshold clears it at once (no delay).
"""

import math
from dataclasses import dataclass
from enum import IntEnum

from alerts.profiles import Comparison

# `since` value meaning "no violating sample pending"; a float keeps the state one type.
NOT_PENDING = math.nan


class Transition(IntEnum):
    NONE = 0
    RAISED = 1
    CLEARED = 2


@dataclass(frozen=True, slots=True)
class Condition:
    """A comparison compiled to one strict test: violating is ``signal > trip`` upward,
    ``signal < trip`` downward. Inclusive limits move `trip` one float step outward, which
    is exact: ``x >= L`` is ``x > nextafter(L, -inf)`` for every float x."""

    upward: bool
    trip: float
    reset: float
    delay_s: float

    @classmethod
    def compile(
        cls, comparison: Comparison, limit: float, reset: float, delay_s: float
    ) -> "Condition":
        if comparison is Comparison.AT_OR_ABOVE:
            trip = math.nextafter(limit, -math.inf)
        elif comparison is Comparison.AT_OR_BELOW:
            trip = math.nextafter(limit, math.inf)
        else:
            trip = limit
        return cls(upward=comparison.upward, trip=trip, reset=reset, delay_s=delay_s)

    def violates(self, signal: float) -> bool:
        return signal > self.trip if self.upward else signal < self.trip


class ConditionState:
    """Mutable state of one condition: `active`, and `since` while a raise is pending."""

    __slots__ = ("active", "since")

    def __init__(self) -> None:
        self.active = False
        self.since = NOT_PENDING

    @property
    def idle(self) -> bool:
        """Inactive with nothing pending: a non-violating sample changes nothing."""
        return not self.active and math.isnan(self.since)

    def judge(self, condition: Condition, signal: float, t: float) -> Transition:
        """Feed one trustworthy sample."""
        if not self.active:
            if signal > condition.trip if condition.upward else signal < condition.trip:
                if math.isnan(self.since):
                    self.since = t
                if t - self.since >= condition.delay_s:
                    self.active = True
                    return Transition.RAISED
            else:
                self.since = NOT_PENDING
            return Transition.NONE
        if signal <= condition.reset if condition.upward else signal >= condition.reset:
            self.active = False
            self.since = NOT_PENDING
            return Transition.CLEARED
        return Transition.NONE

    def restore_active(self, since: float) -> None:
        """Active since `since`, as it was before a processor restart."""
        self.active = True
        self.since = since

    def distrust(self) -> None:
        """An untrustworthy (artifact-gated) sample: it is no evidence that the condition held,
        so a pending raise starts over; nor is it evidence of recovery, so an active
        condition stays active."""
        if not self.active:
            self.since = NOT_PENDING


class TimedState:
    """A reported state (device disconnected, gateway offline) that becomes an alarm
    condition once it has lasted `delay_s`; checked on its own report and on every tick."""

    __slots__ = ("active", "since")

    def __init__(self) -> None:
        self.active = False
        self.since = NOT_PENDING

    @property
    def pending(self) -> bool:
        return not self.active and not math.isnan(self.since)

    def start(self, t: float) -> None:
        if not self.active and math.isnan(self.since):
            self.since = t

    def restore_active(self, since: float) -> None:
        """Active since `since`, as it was before a processor restart."""
        self.active = True
        self.since = since

    def due(self, now: float, delay_s: float) -> bool:
        """True once, when the state has lasted `delay_s` at `now`."""
        if self.pending and now - self.since >= delay_s:
            self.active = True
            return True
        return False

    def stop(self) -> bool:
        """End the state; True if it had become an alarm condition."""
        was_active = self.active
        self.active = False
        self.since = NOT_PENDING
        return was_active

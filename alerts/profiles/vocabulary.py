"""Names shared by profiles and the engine: metrics, priorities, comparisons."""

from enum import StrEnum
from typing import get_args

from vigil.wire import Flag


class Metric(StrEnum):
    """A vital sign a reading can carry. The order defines the engine's metric codes."""

    HR = "hr"  # heart rate /min (ECG or chest strap)
    SPO2 = "spo2"  # % oxygen saturation, pulse oximeter
    PR = "pr"  # pulse rate /min (oximeter or cuff)
    SBP = "sbp"  # systolic blood pressure, mmHg
    DBP = "dbp"  # diastolic blood pressure, mmHg
    MAP = "map"  # mean arterial pressure, mmHg


METRICS: tuple[Metric, ...] = tuple(Metric)
METRIC_CODES: dict[Metric, int] = {metric: code for code, metric in enumerate(METRICS)}


class Priority(StrEnum):
    """IEC 60601-1-8 alarm priorities."""

    HIGH = "high"  # immediate response: risk of death or irreversible injury
    MEDIUM = "medium"  # prompt response: reversible injury
    LOW = "low"  # awareness


class Comparison(StrEnum):
    """How a rule's signal is compared with its limit.

    `above`/`below` are strict (the Node-RED peer's `>`/`<`); the `at_or_` forms are
    inclusive and let a profile state NEWS2 bands such as "pulse <= 40" literally.
    """

    ABOVE = "above"
    AT_OR_ABOVE = "at_or_above"
    BELOW = "below"
    AT_OR_BELOW = "at_or_below"

    @property
    def upward(self) -> bool:
        """True when the condition is a high value (the reset lies below the limit)."""
        return self in {Comparison.ABOVE, Comparison.AT_OR_ABOVE}


class RuleKind(StrEnum):
    """What signal a physiological rule compares with its limit."""

    THRESHOLD = "threshold"  # the reading's value
    RISE = "rise"  # the value minus the session's pre-dose baseline
    RATE = "rate"  # the change over a sliding window of reading time


class Direction(StrEnum):
    """Which change a rate rule watches."""

    FALLING = "falling"  # signal = highest value in the window minus the current value
    RISING = "rising"  # signal = current value minus the lowest value in the window


# Quality flags a reading can carry, in the order of their bits in the engine's batch input:
# the wire's `vigil.wire.Flag` names, in their declared order, after `no_contact`, which devices
# do not send: the engine sets it when a reading says contact is false.
QUALITY_FLAGS: tuple[str, ...] = ("no_contact", *get_args(Flag))

"""Names shared by profiles and the engine: metrics, priorities, comparisons."""

from enum import StrEnum


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


# Quality flags a reading can carry (the wire's `vigil.wire.Flag` names), in the order of their
# bits in the engine's batch input. `no_contact` is not sent by devices: the engine sets it when
# a reading says contact is false.
QUALITY_FLAGS: tuple[str, ...] = (
    "no_contact",
    # Blood Pressure Measurement Status
    "body_movement",
    "cuff_loose",
    "irregular_pulse",
    "improper_position",
    "pr_above_range",
    "pr_below_range",
    # PLX Measurement Status
    "plx_measurement_ongoing",
    "plx_early_estimate",
    "plx_validated",
    "plx_fully_qualified",
    "plx_from_storage",
    "plx_demonstration",
    "plx_testing",
    "plx_calibration_ongoing",
    "plx_measurement_unavailable",
    "plx_questionable",
    "plx_invalid",
    # PLX Device and Sensor Status
    "display_update_ongoing",
    "equipment_malfunction",
    "signal_processing_irregularity",
    "inadequate_signal",
    "poor_signal",
    "low_perfusion",
    "erratic_signal",
    "nonpulsatile_signal",
    "questionable_pulse",
    "signal_analysis_ongoing",
    "sensor_interference",
    "sensor_unconnected",
    "unknown_sensor",
    "sensor_displaced",
    "sensor_malfunction",
    "sensor_disconnected",
    # The gateway's own
    "device_clock_unset",
)

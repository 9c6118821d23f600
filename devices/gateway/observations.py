"""Decoded GATT measurements as reading content: canonical values, contact, quality flags.

Pure. Values are in canonical units (mmHg, bpm, %): kPa is converted here, at the edge, so
nothing downstream needs to know a device's unit. NaN and infinities (what SFLOAT uses for
"no value") are left out of `values` rather than sent: JSON has no NaN, and a missing metric
is what they mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from devices.gatt import (
    BloodPressureMeasurement,
    BloodPressureStatus,
    HeartRateMeasurement,
    PlxContinuous,
    PlxDeviceSensorStatus,
    PlxMeasurementStatus,
    PlxSpotCheck,
    PulseRateRange,
)
from vigil.wire import Flag, Metric

MMHG_PER_KPA = 7.500615758

_MEASUREMENT_FLAGS: tuple[tuple[PlxMeasurementStatus, Flag], ...] = (
    (PlxMeasurementStatus.MEASUREMENT_ONGOING, "plx_measurement_ongoing"),
    (PlxMeasurementStatus.EARLY_ESTIMATED_DATA, "plx_early_estimate"),
    (PlxMeasurementStatus.VALIDATED_DATA, "plx_validated"),
    (PlxMeasurementStatus.FULLY_QUALIFIED_DATA, "plx_fully_qualified"),
    (PlxMeasurementStatus.DATA_FROM_MEASUREMENT_STORAGE, "plx_from_storage"),
    (PlxMeasurementStatus.DATA_FOR_DEMONSTRATION, "plx_demonstration"),
    (PlxMeasurementStatus.DATA_FOR_TESTING, "plx_testing"),
    (PlxMeasurementStatus.CALIBRATION_ONGOING, "plx_calibration_ongoing"),
    (PlxMeasurementStatus.MEASUREMENT_UNAVAILABLE, "plx_measurement_unavailable"),
    (PlxMeasurementStatus.QUESTIONABLE_MEASUREMENT_DETECTED, "plx_questionable"),
    (PlxMeasurementStatus.INVALID_MEASUREMENT_DETECTED, "plx_invalid"),
)

_SENSOR_FLAGS: tuple[tuple[PlxDeviceSensorStatus, Flag], ...] = (
    (PlxDeviceSensorStatus.EXTENDED_DISPLAY_UPDATE_ONGOING, "display_update_ongoing"),
    (PlxDeviceSensorStatus.EQUIPMENT_MALFUNCTION_DETECTED, "equipment_malfunction"),
    (
        PlxDeviceSensorStatus.SIGNAL_PROCESSING_IRREGULARITY_DETECTED,
        "signal_processing_irregularity",
    ),
    (PlxDeviceSensorStatus.INADEQUATE_SIGNAL_DETECTED, "inadequate_signal"),
    (PlxDeviceSensorStatus.POOR_SIGNAL_DETECTED, "poor_signal"),
    (PlxDeviceSensorStatus.LOW_PERFUSION_DETECTED, "low_perfusion"),
    (PlxDeviceSensorStatus.ERRATIC_SIGNAL_DETECTED, "erratic_signal"),
    (PlxDeviceSensorStatus.NONPULSATILE_SIGNAL_DETECTED, "nonpulsatile_signal"),
    (PlxDeviceSensorStatus.QUESTIONABLE_PULSE_DETECTED, "questionable_pulse"),
    (PlxDeviceSensorStatus.SIGNAL_ANALYSIS_ONGOING, "signal_analysis_ongoing"),
    (PlxDeviceSensorStatus.SENSOR_INTERFERENCE_DETECTED, "sensor_interference"),
    (PlxDeviceSensorStatus.SENSOR_UNCONNECTED_TO_USER, "sensor_unconnected"),
    (PlxDeviceSensorStatus.UNKNOWN_SENSOR_CONNECTED, "unknown_sensor"),
    (PlxDeviceSensorStatus.SENSOR_DISPLACED, "sensor_displaced"),
    (PlxDeviceSensorStatus.SENSOR_MALFUNCTIONING, "sensor_malfunction"),
    (PlxDeviceSensorStatus.SENSOR_DISCONNECTED, "sensor_disconnected"),
)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one notification says, before the outbox gives it a sequence number."""

    values: dict[Metric, float]
    contact: bool | None = None
    flags: tuple[Flag, ...] = ()
    rr_ms: tuple[float, ...] = ()
    t_dev: float | None = None
    from_storage: bool = False  # the device says the data is stored, not live


def _finite(values: dict[Metric, float | None]) -> dict[Metric, float]:
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}


def _epoch(timestamp: datetime | None) -> float | None:
    return timestamp.timestamp() if timestamp is not None else None


def from_heart_rate(m: HeartRateMeasurement) -> Observation:
    return Observation(
        values={"hr": float(m.bpm)},
        contact=m.sensor_contact,
        rr_ms=tuple(rr for rr in m.rr_intervals_ms if rr > 0),
    )


def _bp_flags(status: BloodPressureStatus | None) -> tuple[Flag, ...]:
    if status is None:
        return ()
    checks: tuple[tuple[Flag, bool], ...] = (
        ("body_movement", status.body_movement),
        ("cuff_loose", status.cuff_loose),
        ("irregular_pulse", status.irregular_pulse),
        ("improper_position", status.improper_position),
    )
    flags = [name for name, on in checks if on]
    if status.pulse_rate_range is PulseRateRange.ABOVE_UPPER_LIMIT:
        flags.append("pr_above_range")
    elif status.pulse_rate_range is PulseRateRange.BELOW_LOWER_LIMIT:
        flags.append("pr_below_range")
    return tuple(flags)


def _mmhg(m: BloodPressureMeasurement, value: float) -> float:
    return round(value * MMHG_PER_KPA, 1) if m.unit == "kPa" else value


def from_blood_pressure(m: BloodPressureMeasurement) -> Observation:
    return Observation(
        values=_finite(
            {
                "sbp": _mmhg(m, m.systolic),
                "dbp": _mmhg(m, m.diastolic),
                "map": _mmhg(m, m.mean_arterial),
                "pr": m.pulse_rate,
            }
        ),
        flags=_bp_flags(m.status),
        t_dev=_epoch(m.timestamp),
    )


def from_intermediate_cuff_pressure(m: BloodPressureMeasurement) -> Observation:
    return Observation(values=_finite({"cuff": _mmhg(m, m.systolic)}), flags=_bp_flags(m.status))


def _plx_flags(
    measurement: PlxMeasurementStatus | None, sensor: PlxDeviceSensorStatus | None
) -> tuple[Flag, ...]:
    flags: list[Flag] = []
    if measurement is not None:
        flags += [name for bit, name in _MEASUREMENT_FLAGS if measurement & bit]
    if sensor is not None:
        flags += [name for bit, name in _SENSOR_FLAGS if sensor & bit]
    return tuple(flags)


def from_plx_continuous(m: PlxContinuous) -> Observation:
    flags = _plx_flags(m.measurement_status, m.device_sensor_status)
    return Observation(
        values=_finite(
            {
                "spo2": m.spo2,
                "pr": m.pulse_rate,
                "spo2_fast": m.spo2_fast,
                "pr_fast": m.pulse_rate_fast,
                "spo2_slow": m.spo2_slow,
                "pr_slow": m.pulse_rate_slow,
                "pai": m.pulse_amplitude_index,
            }
        ),
        flags=flags,
        from_storage="plx_from_storage" in flags,
    )


def from_plx_spot_check(m: PlxSpotCheck) -> Observation:
    flags = _plx_flags(m.measurement_status, m.device_sensor_status)
    if not m.device_clock_set:
        flags = (*flags, "device_clock_unset")
    return Observation(
        values=_finite({"spo2": m.spo2, "pr": m.pulse_rate, "pai": m.pulse_amplitude_index}),
        flags=flags,
        t_dev=_epoch(m.timestamp) if m.device_clock_set else None,
        from_storage="plx_from_storage" in flags,
    )

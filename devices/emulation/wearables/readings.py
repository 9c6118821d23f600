"""What each wearable reports at scenario time t: the session model as GATT values. Pure.

The mapping from scenario flags to device flags is a table of choices, written down here:

- strap without skin contact: heart rate 0, contact "not detected", no RR intervals;
- oximeter probe off: SpO2 and pulse rate NaN, "measurement unavailable" and "sensor
  disconnected";
- motion: cuff status "body movement"; oximeter "questionable measurement" and "erratic
  signal", and SpO2 pulled down by the artifact;
- cuff pulse-rate range: outside 40-100 /min is flagged (the emulated cuff's own limits).
"""

from __future__ import annotations

import math
from typing import Final

from devices.emulation.scenario import CuffCycle, DeviceKind, SessionModel
from devices.gatt import (
    BloodPressureFeature,
    BloodPressureMeasurement,
    BloodPressureStatus,
    HeartRateMeasurement,
    PlxContinuous,
    PlxDeviceSensorStatus,
    PlxFeatures,
    PlxMeasurementStatus,
    PlxSpotCheck,
    PlxSupportedFeatures,
    PulseRateRange,
)

# A uint8 heart rate plus RR intervals fill a 20-byte payload (default ATT MTU) at 9.
MAX_RR_INTERVALS: Final = 9
CUFF_USER_ID: Final = 1
CUFF_PULSE_RANGE_BPM: Final = (40, 100)
PLX_PERFUSION_INDEX_PERCENT: Final = 4.2

PLX_MOTION_STATUS: Final = PlxMeasurementStatus.QUESTIONABLE_MEASUREMENT_DETECTED
PLX_MOTION_SENSOR: Final = PlxDeviceSensorStatus.ERRATIC_SIGNAL_DETECTED
PLX_OFF_STATUS: Final = PlxMeasurementStatus.MEASUREMENT_UNAVAILABLE
PLX_OFF_SENSOR: Final = PlxDeviceSensorStatus.SENSOR_DISCONNECTED

BLOOD_PRESSURE_FEATURE: Final = BloodPressureFeature(
    body_movement_detection=True, pulse_rate_range_detection=True
)
PLX_FEATURES: Final = PlxFeatures(
    supported_features=PlxSupportedFeatures.MEASUREMENT_STATUS_SUPPORT_PRESENT
    | PlxSupportedFeatures.DEVICE_SENSOR_STATUS_SUPPORT_PRESENT
    | PlxSupportedFeatures.SPOT_CHECK_TIMESTAMP
    | PlxSupportedFeatures.PULSE_AMPLITUDE_INDEX,
    measurement_status_support=PlxMeasurementStatus.VALIDATED_DATA
    | PLX_MOTION_STATUS
    | PLX_OFF_STATUS,
    device_sensor_status_support=PLX_MOTION_SENSOR | PLX_OFF_SENSOR,
)


def heart_rate_measurement(
    model: SessionModel, t: float, rr_intervals_ms: tuple[float, ...]
) -> HeartRateMeasurement:
    if not model.device_state(DeviceKind.HEART_RATE, t).contact:
        return HeartRateMeasurement(bpm=0, sensor_contact=False)
    return HeartRateMeasurement(
        bpm=round(model.vitals(t).heart_rate_bpm),
        sensor_contact=True,
        rr_intervals_ms=rr_intervals_ms[-MAX_RR_INTERVALS:],
    )


def _pulse_rate_range(pulse_rate_bpm: float) -> PulseRateRange:
    low, high = CUFF_PULSE_RANGE_BPM
    if pulse_rate_bpm > high:
        return PulseRateRange.ABOVE_UPPER_LIMIT
    if pulse_rate_bpm < low:
        return PulseRateRange.BELOW_LOWER_LIMIT
    return PulseRateRange.WITHIN_RANGE


def blood_pressure_measurement(model: SessionModel, cycle: CuffCycle) -> BloodPressureMeasurement:
    return BloodPressureMeasurement(
        unit="mmHg",
        systolic=cycle.systolic_mmhg,
        diastolic=cycle.diastolic_mmhg,
        mean_arterial=cycle.mean_arterial_mmhg,
        timestamp=model.scenario.wall_time(round(cycle.end_s)),
        pulse_rate=cycle.pulse_rate_bpm,
        user_id=CUFF_USER_ID,
        status=BloodPressureStatus(
            body_movement=cycle.body_movement,
            pulse_rate_range=_pulse_rate_range(cycle.pulse_rate_bpm),
        ),
    )


def intermediate_cuff_pressure(cycle: CuffCycle, t: float) -> BloodPressureMeasurement:
    """The cuff pressure in the systolic slot (the encoder sends the other two as NaN)."""
    return BloodPressureMeasurement(
        unit="mmHg",
        systolic=round(cycle.cuff_pressure_mmhg(t)),
        diastolic=math.nan,
        mean_arterial=math.nan,
        status=BloodPressureStatus(body_movement=cycle.body_movement),
    )


def _plx_status(
    model: SessionModel, t: float
) -> tuple[float, float, PlxMeasurementStatus, PlxDeviceSensorStatus]:
    state = model.device_state(DeviceKind.PULSE_OXIMETER, t)
    if not state.contact:
        return math.nan, math.nan, PLX_OFF_STATUS, PLX_OFF_SENSOR
    spo2 = float(round(model.spo2_reading(t)))
    pulse_rate = float(round(model.vitals(t).heart_rate_bpm))
    if state.motion:
        return spo2, pulse_rate, PLX_MOTION_STATUS, PLX_MOTION_SENSOR
    return spo2, pulse_rate, PlxMeasurementStatus.VALIDATED_DATA, PlxDeviceSensorStatus(0)


def plx_continuous(model: SessionModel, t: float) -> PlxContinuous:
    spo2, pulse_rate, status, sensor = _plx_status(model, t)
    return PlxContinuous(
        spo2=spo2,
        pulse_rate=pulse_rate,
        measurement_status=status,
        device_sensor_status=sensor,
        pulse_amplitude_index=PLX_PERFUSION_INDEX_PERCENT,
    )


def plx_spot_check(model: SessionModel, t: float) -> PlxSpotCheck:
    spo2, pulse_rate, status, sensor = _plx_status(model, t)
    return PlxSpotCheck(
        spo2=spo2,
        pulse_rate=pulse_rate,
        timestamp=model.scenario.wall_time(round(t)),
        measurement_status=status,
        device_sensor_status=sensor,
        pulse_amplitude_index=PLX_PERFUSION_INDEX_PERCENT,
    )

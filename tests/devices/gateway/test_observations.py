import math
from datetime import UTC, datetime

from devices.gateway import observations as obs
from devices.gateway.observations import Observation
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


def test_heart_rate_keeps_contact_and_rr_intervals() -> None:
    m = HeartRateMeasurement(
        bpm=72, sensor_contact=False, energy_expended_kj=None, rr_intervals_ms=(812.5, 0.0)
    )
    assert obs.from_heart_rate(m) == Observation(values={"hr": 72.0}, contact=False, rr_ms=(812.5,))


def test_kpa_blood_pressure_becomes_mmhg_and_nan_is_left_out() -> None:
    m = BloodPressureMeasurement(
        unit="kPa",
        systolic=18.9,
        diastolic=12.0,
        mean_arterial=math.nan,
        timestamp=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        pulse_rate=60.0,
        user_id=1,
        status=BloodPressureStatus(
            cuff_loose=True, pulse_rate_range=PulseRateRange.ABOVE_UPPER_LIMIT
        ),
    )
    assert obs.from_blood_pressure(m) == Observation(
        values={"sbp": 141.8, "dbp": 90.0, "pr": 60.0},
        flags=("cuff_loose", "pr_above_range"),
        t_dev=datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp(),
    )


def test_every_bp_status_bit_becomes_a_flag() -> None:
    status = BloodPressureStatus(
        body_movement=True,
        cuff_loose=True,
        irregular_pulse=True,
        improper_position=True,
        pulse_rate_range=PulseRateRange.BELOW_LOWER_LIMIT,
    )
    m = BloodPressureMeasurement(
        unit="mmHg", systolic=120, diastolic=80, mean_arterial=93, status=status
    )
    assert obs.from_blood_pressure(m).flags == (
        "body_movement",
        "cuff_loose",
        "irregular_pulse",
        "improper_position",
        "pr_below_range",
    )


def test_intermediate_cuff_pressure_is_a_cuff_value_only() -> None:
    m = BloodPressureMeasurement(
        unit="mmHg", systolic=152.0, diastolic=math.nan, mean_arterial=math.nan
    )
    assert obs.from_intermediate_cuff_pressure(m) == Observation(values={"cuff": 152.0})


def test_plx_continuous_maps_every_value_and_status_bit() -> None:
    m = PlxContinuous(
        spo2=95.0,
        pulse_rate=70.0,
        spo2_fast=94.0,
        pulse_rate_fast=71.0,
        spo2_slow=96.0,
        pulse_rate_slow=69.0,
        pulse_amplitude_index=2.5,
        measurement_status=PlxMeasurementStatus(0xFFE0),
        device_sensor_status=PlxDeviceSensorStatus(0xFFFF),
    )
    result = obs.from_plx_continuous(m)
    assert result.values == {
        "spo2": 95.0,
        "pr": 70.0,
        "spo2_fast": 94.0,
        "pr_fast": 71.0,
        "spo2_slow": 96.0,
        "pr_slow": 69.0,
        "pai": 2.5,
    }
    assert len(result.flags) == 11 + 16
    assert result.from_storage is True


def test_plx_spot_check_with_an_unset_clock_keeps_no_device_time() -> None:
    m = PlxSpotCheck(
        spo2=88.0,
        pulse_rate=102.0,
        timestamp=datetime(2000, 1, 1, tzinfo=UTC),
        device_clock_set=False,
        measurement_status=PlxMeasurementStatus.QUESTIONABLE_MEASUREMENT_DETECTED,
    )
    assert obs.from_plx_spot_check(m) == Observation(
        values={"spo2": 88.0, "pr": 102.0}, flags=("plx_questionable", "device_clock_unset")
    )


def test_plx_spot_check_with_a_set_clock_keeps_it() -> None:
    when = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    m = PlxSpotCheck(spo2=97.0, pulse_rate=64.0, timestamp=when)
    assert obs.from_plx_spot_check(m) == Observation(
        values={"spo2": 97.0, "pr": 64.0}, t_dev=when.timestamp()
    )

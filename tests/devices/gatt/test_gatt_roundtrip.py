"""Round trips over generated measurements: decode(encode(m)) == m, and encoding is stable.

Values are drawn from what the wire can carry (SFLOAT words decoded, whole-second UTC
timestamps, RR intervals in 1/1024 s), so every generated object has an exact encoding.
"""

import math
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

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
    decode_sfloat,
    encode_battery_level,
    encode_blood_pressure_feature,
    encode_blood_pressure_measurement,
    encode_heart_rate_measurement,
    encode_intermediate_cuff_pressure,
    encode_plx_continuous,
    encode_plx_features,
    encode_plx_spot_check,
    parse_battery_level,
    parse_blood_pressure_feature,
    parse_blood_pressure_measurement,
    parse_heart_rate_measurement,
    parse_intermediate_cuff_pressure,
    parse_plx_continuous,
    parse_plx_features,
    parse_plx_spot_check,
)

PROPERTY = settings(database=None, max_examples=200)

sfloats = st.integers(0, 0xFFFF).map(decode_sfloat)  # every value an SFLOAT can hold
# hypothesis takes naive bounds and attaches the zone itself.
timestamps = st.datetimes(
    min_value=datetime(1582, 1, 1),  # noqa: DTZ001
    max_value=datetime(9999, 12, 31, 23, 59, 59),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda moment: moment.replace(microsecond=0))
measurement_status = st.integers(0, 0xFFFF).map(PlxMeasurementStatus)
device_sensor_status = st.integers(0, 0xFFFFFF).map(PlxDeviceSensorStatus)

heart_rates = st.builds(
    HeartRateMeasurement,
    bpm=st.integers(0, 0xFFFF),
    sensor_contact=st.sampled_from([None, False, True]),
    energy_expended_kj=st.none() | st.integers(0, 0xFFFF),
    rr_intervals_ms=st.lists(st.integers(0, 0xFFFF).map(lambda ticks: ticks * 1000 / 1024)).map(
        tuple
    ),
)
blood_pressure_statuses = st.builds(
    BloodPressureStatus,
    body_movement=st.booleans(),
    cuff_loose=st.booleans(),
    irregular_pulse=st.booleans(),
    pulse_rate_range=st.sampled_from(PulseRateRange),
    improper_position=st.booleans(),
)
blood_pressures = st.builds(
    BloodPressureMeasurement,
    unit=st.sampled_from(["mmHg", "kPa"]),
    systolic=sfloats,
    diastolic=sfloats,
    mean_arterial=sfloats,
    timestamp=st.none() | timestamps,
    pulse_rate=st.none() | sfloats,
    user_id=st.none() | st.integers(0, 0xFF),
    status=st.none() | blood_pressure_statuses,
)
cuff_pressures = blood_pressures.map(
    lambda measurement: replace(measurement, diastolic=math.nan, mean_arterial=math.nan)
)
spot_checks = st.builds(
    PlxSpotCheck,
    spo2=sfloats,
    pulse_rate=sfloats,
    timestamp=st.none() | timestamps,
    measurement_status=st.none() | measurement_status,
    device_sensor_status=st.none() | device_sensor_status,
    pulse_amplitude_index=st.none() | sfloats,
    device_clock_set=st.booleans(),
)
pairs = st.none() | st.tuples(sfloats, sfloats)


@st.composite
def continuous_measurements(draw):
    fast = draw(pairs) or (None, None)
    slow = draw(pairs) or (None, None)
    return PlxContinuous(
        spo2=draw(sfloats),
        pulse_rate=draw(sfloats),
        spo2_fast=fast[0],
        pulse_rate_fast=fast[1],
        spo2_slow=slow[0],
        pulse_rate_slow=slow[1],
        measurement_status=draw(st.none() | measurement_status),
        device_sensor_status=draw(st.none() | device_sensor_status),
        pulse_amplitude_index=draw(st.none() | sfloats),
    )


@st.composite
def plx_features(draw):
    status_support = draw(st.none() | measurement_status)
    sensor_support = draw(st.none() | device_sensor_status)
    presence = (status_support is not None) | (sensor_support is not None) << 1
    other_bits = draw(st.integers(0, 0xFFFF)) & ~0b11
    return PlxFeatures(
        supported_features=PlxSupportedFeatures(other_bits | presence),
        measurement_status_support=status_support,
        device_sensor_status_support=sensor_support,
    )


blood_pressure_features = st.builds(
    BloodPressureFeature,
    body_movement_detection=st.booleans(),
    cuff_fit_detection=st.booleans(),
    irregular_pulse_detection=st.booleans(),
    pulse_rate_range_detection=st.booleans(),
    measurement_position_detection=st.booleans(),
    multiple_bonds=st.booleans(),
)


def assert_round_trip(value, encode, parse):
    payload = encode(value)
    assert parse(payload) == value
    assert encode(parse(payload)) == payload


@PROPERTY
@given(heart_rates, st.booleans())
def test_heart_rate(measurement, force_uint16):
    payload = encode_heart_rate_measurement(measurement, force_uint16=force_uint16)
    assert parse_heart_rate_measurement(payload) == measurement
    assert encode_heart_rate_measurement(measurement) == encode_heart_rate_measurement(
        parse_heart_rate_measurement(payload)
    )
    assert (payload[0] & 0x01 == 1) == (force_uint16 or measurement.bpm > 0xFF)


@PROPERTY
@given(blood_pressures)
def test_blood_pressure_measurement(measurement):
    assert_round_trip(
        measurement, encode_blood_pressure_measurement, parse_blood_pressure_measurement
    )


@PROPERTY
@given(cuff_pressures)
def test_intermediate_cuff_pressure(measurement):
    assert_round_trip(
        measurement, encode_intermediate_cuff_pressure, parse_intermediate_cuff_pressure
    )


@PROPERTY
@given(spot_checks)
def test_plx_spot_check(measurement):
    assert_round_trip(measurement, encode_plx_spot_check, parse_plx_spot_check)


@PROPERTY
@given(continuous_measurements())
def test_plx_continuous(measurement):
    assert_round_trip(measurement, encode_plx_continuous, parse_plx_continuous)


@PROPERTY
@given(plx_features())
def test_plx_features(features):
    assert_round_trip(features, encode_plx_features, parse_plx_features)


@PROPERTY
@given(blood_pressure_features)
def test_blood_pressure_feature(feature):
    assert_round_trip(feature, encode_blood_pressure_feature, parse_blood_pressure_feature)


@PROPERTY
@given(st.integers(0, 100))
def test_battery_level(level):
    assert_round_trip(level, encode_battery_level, parse_battery_level)

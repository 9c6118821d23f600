"""The model as GATT values: what each wearable reports, through the real encoders and back."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

import pytest

from devices.emulation.addresses import address_for_log, normalise_address, static_random_address
from devices.emulation.backend.services import bleak_uuid, bumble_uuid, property_names
from devices.emulation.clock import ScaledClock
from devices.emulation.scenario import (
    CuffCycle,
    DeviceKind,
    DeviceSpec,
    Motion,
    Noise,
    Scenario,
    SensorOff,
    SessionModel,
    Vitals,
)
from devices.emulation.wearables.base import advertising_data
from devices.emulation.wearables.readings import (
    PLX_FEATURES,
    blood_pressure_measurement,
    heart_rate_measurement,
    intermediate_cuff_pressure,
    plx_continuous,
    plx_spot_check,
)
from devices.gatt import (
    BloodPressureMeasurement,
    BloodPressureStatus,
    HeartRateMeasurement,
    PlxContinuous,
    PlxDeviceSensorStatus,
    PlxMeasurementStatus,
    PlxSpotCheck,
    PulseRateRange,
    encode_blood_pressure_measurement,
    encode_heart_rate_measurement,
    encode_intermediate_cuff_pressure,
    encode_plx_continuous,
    encode_plx_features,
    encode_plx_spot_check,
    parse_blood_pressure_measurement,
    parse_heart_rate_measurement,
    parse_intermediate_cuff_pressure,
    parse_plx_continuous,
    parse_plx_features,
    parse_plx_spot_check,
)

MODEL = SessionModel(
    Scenario(
        patient="p",
        seed=1,
        duration_s=3600,
        start=datetime(2025, 1, 6, 9, 0, tzinfo=UTC),
        baseline=Vitals(
            heart_rate_bpm=70.4, systolic_mmhg=120, diastolic_mmhg=80, spo2_percent=97.2
        ),
        noise=Noise(heart_rate_bpm=0, systolic_mmhg=0, diastolic_mmhg=0, spo2_percent=0),
        events=(
            SensorOff(start_s=100, duration_s=60, device=DeviceKind.HEART_RATE),
            SensorOff(start_s=100, duration_s=60, device=DeviceKind.PULSE_OXIMETER),
            Motion(start_s=300, duration_s=60),
        ),
        devices=(
            DeviceSpec(kind=DeviceKind.BLOOD_PRESSURE, name="BPM", address="C0:00:00:00:00:02"),
        ),
    )
)


def cycle(pulse_rate_bpm: float, *, moving: bool = False) -> CuffCycle:
    return CuffCycle(
        index=0,
        start_s=60,
        end_s=90.4,
        systolic_mmhg=142,
        diastolic_mmhg=91,
        mean_arterial_mmhg=108,
        pulse_rate_bpm=pulse_rate_bpm,
        body_movement=moving,
    )


# Heart rate ---------------------------------------------------------------------------------------


def test_strap_with_contact_reports_heart_rate_and_the_newest_rr_intervals() -> None:
    rr = tuple(float(800 + i) for i in range(12))

    reading = heart_rate_measurement(MODEL, 10, rr)

    assert reading == HeartRateMeasurement(bpm=70, sensor_contact=True, rr_intervals_ms=rr[-9:])
    assert len(encode_heart_rate_measurement(reading)) <= 20  # fits the default ATT MTU


def test_strap_without_contact_reports_zero_and_no_contact() -> None:
    reading = heart_rate_measurement(MODEL, 120, (800.0,))

    assert reading == HeartRateMeasurement(bpm=0, sensor_contact=False)
    assert parse_heart_rate_measurement(encode_heart_rate_measurement(reading)) == reading


# Blood pressure -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pulse_rate", "expected"),
    [
        (72, PulseRateRange.WITHIN_RANGE),
        (101, PulseRateRange.ABOVE_UPPER_LIMIT),
        (39, PulseRateRange.BELOW_LOWER_LIMIT),
    ],
)
def test_cuff_reading_carries_the_cycle_time_and_flags(
    pulse_rate: float, expected: PulseRateRange
) -> None:
    reading = blood_pressure_measurement(MODEL, cycle(pulse_rate, moving=True))

    assert reading == BloodPressureMeasurement(
        unit="mmHg",
        systolic=142,
        diastolic=91,
        mean_arterial=108,
        timestamp=datetime(2025, 1, 6, 9, 1, 30, tzinfo=UTC),
        pulse_rate=pulse_rate,
        user_id=1,
        status=BloodPressureStatus(body_movement=True, pulse_rate_range=expected),
    )
    assert parse_blood_pressure_measurement(encode_blood_pressure_measurement(reading)) == reading


def test_intermediate_cuff_pressure_sits_in_the_systolic_slot() -> None:
    reading = intermediate_cuff_pressure(cycle(72), 72)

    decoded = parse_intermediate_cuff_pressure(encode_intermediate_cuff_pressure(reading))
    assert decoded.systolic == round(cycle(72).cuff_pressure_mmhg(72))
    assert math.isnan(decoded.diastolic)
    assert math.isnan(decoded.mean_arterial)
    assert decoded.status == BloodPressureStatus()


# Pulse oximeter -----------------------------------------------------------------------------------


def test_oximeter_reports_validated_readings_at_rest() -> None:
    reading = plx_continuous(MODEL, 10)

    assert reading == PlxContinuous(
        spo2=97,
        pulse_rate=70,
        measurement_status=PlxMeasurementStatus.VALIDATED_DATA,
        device_sensor_status=PlxDeviceSensorStatus(0),
        pulse_amplitude_index=4.2,
    )
    assert parse_plx_continuous(encode_plx_continuous(reading)) == reading


def test_oximeter_flags_motion_as_questionable() -> None:
    reading = plx_continuous(MODEL, 310)

    assert reading.measurement_status == PlxMeasurementStatus.QUESTIONABLE_MEASUREMENT_DETECTED
    assert reading.device_sensor_status == PlxDeviceSensorStatus.ERRATIC_SIGNAL_DETECTED
    assert reading.spo2 <= 97


def test_oximeter_with_the_probe_off_reports_unavailable_and_disconnected() -> None:
    spot = plx_spot_check(MODEL, 120)

    decoded = parse_plx_spot_check(encode_plx_spot_check(spot))
    assert math.isnan(decoded.spo2)
    assert math.isnan(decoded.pulse_rate)
    assert decoded.measurement_status == PlxMeasurementStatus.MEASUREMENT_UNAVAILABLE
    assert decoded.device_sensor_status == PlxDeviceSensorStatus.SENSOR_DISCONNECTED
    assert decoded.timestamp == datetime(2025, 1, 6, 9, 2, 0, tzinfo=UTC)


def test_spot_check_at_rest_round_trips() -> None:
    spot = plx_spot_check(MODEL, 600)

    assert spot == PlxSpotCheck(
        spo2=97,
        pulse_rate=70,
        timestamp=datetime(2025, 1, 6, 9, 10, 0, tzinfo=UTC),
        measurement_status=PlxMeasurementStatus.VALIDATED_DATA,
        device_sensor_status=PlxDeviceSensorStatus(0),
        pulse_amplitude_index=4.2,
    )
    assert parse_plx_spot_check(encode_plx_spot_check(spot)) == spot


def test_plx_features_announce_the_status_bits_used() -> None:
    assert parse_plx_features(encode_plx_features(PLX_FEATURES)) == PLX_FEATURES


# Advertising, addresses, UUIDs, clock -------------------------------------------------------------


def test_advertising_data_fits_31_bytes_and_shortens_long_names() -> None:
    short = advertising_data("HRM-1", (0x180D,))
    long = advertising_data("A very long wearable name that cannot fit", (0x180D,))

    assert short == bytes.fromhex("020106") + bytes.fromhex("03030d18") + b"\x06\x09HRM-1"
    assert len(long) == 31
    assert long[7:9] == bytes([23, 0x08])  # shortened local name, 22 bytes of it
    assert long[9:] == b"A very long wearable n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aa:bb:cc:dd:ee:ff", "AA:BB:CC:DD:EE:FF"),
        ("AA:BB:CC:DD:EE:FF/P", "AA:BB:CC:DD:EE:FF"),
        (" aa-bb-cc-dd-ee-ff ", "AA:BB:CC:DD:EE:FF"),
    ],
)
def test_addresses_are_normalised(text: str, expected: str) -> None:
    assert normalise_address(text) == expected


@pytest.mark.parametrize("text", ["", "AA:BB", "AA:BB:CC:DD:EE:GG", "AABBCCDDEEFF"])
def test_malformed_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a Bluetooth address"):
        normalise_address(text)


def test_addresses_in_logs_are_short_stable_hashes() -> None:
    hashed = address_for_log("aa:bb:cc:dd:ee:ff/P")

    assert hashed == address_for_log("AA:BB:CC:DD:EE:FF")
    assert len(hashed) == 8
    assert address_for_log("not an address") == address_for_log("not an address")


def test_static_random_addresses_have_the_two_top_bits_set() -> None:
    address = static_random_address("seed")

    assert address == static_random_address("seed")
    assert int(address[:2], 16) & 0xC0 == 0xC0
    assert normalise_address(address) == address


def test_uuid_forms_round_trip_between_bleak_and_bumble() -> None:
    custom = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"

    assert bleak_uuid(bumble_uuid("0000180d-0000-1000-8000-00805f9b34fb")) == (
        "0000180d-0000-1000-8000-00805f9b34fb"
    )
    assert len(bumble_uuid("0000180d-0000-1000-8000-00805f9b34fb").uuid_bytes) == 2
    assert bleak_uuid(bumble_uuid(custom)) == custom
    assert property_names(0x3A) == ["read", "write", "notify", "indicate"]  # type: ignore[arg-type]


async def test_scaled_clock_runs_faster_than_real_time() -> None:
    clock = ScaledClock(100.0, start_s=50.0)
    loop = asyncio.get_running_loop()

    started = loop.time()
    await clock.sleep_until(55.0)
    await clock.sleep_until(10.0)  # in the past: returns at once
    elapsed = loop.time() - started

    assert clock.now() >= 55.0 - 1e-6
    assert 0.045 <= elapsed < 0.5
    assert clock.speed == 100.0
    assert clock.real_seconds(60) == 0.6


async def test_scaled_clock_refuses_a_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="speed must be positive"):
        ScaledClock(0)

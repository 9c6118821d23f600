"""Blood Pressure Measurement (0x2A35), Intermediate Cuff Pressure (0x2A36), Feature (0x2A49).

Golden vectors from NordicSemiconductor/Android-BLE-Common-Library (BSD-3-Clause),
ble-common/src/test/java/no/nordicsemi/android/ble/common/callback/bps/
BloodPressureMeasurementDataCallbackTest.java and IntermediateCuffPressureDataCallbackTest.java;
the other vectors are hand-encoded from Blood Pressure Service 1.1 and the GATT Specification
Supplement (Date Time, 0x2A08).
"""

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from devices.errors import MalformedPayload, UnencodableValue
from devices.gatt import (
    UNKNOWN_USER_ID,
    BloodPressureFeature,
    BloodPressureMeasurement,
    BloodPressureStatus,
    PulseRateRange,
    encode_blood_pressure_feature,
    encode_blood_pressure_measurement,
    encode_intermediate_cuff_pressure,
    parse_blood_pressure_feature,
    parse_blood_pressure_measurement,
    parse_intermediate_cuff_pressure,
)

NAN = math.nan  # decoders return this very object, so whole-object equality holds

# Nordic's "full" vectors: flags 0x1E, Date Time 0000-04-17 20:41:59 (year 0: the device
# clock's date is unknown, so the timestamp is None), pulse rate 60, user 1, status 0b100111.
NORDIC_FULL_STATUS = BloodPressureStatus(
    body_movement=True,
    cuff_loose=True,
    irregular_pulse=True,
    pulse_rate_range=PulseRateRange.WITHIN_RANGE,
    improper_position=True,
)
# Nordic's "some" vectors: status 0b010010 = cuff too loose, pulse rate below lower limit.
NORDIC_SOME_STATUS = BloodPressureStatus(
    cuff_loose=True, pulse_rate_range=PulseRateRange.BELOW_LOWER_LIMIT
)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            bytes.fromhex("1e 8a00 5800 7800 0000 04 11 14 29 3b 3c00 01 2700"),
            BloodPressureMeasurement(
                unit="mmHg",
                systolic=138.0,
                diastolic=88.0,
                mean_arterial=120.0,
                timestamp=None,
                pulse_rate=60.0,
                user_id=1,
                status=NORDIC_FULL_STATUS,
            ),
            id="nordic-full",
        ),
        pytest.param(
            bytes.fromhex("15 bdf0 0b00 9ff0 3c00 1200"),
            BloodPressureMeasurement(
                unit="kPa",
                systolic=18.9,
                diastolic=11.0,
                mean_arterial=15.9,
                pulse_rate=60.0,
                status=NORDIC_SOME_STATUS,
            ),
            id="nordic-some",
        ),
        pytest.param(
            bytes.fromhex("00 bdf0 0b00 9ff0"),
            BloodPressureMeasurement(
                unit="mmHg", systolic=18.9, diastolic=11.0, mean_arterial=15.9
            ),
            id="nordic-minimal",
        ),
    ],
)
def test_nordic_blood_pressure_vectors(payload, expected):
    assert parse_blood_pressure_measurement(payload) == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            bytes.fromhex("1e 0400 0000 0000 0000 04 11 14 29 3b 3c00 01 2700"),
            # Nordic fills the unused diastolic and MAP slots with 0; they come back NaN.
            BloodPressureMeasurement(
                unit="mmHg",
                systolic=4.0,
                diastolic=NAN,
                mean_arterial=NAN,
                timestamp=None,
                pulse_rate=60.0,
                user_id=1,
                status=NORDIC_FULL_STATUS,
            ),
            id="nordic-full",
        ),
        pytest.param(
            bytes.fromhex("15 6ff0 0000 0000 3c00 1200"),
            BloodPressureMeasurement(
                unit="kPa",
                systolic=11.1,
                diastolic=NAN,
                mean_arterial=NAN,
                pulse_rate=60.0,
                status=NORDIC_SOME_STATUS,
            ),
            id="nordic-some",
        ),
        pytest.param(
            bytes.fromhex("00 d7f0 0000 0000"),
            BloodPressureMeasurement(unit="mmHg", systolic=21.5, diastolic=NAN, mean_arterial=NAN),
            id="nordic-minimal",
        ),
    ],
)
def test_nordic_intermediate_cuff_pressure_vectors(payload, expected):
    assert parse_intermediate_cuff_pressure(payload) == expected


PARSERS = [
    pytest.param(parse_blood_pressure_measurement, "0x2A35 Blood Pressure Measurement", id="bpm"),
    pytest.param(parse_intermediate_cuff_pressure, "0x2A36 Intermediate Cuff Pressure", id="icp"),
]


@pytest.mark.parametrize(("parse", "characteristic"), PARSERS)
@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        # Nordic onInvalidDataReceived_toShort: MAP cut in half.
        (bytes([1, 2, 3, 4, 5, 6]), "mean_arterial needs 2 byte(s) at offset 5, payload has 6"),
        # Nordic onInvalidDataReceived_noTimestamp: flags 0x03 announce a timestamp.
        (bytes([3, 2, 3, 4, 5, 6, 7]), "timestamp needs 7 byte(s) at offset 7, payload has 7"),
        (b"", "empty payload"),
        (bytes.fromhex("04 7800 5000 5a00 3c"), "pulse_rate needs 2 byte(s)"),
        (bytes.fromhex("08 7800 5000 5a00"), "user_id needs 1 byte(s)"),
        (bytes.fromhex("10 7800 5000 5a00 01"), "status needs 2 byte(s)"),
    ],
)
def test_malformed(parse, characteristic, payload, reason):
    with pytest.raises(MalformedPayload) as caught:
        parse(payload)
    assert caught.value.characteristic == characteristic
    assert caught.value.reason.startswith(reason)
    assert caught.value.payload_hex == payload.hex()


def bpm_with_timestamp(date_time_hex: str) -> bytes:
    # flags: timestamp present; 120/80/93 mmHg as plain integers (exponent 0)
    return bytes.fromhex("02 7800 5000 5d00" + date_time_hex)


@pytest.mark.parametrize(
    ("date_time_hex", "expected"),
    [
        ("e807 03 0f 08 1e 05", datetime(2024, 3, 15, 8, 30, 5, tzinfo=UTC)),
        ("2e06 0a 0f 00 00 00", datetime(1582, 10, 15, tzinfo=UTC)),  # first year allowed
        ("0f27 0c 1f 17 3b 3b", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("e807 02 1d 00 00 00", datetime(2024, 2, 29, tzinfo=UTC)),  # leap day
        ("0000 00 00 00 00 00", None),  # clock never set
        ("0000 03 0f 08 1e 05", None),  # year unknown
        ("e807 00 0f 08 1e 05", None),  # month unknown
        ("e807 03 00 08 1e 05", None),  # day unknown
    ],
)
def test_timestamp(date_time_hex, expected):
    measurement = parse_blood_pressure_measurement(bpm_with_timestamp(date_time_hex))
    assert measurement == BloodPressureMeasurement(
        unit="mmHg", systolic=120.0, diastolic=80.0, mean_arterial=93.0, timestamp=expected
    )


@pytest.mark.parametrize(
    ("date_time_hex", "reason"),
    [
        ("e807 0d 0f 08 1e 05", "timestamp month 13 is out of range 1..12"),
        ("e807 03 20 08 1e 05", "timestamp day 32 is out of range 1..31"),
        ("e807 03 0f 18 1e 05", "timestamp hours 24 is out of range 0..23"),
        ("e807 03 0f 08 3c 05", "timestamp minutes 60 is out of range 0..59"),
        ("e807 03 0f 08 1e 3c", "timestamp seconds 60 is out of range 0..59"),
        ("e803 03 0f 08 1e 05", "timestamp year 1000 is out of range 1582..9999"),
        ("1027 03 0f 08 1e 05", "timestamp year 10000 is out of range 1582..9999"),
        ("e907 02 1d 00 00 00", "timestamp 2025-02-29 is not a calendar date"),
        ("0000 00 00 18 00 00", "timestamp hours 24 is out of range 0..23"),
    ],
)
def test_timestamp_out_of_range_is_malformed(date_time_hex, reason):
    with pytest.raises(MalformedPayload) as caught:
        parse_blood_pressure_measurement(bpm_with_timestamp(date_time_hex))
    assert caught.value.reason == reason


def test_device_values_that_are_kept():
    # flags 0x1C: pulse rate, user id, status; systolic NaN, diastolic NRes, MAP +inf;
    # pulse rate -inf; user id 0xFF (unknown user); status pulse-rate range 3 (reserved) and
    # reserved bits 6-15 set (dropped).
    payload = bytes.fromhex("1c ff07 0008 fe07 0208 ff d8ff")
    assert parse_blood_pressure_measurement(payload) == BloodPressureMeasurement(
        unit="mmHg",
        systolic=NAN,
        diastolic=NAN,
        mean_arterial=math.inf,
        pulse_rate=-math.inf,
        user_id=UNKNOWN_USER_ID,
        status=BloodPressureStatus(pulse_rate_range=PulseRateRange.RESERVED),
    )
    assert UNKNOWN_USER_ID == 255


def test_trailing_bytes_and_reserved_flags_are_ignored():
    payload = bytes.fromhex("e0 7800 5000 5d00 deadbeef")  # flags bits 5-7 reserved
    assert parse_blood_pressure_measurement(payload) == BloodPressureMeasurement(
        unit="mmHg", systolic=120.0, diastolic=80.0, mean_arterial=93.0
    )


def test_encode_minimal_uses_the_most_precise_sfloat():
    measurement = BloodPressureMeasurement(
        unit="mmHg", systolic=18.9, diastolic=11.0, mean_arterial=15.9
    )
    # 1890e-2, 1100e-2, 1590e-2 (Nordic's device wrote 189e-1, 11e0, 159e-1)
    assert encode_blood_pressure_measurement(measurement) == bytes.fromhex("00 62e7 4ce4 36e6")


def test_encode_full():
    measurement = BloodPressureMeasurement(
        unit="kPa",
        systolic=16.0,
        diastolic=10.7,
        mean_arterial=12.4,
        timestamp=datetime(2024, 3, 15, 9, 30, 5, 999_999, tzinfo=timezone(timedelta(hours=1))),
        pulse_rate=72.0,
        user_id=2,
        status=BloodPressureStatus(
            irregular_pulse=True, pulse_rate_range=PulseRateRange.ABOVE_UPPER_LIMIT
        ),
    )
    assert encode_blood_pressure_measurement(measurement) == bytes.fromhex(
        "1f"  # kPa, timestamp, pulse rate, user id, status
        "40e6"  # 1600e-2
        "2ee4"  # 1070e-2
        "d8e4"  # 1240e-2
        "e807 03 0f 08 1e 05"  # converted to UTC, microseconds dropped
        "d0f2"  # 720e-1
        "02"
        "0c00"  # bit 2 irregular pulse, bits 3-4 = 1 above upper limit
    )


def test_encode_intermediate_cuff_pressure_sends_nan_in_unused_slots():
    measurement = BloodPressureMeasurement(
        unit="mmHg", systolic=4.0, diastolic=88.0, mean_arterial=0.0, user_id=1
    )
    payload = encode_intermediate_cuff_pressure(measurement)
    assert payload == bytes.fromhex("08 90e1 ff07 ff07 01")  # 400e-2, NaN, NaN, user 1
    assert parse_intermediate_cuff_pressure(payload) == BloodPressureMeasurement(
        unit="mmHg", systolic=4.0, diastolic=NAN, mean_arterial=NAN, user_id=1
    )


BASE = BloodPressureMeasurement(unit="mmHg", systolic=120.0, diastolic=80.0, mean_arterial=93.0)


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"unit": "psi"}, "unit", "must be 'mmHg' or 'kPa'"),
        ({"systolic": 3e10}, "systolic", "too large"),
        ({"systolic": None}, "systolic", "expected a number"),
        ({"user_id": 256}, "user_id", "out of range 0..255"),
        ({"pulse_rate": "72"}, "pulse_rate", "expected a number"),
        ({"timestamp": datetime(2024, 3, 15)}, "timestamp", "naive datetime"),  # noqa: DTZ001
        ({"timestamp": "2024-03-15"}, "timestamp", "expected a datetime"),
        ({"timestamp": datetime(1581, 12, 31, tzinfo=UTC)}, "timestamp", "1582..9999"),
        (
            {"timestamp": datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2)))},
            "timestamp",
            "1582..9999",
        ),
        ({"status": 0x0004}, "status", "expected a BloodPressureStatus"),
        ({"status": BloodPressureStatus(pulse_rate_range=4)}, "status", "is not 0..3"),
    ],
)
def test_encode_rejects(changes, field, reason):
    with pytest.raises(UnencodableValue, match=reason) as caught:
        encode_blood_pressure_measurement(replace(BASE, **changes))
    assert caught.value.field == f"0x2A35 Blood Pressure Measurement: {field}"


def test_encode_intermediate_cuff_pressure_names_its_characteristic():
    with pytest.raises(UnencodableValue) as caught:
        encode_intermediate_cuff_pressure(
            BloodPressureMeasurement(
                unit="mmHg", systolic=4.0, diastolic=NAN, mean_arterial=NAN, user_id=-1
            )
        )
    assert caught.value.field == "0x2A36 Intermediate Cuff Pressure: user_id"


ALL_FEATURES = BloodPressureFeature(
    body_movement_detection=True,
    cuff_fit_detection=True,
    irregular_pulse_detection=True,
    pulse_rate_range_detection=True,
    measurement_position_detection=True,
    multiple_bonds=True,
)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (bytes.fromhex("3f00"), ALL_FEATURES),
        (
            bytes.fromhex("0500"),
            BloodPressureFeature(body_movement_detection=True, irregular_pulse_detection=True),
        ),
        (bytes.fromhex("0000"), BloodPressureFeature()),
    ],
)
def test_blood_pressure_feature(payload, expected):
    assert parse_blood_pressure_feature(payload) == expected
    assert encode_blood_pressure_feature(expected) == payload


def test_blood_pressure_feature_ignores_reserved_bits_and_trailing_bytes():
    # Bits 6-15 are reserved, or defined by later revisions.
    assert parse_blood_pressure_feature(bytes.fromhex("ffff00")) == ALL_FEATURES


def test_blood_pressure_feature_encode():
    feature = BloodPressureFeature(cuff_fit_detection=True, multiple_bonds=True)
    assert encode_blood_pressure_feature(feature) == bytes.fromhex("2200")


@pytest.mark.parametrize("payload", [b"", b"\x3f"])
def test_blood_pressure_feature_malformed(payload):
    with pytest.raises(MalformedPayload) as caught:
        parse_blood_pressure_feature(payload)
    assert caught.value.characteristic == "0x2A49 Blood Pressure Feature"

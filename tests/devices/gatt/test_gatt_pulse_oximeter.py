"""PLX Spot-Check (0x2A5E), PLX Continuous (0x2A5F) and PLX Features (0x2A60).

No public golden vectors exist for these (Nordic's library has no PLX tests): the payloads are
hand-encoded from Pulse Oximeter Service 1.0.1 / GATT Specification Supplement, one comment
per field. Bit positions cross-checked against Qualcomm's Bluetopia PLXS header (PLXSTypes.h).
"""

import math
from datetime import UTC, datetime

import pytest

from devices.errors import MalformedPayload, UnencodableValue
from devices.gatt import (
    PlxContinuous,
    PlxDeviceSensorStatus,
    PlxFeatures,
    PlxMeasurementStatus,
    PlxSpotCheck,
    PlxSupportedFeatures,
    encode_plx_continuous,
    encode_plx_features,
    encode_plx_spot_check,
    parse_plx_continuous,
    parse_plx_features,
    parse_plx_spot_check,
)

SPOT_CHECK_FULL = bytes.fromhex(
    "1f"  # flags: timestamp, measurement status, device+sensor status, PAI, clock NOT set
    "6100"  # SpO2 97 (mantissa 97, exponent 0)
    "4800"  # PR 72
    "e807 03 0f 08 1e 05"  # timestamp 2024-03-15 08:30:05
    "8000"  # measurement status: bit 7 validated data
    "200000"  # device and sensor status: bit 5 low perfusion
    "2df0"  # PAI 4.5 (45 x 10^-1)
)


def test_spot_check_full():
    assert parse_plx_spot_check(SPOT_CHECK_FULL) == PlxSpotCheck(
        spo2=97.0,
        pulse_rate=72.0,
        timestamp=datetime(2024, 3, 15, 8, 30, 5, tzinfo=UTC),
        measurement_status=PlxMeasurementStatus.VALIDATED_DATA,
        device_sensor_status=PlxDeviceSensorStatus.LOW_PERFUSION_DETECTED,
        pulse_amplitude_index=4.5,
        device_clock_set=False,
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            bytes.fromhex(
                "00"  # flags: nothing optional, clock set
                "6100"  # SpO2 97
                "4800"  # PR 72
            ),
            PlxSpotCheck(spo2=97.0, pulse_rate=72.0),
            id="minimal",
        ),
        pytest.param(
            bytes.fromhex(
                "01"  # flags: timestamp
                "ff07"  # SpO2 NaN (no reading yet)
                "ff07"  # PR NaN
                "0000 00 00 00 00 00"  # timestamp with unknown date
                "abcdef"  # vendor bytes: ignored
            ),
            PlxSpotCheck(spo2=math.nan, pulse_rate=math.nan, timestamp=None),
            id="nan-unknown-date-trailing",
        ),
        pytest.param(
            bytes.fromhex(
                "e2"  # flags: measurement status; bits 5-7 reserved (ignored)
                "6000"  # SpO2 96
                "3c00"  # PR 60
                "1f80"  # status: reserved bits 0-4 (kept) + bit 15 invalid measurement
            ),
            PlxSpotCheck(
                spo2=96.0,
                pulse_rate=60.0,
                measurement_status=PlxMeasurementStatus(0x801F),
            ),
            id="reserved-bits",
        ),
    ],
)
def test_spot_check(payload, expected):
    assert parse_plx_spot_check(payload) == expected


def test_spot_check_keeps_reserved_status_bits_on_the_way_back():
    decoded = parse_plx_spot_check(bytes.fromhex("02 6000 3c00 1f80"))
    assert decoded.measurement_status & PlxMeasurementStatus.INVALID_MEASUREMENT_DETECTED
    assert decoded.measurement_status == 0x801F
    assert encode_plx_spot_check(decoded) == bytes.fromhex("02 c0f3 58f2 1f80")  # 960e-1, 600e-1


def test_spot_check_encode_full():
    decoded = parse_plx_spot_check(SPOT_CHECK_FULL)
    assert encode_plx_spot_check(decoded) == bytes.fromhex(
        "1f"
        "caf3"  # SpO2 97 -> 970 x 10^-1
        "d0f2"  # PR 72 -> 720 x 10^-1
        "e807 03 0f 08 1e 05"
        "8000"
        "200000"
        "c2e1"  # PAI 4.5 -> 450 x 10^-2
    )


CONTINUOUS_FULL = bytes.fromhex(
    "1f"  # flags: fast, slow, measurement status, device+sensor status, PAI
    "6200"  # SpO2 normal 98
    "3c00"  # PR normal 60
    "6100"  # SpO2 fast 97
    "3e00"  # PR fast 62
    "6000"  # SpO2 slow 96
    "3b00"  # PR slow 59
    "2020"  # measurement status: bit 5 ongoing, bit 13 measurement unavailable
    "008000"  # device and sensor status: bit 15 sensor disconnected
    "ff07"  # PAI NaN
)


def test_continuous_full():
    assert parse_plx_continuous(CONTINUOUS_FULL) == PlxContinuous(
        spo2=98.0,
        pulse_rate=60.0,
        spo2_fast=97.0,
        pulse_rate_fast=62.0,
        spo2_slow=96.0,
        pulse_rate_slow=59.0,
        measurement_status=PlxMeasurementStatus.MEASUREMENT_ONGOING
        | PlxMeasurementStatus.MEASUREMENT_UNAVAILABLE,
        device_sensor_status=PlxDeviceSensorStatus.SENSOR_DISCONNECTED,
        pulse_amplitude_index=math.nan,
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            bytes.fromhex(
                "00"  # flags: only SpO2PR-Normal
                "6200"  # SpO2 98
                "3c00"  # PR 60
                "0102"  # vendor bytes: ignored
            ),
            PlxContinuous(spo2=98.0, pulse_rate=60.0),
            id="minimal-trailing",
        ),
        pytest.param(
            bytes.fromhex(
                "0a"  # flags: slow pair, device+sensor status
                "6200"  # SpO2 98
                "3c00"  # PR 60
                "6000"  # SpO2 slow 96
                "3b00"  # PR slow 59
                "000001"  # device and sensor status: bit 16 (reserved, kept)
            ),
            PlxContinuous(
                spo2=98.0,
                pulse_rate=60.0,
                spo2_slow=96.0,
                pulse_rate_slow=59.0,
                device_sensor_status=PlxDeviceSensorStatus(0x010000),
            ),
            id="slow-only",
        ),
    ],
)
def test_continuous(payload, expected):
    assert parse_plx_continuous(payload) == expected


@pytest.mark.parametrize(
    ("parse", "payload", "reason"),
    [
        (parse_plx_spot_check, b"", "empty payload"),
        (parse_plx_spot_check, bytes.fromhex("00 6100 48"), "pulse_rate needs 2 byte(s)"),
        (parse_plx_spot_check, bytes.fromhex("01 6100 4800 e807 03"), "timestamp needs 7"),
        (parse_plx_spot_check, bytes.fromhex("02 6100 4800 80"), "measurement_status needs 2"),
        (parse_plx_spot_check, bytes.fromhex("04 6100 4800 2000"), "device_sensor_status needs 3"),
        (parse_plx_spot_check, bytes.fromhex("08 6100 4800"), "pulse_amplitude_index needs 2"),
        (
            parse_plx_spot_check,
            bytes.fromhex("01 6100 4800 e807 0d 0f 08 1e 05"),
            "timestamp month 13 is out of range 1..12",
        ),
        (parse_plx_continuous, b"", "empty payload"),
        (parse_plx_continuous, bytes.fromhex("01 6200 3c00 6100"), "pulse_rate_fast needs 2"),
        (parse_plx_continuous, bytes.fromhex("02 6200 3c00"), "spo2_slow needs 2"),
        (parse_plx_continuous, bytes.fromhex("10 6200 3c00 ff"), "pulse_amplitude_index needs 2"),
    ],
)
def test_malformed(parse, payload, reason):
    with pytest.raises(MalformedPayload) as caught:
        parse(payload)
    assert caught.value.reason.startswith(reason)


def test_malformed_names_the_characteristic():
    with pytest.raises(MalformedPayload) as caught:
        parse_plx_spot_check(b"\x00")
    assert caught.value.characteristic == "0x2A5E PLX Spot-Check Measurement"
    with pytest.raises(MalformedPayload) as caught:
        parse_plx_continuous(b"\x00")
    assert caught.value.characteristic == "0x2A5F PLX Continuous Measurement"
    with pytest.raises(MalformedPayload) as caught:
        parse_plx_features(b"\x00")
    assert caught.value.characteristic == "0x2A60 PLX Features"


def test_continuous_encode_minimal():
    assert encode_plx_continuous(PlxContinuous(spo2=98.0, pulse_rate=60.0)) == bytes.fromhex(
        "00 d4f3 58f2"  # 980e-1, 600e-1
    )


@pytest.mark.parametrize(
    ("measurement", "field", "reason"),
    [
        (
            PlxContinuous(spo2=98.0, pulse_rate=60.0, spo2_fast=97.0),
            "spo2_fast",
            "spo2_fast and pulse_rate_fast go together",
        ),
        (
            PlxContinuous(spo2=98.0, pulse_rate=60.0, pulse_rate_slow=59.0),
            "spo2_slow",
            "spo2_slow and pulse_rate_slow go together",
        ),
        (
            PlxContinuous(spo2=98.0, pulse_rate=60.0, device_sensor_status=1 << 24),
            "device_sensor_status",
            "out of range 0..16777215",
        ),
        (
            PlxContinuous(spo2=98.0, pulse_rate=60.0, measurement_status=1 << 16),
            "measurement_status",
            "out of range 0..65535",
        ),
    ],
)
def test_continuous_encode_rejects(measurement, field, reason):
    with pytest.raises(UnencodableValue, match=reason) as caught:
        encode_plx_continuous(measurement)
    assert caught.value.field == f"0x2A5F PLX Continuous Measurement: {field}"


def test_spot_check_encode_rejects_naive_timestamp():
    naive = datetime(2024, 3, 15)  # noqa: DTZ001 (what is being rejected)
    measurement = PlxSpotCheck(spo2=97.0, pulse_rate=72.0, timestamp=naive)
    with pytest.raises(UnencodableValue, match="naive datetime") as caught:
        encode_plx_spot_check(measurement)
    assert caught.value.field == "0x2A5E PLX Spot-Check Measurement: timestamp"


ALL_MEASUREMENT_STATUS = PlxMeasurementStatus(0xFFE0)
ALL_DEVICE_SENSOR_STATUS = PlxDeviceSensorStatus(0x00FFFF)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            bytes.fromhex(
                "0300"  # supported: both support fields present
                "e0ff"  # measurement status support: bits 5-15
                "ffff00"  # device and sensor status support: bits 0-15
            ),
            PlxFeatures(
                supported_features=PlxSupportedFeatures.MEASUREMENT_STATUS_SUPPORT_PRESENT
                | PlxSupportedFeatures.DEVICE_SENSOR_STATUS_SUPPORT_PRESENT,
                measurement_status_support=ALL_MEASUREMENT_STATUS,
                device_sensor_status_support=ALL_DEVICE_SENSOR_STATUS,
            ),
            id="both-support-fields",
        ),
        pytest.param(
            bytes.fromhex("fc00"),  # supported: bits 2-7, no support fields
            PlxFeatures(
                supported_features=PlxSupportedFeatures.SPOT_CHECK_MEASUREMENT_STORAGE
                | PlxSupportedFeatures.SPOT_CHECK_TIMESTAMP
                | PlxSupportedFeatures.SPO2PR_FAST
                | PlxSupportedFeatures.SPO2PR_SLOW
                | PlxSupportedFeatures.PULSE_AMPLITUDE_INDEX
                | PlxSupportedFeatures.MULTIPLE_BONDS,
            ),
            id="no-support-fields",
        ),
        pytest.param(
            bytes.fromhex(
                "0200"  # supported: device and sensor status support present
                "300000"  # support: bits 4-5 poor signal, low perfusion
            ),
            PlxFeatures(
                supported_features=PlxSupportedFeatures.DEVICE_SENSOR_STATUS_SUPPORT_PRESENT,
                device_sensor_status_support=PlxDeviceSensorStatus.POOR_SIGNAL_DETECTED
                | PlxDeviceSensorStatus.LOW_PERFUSION_DETECTED,
            ),
            id="device-sensor-support-only",
        ),
    ],
)
def test_features(payload, expected):
    assert parse_plx_features(payload) == expected
    assert encode_plx_features(expected) == payload


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty payload"),
        (b"\x03", "supported features needs 2 byte(s) at offset 0, payload has 1"),
        (bytes.fromhex("0100 e0"), "measurement_status_support needs 2 byte(s)"),
        (bytes.fromhex("0200 ffff"), "device_sensor_status_support needs 3 byte(s)"),
    ],
)
def test_features_malformed(payload, reason):
    with pytest.raises(MalformedPayload) as caught:
        parse_plx_features(payload)
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("features", "field"),
    [
        (
            PlxFeatures(supported_features=PlxSupportedFeatures.MEASUREMENT_STATUS_SUPPORT_PRESENT),
            "supported_features",
        ),
        (
            PlxFeatures(
                supported_features=PlxSupportedFeatures(0),
                device_sensor_status_support=ALL_DEVICE_SENSOR_STATUS,
            ),
            "supported_features",
        ),
        (PlxFeatures(supported_features=1 << 16), "supported_features"),
    ],
)
def test_features_encode_rejects(features, field):
    with pytest.raises(UnencodableValue) as caught:
        encode_plx_features(features)
    assert caught.value.field == f"0x2A60 PLX Features: {field}"


MEASUREMENT_STATUS_BITS = {
    "MEASUREMENT_ONGOING": 5,
    "EARLY_ESTIMATED_DATA": 6,
    "VALIDATED_DATA": 7,
    "FULLY_QUALIFIED_DATA": 8,
    "DATA_FROM_MEASUREMENT_STORAGE": 9,
    "DATA_FOR_DEMONSTRATION": 10,
    "DATA_FOR_TESTING": 11,
    "CALIBRATION_ONGOING": 12,
    "MEASUREMENT_UNAVAILABLE": 13,
    "QUESTIONABLE_MEASUREMENT_DETECTED": 14,
    "INVALID_MEASUREMENT_DETECTED": 15,
}
DEVICE_SENSOR_STATUS_BITS = {
    "EXTENDED_DISPLAY_UPDATE_ONGOING": 0,
    "EQUIPMENT_MALFUNCTION_DETECTED": 1,
    "SIGNAL_PROCESSING_IRREGULARITY_DETECTED": 2,
    "INADEQUATE_SIGNAL_DETECTED": 3,
    "POOR_SIGNAL_DETECTED": 4,
    "LOW_PERFUSION_DETECTED": 5,
    "ERRATIC_SIGNAL_DETECTED": 6,
    "NONPULSATILE_SIGNAL_DETECTED": 7,
    "QUESTIONABLE_PULSE_DETECTED": 8,
    "SIGNAL_ANALYSIS_ONGOING": 9,
    "SENSOR_INTERFERENCE_DETECTED": 10,
    "SENSOR_UNCONNECTED_TO_USER": 11,
    "UNKNOWN_SENSOR_CONNECTED": 12,
    "SENSOR_DISPLACED": 13,
    "SENSOR_MALFUNCTIONING": 14,
    "SENSOR_DISCONNECTED": 15,
}
SUPPORTED_FEATURES_BITS = {
    "MEASUREMENT_STATUS_SUPPORT_PRESENT": 0,
    "DEVICE_SENSOR_STATUS_SUPPORT_PRESENT": 1,
    "SPOT_CHECK_MEASUREMENT_STORAGE": 2,
    "SPOT_CHECK_TIMESTAMP": 3,
    "SPO2PR_FAST": 4,
    "SPO2PR_SLOW": 5,
    "PULSE_AMPLITUDE_INDEX": 6,
    "MULTIPLE_BONDS": 7,
}


@pytest.mark.parametrize(
    ("flag_type", "bits"),
    [
        (PlxMeasurementStatus, MEASUREMENT_STATUS_BITS),
        (PlxDeviceSensorStatus, DEVICE_SENSOR_STATUS_BITS),
        (PlxSupportedFeatures, SUPPORTED_FEATURES_BITS),
    ],
)
def test_flag_bit_positions_follow_the_spec(flag_type, bits):
    assert {member.name: member.value.bit_length() - 1 for member in flag_type} == bits

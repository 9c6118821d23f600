"""Heart Rate Measurement (0x2A37).

Golden vectors from NordicSemiconductor/Android-BLE-Common-Library (BSD-3-Clause),
ble-common/src/test/java/no/nordicsemi/android/ble/common/callback/hr/
HeartRateMeasurementDataCallbackTest.java; the other vectors are hand-encoded from Heart Rate
Service 1.0 section 3.1.
"""

import pytest

from devices.errors import MalformedPayload, UnencodableValue
from devices.gatt import (
    HeartRateMeasurement,
    encode_heart_rate_measurement,
    parse_heart_rate_measurement,
)

NORDIC_VECTORS = [
    pytest.param(bytes([0, 85]), HeartRateMeasurement(bpm=85), id="nordic-simple"),
    pytest.param(
        bytes([0x04, 0xFF]),
        HeartRateMeasurement(bpm=255, sensor_contact=False),
        id="nordic-noContact",
    ),
    pytest.param(
        bytes([0b11110, 85, 50, 0, 33, 0]),
        HeartRateMeasurement(
            bpm=85,
            sensor_contact=True,
            energy_expended_kj=50,
            rr_intervals_ms=(33 * 1000 / 1024,),  # 32.2265625 ms
        ),
        id="nordic-uint8",
    ),
    pytest.param(
        bytes([0b11111, 1, 1, 50, 1, 1, 0, 2, 1, 0xFF, 0xFF]),
        HeartRateMeasurement(
            bpm=257,
            sensor_contact=True,
            energy_expended_kj=306,
            rr_intervals_ms=(0.9765625, 251.953125, 63999.0234375),  # 1, 258, 65535 / 1024 s
        ),
        id="nordic-uint16",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), NORDIC_VECTORS)
def test_nordic_vectors(payload, expected):
    assert parse_heart_rate_measurement(payload) == expected


@pytest.mark.parametrize(("payload", "expected"), NORDIC_VECTORS)
def test_nordic_vectors_encode_back_to_the_same_bytes(payload, expected):
    assert encode_heart_rate_measurement(expected) == payload


def test_nordic_invalid_vector_rr_announced_but_missing():
    # flags 0b10111: uint16 HR, contact detected, RR present - but nothing follows the HR.
    with pytest.raises(MalformedPayload) as caught:
        parse_heart_rate_measurement(bytes([0b10111, 1, 1]))
    assert caught.value.characteristic == "0x2A37 Heart Rate Measurement"
    assert caught.value.payload_hex == "170101"
    assert caught.value.reason == "RR intervals announced by flags, but none follow"


@pytest.mark.parametrize(
    ("flags", "contact"),
    [
        (0b000, None),  # not supported
        (0b010, None),  # not supported (bit 1 alone)
        (0b100, False),  # supported, not detected: NOT true (a known bug elsewhere tests 0x06)
        (0b110, True),  # supported and detected
    ],
)
def test_sensor_contact_has_three_states(flags, contact):
    assert parse_heart_rate_measurement(bytes([flags, 72])) == HeartRateMeasurement(
        bpm=72, sensor_contact=contact
    )


def test_polar_style_notification_with_two_rr_intervals():
    payload = bytes.fromhex("104850033403")  # RR flag, 72 bpm, RR 848 and 820 /1024 s
    assert parse_heart_rate_measurement(payload) == HeartRateMeasurement(
        bpm=72, rr_intervals_ms=(828.125, 800.78125)
    )


@pytest.mark.parametrize(
    "payload_type", [bytes, bytearray, memoryview], ids=["bytes", "bytearray", "memoryview"]
)
def test_accepts_what_bleak_hands_over(payload_type):
    assert parse_heart_rate_measurement(payload_type(b"\x00\x48")) == HeartRateMeasurement(bpm=72)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        # Trailing bytes after the announced fields are ignored (vendor data, newer revisions).
        (bytes([0x00, 72, 0xAA, 0xBB, 0xCC]), HeartRateMeasurement(bpm=72)),
        (bytes([0x08, 72, 0x10, 0x00, 0xAA]), HeartRateMeasurement(bpm=72, energy_expended_kj=16)),
        # Reserved flag bits 5-7 are ignored.
        (bytes([0xE0, 72]), HeartRateMeasurement(bpm=72)),
        # uint16 format for a value that would fit a uint8 is allowed.
        (bytes([0x01, 72, 0x00]), HeartRateMeasurement(bpm=72)),
        # RR value 0 is passed through; judging it is the consumer's business.
        (bytes([0x10, 72, 0x00, 0x00]), HeartRateMeasurement(bpm=72, rr_intervals_ms=(0.0,))),
    ],
)
def test_tolerated_inputs(payload, expected):
    assert parse_heart_rate_measurement(payload) == expected


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty payload"),
        (bytes([0x00]), "heart rate needs 1 byte(s) at offset 1, payload has 1"),
        (bytes([0x01, 72]), "heart rate needs 2 byte(s) at offset 1, payload has 2"),
        (bytes([0x08, 72, 0x10]), "energy expended needs 2 byte(s) at offset 2, payload has 3"),
        (bytes([0x10, 72]), "RR intervals announced by flags, but none follow"),
        (
            bytes([0x10, 72, 0x00, 0x03, 0x01]),
            "RR intervals are uint16 each, but 3 byte(s) are left for them",
        ),
    ],
)
def test_malformed(payload, reason):
    with pytest.raises(MalformedPayload) as caught:
        parse_heart_rate_measurement(payload)
    assert caught.value.reason == reason
    assert caught.value.payload_hex == payload.hex()


def test_encode_picks_uint8_unless_told_or_needed():
    assert encode_heart_rate_measurement(HeartRateMeasurement(bpm=255)) == bytes([0x00, 0xFF])
    assert encode_heart_rate_measurement(HeartRateMeasurement(bpm=256)) == bytes([0x01, 0, 1])
    assert encode_heart_rate_measurement(HeartRateMeasurement(bpm=72), force_uint16=True) == bytes(
        [0x01, 72, 0]
    )


def test_encode_rounds_rr_intervals_to_1_1024_s():
    measurement = HeartRateMeasurement(bpm=60, sensor_contact=True, rr_intervals_ms=(1000, 800.0))
    # 1000 ms = 1024 ticks, 800 ms = 819.2 -> 819 ticks
    assert encode_heart_rate_measurement(measurement) == bytes.fromhex("163c00043303")


@pytest.mark.parametrize(
    ("measurement", "field", "reason"),
    [
        (HeartRateMeasurement(bpm=-1), "bpm", "out of range 0..65535"),
        (HeartRateMeasurement(bpm=65536), "bpm", "out of range 0..65535"),
        (HeartRateMeasurement(bpm=72.0), "bpm", "expected an integer, got float"),
        (HeartRateMeasurement(bpm=True), "bpm", "expected an integer, got bool"),
        (
            HeartRateMeasurement(bpm=72, energy_expended_kj=65536),
            "energy_expended_kj",
            "out of range 0..65535",
        ),
        (HeartRateMeasurement(bpm=72, sensor_contact="yes"), "sensor_contact", "None, False"),
        (HeartRateMeasurement(bpm=72, rr_intervals_ms=(-1.0,)), "rr_intervals_ms", "outside"),
        (HeartRateMeasurement(bpm=72, rr_intervals_ms=(64000,)), "rr_intervals_ms", "outside"),
        (
            HeartRateMeasurement(bpm=72, rr_intervals_ms=(float("nan"),)),
            "rr_intervals_ms",
            "not a finite number",
        ),
        (
            HeartRateMeasurement(bpm=72, rr_intervals_ms=(float("inf"),)),
            "rr_intervals_ms",
            "not a finite number",
        ),
        (
            HeartRateMeasurement(bpm=72, rr_intervals_ms=("800",)),
            "rr_intervals_ms",
            "expected a number of milliseconds, got str",
        ),
    ],
)
def test_encode_rejects(measurement, field, reason):
    with pytest.raises(UnencodableValue, match=reason) as caught:
        encode_heart_rate_measurement(measurement)
    assert caught.value.field == f"0x2A37 Heart Rate Measurement: {field}"


def test_measurement_is_frozen():
    measurement = HeartRateMeasurement(bpm=72)
    with pytest.raises(AttributeError):
        measurement.bpm = 80
    assert not hasattr(measurement, "__dict__")  # slots

"""The `devices` error tree and the assigned-number constants."""

import pickle

import pytest

from devices.errors import DevicesError, MalformedPayload, UnencodableValue
from devices.gatt import uuids


def test_malformed_payload_carries_characteristic_and_hex():
    error = MalformedPayload("0x2A37 Heart Rate Measurement", bytearray(b"\x17\x01"), "too short")
    assert isinstance(error, DevicesError)
    assert error.characteristic == "0x2A37 Heart Rate Measurement"
    assert error.payload_hex == "1701"
    assert error.reason == "too short"
    assert str(error) == "malformed 0x2A37 Heart Rate Measurement payload 1701: too short"


def test_malformed_payload_names_an_empty_payload():
    error = MalformedPayload("0x2A19 Battery Level", b"", "empty payload")
    assert error.payload_hex == ""
    assert str(error) == "malformed 0x2A19 Battery Level payload <empty>: empty payload"


def round_trip(error):
    return pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)


def test_errors_survive_pickling():
    malformed = round_trip(MalformedPayload("0x2A19 Battery Level", b"e", "x"))
    assert (malformed.characteristic, malformed.payload_hex, malformed.reason) == (
        "0x2A19 Battery Level",
        "65",
        "x",
    )
    unencodable = round_trip(UnencodableValue("SFLOAT", 3e10, "too large"))
    assert (unencodable.field, unencodable.value, unencodable.reason) == (
        "SFLOAT",
        3e10,
        "too large",
    )


def test_unencodable_value_is_a_value_error():
    error = UnencodableValue("0x2A19 Battery Level: level", 101, "above 100 %")
    assert isinstance(error, DevicesError)
    assert isinstance(error, ValueError)
    assert str(error) == "cannot encode 0x2A19 Battery Level: level = 101: above 100 %"


@pytest.mark.parametrize(
    ("name", "uuid16", "uuid"),
    [
        ("HEART_RATE_SERVICE", 0x180D, "0000180d-0000-1000-8000-00805f9b34fb"),
        ("BLOOD_PRESSURE_SERVICE", 0x1810, "00001810-0000-1000-8000-00805f9b34fb"),
        ("PULSE_OXIMETER_SERVICE", 0x1822, "00001822-0000-1000-8000-00805f9b34fb"),
        ("BATTERY_SERVICE", 0x180F, "0000180f-0000-1000-8000-00805f9b34fb"),
        ("DEVICE_INFORMATION_SERVICE", 0x180A, "0000180a-0000-1000-8000-00805f9b34fb"),
        ("HEART_RATE_MEASUREMENT", 0x2A37, "00002a37-0000-1000-8000-00805f9b34fb"),
        ("BODY_SENSOR_LOCATION", 0x2A38, "00002a38-0000-1000-8000-00805f9b34fb"),
        ("BLOOD_PRESSURE_MEASUREMENT", 0x2A35, "00002a35-0000-1000-8000-00805f9b34fb"),
        ("INTERMEDIATE_CUFF_PRESSURE", 0x2A36, "00002a36-0000-1000-8000-00805f9b34fb"),
        ("BLOOD_PRESSURE_FEATURE", 0x2A49, "00002a49-0000-1000-8000-00805f9b34fb"),
        ("PLX_SPOT_CHECK_MEASUREMENT", 0x2A5E, "00002a5e-0000-1000-8000-00805f9b34fb"),
        ("PLX_CONTINUOUS_MEASUREMENT", 0x2A5F, "00002a5f-0000-1000-8000-00805f9b34fb"),
        ("PLX_FEATURES", 0x2A60, "00002a60-0000-1000-8000-00805f9b34fb"),
        ("BATTERY_LEVEL", 0x2A19, "00002a19-0000-1000-8000-00805f9b34fb"),
        ("MANUFACTURER_NAME_STRING", 0x2A29, "00002a29-0000-1000-8000-00805f9b34fb"),
        ("MODEL_NUMBER_STRING", 0x2A24, "00002a24-0000-1000-8000-00805f9b34fb"),
        ("SERIAL_NUMBER_STRING", 0x2A25, "00002a25-0000-1000-8000-00805f9b34fb"),
        ("FIRMWARE_REVISION_STRING", 0x2A26, "00002a26-0000-1000-8000-00805f9b34fb"),
    ],
)
def test_assigned_numbers(name, uuid16, uuid):
    assert getattr(uuids, f"{name}_UUID16") == uuid16
    assert getattr(uuids, f"{name}_UUID") == uuid
    assert uuid16 in uuids.ASSIGNED_NAMES


def test_describe():
    assert uuids.describe(0x2A37) == "0x2A37 Heart Rate Measurement"
    assert uuids.describe(0x2A5E) == "0x2A5E PLX Spot-Check Measurement"
    assert uuids.describe(0xFFF1) == "0xFFF1"


@pytest.mark.parametrize("uuid16", [-1, 0x10000])
def test_uuid128_rejects_values_outside_16_bits(uuid16):
    with pytest.raises(ValueError, match="16-bit"):
        uuids.uuid128(uuid16)

"""Battery Level (0x2A19): one uint8 percentage, hand-encoded from Battery Service 1.0."""

import pytest

from devices.errors import MalformedPayload, UnencodableValue
from devices.gatt import encode_battery_level, parse_battery_level


@pytest.mark.parametrize(
    ("payload", "level"),
    [
        (b"\x00", 0),
        (b"\x37", 55),
        (b"\x64", 100),
        (b"\x50\x00", 80),  # trailing byte ignored
    ],
)
def test_parse(payload, level):
    assert parse_battery_level(payload) == level


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty payload"),
        (b"\x65", "battery level 101 % is above 100 %"),
        (b"\xff", "battery level 255 % is above 100 %"),
    ],
)
def test_malformed(payload, reason):
    with pytest.raises(MalformedPayload) as caught:
        parse_battery_level(payload)
    assert caught.value.characteristic == "0x2A19 Battery Level"
    assert caught.value.reason == reason
    assert caught.value.payload_hex == payload.hex()


@pytest.mark.parametrize("level", [0, 1, 55, 99, 100])
def test_encode(level):
    assert encode_battery_level(level) == bytes([level])
    assert parse_battery_level(encode_battery_level(level)) == level


@pytest.mark.parametrize(
    ("level", "reason"),
    [
        (101, "above 100 %"),
        (256, "out of range 0..255"),
        (-1, "out of range 0..255"),
        (50.0, "expected an integer, got float"),
        (True, "expected an integer, got bool"),
    ],
)
def test_encode_rejects(level, reason):
    with pytest.raises(UnencodableValue, match=reason) as caught:
        encode_battery_level(level)
    assert caught.value.field == "0x2A19 Battery Level: level"

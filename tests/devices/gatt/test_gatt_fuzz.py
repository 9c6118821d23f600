"""Any bytes into every parser: a result or `MalformedPayload`, never another exception.

And whatever decodes re-encodes to bytes that decode to the same object, so a decoded value
is always something the emulator can send back.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import MalformedPayload
from devices.gatt import (
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

CODECS = [
    pytest.param(parse_heart_rate_measurement, encode_heart_rate_measurement, id="0x2A37"),
    pytest.param(parse_blood_pressure_measurement, encode_blood_pressure_measurement, id="0x2A35"),
    pytest.param(parse_intermediate_cuff_pressure, encode_intermediate_cuff_pressure, id="0x2A36"),
    pytest.param(parse_blood_pressure_feature, encode_blood_pressure_feature, id="0x2A49"),
    pytest.param(parse_plx_spot_check, encode_plx_spot_check, id="0x2A5E"),
    pytest.param(parse_plx_continuous, encode_plx_continuous, id="0x2A5F"),
    pytest.param(parse_plx_features, encode_plx_features, id="0x2A60"),
    pytest.param(parse_battery_level, encode_battery_level, id="0x2A19"),
]

# Short payloads hit every flag combination; the Date Time strategy makes valid timestamps
# (which random bytes seldom are) so the fields after them get exercised too.
date_times = st.builds(
    lambda year, month, day, rest: year.to_bytes(2, "little") + bytes([month, day, *rest]),
    st.sampled_from([0, 1582, 2024, 9999]) | st.integers(0, 0xFFFF),
    st.integers(0, 13),
    st.integers(0, 32),
    st.lists(st.integers(0, 61), min_size=3, max_size=3),
)
payloads = st.binary(max_size=40) | st.builds(
    lambda head, date_time, tail: head + date_time + tail,
    st.binary(min_size=1, max_size=7),
    date_times,
    st.binary(max_size=12),
)


@pytest.mark.parametrize(("parse", "encode"), CODECS)
@settings(database=None, max_examples=500)
@given(payload=payloads)
def test_any_bytes(parse, encode, payload):
    try:
        decoded = parse(payload)
    except MalformedPayload as error:
        caught = error
    else:
        assert parse(encode(decoded)) == decoded
        return
    assert caught.payload_hex == payload.hex()

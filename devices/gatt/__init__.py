"""Where BLE bytes become readings: pure decoders and encoders of the GATT health profiles.

Heart Rate (0x2A37), Blood Pressure (0x2A35, 0x2A36, 0x2A49), Pulse Oximeter (0x2A5E, 0x2A5F,
0x2A60) and Battery Level (0x2A19), plus the IEEE 11073-20601 SFLOAT number format. No I/O:
bytes in, frozen dataclasses out, and the reverse for the emulator. Assigned numbers are in
`devices.gatt.uuids`; the wire contract is written up in ``docs/gatt.md``.

Every ``parse_*`` function takes `bytes`, `bytearray` (what bleak hands to notification
callbacks) or `memoryview`, and either returns a result or raises
`devices.errors.MalformedPayload`, carrying the characteristic and the payload in hex; it
raises nothing else, whatever the bytes. Every ``encode_*`` function raises
`devices.errors.UnencodableValue` for a value its field cannot hold.

Trailing bytes: bytes after the last field the flags announce are tolerated and ignored.
Devices append vendor data and newer spec revisions append fields, and rejecting them would
drop good readings. The one exception is where the spec itself defines the tail: the RR
intervals of 0x2A37 fill the rest of the payload, so an odd number of bytes there, or none
at all with the RR flag set, is malformed. Malformed is also: an empty payload, flags
announcing a field the payload is too short for, a battery level above 100, a timestamp part
out of range or not a calendar date. Values
a device may legitimately send are kept: SFLOAT NaN/NRes (-> NaN), user id 255 ("unknown
user"), the reserved pulse-rate range 3 (`PulseRateRange.RESERVED`), reserved flag bits
(ignored), reserved status bits of the PLX status words (kept in the `IntFlag`).

Timestamps are the device clock read as UTC (aware `datetime`), `None` when the device says
its date is unknown (year, month or day 0). Order readings by receive time; keep these as
metadata.
"""

from devices.gatt._battery import encode_battery_level, parse_battery_level
from devices.gatt._blood_pressure import (
    UNKNOWN_USER_ID,
    BloodPressureFeature,
    BloodPressureMeasurement,
    BloodPressureStatus,
    PressureUnit,
    PulseRateRange,
    encode_blood_pressure_feature,
    encode_blood_pressure_measurement,
    encode_intermediate_cuff_pressure,
    parse_blood_pressure_feature,
    parse_blood_pressure_measurement,
    parse_intermediate_cuff_pressure,
)
from devices.gatt._heart_rate import (
    HeartRateMeasurement,
    encode_heart_rate_measurement,
    parse_heart_rate_measurement,
)
from devices.gatt._pulse_oximeter import (
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
from devices.gatt._sfloat import (
    SFLOAT_NAN,
    SFLOAT_NEGATIVE_INFINITY,
    SFLOAT_NRES,
    SFLOAT_POSITIVE_INFINITY,
    SFLOAT_RESERVED,
    decode_sfloat,
    encode_sfloat,
)
from devices.gatt._wire import Payload

__all__ = [
    "SFLOAT_NAN",
    "SFLOAT_NEGATIVE_INFINITY",
    "SFLOAT_NRES",
    "SFLOAT_POSITIVE_INFINITY",
    "SFLOAT_RESERVED",
    "UNKNOWN_USER_ID",
    "BloodPressureFeature",
    "BloodPressureMeasurement",
    "BloodPressureStatus",
    "HeartRateMeasurement",
    "Payload",
    "PlxContinuous",
    "PlxDeviceSensorStatus",
    "PlxFeatures",
    "PlxMeasurementStatus",
    "PlxSpotCheck",
    "PlxSupportedFeatures",
    "PressureUnit",
    "PulseRateRange",
    "decode_sfloat",
    "encode_battery_level",
    "encode_blood_pressure_feature",
    "encode_blood_pressure_measurement",
    "encode_heart_rate_measurement",
    "encode_intermediate_cuff_pressure",
    "encode_plx_continuous",
    "encode_plx_features",
    "encode_plx_spot_check",
    "encode_sfloat",
    "parse_battery_level",
    "parse_blood_pressure_feature",
    "parse_blood_pressure_measurement",
    "parse_heart_rate_measurement",
    "parse_intermediate_cuff_pressure",
    "parse_plx_continuous",
    "parse_plx_features",
    "parse_plx_spot_check",
]

"""Blood Pressure Measurement (0x2A35), Intermediate Cuff Pressure (0x2A36) and Blood Pressure
Feature (0x2A49), Blood Pressure Service 1.1 / GATT Specification Supplement.

0x2A35 and 0x2A36 share one layout. Flags (uint8): bit0 unit (0 mmHg, 1 kPa); bit1 timestamp;
bit2 pulse rate; bit3 user id; bit4 measurement status. Then systolic, diastolic and mean
arterial pressure (SFLOAT each), then the optional fields in flag order. In 0x2A36 the
current cuff pressure is in the systolic slot; the other two slots are unused (NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias

from devices.errors import UnencodableValue
from devices.gatt._sfloat import SFLOAT
from devices.gatt._wire import (
    DATE_TIME,
    UINT8,
    UINT16,
    Codec,
    Field,
    FieldError,
    Payload,
    Reader,
    decode_payload,
    read_fields,
    uint_bytes,
    write_fields,
)
from devices.gatt.uuids import (
    BLOOD_PRESSURE_FEATURE_UUID16,
    BLOOD_PRESSURE_MEASUREMENT_UUID16,
    INTERMEDIATE_CUFF_PRESSURE_UUID16,
    describe,
)

PressureUnit: TypeAlias = Literal["mmHg", "kPa"]

UNKNOWN_USER_ID: Final = 0xFF
"""User id a device sends when it does not know who was measured."""

_MEASUREMENT: Final = describe(BLOOD_PRESSURE_MEASUREMENT_UUID16)
_CUFF_PRESSURE: Final = describe(INTERMEDIATE_CUFF_PRESSURE_UUID16)
_FEATURE: Final = describe(BLOOD_PRESSURE_FEATURE_UUID16)

_UNIT_FROM_FLAG: Final[tuple[PressureUnit, PressureUnit]] = ("mmHg", "kPa")
_FLAG_FROM_UNIT: Final = MappingProxyType({"mmHg": 0x00, "kPa": 0x01})


class PulseRateRange(IntEnum):
    """Measurement status bits 3-4."""

    WITHIN_RANGE = 0
    ABOVE_UPPER_LIMIT = 1
    BELOW_LOWER_LIMIT = 2
    RESERVED = 3
    """Reserved for future use by the spec: kept rather than rejected, read it as unknown."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BloodPressureStatus:
    """Measurement status (uint16) of 0x2A35 / 0x2A36; reserved bits 6-15 are not kept."""

    body_movement: bool = False
    cuff_loose: bool = False
    irregular_pulse: bool = False
    pulse_rate_range: PulseRateRange = PulseRateRange.WITHIN_RANGE
    improper_position: bool = False


_STATUS_BITS: Final = (
    ("body_movement", 0),
    ("cuff_loose", 1),
    ("irregular_pulse", 2),
    ("improper_position", 5),
)
_PULSE_RATE_RANGE_SHIFT: Final = 3


def _decode_status(raw: bytes) -> BloodPressureStatus:
    bits = int.from_bytes(raw, "little")
    flags: dict[str, Any] = {name: bool(bits >> bit & 1) for name, bit in _STATUS_BITS}
    return BloodPressureStatus(
        pulse_rate_range=PulseRateRange((bits >> _PULSE_RATE_RANGE_SHIFT) & 0b11), **flags
    )


def _encode_status(status: object) -> bytes:
    if not isinstance(status, BloodPressureStatus):
        msg = f"expected a BloodPressureStatus, got {type(status).__name__}"
        raise FieldError(msg)
    try:
        range_bits = PulseRateRange(status.pulse_rate_range)
    except ValueError:
        msg = f"pulse_rate_range {status.pulse_rate_range!r} is not 0..3"
        raise FieldError(msg) from None
    bits = range_bits << _PULSE_RATE_RANGE_SHIFT
    for name, bit in _STATUS_BITS:
        bits |= bool(getattr(status, name)) << bit
    return uint_bytes(bits, 2)


_STATUS: Final[Codec[BloodPressureStatus]] = Codec(
    size=2, decode=_decode_status, encode=_encode_status
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BloodPressureMeasurement:
    """A Blood Pressure Measurement (0x2A35) or Intermediate Cuff Pressure (0x2A36).

    Pressures are in `unit`; NaN where the device sends NaN (and always for `diastolic` and
    `mean_arterial` of an intermediate cuff pressure, whose cuff pressure is `systolic`).
    `timestamp` is the device's own clock read as UTC, `None` when absent or when the device
    says its date is unknown (year, month or day 0). `pulse_rate` is in beats per minute.
    `user_id` is `None` only when absent; 255 (`UNKNOWN_USER_ID`) means "unknown user".
    """

    unit: PressureUnit
    systolic: float
    diastolic: float
    mean_arterial: float
    timestamp: datetime | None = None
    pulse_rate: float | None = None
    user_id: int | None = None
    status: BloodPressureStatus | None = None


_LAYOUT: Final = (
    Field("systolic", SFLOAT),
    Field("diastolic", SFLOAT),
    Field("mean_arterial", SFLOAT),
    Field("timestamp", DATE_TIME, flag=0x02),
    Field("pulse_rate", SFLOAT, flag=0x04),
    Field("user_id", UINT8, flag=0x08),
    Field("status", _STATUS, flag=0x10),
)
_FLAG_UNIT: Final = 0x01


def _read_measurement(reader: Reader) -> BloodPressureMeasurement:
    flags = reader.read(UINT8, "flags")
    return BloodPressureMeasurement(
        unit=_UNIT_FROM_FLAG[flags & _FLAG_UNIT], **read_fields(reader, _LAYOUT, flags)
    )


def _encode(characteristic: str, measurement: BloodPressureMeasurement) -> bytes:
    unit_flag = _FLAG_FROM_UNIT.get(measurement.unit)
    if unit_flag is None:
        raise UnencodableValue(
            f"{characteristic}: unit", measurement.unit, "must be 'mmHg' or 'kPa'"
        )
    flags, body = write_fields(characteristic, _LAYOUT, measurement)
    return bytes([flags | unit_flag]) + body


def _unused_slots_nan(measurement: BloodPressureMeasurement) -> BloodPressureMeasurement:
    return replace(measurement, diastolic=math.nan, mean_arterial=math.nan)


def parse_blood_pressure_measurement(data: Payload) -> BloodPressureMeasurement:
    """Decode a Blood Pressure Measurement (0x2A35) indication.

    Raises:
        MalformedPayload: empty payload, fields announced but missing, or a timestamp that
            is not a date (month 13, 30 February, hour 24...).
    """
    return decode_payload(_MEASUREMENT, data, _read_measurement)


def parse_intermediate_cuff_pressure(data: Payload) -> BloodPressureMeasurement:
    """Decode an Intermediate Cuff Pressure (0x2A36) notification.

    The cuff pressure is `systolic`; `diastolic` and `mean_arterial` are always NaN, whatever
    the device put in those unused slots (some send 0, which would read as a real pressure).
    """
    return _unused_slots_nan(decode_payload(_CUFF_PRESSURE, data, _read_measurement))


def encode_blood_pressure_measurement(measurement: BloodPressureMeasurement) -> bytes:
    """Encode a Blood Pressure Measurement (0x2A35); optional fields go out when not `None`."""
    return _encode(_MEASUREMENT, measurement)


def encode_intermediate_cuff_pressure(measurement: BloodPressureMeasurement) -> bytes:
    """Encode an Intermediate Cuff Pressure (0x2A36): `systolic` is the cuff pressure, the
    diastolic and mean arterial slots are sent as NaN as the spec requires."""
    return _encode(_CUFF_PRESSURE, _unused_slots_nan(measurement))


@dataclass(frozen=True, slots=True, kw_only=True)
class BloodPressureFeature:
    """Blood Pressure Feature (0x2A49): which measurement-status bits the cuff can set."""

    body_movement_detection: bool = False
    cuff_fit_detection: bool = False
    irregular_pulse_detection: bool = False
    pulse_rate_range_detection: bool = False
    measurement_position_detection: bool = False
    multiple_bonds: bool = False


_FEATURE_BITS: Final = (
    ("body_movement_detection", 0),
    ("cuff_fit_detection", 1),
    ("irregular_pulse_detection", 2),
    ("pulse_rate_range_detection", 3),
    ("measurement_position_detection", 4),
    ("multiple_bonds", 5),
)


def _read_feature(reader: Reader) -> BloodPressureFeature:
    bits = reader.read(UINT16, "features")
    return BloodPressureFeature(**{name: bool(bits >> bit & 1) for name, bit in _FEATURE_BITS})


def parse_blood_pressure_feature(data: Payload) -> BloodPressureFeature:
    """Decode Blood Pressure Feature (0x2A49); bits 6-15 (reserved or newer) are ignored."""
    return decode_payload(_FEATURE, data, _read_feature)


def encode_blood_pressure_feature(feature: BloodPressureFeature) -> bytes:
    """Encode Blood Pressure Feature (0x2A49)."""
    bits = 0
    for name, bit in _FEATURE_BITS:
        bits |= bool(getattr(feature, name)) << bit
    return bits.to_bytes(2, "little")

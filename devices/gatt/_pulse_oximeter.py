"""PLX Spot-Check Measurement (0x2A5E), PLX Continuous Measurement (0x2A5F) and PLX Features
(0x2A60), Pulse Oximeter Service 1.0.1 / GATT Specification Supplement.

0x2A5E flags (uint8): bit0 timestamp, bit1 measurement status (uint16), bit2 device and sensor
status (uint24), bit3 pulse amplitude index (SFLOAT), bit4 device clock NOT set. Fields: SpO2
and pulse rate (SFLOAT), then the optional ones in flag order.

0x2A5F flags (uint8): bit0 SpO2PR-Fast, bit1 SpO2PR-Slow, bit2 measurement status, bit3 device
and sensor status, bit4 pulse amplitude index. Fields: SpO2PR-Normal, then the optional ones in
flag order; each SpO2PR is an SFLOAT pair (SpO2 %, pulse rate /min).

0x2A60: supported features (uint16), then measurement status support (uint16) if bit0, then
device and sensor status support (uint24) if bit1.

The two status words keep every bit the device sends, named or reserved (`IntFlag` keeps
unknown bits), so re-encoding a decoded value gives the same bits back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntFlag
from typing import Final, TypeVar

from devices.errors import UnencodableValue
from devices.gatt._sfloat import SFLOAT
from devices.gatt._wire import (
    DATE_TIME,
    UINT8,
    UINT16,
    Codec,
    Field,
    Payload,
    Reader,
    decode_payload,
    encode_field,
    read_fields,
    uint_bytes,
    write_fields,
)
from devices.gatt.uuids import (
    PLX_CONTINUOUS_MEASUREMENT_UUID16,
    PLX_FEATURES_UUID16,
    PLX_SPOT_CHECK_MEASUREMENT_UUID16,
    describe,
)

_SPOT_CHECK: Final = describe(PLX_SPOT_CHECK_MEASUREMENT_UUID16)
_CONTINUOUS: Final = describe(PLX_CONTINUOUS_MEASUREMENT_UUID16)
_FEATURES: Final = describe(PLX_FEATURES_UUID16)


class PlxMeasurementStatus(IntFlag):
    """Measurement Status (uint16); bits 0-4 are reserved."""

    MEASUREMENT_ONGOING = 1 << 5
    EARLY_ESTIMATED_DATA = 1 << 6
    VALIDATED_DATA = 1 << 7
    FULLY_QUALIFIED_DATA = 1 << 8
    DATA_FROM_MEASUREMENT_STORAGE = 1 << 9
    DATA_FOR_DEMONSTRATION = 1 << 10
    DATA_FOR_TESTING = 1 << 11
    CALIBRATION_ONGOING = 1 << 12
    MEASUREMENT_UNAVAILABLE = 1 << 13
    QUESTIONABLE_MEASUREMENT_DETECTED = 1 << 14
    INVALID_MEASUREMENT_DETECTED = 1 << 15


class PlxDeviceSensorStatus(IntFlag):
    """Device and Sensor Status (uint24); bits 16-23 are reserved."""

    EXTENDED_DISPLAY_UPDATE_ONGOING = 1 << 0
    EQUIPMENT_MALFUNCTION_DETECTED = 1 << 1
    SIGNAL_PROCESSING_IRREGULARITY_DETECTED = 1 << 2
    INADEQUATE_SIGNAL_DETECTED = 1 << 3
    POOR_SIGNAL_DETECTED = 1 << 4
    LOW_PERFUSION_DETECTED = 1 << 5
    ERRATIC_SIGNAL_DETECTED = 1 << 6
    NONPULSATILE_SIGNAL_DETECTED = 1 << 7
    QUESTIONABLE_PULSE_DETECTED = 1 << 8
    SIGNAL_ANALYSIS_ONGOING = 1 << 9
    SENSOR_INTERFERENCE_DETECTED = 1 << 10
    SENSOR_UNCONNECTED_TO_USER = 1 << 11
    UNKNOWN_SENSOR_CONNECTED = 1 << 12
    SENSOR_DISPLACED = 1 << 13
    SENSOR_MALFUNCTIONING = 1 << 14
    SENSOR_DISCONNECTED = 1 << 15


class PlxSupportedFeatures(IntFlag):
    """Supported Features (uint16) of PLX Features; bits 8-15 are reserved."""

    MEASUREMENT_STATUS_SUPPORT_PRESENT = 1 << 0
    DEVICE_SENSOR_STATUS_SUPPORT_PRESENT = 1 << 1
    SPOT_CHECK_MEASUREMENT_STORAGE = 1 << 2
    SPOT_CHECK_TIMESTAMP = 1 << 3
    SPO2PR_FAST = 1 << 4
    SPO2PR_SLOW = 1 << 5
    PULSE_AMPLITUDE_INDEX = 1 << 6
    MULTIPLE_BONDS = 1 << 7


_F = TypeVar("_F", bound=IntFlag)


def _flags_codec(flag_type: type[_F], size: int) -> Codec[_F]:
    return Codec(
        size=size,
        decode=lambda raw: flag_type(int.from_bytes(raw, "little")),
        encode=lambda value: uint_bytes(value, size),
    )


_MEASUREMENT_STATUS: Final = _flags_codec(PlxMeasurementStatus, 2)
_DEVICE_SENSOR_STATUS: Final = _flags_codec(PlxDeviceSensorStatus, 3)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlxSpotCheck:
    """A PLX Spot-Check Measurement (0x2A5E).

    `spo2` and `pulse_amplitude_index` are percentages, `pulse_rate` beats per minute (NaN
    where the device sends NaN). `timestamp` is the device clock read as UTC, `None` when
    absent or when the device says its date is unknown. `device_clock_set` is `False` when the
    device flags its clock as not set: treat `timestamp` as untrustworthy then.
    """

    spo2: float
    pulse_rate: float
    timestamp: datetime | None = None
    measurement_status: PlxMeasurementStatus | None = None
    device_sensor_status: PlxDeviceSensorStatus | None = None
    pulse_amplitude_index: float | None = None
    device_clock_set: bool = True


_SPOT_CHECK_LAYOUT: Final = (
    Field("spo2", SFLOAT),
    Field("pulse_rate", SFLOAT),
    Field("timestamp", DATE_TIME, flag=0x01),
    Field("measurement_status", _MEASUREMENT_STATUS, flag=0x02),
    Field("device_sensor_status", _DEVICE_SENSOR_STATUS, flag=0x04),
    Field("pulse_amplitude_index", SFLOAT, flag=0x08),
)
_FLAG_CLOCK_NOT_SET: Final = 0x10


def _read_spot_check(reader: Reader) -> PlxSpotCheck:
    flags = reader.read(UINT8, "flags")
    return PlxSpotCheck(
        device_clock_set=not flags & _FLAG_CLOCK_NOT_SET,
        **read_fields(reader, _SPOT_CHECK_LAYOUT, flags),
    )


def parse_plx_spot_check(data: Payload) -> PlxSpotCheck:
    """Decode a PLX Spot-Check Measurement (0x2A5E) indication.

    Raises:
        MalformedPayload: empty payload, fields announced but missing, or a timestamp that
            is not a date.
    """
    return decode_payload(_SPOT_CHECK, data, _read_spot_check)


def encode_plx_spot_check(measurement: PlxSpotCheck) -> bytes:
    """Encode a PLX Spot-Check Measurement (0x2A5E); optional fields go out when not `None`."""
    flags, body = write_fields(_SPOT_CHECK, _SPOT_CHECK_LAYOUT, measurement)
    if not measurement.device_clock_set:
        flags |= _FLAG_CLOCK_NOT_SET
    return bytes([flags]) + body


@dataclass(frozen=True, slots=True, kw_only=True)
class PlxContinuous:
    """A PLX Continuous Measurement (0x2A5F).

    SpO2 values are percentages, pulse rates beats per minute; the fast and slow pairs are
    each present (both values) or absent (both `None`).
    """

    spo2: float
    pulse_rate: float
    spo2_fast: float | None = None
    pulse_rate_fast: float | None = None
    spo2_slow: float | None = None
    pulse_rate_slow: float | None = None
    measurement_status: PlxMeasurementStatus | None = None
    device_sensor_status: PlxDeviceSensorStatus | None = None
    pulse_amplitude_index: float | None = None


_CONTINUOUS_LAYOUT: Final = (
    Field("spo2", SFLOAT),
    Field("pulse_rate", SFLOAT),
    Field("spo2_fast", SFLOAT, flag=0x01),
    Field("pulse_rate_fast", SFLOAT, flag=0x01),
    Field("spo2_slow", SFLOAT, flag=0x02),
    Field("pulse_rate_slow", SFLOAT, flag=0x02),
    Field("measurement_status", _MEASUREMENT_STATUS, flag=0x04),
    Field("device_sensor_status", _DEVICE_SENSOR_STATUS, flag=0x08),
    Field("pulse_amplitude_index", SFLOAT, flag=0x10),
)


def _read_continuous(reader: Reader) -> PlxContinuous:
    flags = reader.read(UINT8, "flags")
    return PlxContinuous(**read_fields(reader, _CONTINUOUS_LAYOUT, flags))


def parse_plx_continuous(data: Payload) -> PlxContinuous:
    """Decode a PLX Continuous Measurement (0x2A5F) notification.

    Raises:
        MalformedPayload: empty payload or fields announced but missing.
    """
    return decode_payload(_CONTINUOUS, data, _read_continuous)


def encode_plx_continuous(measurement: PlxContinuous) -> bytes:
    """Encode a PLX Continuous Measurement (0x2A5F); optional fields go out when not `None`.

    Raises:
        UnencodableValue: a value out of range, or only one value of a fast or slow pair.
    """
    flags, body = write_fields(_CONTINUOUS, _CONTINUOUS_LAYOUT, measurement)
    return bytes([flags]) + body


@dataclass(frozen=True, slots=True, kw_only=True)
class PlxFeatures:
    """PLX Features (0x2A60): what the oximeter can send.

    `measurement_status_support` / `device_sensor_status_support` list the status bits the
    device can set; each is present exactly when `supported_features` has its
    ``*_SUPPORT_PRESENT`` bit.
    """

    supported_features: PlxSupportedFeatures
    measurement_status_support: PlxMeasurementStatus | None = None
    device_sensor_status_support: PlxDeviceSensorStatus | None = None


_FEATURES_LAYOUT: Final = (
    Field(
        "measurement_status_support",
        _MEASUREMENT_STATUS,
        flag=PlxSupportedFeatures.MEASUREMENT_STATUS_SUPPORT_PRESENT,
    ),
    Field(
        "device_sensor_status_support",
        _DEVICE_SENSOR_STATUS,
        flag=PlxSupportedFeatures.DEVICE_SENSOR_STATUS_SUPPORT_PRESENT,
    ),
)
_FIELD_PRESENCE_BITS: Final = (
    PlxSupportedFeatures.MEASUREMENT_STATUS_SUPPORT_PRESENT
    | PlxSupportedFeatures.DEVICE_SENSOR_STATUS_SUPPORT_PRESENT
)


def _read_features(reader: Reader) -> PlxFeatures:
    supported = PlxSupportedFeatures(reader.read(UINT16, "supported features"))
    return PlxFeatures(
        supported_features=supported, **read_fields(reader, _FEATURES_LAYOUT, supported)
    )


def parse_plx_features(data: Payload) -> PlxFeatures:
    """Decode PLX Features (0x2A60).

    Raises:
        MalformedPayload: empty payload, or a support field announced but missing.
    """
    return decode_payload(_FEATURES, data, _read_features)


def encode_plx_features(features: PlxFeatures) -> bytes:
    """Encode PLX Features (0x2A60).

    Raises:
        UnencodableValue: when bits 0-1 of `supported_features` disagree with which support
            fields are set, or a value is out of range.
    """
    supported = encode_field(_FEATURES, "supported_features", UINT16, features.supported_features)
    presence, body = write_fields(_FEATURES, _FEATURES_LAYOUT, features)
    if features.supported_features & _FIELD_PRESENCE_BITS != presence:
        raise UnencodableValue(
            f"{_FEATURES}: supported_features",
            features.supported_features,
            "bits 0-1 must announce exactly the support fields that are not None",
        )
    return supported + body

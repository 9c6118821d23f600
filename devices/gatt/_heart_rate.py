"""Heart Rate Measurement (0x2A37), Heart Rate Service 1.0 section 3.1.

Flags (uint8): bit0 heart rate is uint16 (else uint8); bits1-2 sensor contact (0 and 1 not
supported, 2 supported but not detected, 3 detected); bit3 energy expended (uint16 kJ)
present; bit4 RR intervals present: uint16 in 1/1024 s, oldest first, filling the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from devices.errors import UnencodableValue
from devices.gatt._wire import (
    UINT8,
    UINT16,
    Codec,
    FieldError,
    Payload,
    Reader,
    decode_payload,
    encode_field,
    uint_bytes,
)
from devices.gatt.uuids import HEART_RATE_MEASUREMENT_UUID16, describe

_CHARACTERISTIC: Final = describe(HEART_RATE_MEASUREMENT_UUID16)

_FLAG_UINT16: Final = 0x01
_CONTACT_SHIFT: Final = 1
_FLAG_ENERGY: Final = 0x08
_FLAG_RR: Final = 0x10

# Sensor contact status, flags bits 1-2 (a three-state value, not a bit test).
_CONTACT_FROM_BITS: Final = (None, None, False, True)
_CONTACT_TO_BITS: Final = MappingProxyType({None: 0b00, False: 0b10, True: 0b11})

_RR_TICKS_PER_SECOND: Final = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartRateMeasurement:
    """One Heart Rate Measurement notification.

    `sensor_contact` is `None` when the sensor does not report contact, `False` when it
    supports contact detection but has no skin contact, `True` when it has contact.
    `rr_intervals_ms` are beat-to-beat intervals in milliseconds, oldest first; the wire
    resolution is 1/1024 s, so the values are exact multiples of 0.9765625 ms.
    """

    bpm: int
    sensor_contact: bool | None = None
    energy_expended_kj: int | None = None
    rr_intervals_ms: tuple[float, ...] = ()


def _rr_ticks(ms: object) -> bytes:
    if isinstance(ms, bool) or not isinstance(ms, int | float):
        msg = f"expected a number of milliseconds, got {type(ms).__name__}"
        raise FieldError(msg)
    try:
        ticks = round(ms * _RR_TICKS_PER_SECOND / 1000)
    except (ValueError, OverflowError):
        msg = "not a finite number"
        raise FieldError(msg) from None
    try:
        return uint_bytes(ticks, 2)
    except FieldError:
        msg = "outside 0..63999.0234375 ms (uint16 in 1/1024 s)"
        raise FieldError(msg) from None


_RR_INTERVAL: Final[Codec[float]] = Codec(
    size=2,
    decode=lambda raw: int.from_bytes(raw, "little") * 1000 / _RR_TICKS_PER_SECOND,
    encode=_rr_ticks,
)


def _read(reader: Reader) -> HeartRateMeasurement:
    flags = reader.read(UINT8, "flags")
    bpm = reader.read(UINT16 if flags & _FLAG_UINT16 else UINT8, "heart rate")
    contact = _CONTACT_FROM_BITS[(flags >> _CONTACT_SHIFT) & 0b11]
    energy = reader.read(UINT16, "energy expended") if flags & _FLAG_ENERGY else None
    rr_intervals: tuple[float, ...] = ()
    if flags & _FLAG_RR:
        tail = reader.rest()
        if not tail:
            msg = "RR intervals announced by flags, but none follow"
            raise FieldError(msg)
        if len(tail) % _RR_INTERVAL.size:
            msg = f"RR intervals are uint16 each, but {len(tail)} byte(s) are left for them"
            raise FieldError(msg)
        rr_intervals = tuple(
            _RR_INTERVAL.decode(tail[start : start + _RR_INTERVAL.size])
            for start in range(0, len(tail), _RR_INTERVAL.size)
        )
    return HeartRateMeasurement(
        bpm=bpm,
        sensor_contact=contact,
        energy_expended_kj=energy,
        rr_intervals_ms=rr_intervals,
    )


def parse_heart_rate_measurement(data: Payload) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement (0x2A37) notification.

    Raises:
        MalformedPayload: empty payload, heart rate or energy expended missing, RR intervals
            announced but none follow, or an odd number of bytes left for them.
    """
    return decode_payload(_CHARACTERISTIC, data, _read)


def encode_heart_rate_measurement(
    measurement: HeartRateMeasurement, *, force_uint16: bool = False
) -> bytes:
    """Encode a Heart Rate Measurement (0x2A37) value.

    The heart rate goes out as uint8 when it fits (<= 255), as uint16 otherwise or when
    `force_uint16` is set. Energy expended is sent when not `None`, RR intervals when the
    tuple is not empty (rounded to the nearest 1/1024 s).

    Raises:
        UnencodableValue: a value out of its field's range, or an unknown contact state.
    """
    bpm = encode_field(_CHARACTERISTIC, "bpm", UINT16, measurement.bpm)
    flags = 0
    if force_uint16 or measurement.bpm > 0xFF:
        flags |= _FLAG_UINT16
    else:
        bpm = bpm[:1]
    contact = _CONTACT_TO_BITS.get(measurement.sensor_contact)
    if contact is None:
        raise UnencodableValue(
            f"{_CHARACTERISTIC}: sensor_contact",
            measurement.sensor_contact,
            "must be None, False or True",
        )
    flags |= contact << _CONTACT_SHIFT
    body = bytearray(bpm)
    if measurement.energy_expended_kj is not None:
        flags |= _FLAG_ENERGY
        body += encode_field(
            _CHARACTERISTIC, "energy_expended_kj", UINT16, measurement.energy_expended_kj
        )
    if measurement.rr_intervals_ms:
        flags |= _FLAG_RR
        for interval in measurement.rr_intervals_ms:
            body += encode_field(_CHARACTERISTIC, "rr_intervals_ms", _RR_INTERVAL, interval)
    return bytes([flags]) + bytes(body)

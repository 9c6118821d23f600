"""Battery Level (0x2A19), Battery Service 1.0: one uint8, the charge in percent (0..100)."""

from __future__ import annotations

from typing import Final

from devices.gatt._wire import (
    Codec,
    FieldError,
    Payload,
    Reader,
    decode_payload,
    encode_field,
    uint_bytes,
)
from devices.gatt.uuids import BATTERY_LEVEL_UUID16, describe

_CHARACTERISTIC: Final = describe(BATTERY_LEVEL_UUID16)
_FULL: Final = 100


def _checked(level: int) -> int:
    if level > _FULL:
        msg = f"battery level {level} % is above {_FULL} %"
        raise FieldError(msg)
    return level


_PERCENT: Final[Codec[int]] = Codec(
    size=1,
    decode=lambda raw: _checked(raw[0]),
    encode=lambda level: bytes([_checked(uint_bytes(level, 1)[0])]),
)


def _read(reader: Reader) -> int:
    return reader.read(_PERCENT, "battery level")


def parse_battery_level(data: Payload) -> int:
    """Decode Battery Level (0x2A19) to a percentage 0..100.

    Raises:
        MalformedPayload: empty payload or a level above 100.
    """
    return decode_payload(_CHARACTERISTIC, data, _read)


def encode_battery_level(percent: int) -> bytes:
    """Encode Battery Level (0x2A19).

    Raises:
        UnencodableValue: for anything but an integer 0..100.
    """
    return encode_field(_CHARACTERISTIC, "level", _PERCENT, percent)

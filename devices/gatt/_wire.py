"""Reading and writing GATT payloads: a bounds-checked reader, field codecs, layout tables.

A characteristic whose optional fields follow its flags in flag order is described by a
layout, a tuple of `Field`s; `read_fields` and `write_fields` walk it in both directions, so
the order and the flag of each field are written down once. Little-endian throughout.

Inside this package, a field that cannot be read or written raises `FieldError`; the public
functions turn it into `MalformedPayload` (with the characteristic and the payload hex) or
`UnencodableValue` (with the field and the value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeAlias, TypeVar

from devices.errors import MalformedPayload, UnencodableValue

Payload: TypeAlias = bytes | bytearray | memoryview
"""What the parsers accept: bleak hands notifications over as `bytearray`."""

T = TypeVar("T")


class FieldError(Exception):
    """One field cannot be read or written; the public function adds the context."""


class Reader:
    """Reads fields front to back, raising `FieldError` when the payload is too short."""

    __slots__ = ("_data", "_offset")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def take(self, size: int, what: str) -> bytes:
        end = self._offset + size
        if end > len(self._data):
            if not self._data:
                msg = "empty payload"
            else:
                msg = (
                    f"{what} needs {size} byte(s) at offset {self._offset}, "
                    f"payload has {len(self._data)}"
                )
            raise FieldError(msg)
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk

    def read(self, codec: Codec[T], what: str) -> T:
        return codec.decode(self.take(codec.size, what))

    def rest(self) -> bytes:
        """Everything not read yet (for fields that fill the rest of the payload)."""
        chunk = self._data[self._offset :]
        self._offset = len(self._data)
        return chunk


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """A fixed-size field type: `decode` gets exactly `size` bytes, `encode` returns as many."""

    size: int
    decode: Callable[[bytes], T]
    encode: Callable[[T], bytes]


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a layout: the attribute it fills and the flag bit announcing it.

    `flag` 0 means always present. Fields sharing a flag (the SpO2/PR pairs of 0x2A5F) are
    present or absent together.
    """

    name: str
    codec: Codec[Any]
    flag: int = 0


def uint_bytes(value: object, size: int) -> bytes:
    """`value` as an unsigned little-endian integer of `size` bytes."""
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"expected an integer, got {type(value).__name__}"
        raise FieldError(msg)
    limit = (1 << (8 * size)) - 1
    if not 0 <= value <= limit:
        msg = f"out of range 0..{limit}"
        raise FieldError(msg)
    return int(value).to_bytes(size, "little")


def _uint(size: int) -> Codec[int]:
    return Codec(
        size=size,
        decode=lambda raw: int.from_bytes(raw, "little"),
        encode=lambda value: uint_bytes(value, size),
    )


UINT8: Final = _uint(1)
UINT16: Final = _uint(2)
UINT24: Final = _uint(3)

# GATT Date Time (0x2A08): year uint16, month, day, hours, minutes, seconds (uint8 each).
# Year, month and day 0 mean "not known"; the other parts have no such value.
_DATE_TIME_PARTS: Final = (
    ("year", 1582, 9999),
    ("month", 1, 12),
    ("day", 1, 31),
    ("hours", 0, 23),
    ("minutes", 0, 59),
    ("seconds", 0, 59),
)
_UNKNOWN_WHEN_ZERO: Final = frozenset({"year", "month", "day"})


def _decode_date_time(raw: bytes) -> datetime | None:
    parts = (int.from_bytes(raw[0:2], "little"), *raw[2:7])
    for (name, low, high), value in zip(_DATE_TIME_PARTS, parts, strict=True):
        if not low <= value <= high and not (value == 0 and name in _UNKNOWN_WHEN_ZERO):
            msg = f"timestamp {name} {value} is out of range {low}..{high}"
            raise FieldError(msg)
    year, month, day, hours, minutes, seconds = parts
    if 0 in (year, month, day):
        return None
    try:
        return datetime(year, month, day, hours, minutes, seconds, tzinfo=UTC)
    except ValueError:
        msg = f"timestamp {year:04d}-{month:02d}-{day:02d} is not a calendar date"
        raise FieldError(msg) from None


def _encode_date_time(value: object) -> bytes:
    if not isinstance(value, datetime):
        msg = f"expected a datetime, got {type(value).__name__}"
        raise FieldError(msg)
    if value.utcoffset() is None:
        msg = "naive datetime: pass a timezone-aware one"
        raise FieldError(msg)
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        msg = "outside the years 1582..9999 once converted to UTC"
        raise FieldError(msg) from None
    if utc.year < _DATE_TIME_PARTS[0][1]:
        msg = "outside the years 1582..9999 once converted to UTC"
        raise FieldError(msg)
    # Whole seconds: the characteristic has no finer resolution, so microseconds are dropped.
    return utc.year.to_bytes(2, "little") + bytes(
        (utc.month, utc.day, utc.hour, utc.minute, utc.second)
    )


DATE_TIME: Final[Codec[datetime | None]] = Codec(
    size=7, decode=_decode_date_time, encode=_encode_date_time
)
"""GATT Date Time, read as UTC; `None` when the device says its date is not known."""


def read_fields(reader: Reader, layout: Iterable[Field], flags: int) -> dict[str, Any]:
    """Read a layout: absent optional fields come back as `None`."""
    values: dict[str, Any] = {}
    for field in layout:
        if field.flag and not flags & field.flag:
            values[field.name] = None
        else:
            values[field.name] = reader.read(field.codec, field.name)
    return values


def encode_field(context: str, name: str, codec: Codec[T], value: T) -> bytes:
    """`codec.encode(value)`, reporting a failure as `UnencodableValue` named after the field."""
    try:
        return codec.encode(value)
    except FieldError as exc:
        raise UnencodableValue(f"{context}: {name}", value, str(exc)) from None


def write_fields(context: str, layout: Iterable[Field], source: object) -> tuple[int, bytes]:
    """Write the attributes of `source` following a layout; returns (flags, field bytes).

    An optional field is written, and its flag set, when its attribute is not `None`.
    """
    fields = tuple(layout)
    absent = {field.name for field in fields if getattr(source, field.name) is None}
    flags = 0
    body = bytearray()
    for field in fields:
        value = getattr(source, field.name)
        if field.flag:
            group = [other.name for other in fields if other.flag == field.flag]
            missing = absent.intersection(group)
            if missing and len(missing) < len(group):
                raise UnencodableValue(
                    f"{context}: {field.name}", value, f"{' and '.join(group)} go together"
                )
            if missing:
                continue
            flags |= field.flag
        body += encode_field(context, field.name, field.codec, value)
    return flags, bytes(body)


def decode_payload(characteristic: str, data: Payload, read: Callable[[Reader], T]) -> T:
    """Run `read` over the payload; any `FieldError` becomes `MalformedPayload`."""
    payload = bytes(data)
    try:
        return read(Reader(payload))
    except FieldError as exc:
        raise MalformedPayload(characteristic, payload, str(exc)) from None

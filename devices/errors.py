"""Errors of the `devices` package (BLE devices: GATT decoding and encoding, connections).

Every error raised on purpose by `devices` derives from `DevicesError`, so an edge can catch
the whole family in one place::

    DevicesError
    ├── MalformedPayload    a characteristic value that does not follow its GATT layout
    └── UnencodableValue    a value an encoder cannot put on the wire (also a ValueError)

Errors carry what a user needs to act on them: the characteristic and the payload in hex for a
malformed notification, the field and the offending value for an encoder.
"""

from __future__ import annotations


class DevicesError(Exception):
    """Root of every error raised by the `devices` package."""


# No "Error" suffix: like websockets' `InvalidHandshake`, the name says what went wrong.
class MalformedPayload(DevicesError):  # noqa: N818
    """A characteristic value that does not follow its GATT layout.

    Raised by every `devices.gatt.parse_*` function for an empty payload, flags that announce
    fields the payload does not hold, and values the specification rules out. Edges count it,
    log it once with `payload_hex`, and go on with the next notification.

    Attributes:
        characteristic: assigned number and name, e.g. ``"0x2A37 Heart Rate Measurement"``.
        payload_hex: the whole payload as lowercase hex without separators (``""`` if empty).
        reason: what is wrong with it, in words.
    """

    def __init__(
        self, characteristic: str, payload: bytes | bytearray | memoryview, reason: str
    ) -> None:
        self.characteristic = characteristic
        self.payload_hex = bytes(payload).hex()
        self.reason = reason
        shown = self.payload_hex or "<empty>"
        super().__init__(f"malformed {characteristic} payload {shown}: {reason}")

    def __reduce__(self) -> tuple[type[MalformedPayload], tuple[str, bytes, str]]:
        # Keeps the attributes when the error crosses a process boundary (pickle).
        return type(self), (self.characteristic, bytes.fromhex(self.payload_hex), self.reason)


class UnencodableValue(DevicesError, ValueError):  # noqa: N818 (named like MalformedPayload)
    """A value that a `devices.gatt.encode_*` function cannot put on the wire.

    Examples: a heart rate above 65535, a battery level above 100 %, a number too large for an
    SFLOAT, a naive (timezone-less) timestamp, a pressure unit other than mmHg or kPa.

    Attributes:
        field: where the value was going, e.g. ``"0x2A19 Battery Level: level"``.
        value: the offending value.
        reason: why it cannot be encoded.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"cannot encode {field} = {value!r}: {reason}")

    def __reduce__(self) -> tuple[type[UnencodableValue], tuple[str, object, str]]:
        return type(self), (self.field, self.value, self.reason)
